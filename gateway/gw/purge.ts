// LevelDB keeps a deleted value in its write-ahead log and table files until a compaction drops it.
// A 処理通番 must be gone once its code request is acknowledged (番号法 §21-2), so after
// acknowledgements the GW compacts the key ranges of the stores that held it transiently.
import { SUBLEVELS, type Db } from '../../platform/store/db.js';
import type { Logger } from '../../platform/log/logger.js';

/**
 * Sublevels where a request or reply can sit in clear until it is handled or delivered (`broker`: the
 * local broker's queued deliveries, e.g. the serial.request result on its way to the number-linkage server).
 */
export const TRANSIENT_SUBLEVELS = [
  SUBLEVELS.requests,
  SUBLEVELS.ingress,
  SUBLEVELS.pending,
  SUBLEVELS.outbox,
  SUBLEVELS.local,
  SUBLEVELS.broker,
] as const;

/**
 * Compacts each transient sublevel's key range (prefix `!name!`; '"' is the next character after '!').
 * A manual compaction only merges a level into the next one, and a memtable flush may land directly
 * on level 2, where nothing would merge it again. So each round first writes (and deletes, in the same
 * batch) a marker key inside every range: the next flush then overlaps the older table and stops on
 * a lower level, and the following compaction merges both, dropping the shadowed values.
 */
export async function compactTransient(db: Db, rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const b = db.batch();
    for (const name of TRANSIENT_SUBLEVELS) {
      b.put(`!${name}!`, new Uint8Array(0), { keyEncoding: 'utf8' });
      b.del(`!${name}!`, { keyEncoding: 'utf8' });
    }
    await b.write();
    for (const name of TRANSIENT_SUBLEVELS) {
      await db.compactRange(`!${name}!`, `!${name}"`, { keyEncoding: 'utf8' });
    }
  }
}

/** Coalesces requests into at most one compaction per `minIntervalMs` (plus one at flush). */
export function createPurger(
  db: Db,
  logger: Logger,
  minIntervalMs = 5000,
): { request(): void; flush(): Promise<void>; close(): Promise<void> } {
  let wanted = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const run = async () => {
    wanted = false;
    try {
      await compactTransient(db);
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'gw: compaction of transient stores failed; will retry');
      wanted = true;
    }
  };
  const schedule = () => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = run().finally(() => {
        running = undefined;
        if (wanted) schedule();
      });
    }, minIntervalMs);
    timer.unref();
  };
  return {
    request() {
      wanted = true;
      schedule();
    },
    async flush() {
      clearTimeout(timer);
      timer = undefined;
      await running;
      await run();
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
      if (wanted && db.status === 'open') await run();
    },
  };
}
