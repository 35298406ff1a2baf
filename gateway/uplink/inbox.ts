// Inbox: every upstream message is verified (signature, trust chain, replay window) and deduplicated on
// `id` before a flow sees it. The flow handler writes into the SAME batch as the dedupe mark and its
// reply, so "processed", "remembered as seen" and "answer queued" are one atomic write. A duplicate
// request gets the remembered answer again (same id), because its sender resends until it hears one.
// Every body is checked against the contract's message schema here, the one door to the flows and the
// waiting callers: an invalid reply ends its wait as upstream_unavailable, an invalid request is
// answered invalid_request; both are audited with the paths at fault.
//   i!{id} → { seenAt, reply? }      t!{seenAt}!{id} → window index for expiry
import type { AbstractSublevel } from 'abstract-level';
import type { PartialEncoding } from 'level-transcoder';
import type { Logger } from '../../platform/log/logger.js';
import type { Verifier } from '../../hsm/types.js';
import type { Batch, Db } from '../../platform/store/db.js';
import { SUBLEVELS, seqKey } from '../../platform/store/db.js';
import type { Envelope, ErrorBody, ErrorDetail } from '../../platform/envelope.js';
import { errorEnvelope, isReply, type Correlator } from './correlator.js';
import type { Outbox } from './outbox.js';
import { nodeOfTopic } from './routing.js';
import type { UplinkMetrics } from './metrics.js';

export interface FlowContext {
  batch: Batch;
  link: string;
}
/**
 * A flow handler: adds its business change to `ctx.batch`, returns the reply to send (if any).
 * It runs before the PUBACK, and mqtt.js takes a link's incoming packets one at a time, so a handler
 * must NOT await an upstream reply (`uplink.request`) itself: that reply would queue behind it.
 * Enqueue follow-up messages in `ctx.batch` instead.
 */
export type FlowHandler = (envelope: Envelope, ctx: FlowContext) => Promise<Envelope | void>;

export interface InboxAuditEvent {
  kind: 'uplink.refused';
  link: string;
  topic: string;
  reason: string;
  detail: string;
  id?: string;
  type?: string;
  from?: string;
}

interface Seen {
  seenAt: number;
  reply?: Envelope;
}
type InboxSublevel = AbstractSublevel<Db, string | Uint8Array, string, Seen | ''>;

export type InboxOutcome = 'dispatched' | 'reply' | 'late_reply' | 'duplicate' | 'refused' | 'failed';

/** The contract's body check (gateway/messages validateBody): the normalised body, or the fault. */
export type UpstreamBodyCheck = (type: string, body: unknown) => { ok: true; value: unknown } | { ok: false; error: ErrorBody };

export interface InboxOptions {
  db: Db;
  verifier: Verifier;
  outbox: Outbox;
  correlator: Correlator;
  /** Node addresses we answer for (lg:{code} of every served municipality). */
  selfNodes: ReadonlySet<string>;
  audit: (event: InboxAuditEvent) => void | Promise<void>;
  logger: Logger;
  dedupeWindowMs: number;
  /** Validates every body before a flow or a waiting caller sees it. */
  checkBody: UpstreamBodyCheck;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- abstract-level types a sublevel's encoding with the stored type as its format; a sealing encoding's format is bytes
  valueEncoding?: string | PartialEncoding<Seen | '', any>;
  metrics?: UplinkMetrics;
  now?: () => number;
}

export class Inbox {
  readonly sublevel: InboxSublevel;
  private readonly handlers = new Map<string, FlowHandler>();
  /** Ids of answers whose mark is staged and not yet written. */
  private readonly marking = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly o: InboxOptions) {
    this.now = o.now ?? Date.now;
    this.sublevel = o.db.sublevel<string, Seen | ''>(SUBLEVELS.inbox, { valueEncoding: o.valueEncoding ?? 'json' });
  }

  on(type: string, handler: FlowHandler): void {
    if (this.handlers.has(type)) throw new Error(`a handler for ${type} is already registered`);
    this.handlers.set(type, handler);
  }

  async handle(link: string, topic: string, payload: Buffer): Promise<InboxOutcome> {
    let jws: unknown;
    try {
      jws = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.refuse({ link, topic, reason: 'malformed', detail: 'payload is not JSON' });
    }
    const v = await this.o.verifier.verify(jws, { now: this.now(), dedupe: false });
    if (!v.ok) return this.refuse({ link, topic, reason: v.code, detail: v.message });
    let env = v.envelope;
    const ids = { id: env.id, type: env.type, from: env.from };
    // A node signs as itself: its certificate's CN is its address, so a valid signature cannot vouch
    // for a message that claims to come from another node.
    const cn = /(?:^|, )CN=([^,]+)/.exec(v.signerSubject)?.[1];
    if (cn !== undefined && cn !== env.from) {
      return this.refuse({ link, topic, reason: 'forged_from', detail: `from ${env.from} but signed by ${cn}`, ...ids });
    }
    if (!this.o.selfNodes.has(env.to) || nodeOfTopic(topic) !== env.to) {
      return this.refuse({ link, topic, reason: 'misrouted', detail: `addressed to ${env.to} on ${topic}`, ...ids });
    }
    if (isReply(env)) {
      // Checked before anything else reads it.
      const checked = this.o.checkBody(env.type, env.body);
      if (!checked.ok) return this.invalidBody(link, topic, env, checked.error.details);
      return this.reply(link, { ...env, body: checked.value as Envelope['body'] });
    }
    const seen = await this.sublevel.get('i!' + env.id);
    if (seen) {
      if (seen.reply) await this.answer(seen.reply);
      this.o.logger.debug({ link, ...ids }, 'uplink: duplicate dropped');
      return 'duplicate';
    }
    const handler = this.handlers.get(env.type);
    if (!handler) {
      await this.refuse({ link, topic, reason: 'unhandled_type', detail: `no flow handles ${env.type}`, ...ids });
      const reply = errorEnvelope(env, env.to, 'invalid_request', `message type ${env.type} is not handled by ${env.to}`, [
        { path: 'type', problem: `type.unhandled: ${env.to} does not handle ${env.type}` },
      ]);
      await this.commitWith(this.o.db.batch(), env.id, reply);
      return 'refused';
    }
    // A request after the dedupe (a resend gets its remembered answer, whatever it carries now).
    const checked = this.o.checkBody(env.type, env.body);
    if (!checked.ok) return this.invalidBody(link, topic, env, checked.error.details);
    env = { ...env, body: checked.value as Envelope['body'] };
    const batch = this.o.db.batch();
    let reply: Envelope | void;
    try {
      reply = await handler(env, { batch, link });
    } catch (e) {
      this.o.outbox.abandon(batch);
      await batch.close();
      // Not remembered as seen: the sender retries and a transient fault may have passed by then.
      this.o.logger.error({ link, ...ids, err: (e as Error).message }, 'uplink: flow handler failed');
      await this.answer(
        errorEnvelope(env, env.to, 'internal', 'the receiving flow failed; retry later', [
          { path: '(request)', problem: 'internal: the receiving flow failed; nothing was applied' },
        ]),
      );
      return 'failed';
    }
    await this.commitWith(batch, env.id, reply ?? undefined);
    return 'dispatched';
  }

  /**
   * An answer to one of our messages. It ends its wait whether or not it was seen before: the receiver
   * re-sends its remembered answer (same id) when we resend a message whose first answer reached a
   * previous life of this process. Its mark is not synced and not waited for: it acknowledges nothing.
   * Lost (power cut, kill), a duplicate of the reply takes the same way as the first (it ends the wait
   * if one is left, else it is a late reply). Marks are written with the outbox's deletes of the
   * moment in one batch; a read and a write per answer, one answer after the other (the link hands
   * them over one at a time), were the uplink's ceiling with a deep outbox.
   */
  private async reply(link: string, env: Envelope): Promise<InboxOutcome> {
    const ids = { id: env.id, type: env.type, from: env.from };
    const waited = this.o.correlator.resolve(env);
    const seen = this.marking.has(env.id) || (!waited && (await this.sublevel.get('i!' + env.id)) !== undefined);
    if (!seen) this.mark(link, env.id);
    if (waited) return 'reply';
    if (seen) {
      this.o.logger.debug({ link, ...ids }, 'uplink: duplicate dropped');
      return 'duplicate';
    }
    this.o.metrics?.lateReplies.inc({ link });
    this.o.logger.info({ link, ...ids, corr: env.corr }, 'uplink: late or unsolicited reply dropped');
    return 'late_reply';
  }

  private mark(link: string, id: string): void {
    this.marking.add(id);
    this.o.outbox.unsynced
      .add((b) => this.remember(b, id, undefined))
      .catch((e: Error) => this.o.logger.warn({ link, id, err: e.message }, 'uplink: mark of an answer not written'))
      .finally(() => this.marking.delete(id));
  }

  /**
   * A body that breaks the contract: audited with its paths (rule ids only: problems may quote values);
   * a waiting caller gets upstream_unavailable naming them, a request's sender gets invalid_request.
   */
  private async invalidBody(link: string, topic: string, env: Envelope, details: ErrorDetail[]): Promise<InboxOutcome> {
    const rule = (d: ErrorDetail) => d.problem.split(':')[0]!.slice(0, 64);
    await this.refuse({
      link,
      topic,
      reason: 'invalid_body',
      detail: details
        .map((d) => `${d.path} ${rule(d)}`)
        .join('; ')
        .slice(0, 512),
      id: env.id,
      type: env.type,
      from: env.from,
    });
    if (isReply(env)) {
      // The waiter (if any) of the request it answers: `corr` is that request's id.
      if (env.corr !== null) {
        this.o.correlator.resolve(
          errorEnvelope(
            { id: env.corr, from: env.to },
            env.from,
            'upstream_unavailable',
            `${env.from} answered with a ${env.type} that does not match the contract; it was not passed on`,
            details.map((d) => ({ path: `upstream.${d.path}`, problem: `upstream.invalid: ${rule(d)}` })),
          ),
        );
      }
      return 'refused';
    }
    const reply = errorEnvelope(env, env.to, 'invalid_request', `body of ${env.type} does not match its schema`, details);
    await this.commitWith(this.o.db.batch(), env.id, reply);
    return 'refused';
  }

  private remember(batch: Batch, id: string, reply: Envelope | undefined): Batch {
    const seenAt = this.now();
    batch.put<string, Seen | ''>('i!' + id, reply ? { seenAt, reply } : { seenAt }, { sublevel: this.sublevel });
    batch.put<string, Seen | ''>(`t!${seqKey(seenAt, 15)}!${id}`, '', { sublevel: this.sublevel });
    return batch;
  }

  private async commitWith(batch: Batch, id: string, reply: Envelope | undefined): Promise<void> {
    this.remember(batch, id, reply);
    if (reply) this.o.outbox.enqueue(batch, reply);
    await this.o.outbox.commit(batch);
  }

  private async answer(reply: Envelope): Promise<void> {
    const b = this.o.db.batch();
    this.o.outbox.enqueue(b, reply);
    await this.o.outbox.commit(b);
  }

  private async refuse(event: Omit<InboxAuditEvent, 'kind'>): Promise<InboxOutcome> {
    this.o.metrics?.inboxRefused.inc({ reason: event.reason });
    this.o.logger.warn(
      { link: event.link, topic: event.topic, reason: event.reason, id: event.id, type: event.type, from: event.from },
      'uplink: inbound message refused',
    );
    await this.o.audit({ kind: 'uplink.refused', ...event });
    return 'refused';
  }

  /** Forgets ids older than the dedupe window (the verifier's replay window refuses anything that old). */
  async expire(): Promise<number> {
    const cutoff = this.now() - this.o.dedupeWindowMs;
    const b = this.sublevel.batch();
    let n = 0;
    for await (const k of this.sublevel.keys({ gte: 't!', lt: `t!${seqKey(cutoff, 15)}` })) {
      b.del(k);
      b.del('i!' + k.slice(k.indexOf('!', 2) + 1));
      n++;
    }
    await b.write();
    return n;
  }
}
