// Local requests (受付): QoS ≥ 1 publishes on req/… are the gateway's work queue. They are written
// here by the durable ingress before PUBACK; the gateway reads them, and acknowledges each one in
// the same chained batch as its business change, so a request is either pending or fully handled.
import type { Batch } from '../../platform/store/db.js';
import { seqKey } from '../../platform/store/db.js';
import { decodeRecord, encodeRecord } from './codec.js';
import type { Sublevel, ValueSealer } from './committer.js';

export const REQUEST_TOPIC_PREFIX = 'req/';

export interface LocalRequest {
  seq: number;
  /** Authenticated system id of the requester (not a free-form MQTT client id when auth maps one). */
  clientId: string;
  topic: string;
  payload: Buffer;
  /** Milliseconds since the epoch, when the broker accepted it. */
  receivedAt: number;
}

export function encodeRequest(req: LocalRequest): Uint8Array {
  return encodeRecord({ seq: req.seq, clientId: req.clientId, topic: req.topic, receivedAt: req.receivedAt, payload: req.payload });
}

export function decodeRequest(value: Uint8Array): LocalRequest {
  const r = decodeRecord(value);
  const payload = r.payload;
  if (typeof r.seq !== 'number' || typeof r.clientId !== 'string' || typeof r.topic !== 'string' || typeof r.receivedAt !== 'number') {
    throw new Error('corrupt request record: missing seq, clientId, topic or receivedAt');
  }
  return {
    seq: r.seq,
    clientId: r.clientId,
    topic: r.topic,
    receivedAt: r.receivedAt,
    payload: Buffer.isBuffer(payload) ? payload : Buffer.alloc(0),
  };
}

export class RequestQueue {
  readonly #sublevel: Sublevel;
  readonly #pending = new Set<number>();
  readonly #listeners = new Set<() => void>();
  readonly #acksByBatch = new WeakMap<Batch, number[]>();
  #notifyScheduled = false;
  // The priority lane: seqs of stored requests on a priority topic (interactive look-ups), so that
  // they can be taken ahead of a queued burst without scanning it. Live arrivals only: after a
  // restart the backlog is taken in arrival order.
  #priorityTopics: ReadonlySet<string> = new Set();
  readonly #urgent = new Set<number>();

  readonly #sealer: ValueSealer | undefined;

  constructor(sublevel: Sublevel, sealer?: ValueSealer) {
    this.#sublevel = sublevel;
    this.#sealer = sealer;
  }

  /** Up to `limit` stored requests with seq > afterSeq, in arrival order. */
  async read(afterSeq: number, limit: number): Promise<LocalRequest[]> {
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new RangeError(`afterSeq must be a non-negative integer, got ${afterSeq}`);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    const out: LocalRequest[] = [];
    for await (const value of this.#sublevel.values({ gt: seqKey(afterSeq), limit })) {
      out.push(decodeRequest(this.#sealer ? this.#sealer.unseal(value) : value));
    }
    return out;
  }

  /** Topics whose requests arriving from now on are also offered by readPriority(). */
  prioritize(topics: ReadonlySet<string>): void {
    this.#priorityTopics = topics;
  }

  /** Up to `limit` stored requests on a priority topic, oldest first, wherever they are in the queue. */
  async readPriority(limit: number): Promise<LocalRequest[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    if (this.#urgent.size === 0) return [];
    const seqs = [...this.#urgent].sort((a, b) => a - b).slice(0, limit);
    const values = await this.#sublevel.getMany(seqs.map((s) => seqKey(s)));
    const out: LocalRequest[] = [];
    for (const [i, value] of values.entries()) {
      if (value === undefined)
        this.#urgent.delete(seqs[i]!); // taken meanwhile
      else out.push(decodeRequest(this.#sealer ? this.#sealer.unseal(value) : value));
    }
    return out;
  }

  /** Called (once per committed batch) after new requests became durable. Returns an unsubscribe. */
  onAvailable(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Adds the removal of request `seq` to the caller's batch: it goes when their change goes. */
  ack(batch: Batch, seq: number): void {
    batch.del(seqKey(seq), { sublevel: this.#sublevel });
    let seqs = this.#acksByBatch.get(batch);
    if (!seqs) {
      seqs = [];
      this.#acksByBatch.set(batch, seqs);
      // The depth counter may only drop once the caller's batch is written; a chained batch has no
      // completion hook, so its write is wrapped (once per batch).
      const write = batch.write.bind(batch);
      const acked = seqs;
      batch.write = (async (...args: Parameters<Batch['write']>) => {
        await write(...args);
        for (const s of acked) {
          this.#pending.delete(s);
          this.#urgent.delete(s);
        }
      }) as Batch['write'];
    }
    seqs.push(seq);
  }

  /** Requests stored and not yet acknowledged. */
  depth(): number {
    return this.#pending.size;
  }

  /** @internal persistence: a request became durable (or was found at open). */
  noteStored(seq: number, notify: boolean, topic?: string): void {
    this.#pending.add(seq);
    if (topic !== undefined && this.#priorityTopics.has(topic)) this.#urgent.add(seq);
    if (!notify || this.#notifyScheduled) return;
    this.#notifyScheduled = true;
    queueMicrotask(() => {
      this.#notifyScheduled = false;
      for (const l of this.#listeners) {
        try {
          l();
        } catch {
          /* a listener's failure must not stop the others */
        }
      }
    });
  }
}
