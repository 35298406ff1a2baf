import { afterEach, describe, expect, it } from 'vitest';
import { SUBLEVELS, openApplianceDb, type Db } from '../../platform/store/db.js';
import { levelPort } from '../../platform/store/levelPort.js';
import { tempDir } from '../helpers/tmp.js';
import {
  audit,
  connect,
  end,
  indexedPayload,
  publishIndexed,
  recorder,
  startBroker,
  type TestBroker,
} from './broker-persistence.helpers.js';
import type { MqttClient } from 'mqtt';
import type { PersistenceAlarm } from '../../broker/persistence/index.js';
import { decodeRecord, encodeIngressRecord, encodeRecord } from '../../broker/persistence/codec.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track<T extends TestBroker | MqttClient>(x: T): T {
  cleanups.push(() => ('persistence' in x ? x.close() : end(x, true)));
  return x;
}

async function waitFor(pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function tmp(): string {
  const d = tempDir('jukigw-bp-');
  cleanups.push(d.cleanup);
  return d.path;
}

describe('broker persistence: per-client FIFO under load', () => {
  it('delivers 50k QoS 1 messages to a clean:false subscriber with none lost, reordered or duplicated', async () => {
    const N = 50_000;
    const broker = track(await startBroker({ path: tmp() }));
    const rec = recorder();
    const sub = track(await connect(broker.url, { clientId: 'fifo-sub', clean: false }, rec));
    await sub.subscribeAsync('fifo/#', { qos: 1 });
    const pub = track(await connect(broker.url, { clientId: 'fifo-pub' }));
    const acked = await publishIndexed(pub, 'fifo/a', 0, N, { window: 1000, size: 64 });
    expect(acked.length).toBe(N);
    await rec.until(() => rec.got.length >= N, 10_000, 120_000);
    expect(audit(rec.got, acked)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(rec.got.length).toBe(N);
    // everything fanned out, and the subscriber's queue drains as its PUBACKs come in
    expect(broker.persistence.ingressDepth()).toBe(0);
    await waitFor(() => broker.persistence.outgoingDepth('fifo-sub') === 0);
    // group commit: far fewer batches than messages
    expect(broker.persistence.batchesWritten).toBeLessThan(N);
  });

  it('keeps retained publishes in order with the others for a live subscriber', async () => {
    const broker = track(await startBroker({ path: tmp() }));
    const rec = recorder();
    const sub = track(await connect(broker.url, { clientId: 'ret-sub', clean: false }, rec));
    await sub.subscribeAsync('ret/#', { qos: 1 });
    const pub = track(await connect(broker.url, { clientId: 'ret-pub' }));
    const sent = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        pub.publishAsync(i % 10 === 3 ? 'ret/state' : 'ret/event', indexedPayload(i), { qos: 1, retain: i % 10 === 3 }).then(() => i),
      ),
    );
    await rec.until(() => rec.got.length >= 200, 2000, 20_000);
    expect(rec.got).toEqual(sent);
  });

  it('keeps an offline subscriber queue across a restart and delivers it in order', async () => {
    const dir = tmp();
    let broker = await startBroker({ path: dir });
    const sub = await connect(broker.url, { clientId: 'off-sub', clean: false });
    await sub.subscribeAsync('off/#', { qos: 1 });
    await end(sub);
    const pub = await connect(broker.url, { clientId: 'off-pub' });
    const acked = await publishIndexed(pub, 'off/x', 0, 2000, { window: 200 });
    await end(pub);
    await waitFor(() => broker.persistence.ingressDepth() === 0);
    expect(broker.persistence.outgoingDepth('off-sub')).toBe(2000);
    expect(broker.persistence.outgoingDepths()).toEqual(new Map([['off-sub', 2000]]));
    await broker.close();

    broker = track(await startBroker({ path: dir }));
    expect(broker.persistence.outgoingDepth('off-sub')).toBe(2000);
    const rec = recorder();
    track(await connect(broker.url, { clientId: 'off-sub', clean: false }, rec));
    await rec.until(() => rec.got.length >= 2000, 3000, 30_000);
    expect(audit(rec.got, acked)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(rec.got.length).toBe(2000);
  });
});

describe('broker-originated publishes', () => {
  it('are durable in the subscriber queue once aedes.publish calls back, and keep their order with client publishes', async () => {
    const dir = tmp();
    let broker = await startBroker({ path: dir });
    const sub = await connect(broker.url, { clientId: 'bo-sub', clean: false });
    await sub.subscribeAsync('bo/#', { qos: 1 });
    await end(sub);
    const pub = await connect(broker.url, { clientId: 'bo-pub' });
    await publishIndexed(pub, 'bo/c', 0, 2);
    await new Promise<void>((resolve, reject) =>
      broker.aedes.publish(
        { cmd: 'publish', topic: 'bo/sys', payload: indexedPayload(2), qos: 1, retain: false, dup: false },
        (err?: Error) => (err ? reject(err) : resolve()),
      ),
    );
    await publishIndexed(pub, 'bo/c', 3, 5);
    await end(pub);
    await waitFor(() => broker.persistence.ingressDepth() === 0);
    await broker.close();

    broker = track(await startBroker({ path: dir }));
    const rec = recorder();
    track(await connect(broker.url, { clientId: 'bo-sub', clean: false }, rec));
    await rec.until(() => rec.got.length >= 5, 1000, 10_000);
    expect(rec.got).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('durable ingress: local requests (req/…)', () => {
  it('stores req/ publishes in the request queue before PUBACK, and acks them atomically with a business change', async () => {
    const dir = tmp();
    let db: Db = await openApplianceDb(dir);
    let broker = await startBroker({ db }, { requesterOf: (c) => `sys:${c.id}` });
    const available: number[] = [];
    broker.persistence.requests.onAvailable(() => available.push(broker.persistence.requests.depth()));

    const c = await connect(broker.url, { clientId: 'terminal-7' });
    await c.publishAsync('req/juki/lookup', Buffer.from('{"q":1}'), { qos: 1 });
    await c.publishAsync('req/juki/lookup', Buffer.from('{"q":2}'), { qos: 1 });
    // PUBACK received: both are durable and visible
    const reqs = await broker.persistence.requests.read(0, 10);
    expect(reqs.map((r) => [r.clientId, r.topic, r.payload.toString()])).toEqual([
      ['sys:terminal-7', 'req/juki/lookup', '{"q":1}'],
      ['sys:terminal-7', 'req/juki/lookup', '{"q":2}'],
    ]);
    expect(reqs[0]!.seq).toBeLessThan(reqs[1]!.seq);
    expect(reqs[0]!.receivedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(available.length).toBeGreaterThan(0);
    expect(broker.persistence.requests.depth()).toBe(2);
    // reading after the first seq skips it
    expect((await broker.persistence.requests.read(reqs[0]!.seq, 10)).map((r) => r.seq)).toEqual([reqs[1]!.seq]);

    // the gateway acks the first with its business change, in one batch
    const identity = db.sublevel<string, Uint8Array>('identity', { keyEncoding: 'utf8', valueEncoding: 'view' });
    const b = db.batch();
    b.put('resident-1', Buffer.from('v1'), { sublevel: identity as never });
    broker.persistence.requests.ack(b, reqs[0]!.seq);
    expect(broker.persistence.requests.depth()).toBe(2); // not written yet
    await b.write();
    expect(broker.persistence.requests.depth()).toBe(1);
    expect(Buffer.from((await identity.get('resident-1'))!).toString()).toBe('v1');
    expect((await broker.persistence.requests.read(0, 10)).map((r) => r.seq)).toEqual([reqs[1]!.seq]);
    await end(c);
    await broker.close();
    await db.close();

    // restart: the pending request is still there and new seqs keep increasing
    db = await openApplianceDb(dir);
    cleanups.push(() => db.close());
    broker = track(await startBroker({ db }));
    expect(broker.persistence.requests.depth()).toBe(1);
    const c2 = track(await connect(broker.url, { clientId: 'terminal-8' }));
    await c2.publishAsync('req/juki/lookup', Buffer.from('{"q":3}'), { qos: 1 });
    const after = await broker.persistence.requests.read(0, 10);
    expect(after.map((r) => r.payload.toString())).toEqual(['{"q":2}', '{"q":3}']);
    expect(after[1]!.seq).toBeGreaterThan(reqs[1]!.seq);
    expect(after[1]!.clientId).toBe('terminal-8');
  });

  it('rejects bad read arguments with a precise error', async () => {
    const broker = track(await startBroker({ path: tmp() }));
    await expect(broker.persistence.requests.read(-1, 10)).rejects.toThrow(/afterSeq/);
    await expect(broker.persistence.requests.read(0, 0)).rejects.toThrow(/limit/);
  });

  it('replays ingress entries left by a crash exactly once per subscriber', async () => {
    const dir = tmp();
    let broker = await startBroker({ path: dir });
    const sub = await connect(broker.url, { clientId: 'replay-sub', clean: false });
    await sub.subscribeAsync('rp/#', { qos: 1 });
    await end(sub);
    // accepted and durable, but the crash came before aedes fanned it out
    for (let i = 0; i < 3; i++)
      await broker.persistence.storeIngress({ id: 'pub' }, { topic: 'rp/t', payload: Buffer.from([0, 0, 0, i]), qos: 1, retain: false });
    expect(broker.persistence.ingressDepth()).toBe(3);
    await broker.close();

    broker = await startBroker({ path: dir });
    expect(broker.replayed).toBe(3);
    expect(broker.persistence.ingressDepth()).toBe(0);
    expect(broker.persistence.outgoingDepth('replay-sub')).toBe(3);
    await broker.close();
    broker = track(await startBroker({ path: dir }));
    expect(broker.replayed).toBe(0);
    const rec = recorder();
    track(await connect(broker.url, { clientId: 'replay-sub', clean: false }, rec));
    await rec.until(() => rec.got.length >= 3, 1000, 10_000);
    expect(rec.got).toEqual([0, 1, 2]);
  });
});

describe('record codec', () => {
  it('encodes the ingress record by hand exactly as the generic encoder does', () => {
    const payload = Buffer.from([0, 1, 2, 255]);
    const cases: Array<[string, number, boolean, string, unknown]> = [
      ['a/b', 1, false, 'pub-1', undefined],
      ['住民票/"quoted"\\/\u0001', 2, true, 'id!with%odd"chars', undefined],
      ['p/t', 1, false, 'c', { userProperties: { k: 'v' }, contentType: 'x' }],
    ];
    for (const [topic, qos, retain, clientId, properties] of cases) {
      const rec: Record<string, unknown> = { topic, payload, qos, retain, clientId };
      if (properties !== undefined) rec.properties = properties;
      const fast = encodeIngressRecord(topic, payload, qos, retain, clientId, properties);
      expect(Buffer.from(fast)).toEqual(Buffer.from(encodeRecord(rec)));
      expect(decodeRecord(fast)).toEqual(rec);
      // again, from the per-client header cache, and with the topic changed
      expect(Buffer.from(encodeIngressRecord(topic, payload, qos, retain, clientId, properties))).toEqual(Buffer.from(fast));
      const moved = { ...rec, topic: `${topic}/2` };
      expect(decodeRecord(encodeIngressRecord(`${topic}/2`, payload, qos, retain, clientId, properties))).toEqual(moved);
    }
  });
});

describe('durable ingress: fan-out watermark', () => {
  async function ingressKeys(dir: string): Promise<string[]> {
    const db = await openApplianceDb(dir);
    try {
      const keys: string[] = [];
      for await (const k of db.sublevel<string, Uint8Array>(SUBLEVELS.ingress, { keyEncoding: 'utf8', valueEncoding: 'view' }).keys())
        keys.push(k);
      return keys;
    } finally {
      await db.close();
    }
  }

  it('does not replay what was fanned out before a stop, and removes those entries at the next start', async () => {
    const dir = tmp();
    let broker = await startBroker({ path: dir });
    const rec = recorder();
    const sub = await connect(broker.url, { clientId: 'wm-sub', clean: false }, rec);
    await sub.subscribeAsync('wm/#', { qos: 1 });
    const pub = await connect(broker.url, { clientId: 'wm-pub' });
    const acked = await publishIndexed(pub, 'wm/t', 0, 300, { window: 100, size: 16 });
    await rec.until(() => rec.got.length >= 300, 500, 10_000);
    await end(pub);
    await end(sub);
    await broker.close();
    // below the range-delete threshold: the entries are still on disk, the watermark covers them
    expect((await ingressKeys(dir)).length).toBe(300);

    broker = track(await startBroker({ path: dir }));
    expect(broker.replayed).toBe(0);
    expect(broker.persistence.ingressDepth()).toBe(0);
    await broker.close();
    expect(await ingressKeys(dir)).toEqual([]);
    expect(audit(rec.got, acked)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
  });

  it('range-deletes fanned-out entries while running, and still replays what was stored after them', async () => {
    const dir = tmp();
    let broker = await startBroker({ path: dir });
    const rec = recorder();
    const sub = await connect(broker.url, { clientId: 'wm2-sub', clean: false }, rec);
    await sub.subscribeAsync('wm2/#', { qos: 1 });
    const pub = await connect(broker.url, { clientId: 'wm2-pub' });
    const acked = await publishIndexed(pub, 'wm2/t', 0, 21_000, { window: 1000, size: 8 });
    await rec.until(() => rec.got.length >= 21_000, 500, 60_000);
    await end(pub);
    await end(sub);
    // stored, never fanned out: above the watermark
    for (let i = 0; i < 2; i++)
      await broker.persistence.storeIngress(
        { id: 'wm2-pub' },
        { topic: 'wm2/t', payload: Buffer.from([0, 0, 0x52, 0x08 + i]), qos: 1, retain: false },
      );
    await broker.close();
    expect((await ingressKeys(dir)).length).toBeLessThan(21_000 - 20_000 + 2 + 1000);

    broker = track(await startBroker({ path: dir }));
    expect(broker.replayed).toBe(2);
    const rec2 = recorder();
    track(await connect(broker.url, { clientId: 'wm2-sub', clean: false }, rec2));
    await rec2.until(() => rec2.got.length >= 2, 500, 10_000);
    expect(rec2.got).toEqual([21_000, 21_001]);
    expect(audit(rec.got, acked)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
  });
});

describe('durable ingress: write failures', () => {
  it('refuses a publish it cannot store (no PUBACK), raises an alarm, and recovers without losing acked data', async () => {
    const dir = tmp();
    // The disk fills up under the store's port: every write, the broker's group commits included, fails there.
    let diskFull = false;
    const db = await openApplianceDb(dir, {
      port: (d) => {
        const local = levelPort(d);
        return {
          commit: (ops, o) => (diskFull ? Promise.reject(new Error('IO error: No space left on device')) : local.commit(ops, o)),
          clearRange: (r, o) => local.clearRange(r, o),
        };
      },
    });
    cleanups.push(() => db.close());
    const alarms: PersistenceAlarm[] = [];
    const broker = track(await startBroker({ db, onAlarm: (a) => alarms.push(a), orphanAfterMs: 300 }));
    const sub = await connect(broker.url, { clientId: 'wf-sub', clean: false });
    await sub.subscribeAsync('wf/#', { qos: 1 });
    await end(sub);

    const pub = await connect(broker.url, { clientId: 'wf-pub' });
    const ok1 = await publishIndexed(pub, 'wf/t', 0, 10);
    expect(ok1.length).toBe(10);

    diskFull = true;
    const refused = await publishIndexed(pub, 'wf/t', 10, 11);
    expect(refused).toEqual([]); // connection closed by the broker, no PUBACK
    expect(pub.connected).toBe(false);
    expect(alarms.map((a) => a.kind)).toEqual(['write-failed']);
    expect(alarms[0]!.message).toMatch(/No space left/);
    await end(pub, true);

    diskFull = false;
    const pub2 = track(await connect(broker.url, { clientId: 'wf-pub' }));
    const ok2 = await publishIndexed(pub2, 'wf/t', 11, 20);
    expect(ok2.length).toBe(9);
    expect(alarms.map((a) => a.kind)).toEqual(['write-failed', 'recovered']);
    // whatever was acked but not yet fanned out when writes failed is fanned out once they work
    await waitFor(() => broker.persistence.ingressDepth() === 0);

    const rec = recorder();
    track(await connect(broker.url, { clientId: 'wf-sub', clean: false }, rec));
    await rec.until(() => rec.got.length >= 19, 1000, 10_000);
    expect(rec.got).toEqual([...ok1, ...ok2]);
  });
});
