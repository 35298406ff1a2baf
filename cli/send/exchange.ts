// One request/reply round trip as the local system itself: client ID = system ID (the contract's
// rule, enforced by the broker), clean: false so the system's persistent session and what is queued
// in it survive. Only the reply to our own request is acknowledged: anything else queued for the
// system is left unacknowledged and the broker delivers it again to the system's next session.
import mqtt, { type IClientOptions } from 'mqtt';
import type { SendTarget } from './target.js';

export type ExchangeOutcome =
  | { kind: 'reply'; reply: Record<string, unknown>; othersLeft: number }
  | { kind: 'refused'; message: string }
  | { kind: 'closed'; message: string; acknowledged: boolean }
  | { kind: 'timeout'; acknowledged: boolean; othersLeft: number };

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3. */
const CONNACK: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected (client ID must equal the system ID)',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

class NotOurs extends Error {}

export function exchange(
  target: SendTarget,
  request: { id: string; type: string },
  payload: string,
  timeoutMs: number,
): Promise<ExchangeOutcome> {
  return new Promise((resolve) => {
    let othersLeft = 0;
    let acknowledged = false;
    let settled = false;
    const opts: IClientOptions = {
      protocolVersion: 4,
      clientId: target.systemId,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      ...(target.password !== undefined ? { username: target.systemId, password: target.password } : {}),
      ...(target.tls ? { cert: target.tls.cert, key: target.tls.key, ca: target.tls.ca } : {}),
    };
    const client = mqtt.connect(target.url, opts);
    // mqtt.js sends the PUBACK only after handleMessage calls back without an error (MQTT 3.1.1 has
    // no negative acknowledgement): a message that is not our reply stays unacknowledged.
    client.handleMessage = (packet, callback) => {
      let reply: Record<string, unknown> | undefined;
      try {
        reply = JSON.parse(packet.payload.toString()) as Record<string, unknown>;
      } catch {
        reply = undefined;
      }
      if (reply?.corr !== request.id) {
        othersLeft++;
        callback(new NotOurs());
        return;
      }
      callback();
      finish({ kind: 'reply', reply, othersLeft });
    };
    const finish = (o: ExchangeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A graceful end flushes our PUBACK of the reply before the socket closes.
      client.end(o.kind !== 'reply', {}, () => resolve(o));
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', acknowledged, othersLeft }), timeoutMs);
    let connected = false;
    client.on('error', (e) => {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'number')
        finish({ kind: 'refused', message: `${target.url} refused ${target.systemId}: CONNACK ${code}: ${CONNACK[code] ?? 'refused'}` });
      else if (!connected)
        finish({
          kind: 'refused',
          message: `cannot connect to ${target.url}: ${e.message} (is the appliance running and listening there?)`,
        });
      else finish({ kind: 'closed', message: e.message, acknowledged });
    });
    client.on('close', () =>
      finish(
        connected
          ? {
              kind: 'closed',
              acknowledged,
              message: `the connection to ${target.url} closed before the reply (another client connecting as ${target.systemId} takes the session over)`,
            }
          : {
              kind: 'refused',
              message: `${target.url} closed the connection before CONNACK (TLS handshake refused? check --cert, --key, --ca)`,
            },
      ),
    );
    client.once('connect', () => {
      connected = true;
      client.subscribe(`res/${target.systemId}`, { qos: 1 }, (err, granted) => {
        if (err || granted?.[0]?.qos === 128) {
          finish({ kind: 'refused', message: `subscription to res/${target.systemId} refused` });
          return;
        }
        client.publish(`req/${request.type}`, payload, { qos: 1 }, (e) => {
          if (e) {
            finish({ kind: 'closed', acknowledged, message: `publish failed: ${e.message}` });
            return;
          }
          acknowledged = true;
        });
      });
    });
  });
}
