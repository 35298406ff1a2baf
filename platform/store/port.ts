// The storage port: the one path every write of every component takes on its way to the appliance
// store. In single-box mode it is LevelDB itself; in a cluster it is the replicated log in etcd,
// committed by a quorum under this node's leadership before it is applied to the local LevelDB.
// No component knows which: they write through the store (sublevels, batches, units of work) and
// every one of those writes ends here.

/**
 * One write as the store keeps it: the full key (sublevel prefixes included, e.g. `!outbox!…`) and
 * the value's stored bytes (sealed where the sublevel seals). What a replica applies is exactly this.
 */
export type StoreOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** A range of full keys, `gte` inclusive, `lt` exclusive. */
export interface KeyRange {
  gte: string;
  lt: string;
}

export interface CommitOptions {
  /**
   * true: durable before the promise resolves (fsync; in a cluster, a quorum has it). false only for
   * writes that acknowledge nothing (see commitPath.ts for the list and why).
   */
  sync: boolean;
}

export interface StoragePort {
  /**
   * Applies `ops` atomically, in order: all of them or none. Commits resolve in the order they were
   * made; a rejected commit applied nothing. A node that is not (or no longer) allowed to write —
   * a cluster node that has lost its leadership — rejects every commit.
   */
  commit(ops: StoreOp[], options: CommitOptions): Promise<void>;
  /** Deletes every key in `range` (not atomic with other writes; redone by its caller if cut short). */
  clearRange(range: KeyRange, options: CommitOptions): Promise<void>;
}
