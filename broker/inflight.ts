// Per-client outbound window (limits.maxInflight): at most N QoS>0 PUBLISH packets sent to a client
// and not yet acknowledged. aedes writes every matching message at once; this holds the rest back
// until PUBACK/PUBCOMP arrives, in order. Held messages of a persistent session are already in its
// stored queue (aedes enqueues before it delivers), so a disconnect loses nothing: the queue is
// replayed on reconnect. A clean session that stops acknowledging while more than `maxHeld`
// messages wait is disconnected (slow consumer) rather than buffered without bound.
// The window stays shut until aedes has replayed the stored queue (clientReady): a message arriving
// during the replay would otherwise overtake the queued ones (per-session order, CONTRACT.md); held
// until then, it is delivered after them, or dropped by aedes's dedupe if the replay carried it.
import type { Client } from 'aedes';
import type { ClientDelivery } from './aedesInternals.js';

export interface InflightWindow {
  /** A PUBACK/PUBCOMP arrived from this client. */
  acked(): void;
  /** The stored queue has been replayed (aedes clientReady): live deliveries may flow. */
  open(): void;
  readonly inflight: number;
  readonly held: number;
}

export function installInflightWindow(client: Client, max: number, maxHeld: number, onOverflow: (held: number) => void): InflightWindow {
  const deliver = client.deliverQoS;
  const held: ClientDelivery[] = [];
  let inflight = 0;
  let opened = false;

  // aedes skips a packet it already delivered through another matching subscription (dedupe by
  // broker counter); such a call writes nothing and must not take a slot that no PUBACK would free.
  const alreadySent = (p: ClientDelivery) =>
    p.brokerId !== undefined && p.brokerCounter !== undefined && (client.duplicates[p.brokerId] ?? 0) >= p.brokerCounter;

  const send = (p: ClientDelivery, cb: () => void) => {
    if (!alreadySent(p)) inflight++;
    deliver(p, cb);
  };
  const noop = () => {};

  client.deliverQoS = (packet, cb) => {
    if (packet.qos === 0) return deliver(packet, cb);
    if (opened && inflight < max && held.length === 0) return send(packet, cb);
    held.push(packet);
    if (held.length > maxHeld && client.clean) onOverflow(held.length);
    cb(); // never block the broker's shared delivery pipeline on one client
  };

  const drain = () => {
    while (opened && inflight < max && held.length > 0 && !client.closed) send(held.shift()!, noop);
  };

  return {
    acked() {
      // Replayed queue entries on reconnect are written outside this window; clamp so their acks
      // cannot open it wider than max.
      inflight = Math.max(0, inflight - 1);
      drain();
    },
    open() {
      opened = true;
      drain();
    },
    get inflight() {
      return inflight;
    },
    get held() {
      return held.length;
    },
  };
}
