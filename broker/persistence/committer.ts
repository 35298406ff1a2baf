// Group commit: every change is queued with the in-memory update that must follow it; all changes
// queued while a write is in flight go out as ONE LevelDB batch, and their promises resolve in the
// order they were queued. That order is what keeps per-client delivery FIFO: aedes drops a live
// message whose broker counter is lower than one it already sent (lib/client.js dedupe).
import type { AbstractSublevel } from 'abstract-level';
import type { Db } from '../../gateway/store/db.js';

export type Sublevel = AbstractSublevel<Db, string | Buffer | Uint8Array, string, Uint8Array>;

export type WriteOp =
  | { type: 'put'; key: string; value: Uint8Array; sublevel: Sublevel }
  | { type: 'del'; key: string; sublevel: Sublevel };

interface Waiter {
  apply: (() => void) | undefined;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface CommitterEvents {
  /** A batch failed: nothing of it was applied, its callers were rejected. */
  onWriteError(err: Error): void;
  /** The first batch that succeeded after a failure. */
  onRecovered(): void;
}

export class GroupCommitter {
  #ops: WriteOp[] = [];
  #waiters: Waiter[] = [];
  #writing = false;
  #scheduled = false;
  #failed = false;
  /** Batches written, for tests and metrics. */
  batches = 0;

  constructor(
    private readonly db: Db,
    private readonly sync: boolean,
    private readonly events: CommitterEvents,
  ) {}

  /** Queue ops; `apply` runs (in queue order) only once they are durable. */
  commit(ops: WriteOp[], apply?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      for (const op of ops) this.#ops.push(op);
      this.#waiters.push({ apply, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves once everything queued before the call has been written (or has failed). */
  flush(): Promise<void> {
    if (!this.#writing && this.#waiters.length === 0) return Promise.resolve();
    return this.commit([]).catch(() => undefined);
  }

  #schedule(): void {
    if (this.#writing || this.#scheduled) return;
    this.#scheduled = true;
    // One turn of the event loop lets a whole socket read chunk (dispatched concurrently by aedes)
    // join the same batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#waiters.length === 0) return;
    const ops = this.#ops;
    const waiters = this.#waiters;
    this.#ops = [];
    this.#waiters = [];
    this.#writing = true;
    let error: Error | undefined;
    try {
      if (ops.length > 0) {
        await this.db.batch(ops as never, { sync: this.sync });
        this.batches++;
      }
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    if (error) {
      this.#failed = true;
      for (const w of waiters) w.reject(error);
      try { this.events.onWriteError(error); } catch { /* an alarm sink must not break the queue */ }
    } else {
      if (this.#failed) {
        this.#failed = false;
        try { this.events.onRecovered(); } catch { /* see above */ }
      }
      for (const w of waiters) {
        try {
          w.apply?.();
          w.resolve();
        } catch (err) {
          w.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
    }
    this.#writing = false;
    if (this.#waiters.length > 0) void this.#run();
  }
}
