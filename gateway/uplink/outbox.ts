// Durable outbox (store-and-forward) in the appliance LevelDB, sublevel `outbox`.
//   q!{seq} → queued entry      d!{seq} → dead-lettered entry (DLQ)
// A flow enqueues into ITS OWN chained batch, so the business change and the outbound message commit
// atomically; `commit(batch)` writes and tells the outbox. A periodic rescan finds batches written
// without `commit`, so a forgotten notification only delays delivery, never loses it.
// Ordering: strictly by seq within a partition (one person, else one message type); partitions are
// independent, so one stuck person never blocks the others.
import { EventEmitter } from 'node:events';
import type { AbstractSublevel } from 'abstract-level';
import type { PartialEncoding } from 'level-transcoder';
import type { Batch, Db } from '../../platform/store/db.js';
import { SUBLEVELS, seqKey } from '../../platform/store/db.js';
import type { Envelope } from '../../platform/envelope.js';
import { partitionOf } from './partition.js';
import { UnsyncedWrites } from './unsyncedWrites.js';

export interface OutboxEntry {
  seq: number;
  link: string;
  /** Hashed partition key (see partition.ts). */
  partition: string;
  envelope: Envelope;
  enqueuedAt: number;
  attempts: number;
  /** Not before this time (ms since epoch): the retry backoff. */
  nextAt: number;
  lastError?: string;
}
export interface DeadEntry extends OutboxEntry {
  deadAt: number;
  reason: string;
}

/** What lists show: never the body (personal data). */
export type OutboxSummary = Omit<OutboxEntry, 'envelope'> & { id: string; type: string; to: string; deadAt?: number; reason?: string };

export interface EnqueueOptions {
  partitionKey?: string;
  link?: string;
}
export interface FailureOptions {
  permanent?: boolean;
  countAttempt?: boolean;
}

type Stored = OutboxEntry | DeadEntry;
type OutboxSublevel = AbstractSublevel<Db, string | Uint8Array, string, Stored>;

interface Slot {
  seq: number;
  enqueuedAt: number;
}
interface Partition {
  link: string;
  items: Slot[];
  head: number;
  inFlight: boolean;
  notBefore: number;
  timer?: NodeJS.Timeout;
}
interface Staged {
  link: string;
  partition: string;
  enqueuedAt: number;
  nextAt: number;
  stagedAt: number;
}

const Q = 'q!';
const D = 'd!';
/** A batch not written within this time is taken as abandoned; its seqs are never indexed. */
const ABANDONED_AFTER_MS = 60_000;

export interface OutboxOptions {
  db: Db;
  /** Resolves node address → link name (config routing). */
  route: (to: string) => string;
  retry: { initialMs: number; maxMs: number; maxAttempts: number };
  /** Injectable so encryption at rest can replace JSON for queued personal data. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- abstract-level types a sublevel's encoding with the stored type as its format; a sealing encoding's format is bytes
  valueEncoding?: string | PartialEncoding<Stored, any>;
  backoff: (attempt: number) => number;
  rescanMs?: number;
  now?: () => number;
  onDeadLetter?: (entry: DeadEntry) => void;
}

export class Outbox extends EventEmitter<{ work: [link: string]; dead: [entry: DeadEntry] }> {
  readonly sublevel: OutboxSublevel;
  /** Where the deletes of delivered entries are gathered (the inbox adds its marks of answers). */
  readonly unsynced: UnsyncedWrites;
  private nextSeq = 1;
  private readonly parts = new Map<string, Partition>(); // key: link + '\0' + partition
  private readonly ready = new Map<string, Set<string>>(); // link → partition keys ready to send
  private readonly staged = new Map<number, Staged>();
  private readonly stagedByBatch = new WeakMap<Batch, number[]>();
  private readonly seqPart = new Map<number, string>(); // indexed seq → partition key
  private deadCount = new Map<string, number>();
  private rescanTimer?: NodeJS.Timeout;
  /** The pass of notify() reading now, and the one that follows it for the calls made meanwhile. */
  private indexing?: Promise<void>;
  private indexingNext?: Promise<void>;
  private readonly now: () => number;

  constructor(private readonly opts: OutboxOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.sublevel = opts.db.sublevel<string, Stored>(SUBLEVELS.outbox, { valueEncoding: opts.valueEncoding ?? 'json' });
    this.unsynced = new UnsyncedWrites(opts.db);
  }

  /** Loads the index from disk. `live` starts the rescan timer (the running appliance); the CLI leaves it off. */
  async open({ live = true }: { live?: boolean } = {}): Promise<void> {
    let max = 0;
    for await (const [, e] of this.sublevel.iterator({ gte: Q, lt: 'q"' })) {
      this.index(e.seq, e.link, e.partition, e.enqueuedAt, e.nextAt);
      max = Math.max(max, e.seq);
    }
    for await (const [, e] of this.sublevel.iterator({ gte: D, lt: 'd"' })) {
      this.deadCount.set(e.link, (this.deadCount.get(e.link) ?? 0) + 1);
      max = Math.max(max, e.seq);
    }
    this.nextSeq = max + 1;
    if (live) {
      this.rescanTimer = setInterval(() => {
        void this.notify();
      }, this.opts.rescanMs ?? 1000);
      this.rescanTimer.unref();
    }
  }

  close(): void {
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    for (const p of this.parts.values()) if (p.timer) clearTimeout(p.timer);
  }

  /**
   * Adds the message to the caller's batch (not written yet). The seq is assigned now, synchronously,
   * so the order of enqueue calls is the delivery order within a partition. Throws RoutingError when
   * no link serves `envelope.to`.
   */
  enqueue(batch: Batch, envelope: Envelope, options: EnqueueOptions = {}): number {
    const link = options.link ?? this.opts.route(envelope.to);
    const seq = this.nextSeq++;
    const now = this.now();
    const entry: OutboxEntry = {
      seq,
      link,
      partition: partitionOf(envelope, options.partitionKey),
      envelope,
      enqueuedAt: now,
      attempts: 0,
      nextAt: now,
    };
    batch.put<string, Stored>(Q + seqKey(seq), entry, { sublevel: this.sublevel });
    this.staged.set(seq, { link, partition: entry.partition, enqueuedAt: now, nextAt: now, stagedAt: now });
    const seqs = this.stagedByBatch.get(batch);
    if (seqs) seqs.push(seq);
    else this.stagedByBatch.set(batch, [seq]);
    return seq;
  }

  /** Writes the caller's batch and makes its outbox entries sendable at once. */
  async commit(batch: Batch): Promise<void> {
    try {
      await batch.write();
    } catch (e) {
      this.abandon(batch);
      throw e;
    }
    this.stagedByBatch.delete(batch);
    await this.notify();
  }

  /**
   * Forgets what was enqueued in a batch that will not be written (the flow failed and closed it), so
   * that person's later messages are not held back waiting for it.
   */
  abandon(batch: Batch): void {
    for (const seq of this.stagedByBatch.get(batch) ?? []) this.staged.delete(seq);
    this.stagedByBatch.delete(batch);
  }

  /**
   * Indexes staged entries that reached the disk. Holds back a seq while an earlier seq of the same
   * partition is still unwritten. Calls made while a pass reads share the one pass after it (which
   * starts after each of them, so it sees what they wrote): a group commit's requests each call this
   * after their one write, and a read of everything staged per call was quadratic in the group.
   */
  notify(): Promise<void> {
    if (!this.indexing) {
      this.indexing = this.indexWritten().finally(() => {
        this.indexing = undefined;
      });
      return this.indexing;
    }
    // After the pass reading now, failed or not (a failed pass's callers have its error; these get their own).
    this.indexingNext ??= this.indexing
      .catch(() => undefined)
      .then(() => {
        this.indexingNext = undefined;
        return this.notify();
      });
    return this.indexingNext;
  }

  private async indexWritten(): Promise<void> {
    if (this.staged.size === 0) return;
    const seqs = [...this.staged.keys()].sort((a, b) => a - b);
    const found = await this.sublevel.getMany(seqs.map((s) => Q + seqKey(s)));
    const blocked = new Set<string>();
    const now = this.now();
    seqs.forEach((seq, i) => {
      const s = this.staged.get(seq);
      if (!s) return;
      const pk = s.link + '\0' + s.partition;
      if (found[i] === undefined) {
        if (now - s.stagedAt > ABANDONED_AFTER_MS) this.staged.delete(seq);
        else blocked.add(pk);
        return;
      }
      if (blocked.has(pk)) return;
      this.staged.delete(seq);
      this.index(seq, s.link, s.partition, s.enqueuedAt, s.nextAt);
    });
  }

  private index(seq: number, link: string, partition: string, enqueuedAt: number, nextAt: number): void {
    if (this.seqPart.has(seq)) return;
    const pk = link + '\0' + partition;
    let p = this.parts.get(pk);
    if (!p) {
      p = { link, items: [], head: 0, inFlight: false, notBefore: nextAt };
      this.parts.set(pk, p);
    }
    p.items.push({ seq, enqueuedAt });
    this.seqPart.set(seq, pk);
    if (p.items.length - p.head === 1) {
      p.notBefore = nextAt;
      this.schedule(pk, p);
    }
  }

  private schedule(pk: string, p: Partition): void {
    if (p.inFlight || p.items.length === p.head) return;
    const wait = p.notBefore - this.now();
    if (wait <= 0) {
      let set = this.ready.get(p.link);
      if (!set) this.ready.set(p.link, (set = new Set()));
      set.add(pk);
      this.emit('work', p.link);
    } else if (!p.timer) {
      p.timer = setTimeout(() => {
        p.timer = undefined;
        this.schedule(pk, p);
      }, wait);
      p.timer.unref();
    }
  }

  /** Up to `max` partition heads of this link that are due; they stay "in flight" until delivered/failed. */
  takeReady(link: string, max: number): number[] {
    const set = this.ready.get(link);
    const out: number[] = [];
    if (!set) return out;
    for (const pk of set) {
      if (out.length >= max) break;
      set.delete(pk);
      const p = this.parts.get(pk);
      if (!p || p.inFlight || p.items.length === p.head) continue;
      p.inFlight = true;
      out.push(p.items[p.head]!.seq);
    }
    return out;
  }

  async load(seq: number): Promise<OutboxEntry | undefined> {
    return this.sublevel.get(Q + seqKey(seq));
  }

  /** The queued entries of `seqs` in one read (undefined where gone), as `load` each. */
  async loadMany(seqs: number[]): Promise<Array<OutboxEntry | undefined>> {
    return this.sublevel.getMany(seqs.map((s) => Q + seqKey(s)));
  }

  /** The message reached its receiver: remove it and let its partition move on. */
  async delivered(seq: number): Promise<void> {
    // Not synced: the receiver has it; lost in a power cut, this delete only resends the message,
    // which the receiver drops by id — it acknowledges nothing. Gathered with the other deliveries
    // of the moment into one write; the partition moves on once it is written.
    await this.unsynced.add((b) => b.del<string>(Q + seqKey(seq), { sublevel: this.sublevel }));
    this.advance(seq, this.now());
  }

  /** Send failed: retry later with backoff, or dead-letter when permanent or out of attempts. */
  async failed(seq: number, error: string, options: FailureOptions = {}): Promise<'retry' | 'dead' | 'gone'> {
    const pk = this.seqPart.get(seq);
    const entry = await this.load(seq);
    if (!pk || !entry) {
      if (pk) this.advance(seq, this.now());
      return 'gone';
    }
    const attempts = entry.attempts + (options.countAttempt === false ? 0 : 1);
    const now = this.now();
    if (options.permanent || attempts >= this.opts.retry.maxAttempts) {
      const dead: DeadEntry = {
        ...entry,
        attempts,
        lastError: error,
        deadAt: now,
        reason: options.permanent ? `rejected: ${error}` : `gave up after ${attempts} attempts: ${error}`,
      };
      await this.sublevel
        .batch()
        .del(Q + seqKey(seq))
        .put(D + seqKey(seq), dead)
        .write();
      this.deadCount.set(dead.link, (this.deadCount.get(dead.link) ?? 0) + 1);
      this.advance(seq, now);
      this.opts.onDeadLetter?.(dead);
      this.emit('dead', dead);
      return 'dead';
    }
    const nextAt = now + this.opts.backoff(Math.max(1, attempts));
    await this.sublevel.put(Q + seqKey(seq), { ...entry, attempts, nextAt, lastError: error });
    const p = this.parts.get(pk)!;
    p.inFlight = false;
    p.notBefore = nextAt;
    this.schedule(pk, p);
    return 'retry';
  }

  /** Gives the partition back without a verdict (e.g. the link went down before sending). */
  release(seq: number): void {
    const pk = this.seqPart.get(seq);
    const p = pk ? this.parts.get(pk) : undefined;
    if (!pk || !p) return;
    p.inFlight = false;
    this.schedule(pk, p);
  }

  private advance(seq: number, now: number): void {
    const pk = this.seqPart.get(seq);
    if (!pk) return;
    this.seqPart.delete(seq);
    const p = this.parts.get(pk)!;
    if (p.items[p.head]?.seq === seq) {
      p.head++;
      p.inFlight = false;
    } else {
      p.items = p.items.slice(p.head).filter((s) => s.seq !== seq);
      p.head = 0;
    }
    if (p.head > 1024 && p.head * 2 > p.items.length) {
      p.items = p.items.slice(p.head);
      p.head = 0;
    }
    if (p.items.length === p.head) {
      if (p.timer) clearTimeout(p.timer);
      this.parts.delete(pk);
      return;
    }
    p.notBefore = now;
    this.schedule(pk, p);
  }

  // ---- operations (UI and `juki-gw queue`) -------------------------------------------------------

  async list(options: { dead?: boolean; limit?: number; afterSeq?: number } = {}): Promise<OutboxSummary[]> {
    const prefix = options.dead ? D : Q;
    const out: OutboxSummary[] = [];
    const gt = options.afterSeq !== undefined ? prefix + seqKey(options.afterSeq) : undefined;
    for await (const [, e] of this.sublevel.iterator({
      ...(gt ? { gt } : { gte: prefix }),
      lt: prefix.slice(0, 1) + '"',
      limit: options.limit ?? 100,
    })) {
      const { envelope, ...rest } = e;
      out.push({ ...rest, id: envelope.id, type: envelope.type, to: envelope.to });
    }
    return out;
  }

  async show(seq: number, options: { dead?: boolean } = {}): Promise<Stored | undefined> {
    return this.sublevel.get((options.dead ? D : Q) + seqKey(seq));
  }

  /**
   * Dead entry → back into the queue (new seq, attempts reset); queued entry → due now.
   * Returns false when there is no such entry.
   */
  async retry(seq: number, options: { dead?: boolean } = {}): Promise<boolean> {
    if (options.dead) {
      const dead = (await this.show(seq, { dead: true })) as DeadEntry | undefined;
      if (!dead) return false;
      const { deadAt: _d, reason: _r, ...entry } = dead;
      const b = this.opts.db.batch();
      b.del<string>(D + seqKey(seq), { sublevel: this.sublevel });
      const newSeq = this.nextSeq++;
      const now = this.now();
      const requeued: OutboxEntry = { ...entry, seq: newSeq, attempts: 0, nextAt: now };
      b.put<string, Stored>(Q + seqKey(newSeq), requeued, { sublevel: this.sublevel });
      this.staged.set(newSeq, { link: entry.link, partition: entry.partition, enqueuedAt: entry.enqueuedAt, nextAt: now, stagedAt: now });
      await this.commit(b);
      this.deadCount.set(entry.link, Math.max(0, (this.deadCount.get(entry.link) ?? 1) - 1));
      return true;
    }
    const entry = await this.load(seq);
    if (!entry) return false;
    await this.sublevel.put(Q + seqKey(seq), { ...entry, nextAt: this.now() });
    const pk = this.seqPart.get(seq);
    const p = pk ? this.parts.get(pk) : undefined;
    if (pk && p && p.items[p.head]?.seq === seq) {
      if (p.timer) {
        clearTimeout(p.timer);
        p.timer = undefined;
      }
      p.notBefore = this.now();
      this.schedule(pk, p);
    }
    return true;
  }

  /** Deletes one entry (or all with seq 'all'). Purging a queued message means it is never sent. */
  async purge(seq: number | 'all', options: { dead?: boolean } = {}): Promise<number> {
    const prefix = options.dead ? D : Q;
    const seqs: number[] = [];
    if (seq === 'all') {
      for await (const k of this.sublevel.keys({ gte: prefix, lt: prefix.slice(0, 1) + '"' })) seqs.push(Number(k.slice(2)));
    } else if ((await this.sublevel.get(prefix + seqKey(seq))) !== undefined) seqs.push(seq);
    for (const s of seqs) {
      const e = options.dead ? ((await this.show(s, { dead: true })) as DeadEntry | undefined) : undefined;
      await this.sublevel.del(prefix + seqKey(s));
      if (options.dead && e) this.deadCount.set(e.link, Math.max(0, (this.deadCount.get(e.link) ?? 1) - 1));
      else this.advance(s, this.now());
    }
    return seqs.length;
  }

  /** Depth, oldest age and DLQ size per link (health, metrics, UI). */
  stats(): Record<string, { depth: number; oldestAgeMs: number; dead: number; inFlight: number }> {
    const out: Record<string, { depth: number; oldestAgeMs: number; dead: number; inFlight: number }> = {};
    const now = this.now();
    const row = (link: string) => (out[link] ??= { depth: 0, oldestAgeMs: 0, dead: 0, inFlight: 0 });
    for (const p of this.parts.values()) {
      const r = row(p.link);
      r.depth += p.items.length - p.head;
      if (p.inFlight) r.inFlight++;
      const head = p.items[p.head];
      if (head) r.oldestAgeMs = Math.max(r.oldestAgeMs, now - head.enqueuedAt);
    }
    for (const [link, n] of this.deadCount) row(link).dead = n;
    return out;
  }
}
