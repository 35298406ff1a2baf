import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApplianceDb, type Db } from '../gateway/store/db.js';
import { IdentityStore } from '../gateway/cs/identityStore.js';
import { ConsistencyChecker } from '../gateway/cs/consistency/session.js';
import { storePeer, answer } from '../gateway/cs/consistency/peer.js';
import type { ConsistencyTransport, Difference } from '../gateway/cs/consistency/protocol.js';
import type { IdentityChange } from '../gateway/cs/identityStoreTypes.js';
import { generateResidents } from '../sim/residents.js';
import { tempDir } from './helpers/tmp.js';

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

const sortDiffs = (d: Difference[]) => d.map((x) => `${x.residentCode}:${x.kind}:${(x.fields ?? []).join(',')}`).sort();

describe('consistency check against an in-process peer', () => {
  const dirs = [tempDir('cs-cons-a-'), tempDir('cs-cons-b-')];
  let local: { db: Db; store: IdentityStore };
  let peer: { db: Db; store: IdentityStore };
  const expected: string[] = [];

  beforeAll(async () => {
    const extras = [...generateResidents('tsu', { seed: 'consistency', count: 7, start: N })];
    local = await build(dirs[0]!.path, extras.slice(0, 3));  // 3 the peer never got
    peer = await build(dirs[1]!.path, extras.slice(3));      // 4 we do not hold
    for (const e of extras.slice(0, 3)) expected.push(`${e.residentCode}:local_only:`);
    for (const e of extras.slice(3)) expected.push(`${e.residentCode}:peer_only:`);
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
    const digest = await checker.start({ lgCode: LG, peer: 'pref:240001', transport: storePeer(peer.store) });
    expect(digest.done).toBe(true);
    expect(digest.bits).toBe(4);
    expect(sortDiffs(await diffs(checker, digest.id))).toEqual(expected);
    expect(digest.differences).toBe(expected.length);
    expect(progress).toEqual([4, 8, 12, 16]);

    const full = await checker.start({ lgCode: LG, peer: 'pref:240001', mode: 'full', transport: storePeer(peer.store) });
    expect(sortDiffs(await diffs(checker, full.id))).toEqual(expected);
    expect(full.recordsCompared).toBe(N + 3);
    const digestBytes = digest.bytesSent + digest.bytesReceived;
    const fullBytes = full.bytesSent + full.bytesReceived;
    expect(digestBytes).toBeLessThan(fullBytes);
    expect((await checker.sessions.list()).map((s) => s.id).sort()).toEqual([digest.id, full.id].sort());
  });

  it('resumes an interrupted session and ends with the same difference list', async () => {
    for (const [mode, failAt] of [['digest', 9], ['full', 4]] as const) {
      let calls = 0;
      const flaky: ConsistencyTransport = async (req) => {
        if (++calls === failAt) throw new Error('link down');
        return answer(peer.store, req);
      };
      const checker = new ConsistencyChecker(local.db, local.store, { bucketsPerPage: 2, fullPageSize: 500 });
      await expect(checker.start({ lgCode: LG, peer: 'pref:240001', mode, transport: flaky })).rejects.toThrow('link down');
      const pending = (await checker.sessions.list()).find((s) => !s.done && s.mode === mode)!;
      expect(pending.nextBucket + pending.cursor.length).toBeGreaterThan(0);
      const done = await checker.resume(pending.id, flaky);
      expect(done.done).toBe(true);
      expect(sortDiffs(await diffs(checker, done.id))).toEqual(expected);
    }
  });

  it('compares the snapshot at H while updates keep landing on both sides', async () => {
    const population = [...generateResidents('tsu', { seed: 'consistency', count: 60 })];
    let changed = false;
    const busy: ConsistencyTransport = async (req) => {
      const res = await answer(peer.store, req);
      if (!changed && req.phase === 'buckets') {
        changed = true;
        for (const side of [local, peer]) {
          await applyOne(side.db, side.store, { ...population[50]!, address: '三重県津市大門1番地', changeReason: 'correct', changeDate: '2026-03-01' });
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

  it('answers malformed phase requests with a precise error', async () => {
    const at = peer.store.lastSeq();
    await expect(answer(peer.store, { phase: 'buckets', lgCode: LG, atSeq: at, bits: 30, from: 0, to: 1 })).rejects.toMatchObject({ code: 'invalid_request', message: 'bits must be 1..24' });
    await expect(answer(peer.store, { phase: 'records', lgCode: LG, atSeq: at + 5, codes: [] })).rejects.toThrow(/sequence number/);
    await expect(answer(peer.store, { phase: 'nope', lgCode: LG, atSeq: at } as never)).rejects.toThrow(/unknown phase/);
  });
});
