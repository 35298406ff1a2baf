// 処理通番 reuse detection keeps keyed hashes only for the reuse window (provision.retentionYears): the
// retention job prunes older ones on its schedule; a serial used within the window is still a conflict.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../../config/schema/index.js';
import { createKeyHasher } from '../../../gateway/crypto/index.js';
import { startGwRole } from '../../../gateway/gw/role.js';
import { SERIALS_SUBLEVEL } from '../../../gateway/gw/serials.js';
import { createLogger } from '../../../platform/log/logger.js';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { NL, SERVED, startGwStack, until, type GwStack, type SegmentClient } from '../../helpers/gw-harness.js';
import { tempDir } from '../../helpers/tmp.js';

const serial = () => `GWS-${randomBytes(10).toString('hex')}`;
const YEAR_MS = 365.25 * 24 * 3600_000;
const serialHashes = async (db: Db) => {
  const out = new Map<string, number>();
  for await (const [k, v] of db.sublevel<string, number>(SERIALS_SUBLEVEL, { valueEncoding: 'json' }).iterator()) out.set(k, v);
  return out;
};
/** A hash as a code request accepted `ageMs` ago left it. */
const claimedAgo = (db: Db, hash: string, ageMs: number) =>
  db.sublevel<string, number>(SERIALS_SUBLEVEL, { valueEncoding: 'json' }).put(hash, Date.now() - ageMs);

describe('処理通番 hashes: pruned after the reuse window on the retention schedule', () => {
  const dir = tempDir('jukigw-gw-serials-');
  let db: Db;
  beforeAll(async () => {
    db = await openApplianceDb(join(dir.path, 'db'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await db.close();
    dir.cleanup();
  });

  it('the daily job deletes hashes older than provision.retentionYears and keeps the others', async () => {
    const hashKey = createKeyHasher(randomBytes(32));
    await claimedAgo(db, hashKey('serial', 'old-1'), 7 * YEAR_MS + 2 * 24 * 3600_000);
    await claimedAgo(db, hashKey('serial', 'old-2'), 8 * YEAR_MS);
    await claimedAgo(db, hashKey('serial', 'recent'), 6 * YEAR_MS);
    await claimedAgo(db, hashKey('serial', 'today'), 1000);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const gw = await startGwRole({
      config: configSchema.parse({ municipalities: [SERVED], dataDir: dir.path, provision: { retentionYears: 7, purgeIntervalHours: 24 } }),
      db,
      logger: createLogger({ level: 'silent' }),
      audit: { log: undefined as never, hashKey },
    });
    try {
      vi.advanceTimersByTime(23 * 3600_000);
      await new Promise((r) => setTimeout(r, 100));
      expect((await serialHashes(db)).size).toBe(4); // not before the interval
      vi.advanceTimersByTime(3600_000);
      await until(async () => (await serialHashes(db)).size === 2, 5000, 'old hashes pruned');
      expect([...(await serialHashes(db)).keys()].sort()).toEqual([hashKey('serial', 'recent'), hashKey('serial', 'today')].sort());
    } finally {
      await gw.close();
    }
  });
});

describe('処理通番 reuse after pruning, end to end', () => {
  let s: GwStack;
  let nl: SegmentClient;
  beforeAll(async () => {
    s = await startGwStack({ residents: 3 });
    nl = await s.client(NL);
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  }, 60_000);

  it('a serial used recently is still a conflict after the job ran; one past the window is forgotten', async () => {
    const recent = serial();
    const accepted = await nl.request('code.request', { lgCode: SERVED, serialNo: recent, myNumber: s.residents[0]!.myNumber });
    expect(accepted.body).toEqual({ accepted: true });
    const old = serial();
    await claimedAgo(s.db, s.hashKey('serial', old), 7 * YEAR_MS + 30 * 24 * 3600_000);
    const refusedOld = await nl.request('code.request', { lgCode: SERVED, serialNo: old, myNumber: s.residents[1]!.myNumber });
    expect(refusedOld.body).toMatchObject({ code: 'conflict' }); // inside the store, so still detected

    const purged = await s.gw.purgeExpired();
    expect(purged.serials).toBe(1);
    const left = await serialHashes(s.db);
    expect(left.has(s.hashKey('serial', old))).toBe(false);
    expect(left.has(s.hashKey('serial', recent))).toBe(true);

    const reused = await nl.request('code.request', { lgCode: SERVED, serialNo: recent, myNumber: s.residents[1]!.myNumber });
    expect(reused.body).toMatchObject({
      code: 'conflict',
      details: [{ path: 'body.serialNo', problem: 'serialNo.reused: this 処理通番 was used before' }],
    });
    const again = await nl.request('code.request', { lgCode: SERVED, serialNo: old, myNumber: s.residents[1]!.myNumber });
    expect(again.body).toEqual({ accepted: true });
  });
});
