// How a batch's operations reach the store: values sealed or encoded where their bytes are made, then
// handed to the store's port as they are.
import type { Db } from '../../platform/store/db.js';
import type { StoreOp } from '../../platform/store/port.js';
import { storagePortOf } from '../../platform/store/commitPath.js';
import type { LazyValue, RawOp, ValueSealer } from './writeTypes.js';

/** Turns every value into the bytes to store (sealed when a sealer is given), in place: the ops are then the store's. */
export function encodeValues(ops: RawOp[], sealer: ValueSealer | undefined): asserts ops is StoreOp[] {
  if (sealer) {
    // Sealed where the bytes are made, the only place every value passes. A fan-out shares one
    // LazyValue among its subscriber queues: sealed once per batch, not once per queue.
    let sealedLazy: Map<LazyValue, Uint8Array> | undefined;
    for (const op of ops) {
      const v = op.value;
      if (v instanceof Uint8Array) op.value = sealer.seal(v);
      else if (v !== undefined) {
        let sealed = (sealedLazy ??= new Map()).get(v);
        if (!sealed) sealedLazy.set(v, (sealed = sealer.seal(v.bytes())));
        op.value = sealed;
      }
    }
  } else {
    for (const op of ops) {
      if (op.value !== undefined && !(op.value instanceof Uint8Array)) op.value = op.value.bytes();
    }
  }
}

export type RawBatch = (ops: StoreOp[], options: { sync: boolean }) => Promise<void>;

/**
 * The broker's batches straight to the store's port (platform/store/port.ts), the one every other
 * write reaches through the commit path. abstract-level's batch() clones, validates and re-encodes
 * every operation (sublevel prefixing included): ~6 µs per op, a quarter of the broker's main-thread
 * time under load. Our keys are full utf8 strings and our values bytes already (encodeValues):
 * StoreOps as they are. Undefined — the caller uses the public batch(), which ends at the same port
 * — for a DB without a port (opened elsewhere), not open, or with prewrite hooks or write listeners
 * (the key ring's write tracker), which must see every write.
 */
export function rawBatchOf(db: Db): RawBatch | undefined {
  const port = storagePortOf(db);
  if (!port || db.status !== 'open' || !(db.hooks.prewrite as { noop?: boolean }).noop || db.listenerCount('write') > 0) return undefined;
  return (ops, options) => port.commit(ops, options);
}
