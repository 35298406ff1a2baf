// Which writes are issued but not yet applied. classic-level runs each write on the libuv
// thread pool, so two writes issued in order can land in either order; the re-encryption pass
// uses this to never put an older plaintext back over a newer write, and a rotation to wait for
// the writes issued before its switch of key (they may carry values sealed under the old key).
import type { Db } from '../../platform/store/db.js';

export interface TrackedOp {
  type: 'put' | 'del';
  key: unknown;
  value?: unknown;
  keyEncoding?: unknown;
  valueEncoding?: unknown;
  sublevel?: { prefix: string };
}

export interface WriteTracker {
  /** Raw keys (sublevel prefix included) with writes in flight. */
  inFlight(rawKey: string): boolean;
  /** Raw keys with writes in flight now. */
  inFlightKeys(): string[];
  /** A mark after every write issued so far. */
  mark(): number;
  /** How many writes issued before `mark` are still in flight (later writes do not count). */
  pendingBefore(mark: number): number;
  /** Sees every write issued from now on, until the returned function is called. */
  listen(fn: (rawKey: string, op: TrackedOp) => void): () => void;
}

// Set on the op in the prewrite hook; abstract-level copies the op's own properties into the
// one it emits with 'write', so the applied write is matched to the one issued, not to its key.
const SEQ = Symbol('juki-gw write sequence');

const trackers = new WeakMap<Db, WriteTracker>();

export function trackWrites(db: Db): WriteTracker {
  const existing = trackers.get(db);
  if (existing) return existing;
  let issued = 0;
  // In issue order (Map keeps insertion order): pendingBefore stops at the first later write.
  const pending = new Map<number, string>();
  const counts = new Map<string, number>();
  const listeners = new Set<(rawKey: string, op: TrackedOp) => void>();
  const onWrite = (op: TrackedOp & { [SEQ]?: number }) => {
    const k = (op.sublevel?.prefix ?? '') + String(op.key);
    op[SEQ] = ++issued;
    pending.set(issued, k);
    counts.set(k, (counts.get(k) ?? 0) + 1);
    for (const l of listeners) l(k, op);
  };
  // why: abstract-level's prewrite hook type has no form for the sublevel field it passes.
  db.hooks.prewrite.add(onWrite as never);
  // Failed writes emit nothing and stay pending: their keys are skipped and a rotation keeps the
  // older keys, which is the safe side.
  db.on('write', (ops: Array<{ [SEQ]?: number }>) => {
    for (const op of ops) {
      const seq = op[SEQ];
      const k = seq === undefined ? undefined : pending.get(seq);
      if (k === undefined) continue;
      pending.delete(seq!);
      const n = (counts.get(k) ?? 1) - 1;
      if (n <= 0) counts.delete(k);
      else counts.set(k, n);
    }
  });
  const tracker: WriteTracker = {
    inFlight: (k) => counts.has(k),
    inFlightKeys: () => [...counts.keys()],
    mark: () => issued,
    pendingBefore(mark) {
      let n = 0;
      for (const seq of pending.keys()) {
        if (seq > mark) break;
        n++;
      }
      return n;
    },
    listen(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  trackers.set(db, tracker);
  return tracker;
}
