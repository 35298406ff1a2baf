// The commit path: every write on the appliance store — sublevel put/del, array and chained batches,
// units of work, group commits, range clears — ends in one of the root ClassicLevel's _put, _del,
// _batch or _clear (a chained batch collects its operations and ends in _batch). Installed on the
// root DB, these turn the write into StoreOp[] (full keys as strings, values as the stored bytes)
// and hand it to the store's one StoragePort: LevelDB itself on a single box (levelPort.ts), the
// replicated log in a cluster. The broker's group commit, which builds StoreOps itself, hands them
// to the same port (storagePortOf).
//
// Power-loss safety is decided here too: a write whose caller gave no `sync` option is synced when
// the store is opened with sync on (config broker.syncWrites, default true), so a flow's commit is
// on disk before whatever acknowledges it (PUBACK, reply, upstream ack) can go out. A caller that
// passes `sync` itself keeps its choice. Unsynced, because they acknowledge nothing (lost in a power
// cut, each only makes something happen again): the broker's batches of subscribers'
// acknowledgements (broker/persistence/committer.ts), the delete of a delivered reply
// (gateway/local/localOutbox.ts) and of an upstream message its receiver PUBACKed
// (gateway/uplink/outbox.ts), the inbox's mark of an upstream reply (gateway/uplink/inbox.ts); and
// range clears on LevelDB, which has no sync for them (the broker's
// ingress clear, redone at start if lost). Opened with sync off: nothing is synced, process-crash
// safety only.
import { ClassicLevel } from 'classic-level';
import type { Db } from './db.js';
import type { CommitOptions, KeyRange, StoragePort, StoreOp } from './port.js';

type WriteOptions = { sync?: unknown } | undefined;
interface PrivateOp {
  type: 'put' | 'del';
  key: unknown;
  value?: unknown;
}
interface ClearOptions {
  gt?: unknown;
  gte?: unknown;
  lt?: unknown;
  lte?: unknown;
  limit?: number;
  snapshot?: unknown;
}

const ports = new WeakMap<Db, StoragePort>();

/** The port the store's writes go to; undefined for a DB opened elsewhere (tests, the bench baseline). */
export function storagePortOf(db: Db): StoragePort | undefined {
  return ports.get(db);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A full key as a string. Keys the store writes are utf8; bytes that are not are refused, not mangled. */
function keyOf(key: unknown): string {
  if (typeof key === 'string') return key;
  if (key instanceof Uint8Array) {
    try {
      return utf8.decode(key);
    } catch {
      throw Object.assign(new Error(`store key ${Buffer.from(key).toString('hex')} (hex) is not UTF-8: the store keeps UTF-8 keys only`), {
        code: 'STORE_KEY_NOT_UTF8',
      });
    }
  }
  throw new TypeError(`store key: expected a string or bytes, got ${typeof key}`);
}

function bytesOf(value: unknown, key: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new TypeError(`store value of ${key}: expected bytes or a string after encoding, got ${typeof value}`);
}

function storeOp(op: PrivateOp): StoreOp {
  const key = keyOf(op.key);
  return op.type === 'put' ? { type: 'put', key, value: bytesOf(op.value, key) } : { type: 'del', key };
}

/** A range of full keys, bounds made exclusive-above (`lte k` is `lt k + "\0"`: the next string after k). */
function rangeOf(o: ClearOptions): KeyRange {
  if (o.limit !== undefined && o.limit !== -1)
    throw new RangeError('store clear: a limit is not supported (clear a bounded range instead)');
  if (o.snapshot !== undefined) throw new RangeError('store clear: a snapshot is not supported');
  const gte = o.gte !== undefined ? keyOf(o.gte) : o.gt !== undefined ? `${keyOf(o.gt)}\0` : '';
  const lt = o.lt !== undefined ? keyOf(o.lt) : o.lte !== undefined ? `${keyOf(o.lte)}\0` : undefined;
  if (lt === undefined)
    throw new RangeError('store clear: the range needs an upper bound (lt or lte); clear a sublevel, not the whole store');
  return { gte, lt };
}

// A chained batch that collects its (encoded, prefixed) operations and hands them to _batch.
const defaultChainedBatch = (Object.getPrototypeOf(ClassicLevel.prototype) as { _chainedBatch(this: Db): unknown })._chainedBatch;

/** Routes every write on `db` to `port`, synced unless its caller says otherwise when `sync` (see above). */
export function installCommitPath(db: Db, port: StoragePort, sync: boolean): void {
  const optionsOf = (o: WriteOptions): CommitOptions => ({ sync: typeof o?.sync === 'boolean' ? o.sync : sync });
  Object.assign(db, {
    _put: async (key: unknown, value: unknown, o: WriteOptions) => port.commit([storeOp({ type: 'put', key, value })], optionsOf(o)),
    _del: async (key: unknown, o: WriteOptions) => port.commit([storeOp({ type: 'del', key })], optionsOf(o)),
    _batch: async (ops: PrivateOp[], o: WriteOptions) => port.commit(ops.map(storeOp), optionsOf(o)),
    _chainedBatch: () => defaultChainedBatch.call(db),
    _clear: async (o: ClearOptions & WriteOptions) => port.clearRange(rangeOf(o), optionsOf(o)),
  });
  ports.set(db, port);
}
