// Background re-encryption after a rotation: rewrites values sealed under older data keys with the
// current one, in small batches, while the appliance keeps reading and writing. It never puts an
// older plaintext back over a newer write: it starts once the writes issued before it have landed,
// keys written by others during the pass or with a write in flight are skipped (those writes
// already use the current key), and a write issued while our batch is in flight that LevelDB
// applied before ours is put back.
import type { Db } from '../../platform/store/db.js';
import type { Keyring } from './keyring.js';
import { SealedValueError, sealedKeyId } from './sealed.js';
import { trackWrites, type TrackedOp, type WriteTracker } from './writeTracker.js';

export interface ReencryptReport {
  scanned: number;
  rewritten: number;
  /** Values written concurrently by others while the pass held them (already under the current key). */
  skippedConcurrent: number;
  /** Concurrent writes that LevelDB applied before ours and that were put back. */
  restored: number;
  /** Values that look sealed but do not authenticate: left as they are, listed by raw key. */
  unreadable: string[];
  /** Per data key id: sealed values still under it after the pass. */
  remaining: Record<number, number>;
}

export type SublevelRef = string | { prefix: string };

/** Re-issues another writer's operation exactly as it was given. */
async function restore(db: Db, op: TrackedOp): Promise<void> {
  const b = db.batch();
  // why: replays an operation as the prewrite hook recorded it: its key, value and encoding types are erased there.
  const o = (op.sublevel ? { sublevel: op.sublevel } : { keyEncoding: op.keyEncoding, valueEncoding: op.valueEncoding }) as never;
  if (op.type === 'del') b.del(op.key as never, o);
  else b.put(op.key as never, op.value as never, o);
  await b.write();
}

function prefixOf(ref: SublevelRef): string {
  return typeof ref === 'string' ? `!${ref}!` : ref.prefix;
}

/** Everything under `prefix` on the root db, whose keys are utf8 strings. */
function rangeOf(prefix: string): { gte: string; lt: string } {
  const last = prefix.charCodeAt(prefix.length - 1);
  return { gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}

/**
 * A write issued before we listened could land after our iterator's snapshot and before our check,
 * when it is no longer in flight, and be overwritten with the older value: so the pass starts once
 * those writes have landed (milliseconds). One still pending after that (a failed write emits
 * nothing) counts as written by another, and its key is skipped.
 */
async function settleEarlierWrites(tracker: WriteTracker, touched: Set<string>, signal?: AbortSignal): Promise<void> {
  const mark = tracker.mark();
  const until = Date.now() + 5_000;
  while (tracker.pendingBefore(mark) > 0 && Date.now() < until) {
    signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, 1));
  }
  for (const k of tracker.inFlightKeys()) touched.add(k);
}

export async function reencrypt(
  db: Db,
  ring: Keyring,
  targets: SublevelRef[],
  opts: { batchSize?: number; onProgress?: (r: ReencryptReport) => void; signal?: AbortSignal; countRemaining?: boolean } = {},
): Promise<ReencryptReport> {
  const batchSize = opts.batchSize ?? 256;
  const report: ReencryptReport = { scanned: 0, rewritten: 0, skippedConcurrent: 0, restored: 0, unreadable: [], remaining: {} };
  const tracker = trackWrites(db);
  let ours = false;
  let flying = false;
  const touched = new Set<string>();
  const duringFlight = new Map<string, TrackedOp>();
  const stop = tracker.listen((k, op) => {
    if (ours) return;
    touched.add(k);
    if (flying) duringFlight.set(k, { ...op });
  });
  await settleEarlierWrites(tracker, touched, opts.signal);
  try {
    for (const ref of targets) {
      const range = rangeOf(prefixOf(ref));
      let after: string | undefined;
      for (;;) {
        opts.signal?.throwIfAborted();
        const chunk = (await db
          .iterator({
            ...(after === undefined ? { gte: range.gte } : { gt: after }),
            lt: range.lt,
            limit: batchSize,
            keyEncoding: 'utf8',
            valueEncoding: 'view',
          })
          .all()) as Array<[string, Uint8Array]>;
        if (chunk.length === 0) break;
        after = chunk[chunk.length - 1]![0];
        const current = ring.currentKeyId();
        const rewrites: Array<[string, Uint8Array]> = [];
        for (const [k, v] of chunk) {
          const id = sealedKeyId(v);
          if (id === undefined) continue;
          report.scanned++;
          if (id === current) continue;
          try {
            rewrites.push([k, ring.seal(ring.unseal(v))]);
          } catch (e) {
            if (e instanceof SealedValueError) report.unreadable.push(k);
            else throw e;
          }
        }
        // Synchronous from the check to write(): nothing else can be issued in between.
        const batch = db.batch();
        const written = new Map<string, Uint8Array>();
        ours = true;
        for (const [k, v] of rewrites) {
          if (touched.has(k) || tracker.inFlight(k)) {
            report.skippedConcurrent++;
            continue;
          }
          batch.put(k, v, { keyEncoding: 'utf8', valueEncoding: 'view' });
          written.set(k, v);
        }
        ours = false;
        flying = true;
        try {
          await batch.write();
        } finally {
          flying = false;
        }
        report.rewritten += written.size;
        for (const [k, op] of duringFlight) {
          const mine = written.get(k);
          if (!mine) continue;
          const stored = await db.get(k, { keyEncoding: 'utf8', valueEncoding: 'view' });
          if (stored && Buffer.compare(stored, mine) === 0) {
            await restore(db, op);
            report.restored++;
          }
        }
        duringFlight.clear();
        opts.onProgress?.(report);
      }
    }
  } finally {
    stop();
  }
  if (opts.countRemaining !== false) report.remaining = await countByKey(db, targets);
  return report;
}

/** Sealed values per data key id under the given sublevels (what still blocks retiring a key). */
export async function countByKey(db: Db, targets: SublevelRef[]): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  for (const ref of targets) {
    for await (const v of db.values({ ...rangeOf(prefixOf(ref)), valueEncoding: 'view' })) {
      const id = sealedKeyId(v);
      if (id !== undefined) counts[id] = (counts[id] ?? 0) + 1;
    }
  }
  return counts;
}

/** Top-level sublevel of a raw key (`!identity!!rec!…` → identity); '' for a key outside any sublevel. */
export function topSublevelOf(rawKey: string): string {
  if (!rawKey.startsWith('!')) return '';
  const end = rawKey.indexOf('!', 1);
  return end < 0 ? '' : rawKey.slice(1, end);
}

/**
 * Sealed values per top-level sublevel and data key id over the WHOLE database, targets or not:
 * what a key may be retired against (a value under a retired key is lost for good).
 */
export async function sealedCensus(db: Db): Promise<Record<string, Record<number, number>>> {
  const out: Record<string, Record<number, number>> = {};
  for await (const [k, v] of db.iterator({ keyEncoding: 'utf8', valueEncoding: 'view' }) as AsyncIterable<[string, Uint8Array]>) {
    const id = sealedKeyId(v);
    if (id === undefined) continue;
    const per = (out[topSublevelOf(k)] ??= {});
    per[id] = (per[id] ?? 0) + 1;
  }
  return out;
}

/** Sums a census over its sublevels: values per data key id. */
export function censusByKey(census: Record<string, Record<number, number>>): Record<number, number> {
  const out: Record<number, number> = {};
  for (const per of Object.values(census)) for (const [id, n] of Object.entries(per)) out[Number(id)] = (out[Number(id)] ?? 0) + n;
  return out;
}

/**
 * Re-encrypt, then retire every non-current key no value in the whole database uses any more (a
 * sublevel missing from `targets` keeps its key alive instead of losing its values). Returns the retired ids.
 */
export async function rotateAndRetire(
  db: Db,
  ring: Keyring,
  targets: SublevelRef[],
): Promise<{ newKeyId: number; retired: number[]; report: ReencryptReport }> {
  const newKeyId = await ring.rotate();
  const report = await reencrypt(db, ring, targets);
  const inUse = censusByKey(await sealedCensus(db));
  const retired: number[] = [];
  for (const k of ring.keys()) {
    if (k.state === 'active' && !k.current && !inUse[k.id]) {
      await ring.retire(k.id);
      retired.push(k.id);
    }
  }
  return { newKeyId, retired, report };
}
