// MQTT-3.3.1-1: a PUBLISH sent again must carry DUP=1. aedes replays a persistent session's queue
// on reconnect without setting it, so the queue stream is wrapped: an entry that already has a
// packet identifier was handed to the client before (aedes stores it at delivery) and goes out as DUP.
import { Readable } from 'node:stream';

type QueuePacket = { cmd?: string; messageId?: number; dup?: boolean };
interface OutgoingStreamOwner { outgoingStream(client: { id: string }): Readable }

export function markRedeliveries(persistence: unknown): void {
  const p = persistence as OutgoingStreamOwner;
  const original = p.outgoingStream.bind(p);
  p.outgoingStream = (client) => {
    const source = original(client);
    return Readable.from((async function* () {
      for await (const packet of source as AsyncIterable<QueuePacket>) {
        if ((packet.cmd ?? 'publish') === 'publish' && packet.messageId !== undefined) packet.dup = true;
        yield packet;
      }
    })());
  };
}
