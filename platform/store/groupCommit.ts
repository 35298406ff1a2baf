// Group commit (グループコミット): the writes of several requests in one LevelDB batch, so that one
// fsync makes a whole group durable instead of one fsync per request. A request's unit of work gets
// a staged batch: its puts and deletes are kept in memory; its `write()` hands them to the open
// group and resolves only once the group's single batch is on disk, so whatever a caller does after
// its commit (hooks that wake queues, replies, upstream sends) still happens after durability. A
// request's writes stay all-or-nothing: they join the group only when its commit is called, a
// dropped unit of work (`close()`) leaves nothing behind, and a request whose operations the
// database refuses (encoding) fails alone: the group is rebuilt without it. When no group is open,
// a staged batch is written on its own, exactly as a plain batch.
import type { AbstractChainedBatchDelOptions, AbstractChainedBatchPutOptions, AbstractChainedBatchWriteOptions } from 'abstract-level';
import type { Batch, Db } from './db.js';

// Keys and values of any encoding a sublevel's options name: the database encodes them at replay.
type PutOptions = AbstractChainedBatchPutOptions<Db, unknown, unknown>;
type DelOptions = AbstractChainedBatchDelOptions<Db, unknown>;
type WriteOptions = AbstractChainedBatchWriteOptions | undefined;
type Op =
  | { type: 'put'; key: unknown; value: unknown; options: PutOptions | undefined }
  | { type: 'del'; key: unknown; options: DelOptions | undefined };

interface Member {
  ops: Op[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

class StagedBatch {
  private ops: Op[] = [];
  private done = false;

  constructor(
    private readonly group: GroupCommit,
    private readonly onStaged: (() => void) | undefined,
  ) {}

  get length(): number {
    return this.ops.length;
  }

  put(key: unknown, value: unknown, options?: PutOptions): this {
    this.usable();
    this.ops.push({ type: 'put', key, value, options });
    return this;
  }

  del(key: unknown, options?: DelOptions): this {
    this.usable();
    this.ops.push({ type: 'del', key, options });
    return this;
  }

  clear(): this {
    this.usable();
    this.ops = [];
    return this;
  }

  async write(options?: WriteOptions): Promise<void> {
    this.usable();
    this.done = true;
    return this.group.write(this.ops, options, this.onStaged);
  }

  async close(): Promise<void> {
    this.done = true;
    this.ops = [];
  }

  private usable(): void {
    if (this.done) throw new Error('batch already written or closed');
  }
}

function replay(into: Batch, ops: Op[]): void {
  for (const op of ops) {
    if (op.type === 'put') into.put(op.key, op.value, op.options ?? {});
    else into.del(op.key, op.options ?? {});
  }
}

export class GroupCommit {
  private members: Member[] = [];
  private pending: Batch | undefined;
  private isOpen = false;
  /** Groups written so far (one LevelDB batch, one fsync each). */
  groupsWritten = 0;

  constructor(private readonly db: Db) {}

  /** A batch for one request's unit of work; `onStaged` runs once its writes joined the open group. */
  batch(onStaged?: () => void): Batch {
    // Units of work use a chained batch's operations (put, del, clear, write, close, length) only.
    // why: a staged batch has those, not the database-bound fields (db, status, resources) of abstract-level's class.
    return new StagedBatch(this, onStaged) as unknown as Batch;
  }

  open(): void {
    this.isOpen = true;
  }

  /** Stops taking writes into groups (later ones are written alone) and writes the open group. */
  async close(): Promise<void> {
    this.isOpen = false;
    await this.flush();
  }

  /** Requests whose writes wait in the open group. */
  get size(): number {
    return this.members.length;
  }

  /** Writes the open group as one batch; each member's `write()` then resolves (or rejects) in order. */
  async flush(): Promise<void> {
    const members = this.members;
    const batch = this.pending;
    this.members = [];
    this.pending = undefined;
    if (!batch || members.length === 0) {
      await batch?.close();
      return;
    }
    try {
      await batch.write();
    } catch (e) {
      for (const m of members) m.reject(e);
      return;
    }
    this.groupsWritten++;
    for (const m of members) m.resolve();
  }

  /** @internal StagedBatch.write */
  write(ops: Op[], options: WriteOptions, onStaged: (() => void) | undefined): Promise<void> {
    if (!this.isOpen || options !== undefined) return this.writeAlone(ops, options);
    const batch = (this.pending ??= this.db.batch());
    try {
      replay(batch, ops);
    } catch (e) {
      // The part of this request already added cannot be taken out of a chained batch: start the
      // group's batch again from its other members (each replayed once before, so they fit).
      this.pending = this.db.batch();
      for (const m of this.members) replay(this.pending, m.ops);
      void batch.close();
      return Promise.reject(e);
    }
    const done = new Promise<void>((resolve, reject) => {
      this.members.push({ ops, resolve, reject });
    });
    onStaged?.();
    return done;
  }

  private async writeAlone(ops: Op[], options: WriteOptions): Promise<void> {
    const batch = this.db.batch();
    try {
      replay(batch, ops);
    } catch (e) {
      await batch.close();
      throw e;
    }
    await batch.write(options ?? {});
  }
}
