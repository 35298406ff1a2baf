// Power-loss safety of the appliance DB, decided in one place. Every write through the DB — its
// sublevels, put/del, array and chained batches (UnitOfWork, outbox, inbox, audit, request queue,
// UI, keyring…) — ends in one of the root ClassicLevel's _put/_del/_batch/_chainedBatch; these
// fill in `sync: true` when the caller gave no sync option, so a flow's commit is on disk (fsynced)
// before whatever acknowledges it (PUBACK, reply, upstream ack) can go out. A caller that passes
// `sync` itself keeps its choice. Unsynced, because they acknowledge nothing (lost in a power cut,
// each only makes something happen again): the broker's batches of subscribers' acknowledgements
// (broker/persistence/committer.ts), the delete of a delivered reply (gateway/local/localOutbox.ts)
// and of an upstream message its receiver PUBACKed (gateway/uplink/outbox.ts), the inbox's mark of an
// upstream reply (gateway/uplink/inbox.ts); and classic-level's
// range clear, which has no sync option (the broker's ingress clear, redone at start if lost).
// Opted out (config broker.syncWrites: false): nothing is installed, LevelDB leaves writes to the
// OS page cache: process-crash safety only.
import { ClassicLevel } from 'classic-level';
import type { Db } from './db.js';

type WriteOptions = { sync?: boolean } & Record<string, unknown>;
interface Writes {
  _put(key: unknown, value: unknown, options: WriteOptions): Promise<void>;
  _del(key: unknown, options: WriteOptions): Promise<void>;
  _batch(ops: unknown, options: WriteOptions): Promise<void>;
  _chainedBatch(): { _write(options: WriteOptions): Promise<void> };
}

const classic = ClassicLevel.prototype as unknown as Writes;

const synced = (o: WriteOptions | undefined): WriteOptions =>
  (o !== undefined && typeof o.sync === 'boolean' ? o : { ...o, sync: true });

// Shared functions (not per-DB closures), so that batchWrite.ts can recognise the chained batch one.
function syncedPut(this: Writes, key: unknown, value: unknown, o: WriteOptions) { return classic._put.call(this, key, value, synced(o)); }
function syncedDel(this: Writes, key: unknown, o: WriteOptions) { return classic._del.call(this, key, synced(o)); }
function syncedArrayBatch(this: Writes, ops: unknown, o: WriteOptions) { return classic._batch.call(this, ops, synced(o)); }
export function syncedChainedBatch(this: Writes) {
  const batch = classic._chainedBatch.call(this);
  const write = batch._write;
  batch._write = function (this: typeof batch, o: WriteOptions) { return write.call(this, synced(o)); };
  return batch;
}

/** Makes every write on `db` synced unless its caller says otherwise (see above). */
export function syncWritesByDefault(db: Db): void {
  Object.assign(db as unknown as Writes, { _put: syncedPut, _del: syncedDel, _batch: syncedArrayBatch, _chainedBatch: syncedChainedBatch });
}
