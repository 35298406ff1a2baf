// Every refusal of the broker: counted, logged with who, where and what, and audited.
import type { Socket } from 'node:net';
import type { Client } from 'aedes';
import type { Logger } from '../platform/log/logger.js';
import type { Connections } from './connections.js';
import type { BrokerMetrics, DenialReason } from './metrics.js';
import type { BrokerAuditEvent } from './types.js';

export interface DenialContext {
  client?: Client | null;
  conn?: object;
  remote?: string | undefined;
  topic?: string;
  systemId?: string | null;
  clientId?: string;
}

/** quiet: counted and logged at debug level only, for the repeats a burst summary covers. */
export type Deny = (reason: DenialReason, detail: string, ctx: DenialContext, quiet?: boolean) => void;

export function createDeny(o: {
  log: Logger;
  metrics: BrokerMetrics;
  connections: Connections;
  audit?: ((e: BrokerAuditEvent) => void) | undefined;
}): Deny {
  return (reason, detail, ctx, quiet = false) => {
    const client = ctx.client ?? null;
    const conn = ctx.conn ?? client?.conn;
    const event = {
      kind: 'denial' as const,
      reason,
      detail,
      systemId: ctx.systemId !== undefined ? ctx.systemId : client ? (o.connections.identities.get(client)?.systemId ?? null) : null,
      clientId: ctx.clientId ?? client?.id ?? null,
      listener: conn ? (o.connections.listenerOf.get(conn)?.name ?? null) : null,
      remote: ctx.remote ?? (conn as Socket | undefined)?.remoteAddress ?? null,
      ...(ctx.topic !== undefined ? { topic: ctx.topic } : {}),
      at: new Date().toISOString(),
    };
    o.metrics.denial(reason);
    if (quiet) return o.log.debug({ denial: event }, `denied (${reason}): ${detail}`);
    o.log.warn({ denial: event }, `denied (${reason}): ${detail}`);
    o.audit?.(event);
  };
}
