// The ingress log and the seq numbers: every accepted QoS ≥ 1 publish is stored under its seq
// before its PUBACK and stays until its fan-out to subscriber queues is written. The fan-out
// watermark W ("every seq below W is fanned out", one op per batch) replaces a delete per message;
// entries below it are range-deleted now and then. Seqs also name queue entries ({client}!{seq}),
// so they never go back: they are reserved on disk in blocks.
import { seqKey } from '../../platform/store/db.js';
import { decodeRecord, jsonBytes, parseJson } from './codec.js';
import type { IngressBooks, PendingIngress } from './ingressEntry.js';
import * as K from './keys.js';
import type { Sublevel, Watermark, WriteOp } from './writeTypes.js';

/** Seq numbers are reserved on disk in blocks, so the counter never goes back even when all keys are gone. */
const SEQ_BLOCK = 100_000;
/** Fanned-out ingress entries are range-deleted once this many seqs have passed the watermark. */
const CLEAR_EVERY = 20_000;
/** seqKey()'s default width. */
const SEQ_KEY_WIDTH = 16;

export class IngressLog {
  /** Stored ingress entries not yet fanned out (normally for milliseconds). */
  readonly pending = new Map<number, PendingIngress>();
  /**
   * Ingress seqs reserved or stored whose fan-out is not staged yet: the fan-out watermark stays
   * below the lowest of them (a seq reserved before its store must not be covered by it either).
   */
  readonly unfanned = new Set<number>();
  readonly books: IngressBooks = { pending: this.pending, unfanned: this.unfanned };
  /** Links the packet aedes publishes to its ingress entry: aedes-packet keeps the payload Buffer. */
  readonly linked = new WeakMap<object, number>();
  /** The same for a local request's payload: its request seq. */
  readonly linkedRequests = new WeakMap<object, number>();
  /** The next seq to hand out. */
  nextSeq = 1;
  /** Durable watermark: every ingress entry below it is fanned out. */
  fanned = 0;
  /** The ingress sublevel prefix followed by k zeros, at index k: seqKey() with the prefix in one concatenation. */
  readonly #pads: string[];
  #seqReservedTo = 0;
  /** Ingress keys below this are range-deleted already. */
  #clearedTo = 0;
  #clearing: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly ingress: Sublevel,
    /** The broker sublevel: where the seq reservation and the watermark are kept. */
    private readonly meta: Sublevel,
    private readonly plain: (stored: Uint8Array) => Uint8Array,
  ) {
    const prefix = ingress.prefix;
    this.#pads = Array.from({ length: SEQ_KEY_WIDTH + 1 }, (_, k) => prefix + '0'.repeat(k));
  }

  /** Reads the watermark and the entries a stop left unfanned; returns the highest seq on disk. */
  async load(): Promise<number> {
    let maxSeq = 0;
    const fannedBytes = await this.meta.get(K.META_FANNED);
    const fanned = fannedBytes ? Number(parseJson(this.plain(fannedBytes))) : 0;
    let stale = false;
    for await (const [key, value] of this.ingress.iterator()) {
      const seq = Number(key);
      maxSeq = Math.max(maxSeq, seq);
      if (seq < fanned) {
        stale = true; // fanned out before the stop; its range delete had not run yet
        continue;
      }
      this.pending.set(seq, { record: decodeRecord(this.plain(value)), storedAt: 0, publishing: false });
      this.unfanned.add(seq);
    }
    if (stale) await this.ingress.clear({ lt: seqKey(fanned) });
    this.fanned = fanned;
    this.#clearedTo = fanned;
    return maxSeq;
  }

  /** Seqs go on after the highest one found on disk (entries, queues, requests, reservation). */
  startAfter(maxSeq: number): void {
    this.nextSeq = maxSeq + 1;
    this.#seqReservedTo = maxSeq;
  }

  /** The fan-out watermark as the group committer takes it. */
  watermark(): Watermark {
    return {
      lowest: (held) => {
        let w = Math.min(held, this.nextSeq);
        for (const seq of this.unfanned) if (seq < w) w = seq;
        return w;
      },
      op: (w) => ({ type: 'put', key: K.META_FANNED, value: jsonBytes(w), sublevel: this.meta }),
      written: (w) => this.#fannedOut(w),
    };
  }

  /**
   * Next ingress seq; call synchronously on arrival so seq order is arrival order. A seq reserved
   * and then not stored must be given back with releaseSeq(), or the fan-out watermark waits for it.
   */
  reserveSeq(): number {
    const seq = this.nextSeq++;
    this.unfanned.add(seq);
    return seq;
  }

  /** A reserved seq that will not be stored (publish refused, QoS 2 duplicate). */
  releaseSeq(seq: number): void {
    if (!this.pending.has(seq)) this.unfanned.delete(seq);
  }

  #fannedOut(w: number): void {
    this.fanned = w;
    if (this.#clearing || this.#stopped || w - this.#clearedTo < CLEAR_EVERY) return;
    // Nothing below w is written to the ingress log again (seqs only grow, and every ingress seq
    // below w is fanned out), so this range delete cannot race with a put.
    const from = this.#clearedTo;
    this.#clearing = this.ingress
      .clear({ gte: seqKey(from), lt: seqKey(w) })
      .then(
        () => {
          this.#clearedTo = w;
        },
        () => {
          /* retried with the next watermark; load skips what is below the watermark anyway */
        },
      )
      .finally(() => {
        this.#clearing = undefined;
      });
  }

  /** The ingress sublevel prefix + seqKey(seq). */
  key(seq: number): string {
    const digits = String(seq);
    return digits.length >= SEQ_KEY_WIDTH ? this.#pads[0] + digits : this.#pads[SEQ_KEY_WIDTH - digits.length] + digits;
  }

  /** Adds the op that reserves the next block of seqs when `seq` is past the reserved one. */
  withSeqReservation(seq: number, ops: WriteOp[]): void {
    if (seq <= this.#seqReservedTo) return;
    this.#seqReservedTo = seq + SEQ_BLOCK;
    ops.push({ type: 'put', key: K.META_SEQ, value: jsonBytes(this.#seqReservedTo), sublevel: this.meta });
  }

  /** Its fan-out is being written: no longer pending. Returns the entry, for a failed batch. */
  fanningOut(seq: number): PendingIngress | undefined {
    const pending = this.pending.get(seq);
    this.pending.delete(seq);
    this.unfanned.delete(seq);
    return pending;
  }

  /** A fan-out's batch failed: not fanned out after all, the orphan sweep publishes it again. */
  readonly refanout = (seq: number, pending: PendingIngress | undefined): void => {
    if (!pending) return;
    this.unfanned.add(seq);
    if (!this.pending.has(seq)) this.pending.set(seq, { record: pending.record, storedAt: Date.now(), publishing: false });
  };

  /** No more range deletes (the persistence is being destroyed). */
  stop(): void {
    this.#stopped = true;
  }

  /** Settles once the range delete running now, if any, is done. */
  cleared(): Promise<void> | undefined {
    return this.#clearing;
  }
}
