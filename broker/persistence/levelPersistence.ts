// aedes 1.x persistence on LevelDB (the appliance's one DB, sublevels broker/ingress/requests) with
// durable ingress. Reads are served from memory (subscription trie, retained, wills, QoS 2 incoming,
// the per-client outgoing index); every change goes through the group committer and touches memory
// only after its batch is durable, so a failed write leaves disk and memory as they were.
// This file is what aedes calls: start-up, durable ingress and its crash replay; each store is a file
// of its own (subscriptions, retained, wills, incoming, outgoingQueues, ingressLog).
import { Readable } from 'node:stream';
import type { Db } from '../../platform/store/db.js';
import { SUBLEVELS, createApplianceDb, seqKey } from '../../platform/store/db.js';
import type { AnyPacket } from './aedesParts.js';
import { encodeIngressRecord, encodeRecord, parseJson, type RecordObject } from './codec.js';
import { GroupCommitter } from './committer.js';
import { IncomingStore } from './incoming.js';
import { IngressEntry, type PendingIngress } from './ingressEntry.js';
import { IngressLog } from './ingressLog.js';
import * as K from './keys.js';
import { OutgoingQueues } from './outgoingQueues.js';
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
  /** The appliance's root DB (platform/store/db.ts); the sublevels broker, ingress and requests are used. */
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
  readonly #outgoing: OutgoingQueues;
  readonly #ingressLog: IngressLog;
  readonly #orphanAfterMs: number;
  #sweeper: NodeJS.Timeout | undefined;

  #opening: Promise<void> | undefined;
  #open = false;
  #destroyed = false;
  #brokerRef: any;

  constructor(opts: LevelPersistenceOptions) {
    if (!opts.db === !opts.path) throw new Error('createLevelPersistence: give exactly one of { path } or { db }');
    this.#ownsDb = !opts.db;
    this.#db = opts.db ?? createApplianceDb(opts.path!, { sync: opts.sync ?? true });
    const sub = (name: string) => this.#db.sublevel<string, Uint8Array>(name, { keyEncoding: 'utf8', valueEncoding: 'view' });
    this.#broker = sub(SUBLEVELS.broker);
    this.#ingress = sub(SUBLEVELS.ingress);
    this.#requestsSub = sub(SUBLEVELS.requests);
    const sealer = opts.sealer;
    this.#plain = sealer ? (v) => sealer.unseal(v) : (v) => v;
    this.requests = new RequestQueue(this.#requestsSub, sealer);
    if (opts.onAlarm) this.#alarmListeners.add(opts.onAlarm);
    this.#orphanAfterMs = opts.orphanAfterMs ?? 5000;
    this.#committer = new GroupCommitter(
      this.#db,
      opts.sync ?? true,
      {
        onWriteError: (err) => this.#alarm({ kind: 'write-failed', message: err.message, at: Date.now() }),
        onRecovered: () => this.#alarm({ kind: 'recovered', message: 'LevelDB writes succeed again', at: Date.now() }),
      },
      sealer,
    );
    this.#ingressLog = new IngressLog(this.#ingress, this.#broker, this.#plain);
    this.#subscriptions = new SubscriptionStore(this.#committer, this.#broker, this.#plain);
    this.#retained = new RetainedStore(this.#committer, this.#broker, this.#plain);
    this.#wills = new WillStore(this.#committer, this.#broker, this.#plain);
    this.#incoming = new IncomingStore(this.#committer, this.#broker, this.#plain);
    this.#outgoing = new OutgoingQueues(this.#committer, this.#broker, this.#plain, this.#ingressLog, () => this.#brokerRef?.id);
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
      try {
        l(a);
      } catch {
        /* an alarm sink must not break persistence */
      }
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
    maxSeq = Math.max(maxSeq, await this.#outgoing.load());
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
  storeIngressThen(
    client: { id: string } | null,
    packet: AnyPacket,
    seq: number,
    requesterId: string | undefined,
    done: (err?: Error) => void,
  ): void {
    if (!this.#open) return done(new Error('persistence is not open: call setup() or open() first'));
    const log = this.#ingressLog;
    const ops: WriteOp[] = [];
    log.withSeqReservation(seq, ops);
    const topic = String(packet.topic);
    const payload = packet.payload instanceof Uint8Array ? packet.payload : Buffer.from(String(packet.payload ?? ''), 'utf8');
    const clientId = requesterId ?? client?.id ?? '';
    if (topic.startsWith(REQUEST_TOPIC_PREFIX)) {
      ops.push({
        type: 'put',
        key: seqKey(seq),
        sublevel: this.#requestsSub,
        value: encodeRequest({ seq, clientId, topic, payload: Buffer.from(payload), receivedAt: Date.now() }),
      });
      if (typeof packet.payload === 'object' && packet.payload) log.linkedRequests.set(packet.payload, seq);
      log.unfanned.delete(seq); // not an ingress entry
      return this.#committer.commitThen(ops, () => this.requests.noteStored(seq, true, topic), undefined, done);
    }
    const record: RecordObject = { topic, payload, qos: packet.qos, retain: packet.retain === true, clientId };
    if (packet.properties !== undefined) record.properties = packet.properties;
    const value =
      typeof record.qos === 'number'
        ? encodeIngressRecord(topic, payload, record.qos, record.retain as boolean, clientId, record.properties)
        : encodeRecord(record);
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
    return new Promise<void>((resolve, reject) =>
      aedes.publish(packet, (err) => {
        entry.publishing = false;
        entry.storedAt = Date.now();
        if (err) reject(err);
        else resolve();
      }),
    );
  }

  #sweepOrphans(): void {
    const broker = this.#brokerRef;
    if (!broker || broker.closed || this.#destroyed) return;
    const cutoff = Date.now() - this.#orphanAfterMs;
    for (const [seq, entry] of this.#ingressLog.pending) {
      if (entry.publishing || entry.storedAt > cutoff) continue;
      this.#republish(broker, seq, entry).catch(() => {
        /* still pending: the next sweep retries */
      });
    }
  }

  // ---- queue depths (limits, metrics) -----------------------------------------------------------

  outgoingDepth(clientId: string): number {
    return this.#outgoing.depth(clientId);
  }

  /** Every client with a non-empty outgoing queue and its depth. */
  outgoingDepths(): Map<string, number> {
    return this.#outgoing.depths();
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
    const seqs = this.#outgoing.pushCleanOps(id, ops);
    if (ops.length === 0) return;
    return this.#committer.commit(ops, () => {
      this.#subscriptions.forget(id);
      this.#outgoing.dropAll(id, seqs);
    });
  }

  getClientList(topic: string): Readable {
    return this.#subscriptions.clientList(topic);
  }

  // ---- outgoing (per-client queues, FIFO by seq) --------------------------------------------------

  async outgoingEnqueue(sub: { clientId: string }, packet: AnyPacket): Promise<void> {
    return this.#outgoing.outgoingEnqueue(sub, packet);
  }

  async outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: AnyPacket): Promise<void> {
    return this.#outgoing.outgoingEnqueueCombi(subs, packet);
  }

  async outgoingUpdate(client: { id: string }, packet: AnyPacket): Promise<void> {
    return this.#outgoing.outgoingUpdate(client, packet);
  }

  async outgoingClearMessageId(client: { id: string }, packet: AnyPacket): Promise<AnyPacket | undefined> {
    return this.#outgoing.outgoingClearMessageId(client, packet);
  }

  outgoingStream(client: { id: string }): Readable {
    return this.#outgoing.outgoingStream(client);
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
    await this.#committer.drain();
    await this.#ingressLog.cleared();
    if (this.#ownsDb) await this.#db.close();
  }
}

export function createLevelPersistence(opts: LevelPersistenceOptions): LevelPersistence {
  return new LevelPersistence(opts);
}
