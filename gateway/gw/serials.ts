// 処理通番 reuse detection: only the keyed hash of each serial number ever accepted is kept (番号法
// §21-2: the serial itself is deleted once the code acquisition completes).
import type { Batch, Db } from '../store/db.js';

export const SERIALS_SUBLEVEL = 'gw-serials';

export interface SerialRegistry {
  /** Keyed hash of a serial number (the only form it is stored or audited in). */
  hash(serialNo: string): string;
  used(hash: string): Promise<boolean>;
  /** Adds the claim to the caller's batch: it counts as used once that batch is written. */
  claim(batch: Batch, hash: string): void;
}

export function createSerialRegistry(db: Db, hashKey: (kind: string, value: string) => string): SerialRegistry {
  const sub = db.sublevel<string, number>(SERIALS_SUBLEVEL, { valueEncoding: 'json' });
  return {
    hash: (serialNo) => hashKey('serial', serialNo),
    used: async (hash) => (await sub.get(hash)) !== undefined,
    claim: (batch, hash) => { batch.put(hash, Date.now(), { sublevel: sub as never }); },
  };
}
