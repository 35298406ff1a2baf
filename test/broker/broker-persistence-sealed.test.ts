// The broker's LevelDB persistence with encryption at rest, as the appliance runs it: the gateway's
// keyring (software KEK) seals every value in the broker, ingress and requests sublevels.
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { SUBLEVELS, openApplianceDb, type Db } from '../../platform/store/db.js';
import { countByKey, openFileKek, openKeyring, reencrypt, sealedKeyId, type Keyring } from '../../gateway/crypto/index.js';
import { tempDir } from '../helpers/tmp.js';
import { audit, connect, end, publishIndexed, recorder, startBroker } from './broker-persistence.helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const BROKER_SUBLEVELS = [SUBLEVELS.broker, SUBLEVELS.ingress, SUBLEVELS.requests];
/** Distinctive plaintext: a resident's name and number as a local system would send them. */
const SECRET = '{"name":"封印 花子","kana":"フウイン ハナコ","individualNumber":"839201746553"}';

interface Opened {
  db: Db;
  ring: Keyring;
  close(): Promise<void>;
}

async function openSealedDb(dir: string): Promise<Opened> {
  const db = await openApplianceDb(join(dir, 'db'));
  const kek = openFileKek(join(dir, 'keys', 'kek.bin'));
  const ring = await openKeyring({ db, kek });
  let closed = false;
  const o: Opened = {
    db,
    ring,
    async close() {
      if (closed) return;
      closed = true;
      await ring.close();
      await kek.close();
      await db.close();
    },
  };
  cleanups.push(() => o.close());
  return o;
}

async function rawValues(db: Db): Promise<Array<[string, Uint8Array]>> {
  const out: Array<[string, Uint8Array]> = [];
  for (const name of BROKER_SUBLEVELS) {
    for await (const [k, v] of db.sublevel<string, Uint8Array>(name, { keyEncoding: 'utf8', valueEncoding: 'view' }).iterator())
      out.push([`${name}/${k}`, v]);
  }
  return out;
}

async function waitFor(pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('broker persistence sealed with the keyring', () => {
  it('seals queued messages, requests, retained, wills and crash-replay entries, and serves them after a restart', async () => {
    const dir = tempDir('jukigw-bps-');
    cleanups.push(dir.cleanup);
    let o = await openSealedDb(dir.path);
    let broker = await startBroker({ db: o.db, sealer: o.ring });
    const sub = await connect(broker.url, { clientId: 'res-sub', clean: false });
    await sub.subscribeAsync(['res/#', 'to/#'], { qos: 1 });
    await end(sub);
    const pub = await connect(broker.url, {
      clientId: 'sys-a',
      will: { topic: 'to/sys-a/gone', payload: Buffer.from(SECRET), qos: 1, retain: false },
    });
    const acked = await publishIndexed(pub, 'res/t1', 0, 300, { window: 50 });
    await pub.publishAsync('res/t1/state', Buffer.from(SECRET), { qos: 1, retain: true });
    await pub.publishAsync('req/identity.update', Buffer.from(SECRET), { qos: 1 });
    // accepted and durable, never fanned out: what a crash leaves in the ingress log
    await broker.persistence.storeIngress({ id: 'sys-a' }, { topic: 'res/crash', payload: Buffer.from(SECRET), qos: 1, retain: false });
    await waitFor(() => broker.persistence.outgoingDepth('res-sub') === 301);
    expect(broker.persistence.ingressDepth()).toBe(1);
    const raw = await rawValues(o.db);
    const kinds = new Set(raw.map(([k]) => k.replace(/!.*$/, '')));
    for (const k of ['broker/o', 'broker/r', 'broker/s', 'broker/w', 'broker/m', 'ingress/', 'requests/']) {
      expect(
        [...kinds].some((x) => x.startsWith(k)),
        k,
      ).toBe(true);
    }
    for (const [k, v] of raw) {
      expect(sealedKeyId(v), k).toBe(o.ring.currentKeyId());
      expect(Buffer.from(v).includes(Buffer.from('839201746553')), k).toBe(false);
    }
    pub.stream.destroy(); // no DISCONNECT: the will is sent, through a sealed queue too
    await waitFor(() => broker.persistence.outgoingDepth('res-sub') === 302);
    await broker.close();
    await o.close();

    o = await openSealedDb(dir.path);
    broker = await startBroker({ db: o.db, sealer: o.ring });
    cleanups.push(() => broker.close());
    // the crash entry, and the will stored after it (the fan-out watermark stays below the crash
    // entry); replayed under their own seqs, each reaches the subscriber once
    expect(broker.replayed).toBe(2);
    const reqs = await broker.persistence.requests.read(0, 10);
    expect(reqs.map((r) => [r.topic, r.payload.toString()])).toEqual([['req/identity.update', SECRET]]);
    const indexed: number[] = [];
    const others: string[] = [];
    const retained: string[] = [];
    const onMessage = (topic: string, payload: Buffer, packet: { retain: boolean }) => {
      if (packet.retain) retained.push(`${topic} ${payload.toString()}`);
      else if (topic === 'res/t1') indexed.push(payload.readUInt32BE(0));
      else others.push(`${topic} ${payload.toString()}`);
    };
    const back = await connect(broker.url, { clientId: 'res-sub', clean: false }, { onMessage } as never);
    cleanups.push(() => end(back, true));
    await waitFor(() => indexed.length >= 300 && others.length >= 2, 20_000);
    expect(audit(indexed, acked)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(others.sort()).toEqual([`res/crash ${SECRET}`, `to/sys-a/gone ${SECRET}`]);
    await back.subscribeAsync('res/t1/state', { qos: 1 });
    await waitFor(() => retained.length === 1);
    expect(retained).toEqual([`res/t1/state ${SECRET}`]);
  });

  it('keeps values under an older data key readable after a rotation, and the re-encryption pass moves them', async () => {
    const dir = tempDir('jukigw-bps-');
    cleanups.push(dir.cleanup);
    let o = await openSealedDb(dir.path);
    let broker = await startBroker({ db: o.db, sealer: o.ring });
    const sub = await connect(broker.url, { clientId: 'rot-sub', clean: false });
    await sub.subscribeAsync('to/rot/#', { qos: 1 });
    await end(sub);
    const pub = await connect(broker.url, { clientId: 'rot-pub' });
    const acked = await publishIndexed(pub, 'to/rot/x', 0, 50);
    const oldKey = o.ring.currentKeyId();
    await o.ring.rotate();
    acked.push(...(await publishIndexed(pub, 'to/rot/x', 50, 100)));
    await end(pub);
    await waitFor(() => broker.persistence.outgoingDepth('rot-sub') === 100);
    await broker.close();
    const before = await countByKey(o.db, BROKER_SUBLEVELS);
    expect(before[oldKey]).toBeGreaterThanOrEqual(50);
    const report = await reencrypt(o.db, o.ring, BROKER_SUBLEVELS);
    expect(report.unreadable).toEqual([]);
    expect(Object.keys(report.remaining)).toEqual([String(o.ring.currentKeyId())]);
    await o.close();

    o = await openSealedDb(dir.path);
    broker = await startBroker({ db: o.db, sealer: o.ring });
    cleanups.push(() => broker.close());
    const rec = recorder();
    const back = await connect(broker.url, { clientId: 'rot-sub', clean: false }, rec);
    cleanups.push(() => end(back, true));
    await rec.until(() => rec.got.length >= 100, 1000, 20_000);
    expect(audit(rec.got, acked)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
  });

  it('refuses to open a sealed store without its sealer or with another key (no garbage, no plaintext)', async () => {
    const dir = tempDir('jukigw-bps-');
    cleanups.push(dir.cleanup);
    const o = await openSealedDb(dir.path);
    const broker = await startBroker({ db: o.db, sealer: o.ring });
    const sub = await connect(broker.url, { clientId: 'x-sub', clean: false });
    await sub.subscribeAsync('res/#', { qos: 1 });
    await end(sub);
    await broker.close();
    await o.close();

    const db = await openApplianceDb(join(dir.path, 'db'));
    cleanups.push(() => db.close());
    await expect(startBroker({ db })).rejects.toThrow();
    const other = {
      seal: (p: Uint8Array) => p,
      unseal: (v: Uint8Array) => {
        if (sealedKeyId(v) === undefined) throw new Error('not sealed');
        throw new Error('wrong key');
      },
    };
    await expect(startBroker({ db, sealer: other })).rejects.toThrow(/wrong key/);
  });
});
