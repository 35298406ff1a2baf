// The parts of aedes 1.2 the broker uses that its published types leave out (lib/client.js,
// aedes.js): declared here, once, so the code that uses them is typed instead of cast.
// Checked against aedes 1.2.0; an upgrade must re-read these fields in its source.
import type { EventEmitter } from 'node:events';
import type { PublishPacket } from 'aedes';

/** A message aedes hands a client to write; the broker's stamp is absent on some paths, so optional. */
export type ClientDelivery = PublishPacket & { brokerId?: string; brokerCounter?: number };

declare module 'aedes' {
  interface Aedes {
    /** Connected clients by client ID. */
    readonly clients: Record<string, Client>;
    /** Failures of aedes' own timers (heartbeat, will sweep). */
    on(event: 'error', listener: (err: Error) => void): this;
    /** The form aedes uses for a client's will: the packet is published as that client's. */
    publish(packet: PublishPacket, client: Client, callback: (error?: Error) => void): void;
  }
  interface Client {
    /** The client's mqtt-packet parser. */
    readonly _parser: EventEmitter;
    /** Writes one QoS>0 message to the client; replaced by the inflight window. */
    deliverQoS: (packet: ClientDelivery, callback: () => void) => void;
    /** The highest broker counter delivered per broker ID (aedes' dedupe across subscriptions). */
    readonly duplicates: Record<string, number>;
  }
}
