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
      storeThenAck(persistence, client, packet, seq, requesterOf(client), callback);
    });
  };
  aedes.authorizePublish = durable;
  return durable;
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
