// Per-client outgoing queues (FIFO by seq): on disk under o!{client}!{seq}, indexed in memory
// (outgoingIndex.ts). A client's publish is fanned out to them held back from the disk (the ingress
// log can replay it until the fan-out is written); a broker-originated one is durable before aedes
// goes on. Enqueues resolve in call order: aedes drops a live message whose broker counter is lower
// than one it already sent (lib/client.js dedupe).
import { Readable } from 'node:stream';
import { Packet, type AnyPacket } from './aedesParts.js';
import { LazyRecord, decodeRecord, encodeRecord, type RecordObject } from './codec.js';
import type { GroupCommitter } from './committer.js';
import { QueueFanout } from './fanout.js';
import type { IngressLog } from './ingressLog.js';
import * as K from './keys.js';
import { ClientQueue, brokerKeyOf, type BrokerKey, type OutMeta } from './outgoingIndex.js';
import type { Sublevel, WriteOp } from './writeTypes.js';

const RESOLVED = Promise.resolve();

export class OutgoingQueues {
  readonly #queues = new Map<string, ClientQueue>();
  /** Settles after the last awaited (not staged) enqueue: later enqueues resolve after it. */
  #tail: Promise<void> | undefined;

  constructor(
    private readonly committer: GroupCommitter,
    /** The broker sublevel. */
    private readonly sublevel: Sublevel,
    private readonly plain: (stored: Uint8Array) => Uint8Array,
    private readonly ingressLog: IngressLog,
    /** The id of the aedes broker running on this persistence (undefined before setup). */
    private readonly brokerId: () => unknown,
  ) {}

  /** Rebuilds the index of queued seqs; returns the highest seq found. */
  async load(): Promise<number> {
    let maxSeq = 0;
    for await (const key of this.sublevel.keys(K.ALL_OUT)) {
      const { clientId, rest } = K.splitClientKey(key);
      const seq = Number(rest);
      this.queueOf(clientId).entries.set(seq, {});
      if (seq > maxSeq) maxSeq = seq;
    }
    return maxSeq;
  }

  depth(clientId: string): number {
    return this.#queues.get(clientId)?.entries.size ?? 0;
  }

  /** Every client with a non-empty outgoing queue and its depth. */
  depths(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, q] of this.#queues) if (q.entries.size > 0) out.set(id, q.entries.size);
    return out;
  }

  /**
   * The deletes of a whole queue, for a batch the caller commits; `dropAll` once it is durable.
   * Held fan-outs' puts go first, or one written after these deletes would outlive the session.
   */
  pushCleanOps(clientId: string, ops: WriteOp[]): number[] {
    const q = this.#queues.get(clientId);
    const seqs = q ? [...q.entries.keys()] : [];
    if (seqs.length > 0) this.committer.releaseAllHeld();
    for (const seq of seqs) ops.push({ type: 'del', key: K.outKey(clientId, seq), sublevel: this.sublevel });
    return seqs;
  }

  dropAll(clientId: string, seqs: number[]): void {
    const queue = this.#queues.get(clientId);
    if (queue) for (const seq of seqs) queue.drop(seq);
  }

  /** The queue of a client, created empty if it has none. */
  queueOf(clientId: string): ClientQueue {
    let q = this.#queues.get(clientId);
    if (!q) {
      q = new ClientQueue();
      this.#queues.set(clientId, q);
    }
    return q;
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: AnyPacket): Promise<void> {
    return this.#enqueue([sub], packet);
  }

  async outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: AnyPacket): Promise<void> {
    return this.#enqueue(subs ?? [], packet);
  }

  #enqueue(subs: Array<{ clientId: string }>, packet: AnyPacket): Promise<void> {
    const payload = packet.payload;
    const log = this.ingressLog;
    const linkable = typeof payload === 'object' && payload !== null;
    const ingressSeq = linkable ? log.linked.get(payload) : undefined;
    // One publish, one link: a Buffer reused by application code for a later publish gets a new seq.
    if (ingressSeq !== undefined) log.linked.delete(payload);
    const requestSeq = linkable && ingressSeq === undefined ? log.linkedRequests.get(payload) : undefined;
    if (requestSeq !== undefined) log.linkedRequests.delete(payload);
    if (subs.length === 0 && ingressSeq === undefined) return Promise.resolve();
    const seq = ingressSeq ?? requestSeq ?? log.nextSeq++;
    const stored = new Packet(packet);
    const brokerKey = brokerKeyOf(stored, this.brokerId());
    const value = new LazyRecord(stored);
    const clientIds: string[] = [];
    for (const sub of subs) if (!clientIds.includes(sub.clientId)) clientIds.push(sub.clientId);
    if (ingressSeq === undefined) {
      // Nothing to replay it from (broker-originated, e.g. a will; or a local request's copy):
      // durable before aedes goes on.
      const ops: WriteOp[] = [];
      log.withSeqReservation(seq, ops);
      for (const id of clientIds) ops.push({ type: 'put', key: K.outKey(id, seq), value, sublevel: this.sublevel });
      const committed = this.committer.commit(ops, () => this.#noteEnqueued(clientIds, seq, brokerKey, false));
      const tail = committed.catch(() => undefined);
      this.#tail = tail;
      void tail.then(() => {
        if (this.#tail === tail) this.#tail = undefined;
      });
      return committed;
    }
    // Held, not awaited: the batch that writes the fan-out also moves the fan-out watermark past
    // seq (never before it: the committer keeps the watermark below a held fan-out), so until
    // then a crash replays the ingress entry instead of losing it.
    const pending = log.fanningOut(seq);
    this.#noteEnqueued(clientIds, seq, brokerKey, true);
    this.committer.hold(new QueueFanout(seq, clientIds, value, this.#queues, this.sublevel.prefix, pending, log.refanout));
    // Enqueues resolve in call order, or aedes would emit a lower broker counter after a higher
    // one and drop it for live subscribers (lib/client.js dedupe).
    return this.#tail ?? RESOLVED;
  }

  #noteEnqueued(clientIds: string[], seq: number, brokerKey: BrokerKey | undefined, held: boolean): void {
    for (const id of clientIds) {
      const q = this.queueOf(id);
      // Published again under the same seq (orphan sweep): same key, same entry, but the value
      // written now carries the new broker counter, which is what aedes will look it up by.
      let meta = q.entries.get(seq);
      if (meta === undefined) {
        meta = held ? { unwritten: true } : {};
        q.entries.set(seq, meta);
      }
      q.setBrokerKey(seq, meta, brokerKey);
    }
  }

  async outgoingUpdate(client: { id: string }, packet: AnyPacket): Promise<void> {
    const q = this.#queues.get(client.id);
    const brokerKey = brokerKeyOf(packet, this.brokerId());
    if (q && brokerKey !== undefined) {
      const seq = q.byCounter.get(brokerKey);
      const meta = seq === undefined ? undefined : q.entries.get(seq);
      if (seq !== undefined && meta) {
        // A messageId only names an in-flight delivery of this connection; after a restart aedes
        // assigns new ones, so it is kept in memory and not written.
        q.setMessageId(seq, meta, packet.messageId);
        meta.packet = packet;
        return;
      }
    }
    const seq = q && packet.messageId !== undefined ? q.firstByMessageId(packet.messageId) : undefined;
    if (q === undefined || seq === undefined) throw new Error('no such packet');
    // Same messageId, different packet: a QoS 2 PUBREL replaces the PUBLISH; this one is state.
    // A held fan-out's put of this key goes first, or it would overwrite the PUBREL.
    this.committer.releaseHeld(seq);
    const ops: WriteOp[] = [{ type: 'put', key: K.outKey(client.id, seq), value: encodeRecord(packet), sublevel: this.sublevel }];
    return this.committer.commit(ops, () => {
      const meta = q.entries.get(seq);
      if (!meta) return;
      q.setBrokerKey(seq, meta, brokerKeyOf(packet, this.brokerId()));
      meta.packet = packet;
      meta.unwritten = false;
    });
  }

  async outgoingClearMessageId(client: { id: string }, packet: AnyPacket): Promise<AnyPacket | undefined> {
    const messageId = packet?.messageId;
    const q = this.#queues.get(client.id);
    if (messageId === undefined || !q) return undefined;
    const seq = q.firstByMessageId(messageId);
    const meta = seq === undefined ? undefined : q.entries.get(seq);
    if (seq === undefined || !meta) return undefined;
    let found = meta.packet;
    // The acknowledged entry leaves memory now (a duplicate PUBACK cannot clear a second one) and
    // the disk with the next batch; if that batch failed, the message would be sent again after a
    // restart, never lost.
    q.drop(seq);
    if (meta.unwritten) return found; // its held fan-out sees it gone and writes nothing
    if (!found) {
      const value = await this.sublevel.get(K.outKey(client.id, seq));
      if (value) {
        found = this.#asOutgoingPacket(decodeRecord(this.plain(value)), meta);
        found.messageId = messageId;
      }
    }
    this.committer.stageDelete(this.sublevel, K.outKey(client.id, seq));
    return found;
  }

  #asOutgoingPacket(rec: RecordObject, meta: OutMeta): AnyPacket {
    if (rec.cmd !== undefined && rec.cmd !== 'publish') return rec; // e.g. a stored PUBREL, as written
    const p = new Packet(rec);
    if (meta.messageId !== undefined) p.messageId = meta.messageId;
    return p;
  }

  outgoingStream(client: { id: string }): Readable {
    const self = this;
    const id = client.id;
    async function* queued(): AsyncGenerator<AnyPacket> {
      await self.committer.flush(); // what was enqueued before the call is part of the stream
      const q = self.#queues.get(id);
      if (!q || q.entries.size === 0) return;
      for await (const [key, value] of self.sublevel.iterator(K.outRange(id))) {
        const seq = Number(key.slice(key.lastIndexOf('!') + 1));
        const meta = q.entries.get(seq);
        if (!meta) continue; // cleared after the iterator's snapshot
        const p = self.#asOutgoingPacket(decodeRecord(self.plain(value)), meta);
        // after a restart the index is built here; the stored packet is the truth
        const bk = brokerKeyOf(p, self.brokerId());
        if (bk !== undefined) q.setBrokerKey(seq, meta, bk);
        yield p;
      }
    }
    return Readable.from(queued());
  }
}
