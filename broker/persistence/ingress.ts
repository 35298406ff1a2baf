// Durable ingress for aedes: aedes writes PUBACK before it stores a QoS 1 message
// (lib/handlers/publish.js), so the store happens inside authorizePublish, which runs first.
import type { LevelPersistence } from './levelPersistence.js';

type AuthorizeCallback = (error?: Error | null) => void;
export type AuthorizePublish = (client: any, packet: any, callback: AuthorizeCallback) => void;

export interface DurableIngressOptions {
  /** The authenticated system id recorded with local requests; default the MQTT client id. */
  requesterOf?: (client: any) => string;
}

interface BrokerLike {
  authorizePublish: AuthorizePublish;
}

/**
 * Makes every accepted QoS ≥ 1 PUBLISH durable before its PUBACK (QoS 1) or PUBREC (QoS 2).
 * `authorize` (default: the broker's current authorizePublish) decides first; a refused publish is
 * never stored. A storage failure refuses the publish: aedes closes that connection without an ack.
 */
export function wireDurableIngress(
  aedes: BrokerLike,
  persistence: LevelPersistence,
  authorize?: AuthorizePublish,
  opts: DurableIngressOptions = {},
): AuthorizePublish {
  const inner = authorize ?? aedes.authorizePublish.bind(aedes);
  const requesterOf = opts.requesterOf ?? ((client: any) => String(client?.id ?? ''));

  // No named closures per publish: tsx (esbuild keepNames) wraps each in a __name() call.
  const durable: AuthorizePublish = (client, packet, callback) => {
    if (!client || !(packet.qos > 0)) return inner(client, packet, callback);
    // Seq is taken on arrival, before any asynchronous ACL work, so seq order is wire order.
    const seq = persistence.reserveSeq();
    // Counted on arrival too: the bound on what is read ahead must not wait for a slow authorizer.
    // QoS 2 counts as well: aedes reserves its inbound window only after this store.
    const ahead = readAheadOf(client);
    const bytes = payloadBytes(packet);
    if (ahead) arrive(ahead, bytes);
    inner(client, packet, (err) => {
      if (err) {
        persistence.releaseSeq(seq);
        if (ahead) leave(ahead, bytes);
        return callback(err);
      }
      if (packet.qos === 2) {
        // A retransmitted QoS 2 PUBLISH that aedes already holds is not published again; storing
        // it would make the crash replay deliver it twice.
        persistence.incomingGetPacket(client, packet).then(
          () => {
            persistence.releaseSeq(seq);
            if (ahead) leave(ahead, bytes);
            callback(null);
          },
          () => storeThenAck(persistence, client, packet, seq, requesterOf(client), callback, ahead, bytes),
        );
        return;
      }
      if (ahead) readOnWhileStoring(persistence, ahead, client, packet, seq, requesterOf(client), bytes, callback);
      else storeThenAck(persistence, client, packet, seq, requesterOf(client), callback);
    });
  };
  aedes.authorizePublish = durable;
  return durable;
}

/**
 * QoS ≥ 1 publishes of one connection that are waiting for their group commit (counted from their
 * arrival): at this many the broker stops reading that connection until one is committed.
 */
const READ_AHEAD_LIMIT = 4000;
/** The same bound in payload bytes: 4000 maximal payloads would otherwise pin gigabytes per client. */
const READ_AHEAD_BYTES = 16 * 1024 * 1024;

/**
 * The part of aedes' Client (lib/client.js, 1.x) that gates reading: a socket read chunk is parsed
 * and the next one read (`conn.read(null)`) only once every packet of it has called `_nextBatch`
 * (`_parsingBatch` counts them). Every 'readable' event of `conn` calls `_nextBatch` as well, as if
 * a packet were done, so that count cannot stop the reading: with publishes larger than a read
 * chunk, each chunk is read on arrival whatever is still pending.
 */
interface ReadGate {
  _parsingBatch: number;
  _nextBatch: (err?: Error) => void;
  conn: { read: (size?: number | null) => unknown };
}

interface ReadAhead {
  gate: ReadGate;
  storing: number;
  bytes: number;
  /** Publishes that left the gate since the last settle() and are still counted in it. */
  released: number;
  scheduled: boolean;
  /** At the bound: aedes' reads of the connection get nothing. */
  stopped: boolean;
}

const readAheads = new WeakMap<object, ReadAhead>();

/**
 * The connection's read-ahead state; undefined when the client is not the aedes 1.x Client this
 * relies on (its publishes then wait for their commit inside the gate, as aedes would have them).
 * The bound is kept at the stream: while stopped, aedes' `conn.read(null)` returns nothing, the
 * bytes stay in the socket's buffer, and once that is full the socket stops reading, so TCP holds
 * the sender back. Node's own `read(0)` (which only fills that buffer) passes.
 */
function readAheadOf(client: any): ReadAhead | undefined {
  const known = readAheads.get(client);
  if (known) return known;
  const gate = client as ReadGate;
  const conn = gate.conn;
  if (typeof gate._parsingBatch !== 'number' || typeof gate._nextBatch !== 'function' || typeof conn?.read !== 'function') return undefined;
  const state: ReadAhead = { gate, storing: 0, bytes: 0, released: 0, scheduled: false, stopped: false };
  const read = conn.read;
  conn.read = function readUnlessStopped(this: unknown, size?: number | null) {
    return state.stopped && size !== 0 ? null : read.call(this, size);
  };
  readAheads.set(client, state);
  return state;
}

function payloadBytes(packet: any): number {
  const p = packet.payload;
  return p == null ? 0 : typeof p === 'string' ? Buffer.byteLength(p) : (p.length ?? 0);
}

const atBound = (s: ReadAhead): boolean => s.storing >= READ_AHEAD_LIMIT || s.bytes >= READ_AHEAD_BYTES;

/**
 * A publish arrived. Reaching the bound stops the reading at once: the rest of the read chunk being
 * parsed is still handled, nothing after it is read until settle() finds the connection below it.
 */
function arrive(s: ReadAhead, bytes: number): void {
  s.storing++;
  s.bytes += bytes;
  if (atBound(s)) s.stopped = true;
}

/** A counted publish is committed (or refused): below the bound the reading starts again. */
function leave(s: ReadAhead, bytes: number): void {
  s.storing--;
  s.bytes -= bytes;
  if (s.stopped && !atBound(s)) schedule(s);
}

function schedule(s: ReadAhead): void {
  if (s.scheduled) return;
  s.scheduled = true;
  setImmediate(settle, s);
}

/**
 * aedes reads a connection's next chunk only once the whole current chunk is handled, which for
 * QoS 1 includes our fsync: one publisher would get one chunk per fsync. A publish that is queued
 * for its group commit therefore leaves the gate at once (once per turn of the event loop, so
 * that chunks are not parsed recursively) and re-enters it just before its PUBACK, so aedes' own
 * accounting is unchanged when it finishes. Its PUBACK still waits for the fsync, and acks,
 * publishes and seqs keep wire order: commits complete in the order they were queued.
 */
function readOnWhileStoring(
  persistence: LevelPersistence,
  s: ReadAhead,
  client: any,
  packet: any,
  seq: number,
  requester: string,
  bytes: number,
  callback: AuthorizeCallback,
): void {
  s.released++;
  schedule(s);
  persistence.storeIngressThen(client, packet, seq, requester, (err) => {
    s.gate._parsingBatch++; // aedes' done for this packet takes it out again
    leave(s, bytes);
    try {
      callback(err ?? null);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  });
}

/**
 * Gives the gate back what left it since the last turn. Once below the bound it reads on: while
 * stopped, 'readable' events and finished packets may have brought the count to 0 with nothing read,
 * and no new event comes for bytes already buffered, so one more `_nextBatch` (as a 'readable'
 * event would) makes sure the next chunk is read once the packets in flight are done.
 */
function settle(s: ReadAhead): void {
  s.scheduled = false;
  let n = s.released;
  s.released = 0;
  if (s.stopped && !atBound(s)) {
    s.stopped = false;
    n++;
  }
  if (n === 0) return;
  s.gate._parsingBatch -= n - 1;
  s.gate._nextBatch(); // the last one, as aedes does: reads and parses the next chunk when none is left
}

/** The publish waits for its commit inside aedes' gate; `ahead` (QoS 2) only counts it. */
function storeThenAck(
  persistence: LevelPersistence,
  client: any,
  packet: any,
  seq: number,
  requester: string,
  callback: AuthorizeCallback,
  ahead?: ReadAhead,
  bytes = 0,
): void {
  persistence.storeIngressThen(client, packet, seq, requester, (err) => {
    if (ahead) leave(ahead, bytes);
    // aedes' own code runs from here: a throw must not reach the group committer's loop
    try {
      callback(err ?? null);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  });
}
