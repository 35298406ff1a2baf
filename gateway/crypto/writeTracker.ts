// Which keys have writes issued but not yet applied. classic-level runs each write on the libuv
// thread pool, so two writes issued in order can land in either order; the re-encryption pass
// uses this to never put an older plaintext back over a newer write.
import type { Db } from '../../platform/store/db.js';

export interface TrackedOp { type: 'put' | 'del'; key: unknown; value?: unknown; keyEncoding?: unknown; valueEncoding?: unknown; sublevel?: { prefix: string } }

export interface WriteTracker {
  /** Raw keys (sublevel prefix included) with writes in flight. */
  inFlight(rawKey: string): boolean;
  /** Raw keys with writes in flight now (a barrier: wait until each has been seen idle once). */
  inFlightKeys(): string[];
  /** Sees every write issued from now on, until the returned function is called. */
  listen(fn: (rawKey: string, op: TrackedOp) => void): () => void;
}

const trackers = new WeakMap<Db, WriteTracker>();

export function trackWrites(db: Db): WriteTracker {
  const existing = trackers.get(db);
  if (existing) return existing;
  const counts = new Map<string, number>();
  const listeners = new Set<(rawKey: string, op: TrackedOp) => void>();
  const onWrite = (op: TrackedOp) => {
    const k = (op.sublevel?.prefix ?? '') + String(op.key);
    counts.set(k, (counts.get(k) ?? 0) + 1);
    for (const l of listeners) l(k, op);
  };
  // why: abstract-level's prewrite hook type has no form for the sublevel field it passes.
  db.hooks.prewrite.add(onWrite as never);
  // Failed writes emit nothing and stay counted: their keys are skipped, which is the safe side.
  db.on('write', (ops: Array<{ encodedKey?: unknown; key: unknown }>) => {
    for (const op of ops) {
      const k = String(op.encodedKey ?? op.key);
      const n = (counts.get(k) ?? 1) - 1;
      if (n <= 0) counts.delete(k); else counts.set(k, n);
    }
  });
  const tracker: WriteTracker = {
    inFlight: (k) => counts.has(k),
    inFlightKeys: () => [...counts.keys()],
    listen(fn) { listeners.add(fn); return () => listeners.delete(fn); },
  };
  trackers.set(db, tracker);
  return tracker;
}
