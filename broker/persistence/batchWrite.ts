// How a batch's operations reach LevelDB: values sealed or encoded where their bytes are made, and
// the cheapest native write path classic-level offers.
import { ClassicLevel } from 'classic-level';
import type { Db } from '../../platform/store/db.js';
import { storagePortOf } from '../../platform/store/commitPath.js';
import type { LazyValue, RawOp, ValueSealer } from './writeTypes.js';

/** Turns every value into the bytes to store (sealed when a sealer is given), in place. */
export function encodeValues(ops: RawOp[], sealer: ValueSealer | undefined): void {
  if (sealer) {
    // Sealed where the bytes are made, the only place every value passes. A fan-out shares one
    // LazyValue among its subscriber queues: sealed once per batch, not once per queue.
    let sealedLazy: Map<LazyValue, Uint8Array> | undefined;
    for (const op of ops) {
      const v = op.value;
      if (v instanceof Uint8Array) op.value = sealer.seal(v);
      else if (v !== undefined) {
        let sealed = (sealedLazy ??= new Map()).get(v);
        if (!sealed) sealedLazy.set(v, sealed = sealer.seal(v.bytes()));
        op.value = sealed;
      }
    }
  } else {
    for (const op of ops) {
      if (op.value !== undefined && !(op.value instanceof Uint8Array)) op.value = op.value.bytes();
    }
  }
}

export type RawBatch = (ops: RawOp[], options: { sync: boolean }) => Promise<void>;

/**
 * abstract-level's batch() clones, validates and re-encodes every operation (sublevel prefixing
 * included): ~6 µs per op, a quarter of the broker's main-thread time under load. Our keys are
 * utf8 strings and our values bytes already, which is exactly what classic-level's native layer
 * takes, so we call it directly when the DB is a plain, open ClassicLevel without hooks or write
 * listeners. Anything else (a wrapped batch, hooks, listeners) goes through the public batch().
 *
 * Of the two native paths, classic-level's chained batch (one native call per op) costs about half
 * of its array batch (which reads type, key and value of every op object through N-API, ~10 calls
 * per op). Its internal _put/_del/_write skip abstract-level's checks, so the batch is detached
 * from the DB's resources here, as its public write() would do.
 */
export function rawBatchOf(db: Db): RawBatch | undefined {
  const anyDb = db as unknown as {
    _batch?: RawBatch; batch: unknown; status: string; _chainedBatch?: () => NativeChainedBatch;
    detachResource?: (r: unknown) => void;
    hooks?: { prewrite?: { noop?: boolean } }; listenerCount(e: string): number;
  };
  if (typeof anyDb._batch !== 'function' || anyDb.batch !== ClassicLevel.prototype.batch) return undefined;
  if (anyDb.status !== 'open' || anyDb.hooks?.prewrite?.noop === false || anyDb.listenerCount('write') > 0) return undefined;
  const native = (ClassicLevel.prototype as unknown as { _chainedBatch?: () => NativeChainedBatch })._chainedBatch;
  // The appliance DB's sync-by-default chained batch wraps the native one; ours gives sync itself.
  const chained = storagePortOf(db) ? native : anyDb._chainedBatch;
  const detach = anyDb.detachResource;
  if (typeof chained !== 'function' || typeof detach !== 'function' || chained !== native) {
    return anyDb._batch.bind(db);
  }
  return async (ops, options) => {
    const b = chained.call(db);
    try {
      for (const op of ops) {
        if (op.type === 'put') b._put(op.key, op.value as Uint8Array);
        else b._del(op.key);
      }
      await b._write(options);
    } finally {
      detach.call(db, b);
    }
  };
}

interface NativeChainedBatch {
  _put(key: string, value: Uint8Array): void;
  _del(key: string): void;
  _write(options: { sync: boolean }): Promise<void>;
}
