// Group commit: every change is queued with the in-memory update that must follow it; all changes
// queued while a write is in flight go out as ONE LevelDB batch, and their promises resolve in the
// order they were queued. That order is what keeps per-client delivery FIFO: aedes drops a live
// message whose broker counter is lower than one it already sent (lib/client.js dedupe).
//
// Two kinds of change:
// - commit(): durable before its promise resolves (ingress, subscriptions, retained, wills...);
// - stage(): joins the next batch but nobody waits for it (fan-out to subscriber queues and their
//   acknowledgements, which a crash can only make happen again, never lose: the ingress entry they
//   delete is still there until their batch is written). A staged "fresh" put whose key is staged
//   for deletion before the batch leaves is dropped together with the deletion: a message that
//   an online subscriber acknowledged within one batch period never touches the disk twice.
import type { AbstractSublevel } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import type { Db } from '../../gateway/store/db.js';

export type Sublevel = AbstractSublevel<Db, string | Buffer | Uint8Array, string, Uint8Array>;

export type WriteOp =
  | { type: 'put'; key: string; value: Uint8Array | (() => Uint8Array); sublevel: Sublevel; fresh?: boolean }
  | { type: 'del'; key: string; sublevel: Sublevel };

/** A batch operation with its sublevel prefix applied: the form LevelDB itself takes. */
interface RawOp { type: 'put' | 'del'; key: string; value?: Uint8Array | (() => Uint8Array) }

type RawBatch = (ops: RawOp[], options: { sync: boolean }) => Promise<void>;

/**
 * abstract-level's batch() clones, validates and re-encodes every operation (sublevel prefixing
 * included): ~6 µs per op, a quarter of the broker's main-thread time under load. Our keys are
 * utf8 strings and our values bytes already, which is exactly what classic-level's native batch
 * takes, so we call it directly when the DB is a plain, open ClassicLevel without hooks or write
 * listeners. Anything else (a wrapped batch, hooks, listeners) goes through the public batch().
 */
function rawBatchOf(db: Db): RawBatch | undefined {
  const anyDb = db as unknown as {
    _batch?: RawBatch; batch: unknown; status: string;
    hooks?: { prewrite?: { noop?: boolean } }; listenerCount(e: string): number;
  };
  if (typeof anyDb._batch !== 'function' || anyDb.batch !== ClassicLevel.prototype.batch) return undefined;
  if (anyDb.status !== 'open' || anyDb.hooks?.prewrite?.noop === false || anyDb.listenerCount('write') > 0) return undefined;
  return anyDb._batch.bind(db);
}

interface Waiter {
  apply: (() => void) | undefined;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface CommitterEvents {
  /** Writes started failing (first failed batch): nothing of it was applied, its callers were rejected. */
  onWriteError(err: Error): void;
  /** The first batch that succeeded after a failure. */
  onRecovered(): void;
}

/** How long staged-only work may wait for company (ms). */
const STAGE_DELAY_MS = 10;

export class GroupCommitter {
  #ops: Array<RawOp | null> = [];
  /** Staged fresh puts of the pending batch, by full key: a staged delete may cancel them. */
  #freshPuts = new Map<string, number>();
  #waiters: Waiter[] = [];
  #stagedFailures: Array<(err: Error) => void> = [];
  #durable = false;
  #writing = false;
  #scheduled = false;
  #lazyTimer: NodeJS.Timeout | undefined;
  #failed = false;
  /** Batches and operations written, time spent writing (ms): for metrics and the benchmark. */
  readonly stats = { batches: 0, ops: 0, writeMs: 0, maxWriteMs: 0, syncedBatches: 0 };

  constructor(
    private readonly db: Db,
    private readonly sync: boolean,
    private readonly events: CommitterEvents,
  ) {}

  /** Queue ops; `apply` runs (in queue order) only once they are durable. */
  commit(ops: WriteOp[], apply?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#add(ops, false);
      this.#durable = true;
      this.#waiters.push({ apply, resolve, reject });
      this.#schedule();
    });
  }

  /** Queue ops nobody waits for; `onFailure` runs if their batch fails. */
  stage(ops: WriteOp[], onFailure?: (err: Error) => void): void {
    this.#add(ops, true);
    if (onFailure) this.#stagedFailures.push(onFailure);
    this.#schedule();
  }

  /** Resolves once everything queued before the call has been written (or has failed). */
  flush(): Promise<void> {
    if (!this.#writing && this.#waiters.length === 0 && this.#ops.length === 0) return Promise.resolve();
    return this.commit([]).catch(() => undefined);
  }

  #add(ops: WriteOp[], staged: boolean): void {
    for (const op of ops) {
      const key = op.sublevel.prefix + op.key;
      if (op.type === 'put') {
        if (staged && op.fresh) this.#freshPuts.set(key, this.#ops.length);
        this.#ops.push({ type: 'put', key, value: op.value });
        continue;
      }
      const put = staged ? this.#freshPuts.get(key) : undefined;
      if (put !== undefined) {
        // never written, so nothing to delete either
        this.#ops[put] = null;
        this.#freshPuts.delete(key);
        continue;
      }
      this.#ops.push({ type: 'del', key });
    }
  }

  #schedule(): void {
    if (this.#writing || this.#scheduled) return;
    if (!this.#durable) {
      // Nobody waits for staged ops: hold them a little, so that an acknowledgement can cancel
      // its put and they ride along with the next durable batch.
      if (!this.#lazyTimer) {
        this.#lazyTimer = setTimeout(() => {
          this.#lazyTimer = undefined;
          this.#kick();
        }, STAGE_DELAY_MS);
        this.#lazyTimer.unref(); // a process exiting without destroy() only loses replayable work
      }
      return;
    }
    this.#kick();
  }

  /** Write as soon as the current turn of the event loop is over. */
  #kick(): void {
    if (this.#lazyTimer) {
      clearTimeout(this.#lazyTimer);
      this.#lazyTimer = undefined;
    }
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
    if (this.#waiters.length === 0 && this.#ops.length === 0) return;
    const pending = this.#ops;
    const waiters = this.#waiters;
    const stagedFailures = this.#stagedFailures;
    const durable = this.#durable;
    this.#ops = [];
    this.#freshPuts = new Map();
    this.#waiters = [];
    this.#stagedFailures = [];
    this.#durable = false;
    this.#writing = true;
    let error: Error | undefined;
    try {
      const ops: RawOp[] = [];
      for (const op of pending) {
        if (op === null) continue;
        if (typeof op.value === 'function') op.value = op.value();
        ops.push(op);
      }
      if (ops.length > 0) {
        // Staged-only batches skip fsync: they are replayable from the (synced) ingress log.
        const options = { sync: this.sync && durable };
        const fast = rawBatchOf(this.db);
        const t0 = performance.now();
        if (fast) await fast(ops, options);
        else await this.db.batch(ops as never, options);
        const ms = performance.now() - t0;
        const st = this.stats;
        st.batches++;
        st.ops += ops.length;
        st.writeMs += ms;
        if (ms > st.maxWriteMs) st.maxWriteMs = ms;
        if (options.sync) st.syncedBatches++;
      }
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    if (error) {
      const first = !this.#failed;
      this.#failed = true;
      for (const w of waiters) w.reject(error);
      for (const f of stagedFailures) {
        try { f(error); } catch { /* keep going */ }
      }
      // one alarm per episode, not per batch: it clears with the next batch that succeeds
      if (first) {
        try { this.events.onWriteError(error); } catch { /* an alarm sink must not break the queue */ }
      }
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
    if (this.#durable) void this.#run();
    else if (this.#ops.length > 0) this.#schedule();
  }
}
