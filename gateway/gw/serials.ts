// 処理通番 reuse detection: only the keyed hash of each serial number accepted within the reuse window
// is kept (番号法 §21-2: the serial itself is deleted once the code acquisition completes). The window
// is the provision retention (`provision.retentionYears`); older hashes are pruned on its schedule.
import type { Batch, Db } from '../../platform/store/db.js';

export const SERIALS_SUBLEVEL = 'gw-serials';

export interface SerialRegistry {
  /** Keyed hash of a serial number (the only form it is stored or audited in). */
  hash(serialNo: string): string;
  used(hash: string): Promise<boolean>;
  /** Adds the claim to the caller's batch: it counts as used once that batch is written. */
  claim(batch: Batch, hash: string): void;
  /** Deletes the hashes claimed before `beforeMs`; returns how many. */
  prune(beforeMs: number): Promise<number>;
}

export function createSerialRegistry(db: Db, hashKey: (kind: string, value: string) => string): SerialRegistry {
  const sub = db.sublevel<string, number>(SERIALS_SUBLEVEL, { valueEncoding: 'json' });
  return {
    hash: (serialNo) => hashKey('serial', serialNo),
    used: async (hash) => (await sub.get(hash)) !== undefined,
    claim: (batch, hash) => {
      batch.put(hash, Date.now(), { sublevel: sub });
    },
    // Keyed by hash, not time: a full scan, once a day.
    async prune(beforeMs) {
      let n = 0;
      let batch = db.batch();
      for await (const [hash, claimedAt] of sub.iterator()) {
        if (typeof claimedAt !== 'number' || claimedAt >= beforeMs) continue; // in doubt, keep detecting
        batch.del(hash, { sublevel: sub });
        if (++n % 1000 === 0) {
          await batch.write();
          batch = db.batch();
        }
      }
      await batch.write();
      return n;
    },
  };
}
