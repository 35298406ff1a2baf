// The replicated log: each storage commit becomes one entry `<prefix>/log/<16-digit position>`,
// appended in a fenced transaction that also moves the head. Commits that arrive while a transaction
// is in flight wait and go together in the next one (group commit): one quorum round trip per group,
// not per commit. One transaction in flight at a time keeps positions gap-free and in commit order.
// A commit larger than one request is appended as consecutive parts (cluster/entry.ts), alone, over
// as many fenced transactions as it needs; it is applied and resolved once its last part is in.
import type { Etcd3 } from 'etcd3';
import { AppendOutcomeUnknownError, NotLeaderError } from './errors.js';
import { fencedTxn, type Fence } from './fencing.js';
import type { ClusterKeys } from './keys.js';

/** etcd's --max-txn-ops default: operations per transaction (one is the head). */
export const ETCD_MAX_TXN_OPS = 128;
/** etcd's --max-request-bytes default (1.5 MiB); a group stays under it with room for keys and framing. */
export const ETCD_MAX_REQUEST_BYTES = 1_572_864;
const GROUP_BYTES = ETCD_MAX_REQUEST_BYTES - 64 * 1024;
const ENTRY_OVERHEAD = 64;
/** The largest entry one transaction carries; a larger commit is split into parts of at most this. */
export const MAX_ENTRY_BYTES = GROUP_BYTES - ENTRY_OVERHEAD;

export interface AppendedEntry {
  position: number;
  bytes: Uint8Array;
}

interface Waiting {
  /** One entry, or the parts of one commit. */
  entries: Uint8Array[];
  resolve: () => void;
  reject: (e: Error) => void;
}

export class ReplicatedLog {
  private queue: Waiting[] = [];
  private flushing = false;
  private failure?: Error;
  private markEnded!: (e: Error) => void;
  /** Resolves with the first failure: from then on this log object appends nothing. */
  readonly ended: Promise<Error> = new Promise((r) => {
    this.markEnded = r;
  });

  /**
   * `next`: the position the first append takes (head + 1). `committed` runs after each group is in
   * etcd and before its appenders resolve (the port applies the group locally there).
   */
  constructor(
    private readonly client: Etcd3,
    private readonly keys: ClusterKeys,
    private readonly fence: Fence,
    private next: number,
    private readonly committed: (group: AppendedEntry[]) => Promise<void>,
  ) {}

  /** Last appended position as etcd has it (0: nothing appended yet). */
  static async head(client: Etcd3, keys: ClusterKeys): Promise<number> {
    const v = await client.get(keys.head).string();
    return v === null ? 0 : Number(v);
  }

  /** Set once an append failed: this log object appends nothing more (the node resynchronises or steps down). */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Appends one commit: its entries (one, or its parts) take consecutive positions. */
  append(entry: Uint8Array | Uint8Array[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const entries = Array.isArray(entry) ? entry : [entry];
    const tooBig = entries.find((b) => b.length + ENTRY_OVERHEAD > GROUP_BYTES);
    if (tooBig) {
      return Promise.reject(
        new Error(
          `log entry of ${tooBig.length} bytes exceeds what one etcd request carries (--max-request-bytes ${ETCD_MAX_REQUEST_BYTES}); nothing written`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ entries, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Commits of the queue that go together; a commit bigger than one request goes alone. */
  private takeGroup(): Waiting[] {
    let size = 0;
    let count = 0;
    let n = 0;
    while (n < this.queue.length) {
      const w = this.queue[n]!;
      const add = w.entries.reduce((a, b) => a + b.length + ENTRY_OVERHEAD, 0);
      if (n > 0 && (size + add > GROUP_BYTES || count + w.entries.length > ETCD_MAX_TXN_OPS - 1)) break;
      size += add;
      count += w.entries.length;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /** The group's entries cut into runs that one transaction each can carry. */
  private static runsOf(entries: AppendedEntry[]): AppendedEntry[][] {
    const runs: AppendedEntry[][] = [];
    let run: AppendedEntry[] = [];
    let size = 0;
    for (const e of entries) {
      const add = e.bytes.length + ENTRY_OVERHEAD;
      if (run.length > 0 && (size + add > GROUP_BYTES || run.length >= ETCD_MAX_TXN_OPS - 1)) {
        runs.push(run);
        run = [];
        size = 0;
      }
      run.push(e);
      size += add;
    }
    runs.push(run);
    return runs;
  }

  private async appendRun(run: AppendedEntry[]): Promise<Error | undefined> {
    const last = run[run.length - 1]!.position;
    try {
      const res = await fencedTxn(this.client, this.fence)
        .then(
          ...run.map((e) =>
            this.client.put(this.keys.entry(e.position)).value(Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength)),
          ),
          this.client.put(this.keys.head).value(String(last)),
        )
        .commit();
      if (!res.succeeded) return new NotLeaderError(`fenced out: the leader key no longer has create revision ${this.fence.token}`);
    } catch (e) {
      return new AppendOutcomeUnknownError(e);
    }
    return undefined;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0 && !this.failure) {
      const group = this.takeGroup();
      const entries = group.flatMap((w) => w.entries).map((bytes, i) => ({ position: this.next + i, bytes }));
      const last = entries[entries.length - 1]!.position;
      let refused: Error | undefined;
      for (const run of ReplicatedLog.runsOf(entries)) {
        refused = await this.appendRun(run);
        if (refused) break;
      }
      if (refused) {
        // Parts already in the log without their last one are never applied (cluster/applier.ts).
        this.fail(refused, group);
        break;
      }
      this.next = last + 1;
      // The local apply of this group overlaps the next group's quorum round trip; the applier
      // applies in position order, so callers still resolve in commit order.
      this.committed(entries).then(
        () => {
          for (const w of group) w.resolve();
        },
        (e: Error) =>
          this.fail(new Error(`appended to the log at ${entries[0]!.position}..${last} but not applied locally: ${e.message}`), group),
      );
    }
    this.flushing = false;
  }

  private fail(e: Error, group: Waiting[]): void {
    if (!this.failure) {
      this.failure = e;
      this.markEnded(e);
    }
    for (const w of [...group, ...this.queue.splice(0)]) w.reject(this.failure);
  }
}
