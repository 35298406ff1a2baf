// Read-ahead of durable ingress (broker/persistence/ingress.ts): while a publish waits for its group
// commit, the broker goes on reading the same connection, so later publishes are admitted and queued
// for the next batch instead of waiting one fsync each. A real LevelDB whose writes are held back
// (the committer goes through the DB's public batch() once it is wrapped) shows it from outside:
// publishes after the first are admitted while its commit cannot have completed, and the bounds
// (4000 publishes, 16 MiB of payload waiting for their commit) stop the reading.
//
// The publisher is a raw socket so that the first read chunk holds two publishes: aedes itself reads
// a connection's next chunk only when a chunk's publishes are done, except that each new 'readable'
// event counts as one done (lib/client.js nextBatch). With a single pending publish aedes would read
// on by that alone, and the test would prove nothing. That same rule read every chunk of publishes
// larger than a chunk: the 1 MiB test is the one that shows the bound holds at the stream.
import { afterEach, describe, expect, it } from 'vitest';
import { getDefaultHighWaterMark } from 'node:stream';
import { ClassicLevel } from 'classic-level';
import mqttPacket from 'mqtt-packet';
import type { AuthorizePublish } from '../../broker/persistence/index.js';
import { tempDir } from '../helpers/tmp.js';
import { connectPacket, rawSocket } from '../helpers/mqtt.js';
import { indexedPayload, startBroker } from './broker-persistence.helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function waitFor(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`${what}: not met in time`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A broker on a real LevelDB whose batch writes wait while `hold()` is in force. */
async function heldBroker() {
  const d = tempDir('jukigw-bpra-');
  cleanups.push(d.cleanup);
  const db = new ClassicLevel<string, Uint8Array>(d.path, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  cleanups.push(() => db.close());
  const realBatch = db.batch.bind(db) as (...a: unknown[]) => unknown;
  let gate: Promise<void> | undefined;
  let open: () => void = () => {};
  let heldWrites = 0;
  (db as unknown as { batch: unknown }).batch = async (...args: unknown[]) => {
    if (gate) {
      heldWrites++;
      await gate;
    }
    return realBatch(...args);
  };
  /** Index (payload's first 4 bytes) of each publish, in the order the broker admitted them. */
  const admitted: number[] = [];
  const authorize: AuthorizePublish = (_client, packet, done) => {
    admitted.push((packet.payload as Buffer).readUInt32BE(0));
    done(null);
  };
  const broker = await startBroker({ db, sync: false }, {}, authorize);
  cleanups.push(() => broker.close());
  const release = () => {
    gate = undefined;
    open();
  };
  cleanups.push(release); // runs first: a failed test must not leave writes (and close) hanging
  return {
    broker,
    admitted,
    release,
    heldWrites: () => heldWrites,
    hold() {
      gate = new Promise<void>((r) => {
        open = r;
      });
    },
  };
}

/** A raw MQTT publisher: publishes are written exactly as grouped; PUBACKs are counted in order. */
async function rawPublisher(url: string, clientId: string) {
  const raw = await rawSocket(Number(new URL(url).port));
  cleanups.push(() => {
    raw.socket.destroy();
  });
  const acks: number[] = [];
  const recs: number[] = [];
  let connacked = false;
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on('packet', (p) => {
    if (p.cmd === 'connack') connacked = true;
    if (p.cmd === 'puback') acks.push(p.messageId!);
    if (p.cmd === 'pubrec') recs.push(p.messageId!);
  });
  raw.socket.on('data', (d) => parser.parse(d));
  raw.socket.write(connectPacket(clientId));
  await waitFor(() => connacked, 'CONNACK');
  /** Index i is sent with messageId i + 1. */
  const publishes = (from: number, to: number, size: number, qos: 1 | 2 = 1) =>
    Buffer.concat(
      Array.from({ length: to - from }, (_, k) =>
        mqttPacket.generate({
          cmd: 'publish',
          topic: 'req/ra.test',
          payload: indexedPayload(from + k, size),
          qos,
          messageId: from + k + 1,
          retain: false,
          dup: false,
        }),
      ),
    );
  return { socket: raw.socket, acks, recs, publishes };
}

const indices = (n: number) => [...Array(n).keys()];

/** Releases the held commits: every publish is acknowledged, admitted and stored, in wire order. */
async function releaseAndExpectAllInOrder(
  h: Awaited<ReturnType<typeof heldBroker>>,
  acks: number[],
  total: number,
  what = 'all acknowledged',
) {
  h.release();
  await waitFor(() => acks.length === total, what);
  expect(acks).toEqual(indices(total).map((i) => i + 1));
  expect(h.admitted).toEqual(indices(total));
  const stored = await h.broker.persistence.requests.read(0, total + 10);
  expect(stored.map((r) => Buffer.from(r.payload).readUInt32BE(0))).toEqual(indices(total));
  return stored;
}

/**
 * The most one read of the broker's socket returns: the socket stops reading once its buffer
 * reaches the high-water mark, and one socket read is at most 64 KiB (libuv). When a bound is
 * reached, the rest of that chunk is still parsed, nothing after it.
 */
const READ_CHUNK_MAX = getDefaultHighWaterMark(false) + 64 * 1024;

describe('durable ingress read-ahead', () => {
  it('admits publishes from later reads while the first ones still wait for their group commit', async () => {
    const h = await heldBroker();
    const pub = await rawPublisher(h.broker.url, 'ra-pub');
    h.hold();
    pub.socket.write(pub.publishes(0, 2, 64)); // one chunk: aedes waits for both before reading on
    await waitFor(() => h.heldWrites() >= 1, 'the first publishes in a held write');
    pub.socket.write(pub.publishes(2, 201, 64));
    await waitFor(() => h.admitted.length === 201, 'publishes 2..200 admitted');
    expect(h.heldWrites()).toBeGreaterThanOrEqual(1);
    expect(pub.acks).toEqual([]); // no commit has completed: no PUBACK yet
    expect(h.admitted).toEqual(indices(201));

    h.release();
    await waitFor(() => pub.acks.length === 201, 'all acknowledged');
    expect(pub.acks).toEqual(indices(201).map((i) => i + 1)); // PUBACKs keep wire order
    const stored = await h.broker.persistence.requests.read(0, 500);
    expect(stored.map((r) => Buffer.from(r.payload).readUInt32BE(0))).toEqual(indices(201));
  });

  it('stops reading ahead once 16 MiB of payload wait for their commit, and reads on after it', async () => {
    const h = await heldBroker();
    const pub = await rawPublisher(h.broker.url, 'ra-big');
    const size = 16_000;
    const total = 1500; // 24 MB
    // 1049 publishes reach 16 MiB (1049 × 16000 ≥ 16 MiB); only the rest of the read chunk being
    // parsed then is still admitted
    const atBound = Math.ceil((16 * 1024 * 1024) / size);
    h.hold();
    pub.socket.write(pub.publishes(0, total, size));
    await waitFor(() => h.admitted.length >= atBound, 'publishes up to the bound admitted');
    await new Promise((r) => setTimeout(r, 500)); // room for anything more to be read, if it were
    const whileHeld = h.admitted.length;
    expect(whileHeld).toBeGreaterThanOrEqual(atBound);
    expect(whileHeld).toBeLessThanOrEqual(atBound + Math.ceil(READ_CHUNK_MAX / size));
    expect(h.admitted).toEqual(indices(whileHeld));
    expect(pub.acks).toEqual([]);

    await releaseAndExpectAllInOrder(h, pub.acks, total);
  });

  it('stops reading ahead at 4000 publishes waiting for their commit, and reads on after it', async () => {
    const h = await heldBroker();
    const pub = await rawPublisher(h.broker.url, 'ra-many');
    const total = 12_000; // 21 bytes each on the wire: ~250 KiB, several read chunks past the bound
    const atBound = 4000;
    const chunk = Math.ceil(READ_CHUNK_MAX / pub.publishes(0, 1, 4).length);
    h.hold();
    pub.socket.write(pub.publishes(0, total, 4));
    await waitFor(() => h.admitted.length >= atBound, 'publishes up to the bound admitted');
    await new Promise((r) => setTimeout(r, 500));
    const whileHeld = h.admitted.length;
    expect(whileHeld).toBeLessThanOrEqual(atBound + chunk);
    expect(whileHeld).toBeLessThan(total);
    expect(h.admitted).toEqual(indices(whileHeld));
    expect(pub.acks).toEqual([]);

    await releaseAndExpectAllInOrder(h, pub.acks, total);
  });

  it('holds the 16 MiB bound when each publish spans many read chunks (1 MiB publishes)', async () => {
    const h = await heldBroker();
    const pub = await rawPublisher(h.broker.url, 'ra-huge');
    const size = 1024 * 1024;
    const total = 40; // 40 MiB offered
    // The 16th publish brings the payload waiting for its commit to exactly 16 MiB: reading stops
    // there. A 1 MiB publish takes many read chunks, so no further one can already be parsed.
    const atBound = (16 * 1024 * 1024) / size;
    h.hold();
    pub.socket.write(pub.publishes(0, total, size));
    await waitFor(() => h.admitted.length >= atBound, 'publishes up to the bound admitted');
    await new Promise((r) => setTimeout(r, 500)); // room for anything more to be read, if it were
    expect(h.admitted).toEqual(indices(atBound));
    expect(pub.acks).toEqual([]);

    const stored = await releaseAndExpectAllInOrder(h, pub.acks, total);
    expect(stored.every((r) => r.payload.length === size)).toBe(true);
  });

  it('holds the 16 MiB bound for 1 MiB QoS 2 publishes too (aedes reserves their window only after the store)', async () => {
    const h = await heldBroker();
    const pub = await rawPublisher(h.broker.url, 'ra-huge2');
    const size = 1024 * 1024;
    const total = 40;
    const atBound = (16 * 1024 * 1024) / size;
    h.hold();
    pub.socket.write(pub.publishes(0, total, size, 2));
    await waitFor(() => h.admitted.length >= atBound, 'publishes up to the bound admitted');
    await new Promise((r) => setTimeout(r, 500));
    expect(h.admitted).toEqual(indices(atBound));
    expect(pub.recs).toEqual([]);

    await releaseAndExpectAllInOrder(h, pub.recs, total, 'all received (PUBREC)');
  });
});
