// The uplink: links to the upstream brokers, durable outbox, inbox, request/reply correlation.
//
// Durable messages (notifications, card data, relays) go through `outbox.enqueue(batch, envelope)` in
// the flow's own batch, then `outbox.commit(batch)`. Interactive requests (`request()`) do NOT go
// through the outbox: a counter clerk waiting for a verification needs an answer in seconds, so when
// the link is down the caller gets `upstream_unavailable` at once instead of a request that waits in a
// queue for hours and arrives when nobody cares. They are signed and sent directly, then correlated.
import type { Registry } from 'prom-client';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type { Signer, Verifier } from '../../hsm/types.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import type { Envelope } from '../../platform/envelope.js';
import { createMessageRegistry, validateBody } from '../messages/registry.js';
import { backoffDelay } from './backoff.js';
import { Correlator, ReplyTimeoutError, errorEnvelope } from './correlator.js';
import { Inbox, type FlowHandler, type InboxAuditEvent, type InboxOptions } from './inbox.js';
import { UpstreamLink, type LinkStatus } from './link.js';
import { createUplinkMetrics, type UplinkMetrics } from './metrics.js';
import { Outbox, type DeadEntry, type OutboxOptions } from './outbox.js';
import { linkFor, upstreamTopic } from './routing.js';
import { LinkSender } from './sender.js';

export { Outbox, type OutboxEntry, type DeadEntry, type OutboxSummary, type EnqueueOptions } from './outbox.js';
export { Inbox, type FlowHandler, type FlowContext, type InboxAuditEvent } from './inbox.js';
export type { LinkStatus, LinkState } from './link.js';
export { RoutingError, linkFor, upstreamTopic } from './routing.js';
export { isReply } from './correlator.js';

export type UplinkConfig = Pick<ApplianceConfig, 'municipalities' | 'upstreams' | 'uplink' | 'trust'> &
  Partial<Pick<ApplianceConfig, 'checkResidentCodeDigit'>>;

export interface UplinkDeps {
  config: UplinkConfig;
  db: Db;
  signer: Signer;
  verifier: Verifier;
  logger: Logger;
  registry?: Registry;
  audit?: (event: InboxAuditEvent) => void | Promise<void>;
  onDeadLetter?: (entry: DeadEntry) => void;
  /** Encryption at rest swaps these in (queued messages and remembered replies carry personal data). */
  valueEncodings?: { outbox?: OutboxOptions['valueEncoding']; inbox?: InboxOptions['valueEncoding'] };
  /** Client id per link; default `juki-gw-{first code}-{link}`. */
  clientIdPrefix?: string;
}

export interface QueueStats {
  [link: string]: { depth: number; oldestAgeMs: number; dead: number; inFlight: number };
}

export interface Uplink {
  readonly outbox: Outbox;
  readonly inbox: Inbox;
  /** Registers the flow that handles inbound upstream messages of `type`. */
  on(type: string, handler: FlowHandler): void;
  /** Interactive request: reply, or an `error` envelope (`timeout` | `upstream_unavailable`). Never throws. */
  request(envelope: Envelope, options?: { timeoutMs?: number }): Promise<Envelope>;
  linkStatus(): LinkStatus[];
  queueStats(): QueueStats;
  close(): Promise<void>;
}

export function timeoutFor(config: UplinkConfig, type: string): number {
  return config.uplink.timeoutsMs[type] ?? config.uplink.defaultTimeoutMs;
}

/** Opens the outbox, connects one link per configured upstream broker and starts delivering. */
export async function createUplink(deps: UplinkDeps): Promise<Uplink> {
  const { config, db, signer, verifier, logger } = deps;
  const retry = config.uplink.retry;
  const correlator = new Correlator();
  const outbox = new Outbox({
    db,
    retry,
    route: (to) => linkFor(config.upstreams, to),
    backoff: (n) => backoffDelay(retry, n),
    valueEncoding: deps.valueEncodings?.outbox,
    onDeadLetter: (e) => {
      // The alarm: an operator must look at it (UI, `juki-gw queue list --dead`).
      logger.error(
        { alarm: 'uplink_dead_letter', link: e.link, seq: e.seq, id: e.envelope.id, type: e.envelope.type, reason: e.reason },
        'uplink: message moved to the dead-letter queue',
      );
      deps.onDeadLetter?.(e);
    },
  });
  await outbox.open();
  const links = new Map<string, UpstreamLink>();
  const senders: LinkSender[] = [];
  let metrics: UplinkMetrics | undefined;
  const api = {
    linkStatus: () => [...links.values()].map((l) => l.status()),
    queueStats: () => {
      const s: QueueStats = outbox.stats();
      for (const name of links.keys()) s[name] ??= { depth: 0, oldestAgeMs: 0, dead: 0, inFlight: 0 };
      return s;
    },
  };
  if (deps.registry) metrics = createUplinkMetrics(deps.registry, api);
  const inbox = new Inbox({
    db,
    verifier,
    outbox,
    correlator,
    logger,
    metrics,
    selfNodes: new Set(config.municipalities.map((c) => `lg:${c}`)),
    audit: deps.audit ?? (() => undefined),
    dedupeWindowMs: config.trust.dedupeWindowSeconds * 1000,
    checkBody: upstreamBodyCheck(config),
    valueEncoding: deps.valueEncodings?.inbox,
  });
  const expiry = setInterval(() => {
    inbox.expire().catch((e: Error) => logger.warn({ err: e.message }, 'uplink: dedupe expiry failed'));
  }, 60_000);
  expiry.unref();
  const subscriptions = config.municipalities.map((c) => `to/lg:${c}/#`);
  for (const u of config.upstreams) {
    let sender: LinkSender | undefined;
    const link = new UpstreamLink({
      name: u.name,
      url: u.url,
      tls: u.tls,
      subscriptions,
      logger,
      clientId: u.clientId ?? `${deps.clientIdPrefix ?? 'juki-gw'}-${config.municipalities[0]}-${u.name}`,
      backoff: { initialMs: Math.min(retry.initialMs, 1000), maxMs: Math.min(retry.maxMs, 60_000) },
      onMessage: async (topic, payload) => {
        const outcome = await inbox.handle(u.name, topic, payload);
        logger.debug({ link: u.name, topic, outcome }, 'uplink: inbound');
      },
      onState: (s) => {
        if (s.state === 'up') sender?.kick();
      },
    });
    links.set(u.name, link);
    sender = new LinkSender({
      link,
      outbox,
      signer,
      correlator,
      logger,
      metrics,
      parallelism: config.uplink.parallelism,
      ackTimeoutMs: (type) => timeoutFor(config, type),
    });
    senders.push(sender);
    link.start();
  }

  async function request(envelope: Envelope, options: { timeoutMs?: number } = {}): Promise<Envelope> {
    const unavailable = (why: string) =>
      errorEnvelope(envelope, envelope.from, 'upstream_unavailable', why, [
        { path: '(upstream)', problem: `upstream.unavailable: ${envelope.to} could not be asked` },
      ]);
    let link: UpstreamLink | undefined;
    try {
      link = links.get(linkFor(config.upstreams, envelope.to));
    } catch (e) {
      return unavailable((e as Error).message);
    }
    if (!link?.isUp) return unavailable(`the link to ${envelope.to} is down`);
    const timeoutMs = options.timeoutMs ?? timeoutFor(config, envelope.type);
    let jws;
    try {
      jws = await signer.signEnvelope(envelope);
    } catch (e) {
      logger.warn({ id: envelope.id, type: envelope.type, err: (e as Error).message }, 'uplink: signing failed for an interactive request');
      return unavailable('the signing token is unavailable; nothing was sent');
    }
    const reply = correlator.expect(envelope.id, timeoutMs);
    reply.catch(() => undefined);
    const started = performance.now();
    try {
      await link.publish(upstreamTopic(envelope.to, envelope.type), JSON.stringify(jws), timeoutMs);
      metrics?.sends.inc({ link: link.name });
    } catch (e) {
      correlator.cancel(envelope.id, e as Error);
      metrics?.failures.inc({ link: link.name, reason: 'publish' });
      return unavailable(`could not hand the request to ${link.name}: ${(e as Error).message}`);
    }
    try {
      const r = await reply;
      metrics?.rtt.observe({ link: link.name, type: envelope.type }, (performance.now() - started) / 1000);
      return r;
    } catch (e) {
      if (e instanceof ReplyTimeoutError) {
        metrics?.failures.inc({ link: link.name, reason: 'reply_timeout' });
        logger.warn({ link: link.name, id: envelope.id, type: envelope.type, timeoutMs }, 'uplink: interactive request timed out');
        return errorEnvelope(envelope, envelope.from, 'timeout', `no reply from ${envelope.to} within ${timeoutMs} ms`, [
          {
            path: '(upstream)',
            problem: `timeout: ${envelope.to} did not answer within ${timeoutMs} ms (uplink.timeoutsMs / uplink.defaultTimeoutMs)`,
          },
        ]);
      }
      return unavailable((e as Error).message);
    }
  }

  return {
    outbox,
    inbox,
    request,
    on: (type, handler) => inbox.on(type, handler),
    ...api,
    async close() {
      clearInterval(expiry);
      for (const s of senders) s.stop();
      await Promise.all([...links.values()].map((l) => l.close()));
      correlator.close();
      await Promise.all(senders.map((s) => s.drained()));
      await outbox.unsynced.settled();
      outbox.close();
    },
  };
}

/** The contract's body schemas for upstream messages (the 住民票コード check as configured at start). */
function upstreamBodyCheck(config: UplinkConfig): InboxOptions['checkBody'] {
  const registry = createMessageRegistry({ checkResidentCodeDigit: config.checkResidentCodeDigit ?? true });
  return (type, body) => validateBody(type, body, registry);
}
