// A socket that passed a listener's transport checks handed to aedes (after aedes' handle()): the
// pre-auth budget follows it, its listener is remembered, its parser is bounded, and wire errors and
// transport refusals are denied.
import type {} from '../aedesInternals.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { REPORTED } from '../connections.js';
import { startListener, type RunningListener } from '../listeners.js';
import { OVERSIZE_ANSWER_FACTOR } from '../oversize.js';
import { onFirstBytes, type PreAuthGate } from '../preauth.js';
import { guardParser, WireError } from '../wire.js';
import type { BrokerContext } from './context.js';

const TOPIC_AND_HEADER_OVERHEAD = 2 + 65535 + 2;

export function openListener(ctx: BrokerContext, gate: PreAuthGate, l: ApplianceConfig['listeners'][number]): Promise<RunningListener> {
  const { limits, deny } = ctx;
  // Read up to the factor past the limit, so that an oversized request can still be answered.
  const maxPacketBytes = () => OVERSIZE_ANSWER_FACTOR * limits.maxPayloadBytes + TOPIC_AND_HEADER_OVERHEAD;
  return startListener(l, {
    // Authenticated systems, the unauthenticated budget, and sockets still closing.
    maxSockets: limits.maxConnections + limits.preAuth.maxTotal + 64,
    opened: (raw) => gate.opened(raw),
    accept(conn, info, raw) {
      if (conn !== raw) gate.handshaken(conn, raw);
      ctx.connections.listenerOf.set(conn, info);
      onFirstBytes(conn, () => {
        const client = ctx.aedes.handle(conn);
        guardParser(client._parser, maxPacketBytes());
        // Parser errors are bad input from the wire: logged and counted here, once.
        client._parser.prependListener('error', (err: Error) => {
          (err as { [REPORTED]?: boolean })[REPORTED] = true;
          deny(err instanceof WireError ? err.kind : 'malformed', err.message, { client, conn });
        });
      });
    },
    refused(info, reason, remote, raw) {
      if (raw && gate.closedHere(raw)) return; // an idle handshake the budget closed: counted as pre-auth
      deny(reason.startsWith('tls') ? 'tls' : 'listener', `listener ${info.name}: ${reason}`, { remote });
    },
  });
}
