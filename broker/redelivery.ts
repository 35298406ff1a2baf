// MQTT-3.3.1-1: a PUBLISH sent again must carry DUP=1. aedes replays a persistent session's queue
// on reconnect without setting it, so the queue stream is wrapped: an entry that already has a
// packet identifier was handed to the client before (aedes stores it at delivery) and goes out as DUP.
// Each replayed entry is also recorded in the client's dedupe marks, so a live delivery of the same
// message held back during the replay (inflight.ts) is not sent a second time.
import { Readable } from 'node:stream';

type QueuePacket = { cmd?: string; messageId?: number; dup?: boolean; brokerId?: string; brokerCounter?: number };
type StreamClient = { id: string; duplicates?: Record<string, number> };
interface OutgoingStreamOwner {
  outgoingStream(client: StreamClient): Readable;
}

export function markRedeliveries(persistence: unknown): void {
  const p = persistence as OutgoingStreamOwner;
  const original = p.outgoingStream.bind(p);
  p.outgoingStream = (client) => {
    const source = original(client);
    return Readable.from(
      (async function* () {
        for await (const packet of source as AsyncIterable<QueuePacket>) {
          if ((packet.cmd ?? 'publish') === 'publish' && packet.messageId !== undefined) packet.dup = true;
          const marks = client.duplicates;
          if (marks && packet.brokerId !== undefined && packet.brokerCounter !== undefined) {
            marks[packet.brokerId] = Math.max(marks[packet.brokerId] ?? 0, packet.brokerCounter);
          }
          yield packet;
        }
      })(),
    );
  };
}
