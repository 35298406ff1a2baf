// Seen message ids (受信済みID) for the duplicate-id check; the window survives restarts when the
// store is a LevelDB sublevel of the appliance db.
import type { AbstractSublevel } from 'abstract-level';
import type { Batch, Db } from '../platform/store/db.js';

export interface DedupeStore {
  /** True when `id` was recorded and its window has not expired at `now`. */
  seen(id: string, now: number): Promise<boolean>;
  /** Records `id` until `expiresAt` (ms since epoch). */
  record(id: string, expiresAt: number): Promise<void>;
  /** Drops expired ids; returns how many. */
  sweep(now: number): Promise<number>;
}

export function memoryDedupeStore(): DedupeStore {
  const ids = new Map<string, number>();
  return {
    async seen(id, now) {
      const e = ids.get(id);
      return e !== undefined && e > now;
    },
    async record(id, expiresAt) {
      ids.set(id, expiresAt);
    },
    async sweep(now) {
      let n = 0;
      for (const [id, e] of ids)
        if (e <= now) {
          ids.delete(id);
          n++;
        }
      return n;
    },
  };
}

type Sublevel = AbstractSublevel<Db, string | Buffer | Uint8Array, string, Uint8Array>;

const SEEN = 'dedupe:id:';
const EXPIRY = 'dedupe:exp:';

function expiryKey(expiresAt: number, id: string): string {
  return `${EXPIRY}${expiresAt.toString().padStart(15, '0')}:${id}`;
}

export interface LevelDedupeStore extends DedupeStore {
  /** Adds the record to the caller's batch, so "processed" and "seen" commit together. */
  recordInBatch(batch: Batch, id: string, expiresAt: number): void;
}

/**
 * Dedupe store on a sublevel (normally `SUBLEVELS.inbox`). Keys are prefixed `dedupe:` so the owner of
 * the sublevel can keep other keys there; an expiry index makes sweeping a range scan.
 */
export function levelDedupeStore(sublevel: Sublevel): LevelDedupeStore {
  const enc = (n: number) => Buffer.from(n.toString(), 'utf8');
  return {
    async seen(id, now) {
      const v = await sublevel.get(SEEN + id);
      return v !== undefined && Number(Buffer.from(v).toString('utf8')) > now;
    },
    async record(id, expiresAt) {
      await sublevel.batch([
        { type: 'put', key: SEEN + id, value: enc(expiresAt) },
        { type: 'put', key: expiryKey(expiresAt, id), value: new Uint8Array(0) },
      ]);
    },
    recordInBatch(batch, id, expiresAt) {
      batch.put(SEEN + id, enc(expiresAt), { sublevel });
      batch.put(expiryKey(expiresAt, id), new Uint8Array(0), { sublevel });
    },
    async sweep(now) {
      const expired: string[] = [];
      for await (const key of sublevel.keys({ gte: EXPIRY, lt: expiryKey(now, '') })) {
        expired.push(key);
        if (expired.length >= 1000) break;
      }
      if (!expired.length) return 0;
      const ids = expired.map((k) => k.slice(EXPIRY.length + 16));
      const current = await sublevel.getMany(ids.map((id) => SEEN + id));
      const ops: { type: 'del'; key: string }[] = expired.map((key) => ({ type: 'del', key }));
      // An id recorded again later has a newer expiry: keep it.
      ids.forEach((id, i) => {
        const v = current[i];
        if (v !== undefined && Number(Buffer.from(v).toString('utf8')) <= now) ops.push({ type: 'del', key: SEEN + id });
      });
      await sublevel.batch(ops);
      return expired.length;
    },
  };
}
