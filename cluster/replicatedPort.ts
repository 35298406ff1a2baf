// The storage port of a cluster node: a commit is appended to the replicated log under this node's
// fence (a quorum of etcd has it), then applied to the local LevelDB, then resolved. A node that is
// not the active node, or has just been fenced out, rejects and applies nothing.
import type { CommitOptions, KeyRange, StoragePort, StoreOp } from '../platform/store/port.js';
import { encodeCommit, type EntryOp } from './entry.js';
import { NotLeaderError } from './errors.js';
import { MAX_ENTRY_BYTES, type ReplicatedLog } from './replicatedLog.js';

export class ReplicatedPort implements StoragePort {
  private log?: ReplicatedLog;
  private why = 'this node has not won the election';

  /** Called by the node when it wins (with its fenced log) and when it loses leadership (with the reason). */
  lead(log: ReplicatedLog): void {
    this.log = log;
  }
  standDown(why: string): void {
    this.log = undefined;
    this.why = why;
  }

  get writable(): boolean {
    return this.log !== undefined && this.log.failed === undefined;
  }

  // Every commit takes a quorum round trip, `sync: false` included: a replica must not lack what the
  // active node has applied.
  commit(ops: StoreOp[], _options: CommitOptions): Promise<void> {
    return this.append(ops);
  }

  clearRange(range: KeyRange, _options: CommitOptions): Promise<void> {
    return this.append([{ type: 'clear', range }]);
  }

  private append(ops: EntryOp[]): Promise<void> {
    const log = this.log;
    if (!log) return Promise.reject(new NotLeaderError(this.why));
    if (ops.length === 0) return Promise.resolve();
    let entries: Uint8Array[];
    try {
      entries = encodeCommit(ops, MAX_ENTRY_BYTES);
    } catch (e) {
      return Promise.reject(e);
    }
    return log.append(entries);
  }
}
