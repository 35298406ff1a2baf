// What aedes reports after the fact: forwarded and published messages (metrics), acknowledgements
// and readiness (the in-flight window), connection errors and ends (log, protocol violations denied).
import type { AedesOptions, Client } from 'aedes';
import type {} from '../aedesInternals.js';
import { REPORTED, Refusal } from '../connections.js';
import type { BrokerContext } from './context.js';

/** Counts each message handed to a subscriber. */
export function createAuthorizeForward(ctx: BrokerContext): NonNullable<AedesOptions['authorizeForward']> {
  return (_client, packet) => {
    ctx.metrics.messageOut();
    return packet;
  };
}

export function watchClientEvents(ctx: BrokerContext): void {
  const { aedes, log, connections } = ctx;
  const onClientError = (client: Client, err: Error) => {
    if (err instanceof Refusal || (err as { [REPORTED]?: boolean })[REPORTED]) return;
    if (err.message === 'Invalid protocol') {
      ctx.deny('malformed', 'MQTT protocol violation (CONNECT twice, or a packet before CONNECT)', { client, conn: client.conn });
      return;
    }
    log.info({ clientId: client.id ?? null, err: err.message }, 'client connection ended with an error');
  };
  aedes.on('clientError', onClientError);
  aedes.on('connectionError', onClientError);
  // aedes reports failures of its own timers (heartbeat, will sweep) here; unhandled, it would end the process.
  aedes.on('error', (err: Error) => log.error({ err: err.message }, 'broker internal error'));
  aedes.on('ack', (_packet, client) => connections.windows.get(client)?.acked());
  aedes.on('clientReady', (client) => connections.windows.get(client)?.open());
  // Counted once published (after the durable store), not when merely admitted.
  aedes.on('publish', (_packet, client) => {
    if (client) ctx.metrics.messageIn();
  });
  aedes.on('keepaliveTimeout', (client) => log.info({ clientId: client.id }, 'keepalive timeout: disconnected'));
  aedes.on('clientDisconnect', (client) => log.info({ clientId: client.id }, 'client disconnected'));
}
