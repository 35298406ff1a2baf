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
    inner(client, packet, (err) => {
      if (err) {
        persistence.releaseSeq(seq);
        return callback(err);
      }
      if (packet.qos === 2) {
        // A retransmitted QoS 2 PUBLISH that aedes already holds is not published again; storing
        // it would make the crash replay deliver it twice.
        persistence.incomingGetPacket(client, packet).then(
          () => {
            persistence.releaseSeq(seq);
            callback(null);
          },
          () => storeThenAck(persistence, client, packet, seq, requesterOf(client), callback),
        );
        return;
      }
      if (packet.qos === 1) readOnWhileStoring(persistence, client, packet, seq, requesterOf(client), callback);
      else storeThenAck(persistence, client, packet, seq, requesterOf(client), callback);
    });
  };
  aedes.authorizePublish = durable;
  return durable;
}

/**
 * QoS 1 publishes of one connection that are waiting for their group commit without holding up
 * the reading of that connection (see readOnWhileStoring). Bounds what one client can make the
 * broker read ahead of its fsyncs.
 */
const READ_AHEAD_LIMIT = 4000;
/** The same bound in payload bytes: 4000 maximal payloads would otherwise pin gigabytes per client. */
const READ_AHEAD_BYTES = 16 * 1024 * 1024;

/**
 * The part of aedes' Client (lib/client.js, 1.x) that gates reading: a socket read chunk is parsed
 * and the next one read only once every packet of it has called `_nextBatch` (`_parsingBatch`
 * counts them).
 */
interface ReadGate {
  _parsingBatch: number;
  _nextBatch: (err?: Error) => void;
}

interface ReadAhead { storing: number; bytes: number; released: number; scheduled: boolean }

const readAheadOf = new WeakMap<object, ReadAhead>();

/**
 * aedes reads a connection's next chunk only once the whole current chunk is handled, which for
 * QoS 1 includes our fsync: one publisher would get one chunk per fsync. A publish that is queued
 * for its group commit therefore leaves the gate at once (once per turn of the event loop, so
 * that chunks are not parsed recursively) and re-enters it just before its PUBACK, so aedes' own
 * accounting is unchanged when it finishes. Its PUBACK still waits for the fsync, and acks,
 * publishes and seqs keep wire order: commits complete in the order they were queued.
 */
function readOnWhileStoring(persistence: LevelPersistence, client: any, packet: any, seq: number, requester: string, callback: AuthorizeCallback): void {
  const gate = client as ReadGate;
  if (typeof gate._parsingBatch !== 'number' || typeof gate._nextBatch !== 'function') {
    return storeThenAck(persistence, client, packet, seq, requester, callback);
  }
  let ahead = readAheadOf.get(client);
  if (!ahead) readAheadOf.set(client, ahead = { storing: 0, bytes: 0, released: 0, scheduled: false });
  if (ahead.storing >= READ_AHEAD_LIMIT || ahead.bytes >= READ_AHEAD_BYTES) return storeThenAck(persistence, client, packet, seq, requester, callback);
  const state = ahead;
  const bytes = packet.payload?.length ?? 0;
  state.storing++;
  state.bytes += bytes;
  state.released++;
  if (!state.scheduled) {
    state.scheduled = true;
    setImmediate(releaseGate, gate, state);
  }
  persistence.storeIngressThen(client, packet, seq, requester, (err) => {
    state.storing--;
    state.bytes -= bytes;
    gate._parsingBatch++; // aedes' done for this packet takes it out again
    try {
      callback(err ?? null);
    } catch (e) {
      queueMicrotask(() => { throw e; });
    }
  });
}

function releaseGate(gate: ReadGate, state: ReadAhead): void {
  state.scheduled = false;
  const n = state.released;
  state.released = 0;
  if (n === 0) return;
  gate._parsingBatch -= n - 1;
  gate._nextBatch(); // the last one, as aedes does: reads and parses the next chunk when none is left
}

function storeThenAck(persistence: LevelPersistence, client: any, packet: any, seq: number, requester: string, callback: AuthorizeCallback): void {
  persistence.storeIngressThen(client, packet, seq, requester, (err) => {
    // aedes' own code runs from here: a throw must not reach the group committer's loop
    try {
      callback(err ?? null);
    } catch (e) {
      queueMicrotask(() => { throw e; });
    }
  });
}
