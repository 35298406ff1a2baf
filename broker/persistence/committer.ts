// Group commit: every change is queued with the in-memory update that must follow it; all changes
// queued while a write is in flight go out as ONE LevelDB batch, and their promises resolve in the
// order they were queued. That order is what keeps per-client delivery FIFO: aedes drops a live
// message whose broker counter is lower than one it already sent (lib/client.js dedupe).
//
// Three kinds of change:
// - commit(): durable before its promise resolves (ingress, subscriptions, retained, wills...);
// - stage(): joins the next batch but nobody waits for it (acknowledgements, which a crash can
//   only make happen again, never lose; retained copies);
// - hold(): a fan-out to subscriber queues, replayable from the ingress log until its batch is
//   written. It waits one extra batch and builds its ops only when released, for the entries
//   still unacknowledged then: a message an online subscriber acknowledged that fast is never
//   written to its queue at all, and costs no key, op or lookup here.
// With sync on, every batch is fsynced except one holding nothing but subscribers' acknowledgements
// (stageDelete): losing those only redelivers a message. Not even held fan-outs and staged retained
// copies, replayable from the ingress log as they are: LevelDB does not fsync a log file it rolls
// over from, so a power cut can lose an unsynced batch while a later synced one survives — one that
// advances the fan-out watermark, after which the ingress entries are cleared.
import type { Db } from '../../platform/store/db.js';
import { encodeValues, rawBatchOf } from './batchWrite.js';
import type { CommitWaiter, CommitterEvents, HeldFanout, RawOp, Sublevel, ValueSealer, Watermark, WriteOp } from './writeTypes.js';

// Callers that imported these from here keep working.
export type {
  CommitWaiter,
  CommitterEvents,
  HeldFanout,
  LazyValue,
  RawOp,
  Sublevel,
  ValueSealer,
  Watermark,
  WriteOp,
} from './writeTypes.js';

/** How long staged-only work may wait for company (ms). */
const STAGE_DELAY_MS = 10;
/**
 * Batch starts a held fan-out waits (see hold()): long enough for an online subscriber's
 * acknowledgement to come back first, under load too.
 */
const HOLD_BATCHES = 3;
/**
 * Batches written at once (see #run). One: classic-level writes each batch on its own thread, and two
 * batches started back to back race for LevelDB's write lock, so the later one can be applied first
 * (a standalone loop: a synced put followed at once by an unsynced delete of the same key left the key
 * 38 times in 2,000). A subscriber's acknowledgement applied before the fan-out it deletes brings the
 * message back after a restart; a subscribe/unsubscribe or two retained messages could end reversed.
 * Work that arrives during a batch's fsync joins the next batch, so the fsync is still shared.
 */
const MAX_IN_FLIGHT = 1;

interface Batch {
  ops: RawOp[];
  waiters: CommitWaiter[];
  stagedFailures: Array<(err: Error) => void>;
  released: HeldFanout[];
  /** Someone waits for it. */
  /** More than subscribers' acknowledgements: fsynced (when sync is on). */
  needsSync: boolean;
  epoch: number;
  /** The watermark it writes (0: none). */
  mark: number;
  /** Lowest seq among the fan-outs it writes. */
  lowestReleased: number;
  startedAt?: number;
}

export class GroupCommitter {
  #ops: RawOp[] = [];
  /** Fan-outs held back, youngest first: the last generation goes with the next batch. */
  #held: HeldFanout[][] = Array.from({ length: HOLD_BATCHES }, () => []);
  /** Fan-outs whose ops are in #ops: told if that batch fails. */
  #released: HeldFanout[] = [];
  #flushAll = false;
  #waiters: CommitWaiter[] = [];
  #stagedFailures: Array<(err: Error) => void> = [];
  #durable = false;
  #needsSync = false;
  #scheduled = false;
  /** Batches started and not yet completed, oldest first. */
  #writingBatches: Batch[] = [];
  #inFlight = 0;
  /** Settles after the completion of the last batch started. */
  #completions: Promise<void> = Promise.resolve();
  /** Bumped by a failure: a batch started under an older epoch fails too. */
  #epoch = 0;
  #lastError: Error | undefined;
  /** The highest watermark put into a batch (written or in flight). */
  #watermarkPlanned = 0;
  #lazyTimer: NodeJS.Timeout | undefined;
  #failed = false;
  #watermark: Watermark | undefined;
  #watermarkWritten = 0;
  /** Batches and operations written, time spent writing (ms): for metrics and the benchmark. */
  readonly stats = { batches: 0, ops: 0, writeMs: 0, maxWriteMs: 0, syncedBatches: 0, overlapped: 0 };

  constructor(
    private readonly db: Db,
    private readonly sync: boolean,
    private readonly events: CommitterEvents,
    private readonly sealer?: ValueSealer,
  ) {}

  /** Attach the fan-out watermark; `from` is the value already on disk. */
  useWatermark(w: Watermark, from: number): void {
    this.#watermark = w;
    this.#watermarkWritten = from;
    this.#watermarkPlanned = from;
  }

  /** Queue ops; `apply` runs (in queue order) only once they are durable, `undo` if their batch failed. */
  commit(ops: WriteOp[], apply?: () => void, undo?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.commitThen(ops, apply, undo, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** commit() with a callback instead of a promise. `done` must not throw. */
  commitThen(ops: WriteOp[], apply: (() => void) | undefined, undo: (() => void) | undefined, done: (err?: Error) => void): void {
    this.#add(ops);
    this.#wait({ apply, undo, done });
  }

  /**
   * One durable put (its key with the sublevel prefix applied) and its waiter, without op arrays
   * or closures (the ingress path, once per accepted publish).
   */
  commitPut(fullKey: string, value: Uint8Array, waiter: CommitWaiter): void {
    this.#ops.push({ type: 'put', key: fullKey, value });
    this.#wait(waiter);
  }

  #wait(waiter: CommitWaiter): void {
    this.#durable = true;
    this.#needsSync = true;
    this.#waiters.push(waiter);
    this.#schedule();
  }

  /** Queue ops nobody waits for; `onFailure` runs if their batch fails. */
  stage(ops: WriteOp[], onFailure?: (err: Error) => void): void {
    this.#add(ops);
    if (ops.length > 0) this.#needsSync = true;
    if (onFailure) this.#stagedFailures.push(onFailure);
    this.#schedule();
  }

  /** stage() of one delete, without the arrays (a subscriber's acknowledgement, once per message). */
  stageDelete(sublevel: Sublevel, key: string): void {
    this.#ops.push({ type: 'del', key: sublevel.prefix + key });
    this.#schedule();
  }

  /**
   * Hold a fan-out back: it goes with the batch after next (or earlier, when something needs its
   * keys written first: releaseHeld / releaseAllHeld), and what it then writes is up to it.
   */
  hold(fanout: HeldFanout): void {
    this.#held[0]!.push(fanout);
    this.#schedule();
  }

  /**
   * An op on one of this fan-out's keys is about to be queued: its ops go first, now, so that
   * ops on a key keep their order.
   */
  releaseHeld(seq: number): void {
    for (const list of this.#held) {
      for (let i = 0; i < list.length; i++) {
        if (list[i]!.seq !== seq) continue;
        const [f] = list.splice(i, 1);
        this.#release(f!);
        i--;
      }
    }
  }

  /** releaseHeld() for every held fan-out (e.g. before a session's whole queue is deleted). */
  releaseAllHeld(): void {
    for (let g = this.#held.length - 1; g >= 0; g--) {
      for (const f of this.#held[g]!) this.#release(f);
      this.#held[g] = [];
    }
  }

  /** Resolves once everything queued before the call has been written (or has failed). */
  flush(): Promise<void> {
    if (this.#inFlight === 0 && this.#waiters.length === 0 && this.#ops.length === 0 && !this.#holding()) {
      return Promise.resolve();
    }
    this.#flushAll = true;
    return this.commit([]).catch(() => undefined);
  }

  /**
   * flush(), then, if needed, one batch more that records the watermark over every fan-out written:
   * a batch written beside another keeps its watermark below that one's fan-outs (#write), and once
   * both are written only a later batch records it. Without that batch a clean stop left them to be
   * replayed at the next start. Before the DB closes.
   */
  async drain(): Promise<void> {
    await this.flush();
    if (this.#nextWatermark() <= this.#watermarkPlanned) return;
    await this.commit([]).catch(() => undefined);
  }

  #add(ops: WriteOp[]): void {
    for (const op of ops) {
      const key = op.sublevel.prefix + op.key;
      this.#ops.push(op.type === 'put' ? { type: 'put', key, value: op.value } : { type: 'del', key });
    }
  }

  #holding(): boolean {
    for (const list of this.#held) if (list.length > 0) return true;
    return false;
  }

  #release(fanout: HeldFanout): void {
    const before = this.#ops.length;
    fanout.release(this.#ops);
    if (this.#ops.length > before) this.#needsSync = true;
    this.#released.push(fanout);
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= MAX_IN_FLIGHT) return; // a completion schedules again
    if (!this.#durable) {
      // Nobody waits for staged or held work: hold it a little, so that acknowledgements can
      // cancel its puts and it rides along with the next durable batch.
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
    if (this.#scheduled || this.#inFlight >= MAX_IN_FLIGHT) return;
    this.#scheduled = true;
    // One turn of the event loop lets a whole socket read chunk (dispatched concurrently by aedes)
    // join the same batch.
    setImmediate(this.#runNow);
  }

  readonly #runNow = (): void => {
    this.#scheduled = false;
    this.#run();
  };

  /**
   * Starts one batch. Up to MAX_IN_FLIGHT batches are written at once (one: see there; the logic
   * below keeps working for more, should LevelDB ever apply concurrent batches in start order). Completions are handled strictly in start order, and a batch that fails fails
   * every batch started before its failure was handled (written or not, nothing of them is applied
   * or acknowledged, their fan-outs are published again), so acks and in-memory state never run
   * ahead of a failed write.
   */
  #run(): void {
    if (this.#waiters.length === 0 && this.#ops.length === 0 && !this.#holding()) return;
    const held = this.#held;
    for (const f of held[held.length - 1]!) this.#release(f);
    for (let g = held.length - 1; g > 0; g--) held[g] = held[g - 1]!;
    held[0] = [];
    if (this.#flushAll) {
      this.releaseAllHeld();
      this.#flushAll = false;
    }
    const batch: Batch = {
      ops: this.#ops,
      waiters: this.#waiters,
      stagedFailures: this.#stagedFailures,
      released: this.#released,
      needsSync: this.#needsSync,
      epoch: this.#epoch,
      mark: 0,
      lowestReleased: Number.MAX_SAFE_INTEGER,
    };
    this.#ops = [];
    this.#waiters = [];
    this.#stagedFailures = [];
    this.#released = [];
    this.#durable = false;
    this.#needsSync = false;
    for (const f of batch.released) if (f.seq < batch.lowestReleased) batch.lowestReleased = f.seq;
    let write: Promise<void> | undefined;
    let error: Error | undefined;
    try {
      write = this.#write(batch);
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    if (this.#inFlight > 0) this.stats.overlapped++;
    this.#inFlight++;
    this.#writingBatches.push(batch);
    const previous = this.#completions;
    this.#completions = this.#complete(batch, write, error, previous);
  }

  /**
   * The watermark a batch started now records (0 without one): below every fan-out still held, and
   * below those of batches still being written: if one of those fails, this batch may already be on
   * disk, and its watermark must not cover them.
   */
  #nextWatermark(): number {
    const wm = this.#watermark;
    if (!wm) return 0;
    let held = Number.MAX_SAFE_INTEGER;
    for (const list of this.#held) for (const f of list) if (f.seq < held) held = f.seq;
    for (const b of this.#writingBatches) if (b.lowestReleased < held) held = b.lowestReleased;
    return wm.lowest(held);
  }

  /** Seals/encodes the batch, adds the watermark op and starts the write (undefined: nothing to write). */
  #write(batch: Batch): Promise<void> | undefined {
    const ops = batch.ops;
    const sealer = this.sealer;
    encodeValues(ops, sealer);
    const wm = this.#watermark;
    if (wm) {
      const w = this.#nextWatermark();
      if (w > this.#watermarkPlanned) {
        batch.mark = w;
        batch.needsSync = true;
        this.#watermarkPlanned = w;
        const op = wm.op(w);
        const bytes = op.value instanceof Uint8Array ? op.value : op.value.bytes();
        ops.push({ type: 'put', key: op.sublevel.prefix + op.key, value: sealer ? sealer.seal(bytes) : bytes });
      }
    }
    if (ops.length === 0) return undefined;
    // Acknowledgements only: no fsync (see the top of this file).
    const options = { sync: this.sync && batch.needsSync };
    const fast = rawBatchOf(this.db);
    batch.startedAt = performance.now();
    return fast ? fast(ops, options) : this.db.batch(ops, options);
  }

  async #complete(batch: Batch, write: Promise<void> | undefined, startError: Error | undefined, previous: Promise<void>): Promise<void> {
    let error = startError;
    if (write) {
      try {
        await write;
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
      }
    }
    await previous; // completions in start order
    if (!error && batch.epoch !== this.#epoch) error = this.#lastError ?? new Error('an earlier batch failed');
    if (write && !error) {
      const ms = performance.now() - batch.startedAt!;
      const st = this.stats;
      st.batches++;
      st.ops += batch.ops.length;
      st.writeMs += ms;
      if (ms > st.maxWriteMs) st.maxWriteMs = ms;
      if (this.sync && batch.needsSync) st.syncedBatches++;
    }
    this.#writingBatches.shift();
    if (error) this.#failBatch(batch, error);
    else this.#applyBatch(batch);
    this.#inFlight--;
    if (this.#durable) this.#kick();
    else if (this.#ops.length > 0 || this.#holding()) this.#schedule();
  }

  #failBatch(batch: Batch, error: Error): void {
    if (batch.epoch === this.#epoch) {
      // every batch started before this point fails with it
      this.#epoch++;
      this.#lastError = error;
      this.#watermarkPlanned = this.#watermarkWritten;
    }
    const first = !this.#failed;
    this.#failed = true;
    for (const w of batch.waiters) {
      try {
        w.undo?.();
      } catch {
        /* keep going */
      }
    }
    for (const w of batch.waiters) {
      try {
        w.done(error);
      } catch {
        /* a caller's callback must not break the queue */
      }
    }
    for (const f of batch.stagedFailures) {
      try {
        f(error);
      } catch {
        /* keep going */
      }
    }
    for (const f of batch.released) {
      try {
        f.failed(error);
      } catch {
        /* keep going */
      }
    }
    // one alarm per episode, not per batch: it clears with the next batch that succeeds
    if (first) {
      try {
        this.events.onWriteError(error);
      } catch {
        /* an alarm sink must not break the queue */
      }
    }
  }

  #applyBatch(batch: Batch): void {
    if (batch.mark > this.#watermarkWritten) {
      this.#watermarkWritten = batch.mark;
      this.#watermark!.written(batch.mark);
    }
    if (this.#failed && batch.ops.length > 0) {
      this.#failed = false;
      try {
        this.events.onRecovered();
      } catch {
        /* see above */
      }
    }
    // every apply first, then the callbacks: what a caller does next sees the whole batch applied
    const waiters = batch.waiters;
    const failures: Array<Error | undefined> = new Array(waiters.length);
    for (let i = 0; i < waiters.length; i++) {
      try {
        waiters[i]!.apply?.();
      } catch (err) {
        failures[i] = err instanceof Error ? err : new Error(String(err));
      }
    }
    for (let i = 0; i < waiters.length; i++) {
      try {
        waiters[i]!.done(failures[i]);
      } catch {
        /* see above */
      }
    }
  }
}
