// The single-box storage port: LevelDB itself. Each commit is one native chained batch (one N-API
// call per operation, about half the cost of classic-level's array batch, which reads type, key and
// value of every op object through N-API), written with the sync option as given.
import type { AbstractResource } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import type { Db } from './db.js';
import type { CommitOptions, KeyRange, StoragePort, StoreOp } from './port.js';

interface NativeChainedBatch extends AbstractResource {
  _put(key: string, value: Uint8Array): void;
  _del(key: string): void;
  _write(options: { sync: boolean }): Promise<void>;
}
interface NativeWrites {
  _chainedBatch(this: Db): NativeChainedBatch;
  _clear(this: Db, options: Record<string, unknown>): Promise<void>;
}

// classic-level's own methods, not the instance's: the commit path (commitPath.ts) replaces the
// instance's, and this port is what they call.
// why: these are abstract-level's private implementation methods, which its types do not declare.
const native = ClassicLevel.prototype as unknown as NativeWrites;

function notOpen(db: Db): Error {
  return Object.assign(new Error(`the store is ${db.status}, not open: nothing was written`), { code: 'LEVEL_DATABASE_NOT_OPEN' });
}

export function levelPort(db: Db): StoragePort {
  return {
    async commit(ops: StoreOp[], options: CommitOptions): Promise<void> {
      if (ops.length === 0) return;
      if (db.status !== 'open') throw notOpen(db);
      const batch = native._chainedBatch.call(db);
      try {
        for (const op of ops) {
          if (op.type === 'put') batch._put(op.key, op.value);
          else batch._del(op.key);
        }
        await batch._write({ sync: options.sync });
      } finally {
        // What the batch's public write() would do: the private one leaves it attached to the DB.
        db.detachResource(batch);
      }
    },
    async clearRange(range: KeyRange, _options: CommitOptions): Promise<void> {
      if (db.status !== 'open') throw notOpen(db);
      // classic-level's range clear takes no sync option: it is durable with the next synced write
      // (its callers redo it if it is lost: the broker's ingress clear at start).
      await native._clear.call(db, { gte: range.gte, lt: range.lt, limit: -1, reverse: false, keyEncoding: 'utf8' });
    },
  };
}
