// Applies the replicated log to this node's own LevelDB in position order. Each entry is written in
// the same batch as the applied position (its own sublevel, `!cluster!applied`), so a restart resumes
// exactly after the last applied entry and applies nothing twice. Catches up by range reads; a
// standby follows by watch on the head key, moved in the same transaction as every append (an
// event only says "read on"; the range read fetches the entries, a page at a time, so a watch
// response never carries entries of up to 1.5 MiB each).
import type { Etcd3, Watcher } from 'etcd3';
import type { Db } from '../platform/store/db.js';
import { levelPort } from '../platform/store/levelPort.js';
import type { StoragePort, StoreOp } from '../platform/store/port.js';
import { decodeLogEntry, type EntryOp } from './entry.js';
import { isEtcdUnavailable } from './errors.js';
import { APPLIED_KEY, positionOf, type ClusterKeys } from './keys.js';
import type { AppendedEntry } from './replicatedLog.js';

export { APPLIED_KEY };
/** Entries per range read: 32 × 1.5 MiB stays within the client's receive limit (etcdClient.ts). */
const PAGE = 32;

export class LogCompactedError extends Error {
  constructor(applied: number, first: number) {
    super(
      `this node applied the log up to ${applied} but the log now starts at ${first}: entries ${applied + 1}..${first - 1} were compacted away; this node needs a full copy from the active node`,
    );
    this.name = 'LogCompactedError';
  }
}

/** The parts of a split commit read so far (cluster/entry.ts): applied once the last one is read. */
interface PartsRead {
  ops: EntryOp[];
  count: number;
  next: number;
}

export class Applier {
  private chain: Promise<unknown> = Promise.resolve();
  /**
   * Last position read: `position` (applied) or further, over parts of a split commit whose last
   * part has not been read yet. Parts never completed (their leader died between them) are passed
   * over when the next whole commit is applied.
   */
  private readPosition: number;
  private parts?: PartsRead;
  private watcher?: Watcher;
  private listeners: ((position: number) => void)[] = [];
  private failed: ((e: Error) => void)[] = [];

  /**
   * LevelDB itself, not the store's port: on the active node the store's port is the replicated log,
   * and what the log already holds must not go back into it.
   */
  private readonly local: StoragePort;

  private constructor(
    db: Db,
    private readonly client: Etcd3,
    private readonly keys: ClusterKeys,
    private position: number,
  ) {
    this.local = levelPort(db);
    this.readPosition = position;
  }

  static async open(db: Db, client: Etcd3, keys: ClusterKeys): Promise<Applier> {
    const v = await db.get(APPLIED_KEY);
    return new Applier(db, client, keys, v === undefined ? 0 : Number(Buffer.from(v).toString('utf8')));
  }

  get applied(): number {
    return this.position;
  }

  /** Last log position read, parts of a commit not yet complete included. */
  get read(): number {
    return this.readPosition;
  }

  /**
   * At takeover: the parts of a split commit at the end of the log will never be completed (only the
   * leader that appended them could, and it is gone or fenced out): they are dropped.
   */
  dropIncompleteCommit(): void {
    this.parts = undefined;
  }

  onApplied(listener: (position: number) => void): void {
    this.listeners.push(listener);
  }
  /** Following stopped on an error (e.g. LogCompactedError, a LevelDB write error). */
  onFollowError(listener: (e: Error) => void): void {
    this.failed.push(listener);
  }

  /** Applies entries already read (the active node's own appends); positions at or below `applied` are skipped. */
  offer(entries: AppendedEntry[]): Promise<void> {
    return this.serial(async () => {
      const fresh = entries.filter((e) => e.position > this.readPosition);
      if (fresh.length === 0) return;
      if (fresh[0]!.position !== this.readPosition + 1) await this.readThrough(fresh[0]!.position - 1);
      await this.write(fresh.filter((e) => e.position > this.readPosition));
    });
  }

  /** Reads and applies every entry after `applied` up to `through` (default: the end of the log). */
  catchUp(through = Number.MAX_SAFE_INTEGER): Promise<void> {
    return this.serial(() => this.readThrough(through));
  }

  /** Follows the log by watch until unfollow() (a standby). */
  async follow(): Promise<void> {
    if (this.watcher) return;
    const watcher = await this.client.watch().key(this.keys.head).create();
    this.watcher = watcher;
    let queued = false;
    const readOn = (): void => {
      if (queued || this.watcher !== watcher) return;
      queued = true;
      void this.serial(async () => {
        queued = false;
        await this.readThrough(Number.MAX_SAFE_INTEGER);
      }).catch((e: Error) => {
        // etcd unreachable for a moment: read on later; anything else (a gap, LevelDB) stops the node.
        if (isEtcdUnavailable(e)) setTimeout(readOn, 500);
        else for (const l of this.failed) l(e);
      });
    };
    watcher.on('put', readOn);
    await this.catchUp();
  }

  async unfollow(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    await w?.cancel().catch(() => undefined);
    await this.chain.catch(() => undefined);
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.chain.then(job, job);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async readThrough(through: number): Promise<void> {
    while (this.readPosition < through) {
      const from = this.keys.entry(this.readPosition + 1);
      const end = through === Number.MAX_SAFE_INTEGER ? this.keys.logPrefix + '~' : this.keys.entry(through + 1);
      const res = await this.client.getAll().inRange({ start: from, end }).sort('Key', 'Ascend').limit(PAGE).exec();
      if (res.kvs.length === 0) {
        // Nothing after our position: either we are current, or what we lack was compacted away.
        // (The head as of the same revision as that range read: a later append is not a gap.)
        const head = Number((await this.client.get(this.keys.head).revision(res.header.revision).string()) ?? 0);
        if (head > this.readPosition && through > this.readPosition)
          throw new LogCompactedError(this.readPosition, Math.min(head, through) + 1);
        return;
      }
      const entries = res.kvs.map((kv) => ({ position: positionOf(kv.key.toString('utf8')), bytes: kv.value }));
      if (entries[0]!.position !== this.readPosition + 1) throw new LogCompactedError(this.readPosition, entries[0]!.position);
      await this.write(entries);
      if (!res.more) return;
    }
  }

  /** One LevelDB batch for a run of entries; an entry with a range clear is written around it, see below. */
  private async write(entries: AppendedEntry[]): Promise<void> {
    entries.forEach((e, i) => {
      if (e.position !== this.readPosition + 1 + i)
        throw new Error(`log entry ${e.position} out of order (expected ${this.readPosition + 1 + i})`);
    });
    let batch: StoreOp[] = [];
    let applied: number | undefined;
    for (const e of entries) {
      const ops = this.whole(e);
      this.readPosition = e.position;
      if (!ops) continue;
      applied = e.position;
      for (const op of ops) {
        if (op.type === 'put' || op.type === 'del') batch.push(op);
        else {
          // A clear cannot join a batch: what precedes it is written first, then the clear; the
          // position moves only after the whole entry, so a crash in between replays the entry
          // (puts, deletes and clears replayed in order leave the same state).
          await this.local.commit(batch, { sync: true });
          await this.local.clearRange(op.range, { sync: true });
          batch = [];
        }
      }
    }
    if (applied === undefined) return;
    batch.push({ type: 'put', key: APPLIED_KEY, value: Buffer.from(String(applied)) });
    await this.local.commit(batch, { sync: true });
    this.position = applied;
    for (const l of this.listeners) l(applied);
  }

  /** The ops of the commit an entry completes, or undefined while a split commit is still being read. */
  private whole(e: AppendedEntry): EntryOp[] | undefined {
    const { ops, part } = decodeLogEntry(e.bytes);
    if (!part) {
      this.parts = undefined; // an unfinished split commit before a whole one was never acknowledged
      return ops;
    }
    if (part.index === 0) this.parts = { ops: [], count: part.count, next: 0 };
    const p = this.parts;
    if (!p || p.next !== part.index || p.count !== part.count) {
      this.parts = undefined; // a part without those before it: the rest of an unfinished commit
      return undefined;
    }
    p.ops.push(...ops);
    p.next++;
    if (p.next < p.count) return undefined;
    this.parts = undefined;
    return p.ops;
  }
}
