// aedes 1.x persistence on LevelDB (the appliance's one DB, sublevels broker/ingress/requests) with
// durable ingress. Reads are served from memory (subscription trie, retained, wills, QoS 2 incoming,
// the per-client outgoing index); every change goes through the group committer and touches memory
// only after its batch is durable, so a failed write leaves disk and memory as they were.
// This file is what aedes calls: start-up, durable ingress and its crash replay, the per-client
// outgoing queues; the other stores are one file each (subscriptions, retained, wills, incoming,
// ingressLog).
import { Readable } from 'node:stream';
import { ClassicLevel } from 'classic-level';
import type { Db } from '../../gateway/store/db.js';
import { SUBLEVELS, seqKey } from '../../gateway/store/db.js';
import { Packet, type AnyPacket } from './aedesParts.js';
import { LazyRecord, decodeRecord, encodeIngressRecord, encodeRecord, parseJson, type RecordObject } from './codec.js';
import { GroupCommitter } from './committer.js';
import { QueueFanout } from './fanout.js';
import { IncomingStore } from './incoming.js';
import { IngressEntry, type PendingIngress } from './ingressEntry.js';
import { IngressLog } from './ingressLog.js';
import * as K from './keys.js';
import { ClientQueue, brokerKeyOf, type BrokerKey, type OutMeta } from './outgoingIndex.js';
import { REQUEST_TOPIC_PREFIX, RequestQueue, encodeRequest } from './requestQueue.js';
import { RetainedStore } from './retained.js';
import { SubscriptionStore, type Subscription } from './subscriptions.js';
import { WillStore } from './wills.js';
import type { Sublevel, ValueSealer, WriteOp } from './writeTypes.js';

export interface PersistenceAlarm {
  kind: 'write-failed' | 'recovered';
  message: string;
  at: number;
}

export interface LevelPersistenceOptions {
  /** Opens (and closes on destroy) its own LevelDB here. */
  path?: string;
  /** The appliance's root DB (gateway/store/db.ts); the sublevels broker, ingress and requests are used. */
  db?: Db;
  /** fsync each batch (power-loss safe). Default true. A process crash is survived either way. */
  sync?: boolean;
  onAlarm?: (alarm: PersistenceAlarm) => void;
  /**
   * An accepted publish still not fanned out after this long is published again under its seq:
   * aedes does not publish it when the PUBACK write fails (connection gone) or when its enqueue
   * failed. Default 5000 ms.
   */
  orphanAfterMs?: number;
  /**
   * Seals every stored value (encryption at rest: queued requests, replies and pushes carry
   * personal data). A store written with a sealer must always be opened with one.
   */
  sealer?: ValueSealer;
}

const RESOLVED = Promise.resolve();
const ignoreError = (): void => {};

export class LevelPersistence {
  readonly requests: RequestQueue;
  readonly #db: Db;
  readonly #ownsDb: boolean;
  readonly #broker: Sublevel;
  readonly #ingress: Sublevel;
  readonly #requestsSub: Sublevel;
  readonly #committer: GroupCommitter;
  /** Stored bytes to the plain value (identity without a sealer). */
  readonly #plain: (stored: Uint8Array) => Uint8Array;
  readonly #alarmListeners = new Set<(a: PersistenceAlarm) => void>();

  readonly #subscriptions: SubscriptionStore;
  readonly #retained: RetainedStore;
  readonly #wills: WillStore;
  readonly #incoming: IncomingStore;
  readonly #outgoing = new Map<string, ClientQueue>();
  readonly #ingressLog: IngressLog;
  readonly #orphanAfterMs: number;
  #sweeper: NodeJS.Timeout | undefined;
  /** Settles after the last awaited (not staged) enqueue: later enqueues resolve after it. */
  #enqueueTail: Promise<void> | undefined;

  #opening: Promise<void> | undefined;
  #open = false;
  #destroyed = false;
  #brokerRef: any;

  constructor(opts: LevelPersistenceOptions) {
    if (!opts.db === !opts.path) throw new Error('createLevelPersistence: give exactly one of { path } or { db }');
    this.#ownsDb = !opts.db;
    this.#db = opts.db ?? new ClassicLevel<string, Uint8Array>(opts.path!, { keyEncoding: 'utf8', valueEncoding: 'view' });
    const sub = (name: string) => this.#db.sublevel<string, Uint8Array>(name, { keyEncoding: 'utf8', valueEncoding: 'view' }) as unknown as Sublevel;
    this.#broker = sub(SUBLEVELS.broker);
    this.#ingress = sub(SUBLEVELS.ingress);
    this.#requestsSub = sub(SUBLEVELS.requests);
    const sealer = opts.sealer;
    this.#plain = sealer ? (v) => sealer.unseal(v) : (v) => v;
    this.requests = new RequestQueue(this.#requestsSub, sealer);
    if (opts.onAlarm) this.#alarmListeners.add(opts.onAlarm);
    this.#orphanAfterMs = opts.orphanAfterMs ?? 5000;
    this.#committer = new GroupCommitter(this.#db, opts.sync ?? true, {
      onWriteError: (err) => this.#alarm({ kind: 'write-failed', message: err.message, at: Date.now() }),
      onRecovered: () => this.#alarm({ kind: 'recovered', message: 'LevelDB writes succeed again', at: Date.now() }),
    }, sealer);
    this.#ingressLog = new IngressLog(this.#ingress, this.#broker, this.#plain);
    this.#subscriptions = new SubscriptionStore(this.#committer, this.#broker, this.#plain);
    this.#retained = new RetainedStore(this.#committer, this.#broker, this.#plain);
    this.#wills = new WillStore(this.#committer, this.#broker, this.#plain);
    this.#incoming = new IncomingStore(this.#committer, this.#broker, this.#plain);
  }

  get broker(): any {
    return this.#brokerRef;
  }

  /** aedes calls this from listen(); it must be a native async function (aedes checks). */
  async setup(broker: any): Promise<void> {
    this.#brokerRef = broker;
    await this.open();
    if (!this.#sweeper && !this.#destroyed && typeof broker?.publish === 'function') {
      this.#sweeper = setInterval(() => this.#sweepOrphans(), Math.max(50, Math.floor(this.#orphanAfterMs / 2)));
      this.#sweeper.unref();
    }
  }

  /** Opens the DB (path mode) and rebuilds the in-memory state. Idempotent. */
  open(): Promise<void> {
    this.#opening ??= this.#load();
    return this.#opening;
  }

  onAlarm(listener: (a: PersistenceAlarm) => void): () => void {
    this.#alarmListeners.add(listener);
    return () => this.#alarmListeners.delete(listener);
  }

  #alarm(a: PersistenceAlarm): void {
    for (const l of this.#alarmListeners) {
      try { l(a); } catch { /* an alarm sink must not break persistence */ }
    }
  }

  async #load(): Promise<void> {
    if (this.#ownsDb) await this.#db.open();
    let maxSeq = 0;
    const meta = await this.#broker.get(K.META_SEQ);
    if (meta) maxSeq = Math.max(maxSeq, Number(parseJson(this.#plain(meta))));
    await this.#subscriptions.load();
    await this.#retained.load();
    await this.#wills.load();
    await this.#incoming.load();
    for await (const key of this.#broker.keys(K.ALL_OUT)) {
      const { clientId, rest } = K.splitClientKey(key);
      const seq = Number(rest);
      this.#queueOf(clientId).entries.set(seq, {});
      if (seq > maxSeq) maxSeq = seq;
    }
    maxSeq = Math.max(maxSeq, await this.#ingressLog.load());
    this.#committer.useWatermark(this.#ingressLog.watermark(), this.#ingressLog.fanned);
    for await (const key of this.#requestsSub.keys()) {
      const seq = Number(key);
      maxSeq = Math.max(maxSeq, seq);
      this.requests.noteStored(seq, false);
    }
    this.#ingressLog.startAfter(maxSeq);
    this.#open = true;
  }

  // ---- sequence numbers -------------------------------------------------------------------

  /**
   * Next ingress seq; call synchronously on arrival so seq order is arrival order. A seq reserved
   * and then not stored must be given back with releaseSeq(), or the fan-out watermark waits for it.
   */
  reserveSeq(): number {
    return this.#ingressLog.reserveSeq();
  }

  /** A reserved seq that will not be stored (publish refused, QoS 2 duplicate). */
  releaseSeq(seq: number): void {
    this.#ingressLog.releaseSeq(seq);
  }

  // ---- durable ingress ----------------------------------------------------------------------

  /**
   * Stores an accepted QoS ≥ 1 publish before it is acknowledged. req/… topics go to the request
   * queue (the gateway's work), everything else to the ingress log until aedes has enqueued it.
   */
  storeIngress(client: { id: string } | null, packet: AnyPacket, seq = this.reserveSeq(), requesterId?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.storeIngressThen(client, packet, seq, requesterId, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** storeIngress() with a callback (once per accepted publish: no promise per message). */
  storeIngressThen(client: { id: string } | null, packet: AnyPacket, seq: number, requesterId: string | undefined, done: (err?: Error) => void): void {
    if (!this.#open) return done(new Error('persistence is not open: call setup() or open() first'));
    const log = this.#ingressLog;
    const ops: WriteOp[] = [];
    log.withSeqReservation(seq, ops);
    const topic = String(packet.topic);
    const payload = packet.payload instanceof Uint8Array ? packet.payload : Buffer.from(String(packet.payload ?? ''), 'utf8');
    const clientId = requesterId ?? client?.id ?? '';
    if (topic.startsWith(REQUEST_TOPIC_PREFIX)) {
      ops.push({
        type: 'put', key: seqKey(seq), sublevel: this.#requestsSub,
        value: encodeRequest({ seq, clientId, topic, payload: Buffer.from(payload), receivedAt: Date.now() }),
      });
      if (typeof packet.payload === 'object' && packet.payload) log.linkedRequests.set(packet.payload, seq);
      log.unfanned.delete(seq); // not an ingress entry
      return this.#committer.commitThen(ops, () => this.requests.noteStored(seq, true), undefined, done);
    }
    const record: RecordObject = { topic, payload, qos: packet.qos, retain: packet.retain === true, clientId };
    if (packet.properties !== undefined) record.properties = packet.properties;
    const value = typeof record.qos === 'number' ? encodeIngressRecord(topic, payload, record.qos, record.retain as boolean, clientId, record.properties) : encodeRecord(record);
    if (typeof packet.payload === 'object' && packet.payload) log.linked.set(packet.payload, seq);
    log.unfanned.add(seq);
    if (ops.length > 0) this.#committer.commitThen(ops, undefined, undefined, ignoreError); // the seq block: same batch, before the put
    this.#committer.commitPut(log.key(seq), value, new IngressEntry(seq, record, log.books, done));
  }

  /**
   * Start-up, before listeners open: republish what a crash left in the ingress log, in seq order,
   * under its original seq (outgoing keys are {client}!{seq}, so each subscriber gets it once).
   */
  async replayIngress(aedes: { publish: (packet: any, done: (err?: Error) => void) => void }): Promise<number> {
    await this.open();
    let count = 0;
    let chunk: Array<Promise<void>> = [];
    // Map order is key order: entries were loaded by an ordered scan, so this is seq order.
    for (const [seq, entry] of this.#ingressLog.pending) {
      if (entry.publishing) continue;
      chunk.push(this.#republish(aedes, seq, entry));
      count++;
      // aedes keeps seq order for concurrent publishes; chunks bound the memory of a large backlog.
      if (chunk.length >= 1000) {
        await Promise.all(chunk);
        chunk = [];
      }
    }
    await Promise.all(chunk);
    return count;
  }

  #republish(aedes: { publish: (packet: any, done: (err?: Error) => void) => void }, seq: number, entry: PendingIngress): Promise<void> {
    const rec = entry.record;
    // A fresh Buffer: the link must not collide with a publish of the original still in aedes.
    const payload = Buffer.from(rec.payload instanceof Uint8Array ? rec.payload : Buffer.alloc(0));
    const packet: AnyPacket = { cmd: 'publish', topic: rec.topic, payload, qos: rec.qos, retain: rec.retain === true, dup: false };
    if (rec.properties !== undefined) packet.properties = rec.properties;
    this.#ingressLog.linked.set(payload, seq);
    entry.publishing = true;
    return new Promise<void>((resolve, reject) => aedes.publish(packet, (err) => {
      entry.publishing = false;
      entry.storedAt = Date.now();
      if (err) reject(err);
      else resolve();
    }));
  }

  #sweepOrphans(): void {
    const broker = this.#brokerRef;
    if (!broker || broker.closed || this.#destroyed) return;
    const cutoff = Date.now() - this.#orphanAfterMs;
    for (const [seq, entry] of this.#ingressLog.pending) {
      if (entry.publishing || entry.storedAt > cutoff) continue;
      this.#republish(broker, seq, entry).catch(() => { /* still pending: the next sweep retries */ });
    }
  }

  // ---- queue depths (limits, metrics) -----------------------------------------------------------

  outgoingDepth(clientId: string): number {
    return this.#outgoing.get(clientId)?.entries.size ?? 0;
  }

  /** Every client with a non-empty outgoing queue and its depth. */
  outgoingDepths(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, q] of this.#outgoing) if (q.entries.size > 0) out.set(id, q.entries.size);
    return out;
  }

  /** Accepted publishes not yet fanned out to subscriber queues. */
  ingressDepth(): number {
    return this.#ingressLog.pending.size;
  }

  /** Batches written so far (group-commit efficiency, for metrics). */
  get batchesWritten(): number {
    return this.#committer.stats.batches;
  }

  /** Write statistics since open: batches, operations, ms spent in LevelDB writes. */
  writeStats(): { batches: number; ops: number; writeMs: number; maxWriteMs: number; syncedBatches: number; overlapped: number } {
    return { ...this.#committer.stats };
  }

  // ---- retained -------------------------------------------------------------------------------

  async storeRetained(pkt: AnyPacket): Promise<void> {
    const payload = pkt.payload;
    return this.#retained.store(pkt, typeof payload === 'object' && payload !== null && this.#ingressLog.linked.has(payload));
  }

  createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern]);
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return this.#retained.stream(patterns);
  }

  // ---- subscriptions ----------------------------------------------------------------------------

  async addSubscriptions(client: { id: string }, subs: Subscription[]): Promise<void> {
    return this.#subscriptions.add(client.id, subs);
  }

  async removeSubscriptions(client: { id: string }, topics: string[]): Promise<void> {
    return this.#subscriptions.remove(client.id, topics);
  }

  async subscriptionsByClient(client: { id: string }): Promise<Subscription[]> {
    return this.#subscriptions.byClient(client.id);
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return this.#subscriptions.countOffline();
  }

  async subscriptionsByTopic(topic: string): Promise<Array<{ clientId: string; topic: string; qos: number }>> {
    return this.#subscriptions.byTopic(topic);
  }

  /**
   * A clean session starts from nothing: its subscriptions and its queued messages go in one batch
   * (aedes would otherwise stream and clear the queue message by message).
   */
  async cleanSubscriptions(client: { id: string }): Promise<void> {
    const id = client.id;
    const ops: WriteOp[] = [];
    this.#subscriptions.pushCleanOps(id, ops);
    const q = this.#outgoing.get(id);
    const seqs = q ? [...q.entries.keys()] : [];
    // held fan-outs' puts go first, or one written after these deletes would outlive the session
    if (seqs.length > 0) this.#committer.releaseAllHeld();
    for (const seq of seqs) ops.push({ type: 'del', key: K.outKey(id, seq), sublevel: this.#broker });
    if (ops.length === 0) return;
    return this.#committer.commit(ops, () => {
      this.#subscriptions.forget(id);
      const queue = this.#outgoing.get(id);
      if (queue) for (const seq of seqs) queue.drop(seq);
    });
  }

  getClientList(topic: string): Readable {
    return this.#subscriptions.clientList(topic);
  }

  // ---- outgoing (per-client queues, FIFO by seq) --------------------------------------------------

  #queueOf(clientId: string): ClientQueue {
    let q = this.#outgoing.get(clientId);
    if (!q) {
      q = new ClientQueue();
      this.#outgoing.set(clientId, q);
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
    const log = this.#ingressLog;
    const linkable = typeof payload === 'object' && payload !== null;
    const ingressSeq = linkable ? log.linked.get(payload) : undefined;
    // One publish, one link: a Buffer reused by application code for a later publish gets a new seq.
    if (ingressSeq !== undefined) log.linked.delete(payload);
    const requestSeq = linkable && ingressSeq === undefined ? log.linkedRequests.get(payload) : undefined;
    if (requestSeq !== undefined) log.linkedRequests.delete(payload);
    if (subs.length === 0 && ingressSeq === undefined) return Promise.resolve();
    const seq = ingressSeq ?? requestSeq ?? log.nextSeq++;
    const stored = new Packet(packet);
    const brokerKey = brokerKeyOf(stored, this.#brokerRef?.id);
    const value = new LazyRecord(stored);
    const clientIds: string[] = [];
    for (const sub of subs) if (!clientIds.includes(sub.clientId)) clientIds.push(sub.clientId);
    if (ingressSeq === undefined) {
      // Nothing to replay it from (broker-originated, e.g. a will; or a local request's copy):
      // durable before aedes goes on.
      const ops: WriteOp[] = [];
      log.withSeqReservation(seq, ops);
      for (const id of clientIds) ops.push({ type: 'put', key: K.outKey(id, seq), value, sublevel: this.#broker });
      const committed = this.#committer.commit(ops, () => this.#noteEnqueued(clientIds, seq, brokerKey, false));
      const tail = committed.catch(() => undefined);
      this.#enqueueTail = tail;
      void tail.then(() => { if (this.#enqueueTail === tail) this.#enqueueTail = undefined; });
      return committed;
    }
    // Held, not awaited: the batch that writes the fan-out also moves the fan-out watermark past
    // seq (never before it: the committer keeps the watermark below a held fan-out), so until
    // then a crash replays the ingress entry instead of losing it.
    const pending = log.fanningOut(seq);
    this.#noteEnqueued(clientIds, seq, brokerKey, true);
    this.#committer.hold(new QueueFanout(seq, clientIds, value, this.#outgoing, this.#broker.prefix, pending, log.refanout));
    // Enqueues resolve in call order, or aedes would emit a lower broker counter after a higher
    // one and drop it for live subscribers (lib/client.js dedupe).
    return this.#enqueueTail ?? RESOLVED;
  }

  #noteEnqueued(clientIds: string[], seq: number, brokerKey: BrokerKey | undefined, held: boolean): void {
    for (const id of clientIds) {
      const q = this.#queueOf(id);
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
    const q = this.#outgoing.get(client.id);
    const brokerKey = brokerKeyOf(packet, this.#brokerRef?.id);
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
    this.#committer.releaseHeld(seq);
    const ops: WriteOp[] = [{ type: 'put', key: K.outKey(client.id, seq), value: encodeRecord(packet), sublevel: this.#broker }];
    return this.#committer.commit(ops, () => {
      const meta = q.entries.get(seq);
      if (!meta) return;
      q.setBrokerKey(seq, meta, brokerKeyOf(packet, this.#brokerRef?.id));
      meta.packet = packet;
      meta.unwritten = false;
    });
  }

  async outgoingClearMessageId(client: { id: string }, packet: AnyPacket): Promise<AnyPacket | undefined> {
    const messageId = packet?.messageId;
    const q = this.#outgoing.get(client.id);
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
      const value = await this.#broker.get(K.outKey(client.id, seq));
      if (value) {
        found = this.#asOutgoingPacket(decodeRecord(this.#plain(value)), meta);
        found.messageId = messageId;
      }
    }
    this.#committer.stageDelete(this.#broker, K.outKey(client.id, seq));
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
      await self.#committer.flush(); // what was enqueued before the call is part of the stream
      const q = self.#outgoing.get(id);
      if (!q || q.entries.size === 0) return;
      for await (const [key, value] of self.#broker.iterator(K.outRange(id))) {
        const seq = Number(key.slice(key.lastIndexOf('!') + 1));
        const meta = q.entries.get(seq);
        if (!meta) continue; // cleared after the iterator's snapshot
        const p = self.#asOutgoingPacket(decodeRecord(self.#plain(value)), meta);
        // after a restart the index is built here; the stored packet is the truth
        const bk = brokerKeyOf(p, self.#brokerRef?.id);
        if (bk !== undefined) q.setBrokerKey(seq, meta, bk);
        yield p;
      }
    }
    return Readable.from(queued());
  }

  // ---- QoS 2 incoming -----------------------------------------------------------------------------

  async incomingStorePacket(client: { id: string }, packet: AnyPacket): Promise<void> {
    return this.#incoming.store(client.id, packet);
  }

  async incomingGetPacket(client: { id: string }, packet: AnyPacket): Promise<AnyPacket> {
    const p = this.#incoming.get(client.id, packet.messageId);
    if (!p) throw new Error('no such packet');
    return p;
  }

  async incomingDelPacket(client: { id: string }, packet: AnyPacket): Promise<void> {
    return this.#incoming.del(client.id, packet.messageId);
  }

  async cleanIncoming(client: { id: string }): Promise<void> {
    return this.#incoming.clean(client.id);
  }

  // ---- wills ---------------------------------------------------------------------------------------

  async putWill(client: { id: string }, packet: AnyPacket): Promise<void> {
    return this.#wills.put(client.id, packet, this.#brokerRef?.id);
  }

  async getWill(client: { id: string }): Promise<AnyPacket | undefined> {
    return this.#wills.get(client.id);
  }

  async delWill(client: { id: string }): Promise<AnyPacket | undefined> {
    return this.#wills.del(client.id);
  }

  streamWill(brokers: Record<string, unknown> = {}): Readable {
    return this.#wills.streamOrphaned(brokers);
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  /** Waits for pending writes; closes the DB when this persistence opened it. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#ingressLog.stop();
    if (this.#sweeper) clearInterval(this.#sweeper);
    await this.#committer.flush();
    await this.#ingressLog.cleared();
    if (this.#ownsDb) await this.#db.close();
  }
}

export function createLevelPersistence(opts: LevelPersistenceOptions): LevelPersistence {
  return new LevelPersistence(opts);
}
