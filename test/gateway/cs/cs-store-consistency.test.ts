import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { IdentityStore } from '../../../gateway/cs/identityStore.js';
import { ConsistencyChecker } from '../../../gateway/cs/consistency/session.js';
import { StoreConsistencyPeer } from '../../../gateway/cs/consistency/peer.js';
import type { ConsistencyTransport, Difference } from '../../../gateway/cs/consistency/protocol.js';
import { consistencySchemas } from '../../../gateway/messages/consistency.js';
import { fieldKit } from '../../../gateway/messages/fields.js';
import type { IdentityChange } from '../../../gateway/cs/identityStoreTypes.js';
import { generateResidents } from '../../../sim/residents.js';
import { tempDir } from '../../helpers/tmp.js';

const LG = '242012';
const N = 3000;

async function build(path: string, extra: IdentityChange[] = []): Promise<{ db: Db; store: IdentityStore }> {
  const db = await openApplianceDb(path);
  const store = await IdentityStore.open(db, { indexKey: Buffer.alloc(32, 1) });
  const b = db.batch();
  for (const r of generateResidents('tsu', { seed: 'consistency', count: N })) await store.apply(b, r, { mode: 'load', fresh: true });
  for (const r of extra) await store.apply(b, r, { mode: 'load' });
  await b.write();
  return { db, store };
}

async function applyOne(db: Db, store: IdentityStore, c: IdentityChange) {
  const b = db.batch();
  await store.apply(b, c);
  await b.write();
}

const schemas = consistencySchemas(fieldKit({ checkResidentCodeDigit: true, today: () => '2026-11-24' }));

/** The server as the CS would reach it, every message checked against the consistency.check schemas. */
function contractPeer(store: IdentityStore, failAt = 0): ConsistencyTransport {
  const server = new StoreConsistencyPeer(store);
  let calls = 0;
  return async (req) => {
    if (++calls === failAt) throw new Error('link down');
    const r = schemas.request.safeParse(req);
    if (!r.success) throw new Error('request breaks the contract: ' + JSON.stringify(r.error.issues.slice(0, 3)));
    const res = await server.handle(req);
    const s = schemas.result.safeParse(res);
    if (!s.success) throw new Error('result breaks the contract: ' + JSON.stringify(s.error.issues.slice(0, 3)));
    return res;
  };
}

const sortDiffs = (d: Difference[]) => d.map((x) => `${x.residentCode}:${x.kind}:${(x.fields ?? []).join(',')}`).sort();

describe('consistency check against an in-process peer', () => {
  const dirs = [tempDir('cs-cons-a-'), tempDir('cs-cons-b-')];
  let local: { db: Db; store: IdentityStore };
  let peer: { db: Db; store: IdentityStore };
  const expected: string[] = [];

  beforeAll(async () => {
    const extras = [...generateResidents('tsu', { seed: 'consistency', count: 7, start: N })];
    local = await build(dirs[0]!.path, extras.slice(0, 3)); // 3 the peer never got
    peer = await build(dirs[1]!.path, extras.slice(3)); // 4 we do not hold
    for (const e of extras.slice(0, 3)) expected.push(`${e.residentCode}:cs_only:`);
    for (const e of extras.slice(3)) expected.push(`${e.residentCode}:server_only:`);
    const population = [...generateResidents('tsu', { seed: 'consistency', count: 40 })];
    for (const r of population.slice(0, 5)) {
      await applyOne(peer.db, peer.store, { ...r, address: r.address + '　別棟', changeReason: 'correct', changeDate: '2026-01-05' });
      expected.push(`${r.residentCode}:differing:address,changeReason,changeDate,updateSeq`);
    }
    for (const r of population.slice(10, 13)) {
      await applyOne(peer.db, peer.store, { ...r, changeReason: 'delete', changeDate: '2026-02-01' });
      expected.push(`${r.residentCode}:differing:changeReason,changeDate,status,updateSeq`);
    }
    expected.sort();
  });

  afterAll(async () => {
    await local.db.close();
    await peer.db.close();
    for (const d of dirs) d.cleanup();
  });

  async function diffs(checker: ConsistencyChecker, id: string) {
    const out: Difference[] = [];
    for await (const d of checker.sessions.differences(id)) out.push(d);
    return out;
  }

  it('finds exactly the planted differences in digest mode, with progress, in a fraction of the full-transfer bytes', async () => {
    const progress: number[] = [];
    const checker = new ConsistencyChecker(local.db, local.store, { bucketsPerPage: 4, onProgress: (p) => progress.push(p.done) });
    const digest = await checker.start({ lgCode: LG, peer: 'pref:240001', transport: contractPeer(peer.store) });
    expect(digest.done).toBe(true);
    expect(digest.bits).toBe(4);
    expect(sortDiffs(await diffs(checker, digest.id))).toEqual(expected);
    expect(digest.differences).toBe(expected.length);
    expect(progress).toEqual([4, 8, 12, 16]);

    const full = await checker.start({ lgCode: LG, peer: 'pref:240001', mode: 'full', transport: contractPeer(peer.store) });
    expect(sortDiffs(await diffs(checker, full.id))).toEqual(expected);
    expect(full.recordsSent).toBe(N + 3);
    const digestBytes = digest.bytesSent + digest.bytesReceived;
    const fullBytes = full.bytesSent + full.bytesReceived;
    expect(digestBytes).toBeLessThan(fullBytes);
    expect((await checker.sessions.list()).map((s) => s.id).sort()).toEqual([digest.id, full.id].sort());
    // the difference lists are keyed by the identity store's pseudonyms, never by a code in clear
    const codes = expected.map((e) => e.split(':')[0]!);
    const keys: string[] = [];
    for await (const k of local.db.keys({ gt: '!consistency!', lt: '!consistency"' })) keys.push(k);
    expect(keys.length).toBeGreaterThan(expected.length);
    expect(keys.filter((k) => codes.some((c) => k.includes(c)))).toEqual([]);
  });

  it('resumes an interrupted session and ends with the same difference list', async () => {
    for (const [mode, failAt] of [
      ['incremental', 9],
      ['full', 4],
    ] as const) {
      const flaky = contractPeer(peer.store, failAt);
      const checker = new ConsistencyChecker(local.db, local.store, { bucketsPerPage: 2, fullPageSize: 500 });
      await expect(checker.start({ lgCode: LG, peer: 'pref:240001', mode, transport: flaky })).rejects.toThrow('link down');
      const pending = (await checker.sessions.list()).find((s) => !s.done && s.mode === mode)!;
      expect(pending.nextBucket + pending.page).toBeGreaterThan(0);
      // An incremental check survives even a server that forgot it (it re-freezes at snapshot).
      const done = await checker.resume(pending.id, mode === 'incremental' ? contractPeer(peer.store) : flaky);
      expect(done.done).toBe(true);
      expect(sortDiffs(await diffs(checker, done.id))).toEqual(expected);
    }
  });

  it('compares the snapshot at H while updates keep landing on both sides', async () => {
    const population = [...generateResidents('tsu', { seed: 'consistency', count: 60 })];
    let changed = false;
    const server = contractPeer(peer.store);
    const busy: ConsistencyTransport = async (req) => {
      const res = await server(req);
      if (!changed && req.phase === 'buckets') {
        changed = true;
        for (const side of [local, peer]) {
          await applyOne(side.db, side.store, {
            ...population[50]!,
            address: '三重県津市大門1番地',
            changeReason: 'correct',
            changeDate: '2026-03-01',
          });
        }
        await applyOne(local.db, local.store, { ...population[51]!, changeReason: 'delete', changeDate: '2026-03-01' });
      }
      return res;
    };
    const checker = new ConsistencyChecker(local.db, local.store, { bucketsPerPage: 1 });
    const s = await checker.start({ lgCode: LG, peer: 'pref:240001', transport: busy });
    expect(changed).toBe(true);
    expect(sortDiffs(await diffs(checker, s.id))).toEqual(expected);
  });

  it('refuses phases out of order with a precise error', async () => {
    const server = new StoreConsistencyPeer(peer.store);
    const base = { checkId: 'c1', lgCode: LG, snapshotSeq: 1 };
    await expect(server.handle({ phase: 'entries', ...base, bucket: 0, entries: [] })).rejects.toMatchObject({ code: 'not_found' });
    await server.handle({ phase: 'snapshot', ...base, mode: 'full', bucketBits: 4, recordCount: 0 });
    await expect(server.handle({ phase: 'full', ...base, page: 3, records: [], last: true })).rejects.toThrow(/send pages in order/);
    await expect(server.handle({ phase: 'buckets', ...base, bucketBits: 5, offset: 0, digests: [] })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });
});
