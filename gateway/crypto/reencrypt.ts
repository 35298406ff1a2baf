// Background re-encryption after a rotation: rewrites values sealed under older data keys with the
// current one, in small batches, while the appliance keeps reading and writing. A value written by
// anyone else after the pass read it is left alone (seen through the root prewrite hook), so the
// pass never puts back an older plaintext over a newer one.
import type { Db } from '../store/db.js';
import type { Keyring } from './keyring.js';
import { SealedValueError, sealedKeyId } from './sealed.js';

export interface ReencryptReport {
  scanned: number;
  rewritten: number;
  /** Values written concurrently by others while the pass held them (already under the current key). */
  skippedConcurrent: number;
  /** Values that look sealed but do not authenticate: left as they are, listed by raw key. */
  unreadable: string[];
  /** Per data key id: sealed values still under it after the pass. */
  remaining: Record<number, number>;
}

export type SublevelRef = string | { prefix: string };

function prefixOf(ref: SublevelRef): string {
  return typeof ref === 'string' ? `!${ref}!` : ref.prefix;
}

/** Everything under `prefix` on the root db, whose keys are utf8 strings. */
function rangeOf(prefix: string): { gte: string; lt: string } {
  const last = prefix.charCodeAt(prefix.length - 1);
  return { gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}

export async function reencrypt(db: Db, ring: Keyring, targets: SublevelRef[],
  opts: { batchSize?: number; onProgress?: (r: ReencryptReport) => void } = {}): Promise<ReencryptReport> {
  const batchSize = opts.batchSize ?? 256;
  const report: ReencryptReport = { scanned: 0, rewritten: 0, skippedConcurrent: 0, unreadable: [], remaining: {} };
  const dirty = new Set<string>();
  let tracking = false;
  const hook = (op: { key: unknown; sublevel?: { prefix: string } }) => {
    if (tracking) dirty.add((op.sublevel?.prefix ?? '') + String(op.key));
  };
  db.hooks.prewrite.add(hook as never);
  try {
    for (const ref of targets) {
      const range = rangeOf(prefixOf(ref));
      let after: string | undefined;
      for (;;) {
        dirty.clear();
        tracking = true;
        const chunk = await db.iterator({ ...(after === undefined ? { gte: range.gte } : { gt: after }), lt: range.lt,
          limit: batchSize, keyEncoding: 'utf8', valueEncoding: 'view' }).all() as Array<[string, Uint8Array]>;
        if (chunk.length === 0) { tracking = false; break; }
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
            if (e instanceof SealedValueError) report.unreadable.push(k); else throw e;
          }
        }
        // Synchronous from here to write(): no other write can be issued between the check and ours.
        const batch = db.batch();
        for (const [k, v] of rewrites) {
          if (dirty.has(k)) { report.skippedConcurrent++; continue; }
          batch.put(k, v, { keyEncoding: 'utf8', valueEncoding: 'view' });
          report.rewritten++;
        }
        tracking = false;
        await batch.write();
        opts.onProgress?.(report);
      }
    }
  } finally {
    db.hooks.prewrite.delete(hook as never);
  }
  report.remaining = await countByKey(db, targets);
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

/** Re-encrypt, then retire every non-current key no value uses any more. Returns the retired ids. */
export async function rotateAndRetire(db: Db, ring: Keyring, targets: SublevelRef[]): Promise<{ newKeyId: number; retired: number[]; report: ReencryptReport }> {
  const newKeyId = await ring.rotate();
  const report = await reencrypt(db, ring, targets);
  const retired: number[] = [];
  for (const k of ring.keys()) {
    if (k.state === 'active' && !k.current && !report.remaining[k.id]) {
      await ring.retire(k.id);
      retired.push(k.id);
    }
  }
  return { newKeyId, retired, report };
}
