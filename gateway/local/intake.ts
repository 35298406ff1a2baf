// 受付: takes local requests from the durable request queue (stored before PUBACK), checks them
// against the contract and the sender's role, and hands them to the flow for their type. Every
// refusal gets an `error` reply and an audit entry, and changes nothing else. A request is never
// silently dropped, and none is lost: it leaves the queue only in the batch that answers it. A resend
// of an id already answered gets the kept reply again (answers.ts); a request whose `at` is outside
// ±trust.replayWindowSeconds of its arrival is refused.
// Group commit: the requests of one pass over the queue are handled in queue order, each staging its
// unit of work into one open group (store/groupCommit.ts) that is written as one batch, one fsync;
// every reply and upstream send waits for that write. A request whose outcome may depend on what an
// earlier request of the open group wrote first has the group written: one that shares a key with it
// (its own id for the dedupe record, and the keys its type declares in `groupKeys`: 住民票コード,
// 個人番号...), and any request of a type that declares none (it may read anything).
import type { Logger } from 'pino';
import type { ApplianceConfig } from '../../config/schema/index.js';
import {
  errorReply,
  localEnvelopeSchema,
  nowIso,
  parseEnvelope,
  resultReply,
  type ErrorBody,
  type ErrorCode,
  type ErrorDetail,
  type Envelope,
} from '../../platform/envelope.js';
import { isMessageType, specOf, unknownTypeError } from '../messages/registry.js';
import { SUBLEVELS, type Batch, type Db } from '../../platform/store/db.js';
import { GroupCommit } from '../../platform/store/groupCommit.js';
import { UnitOfWork } from '../../platform/store/unitOfWork.js';
import type { KeptAnswers } from './answers.js';
import type { LocalOutbox } from './localOutbox.js';
import type { AuditSink, FlowHandler, LocalRequest, RequestContext } from './types.js';

export interface QueuedRequest {
  seq: number;
  clientId: string;
  topic: string;
  payload: Uint8Array;
  receivedAt: number;
}

/** The durable request queue the broker fills before PUBACK (broker/persistence RequestQueue). */
export interface DurableRequestSource {
  read(afterSeq: number, limit: number): Promise<QueuedRequest[]>;
  onAvailable(listener: () => void): unknown;
  ack(batch: Batch, seq: number): void;
  /** The priority lane: requests on these topics, from now on, are also offered by readPriority(). */
  prioritize?(topics: ReadonlySet<string>): void;
  /** Up to `limit` queued requests of the priority lane, oldest first, wherever they are in the queue. */
  readPriority?(limit: number): Promise<QueuedRequest[]>;
}

export type BodyValidator = (type: string, body: unknown) => ErrorBody | undefined;

export interface IntakeOptions {
  db: Db;
  source: DurableRequestSource;
  config: () => ApplianceConfig;
  handlers: ReadonlyMap<string, FlowHandler>;
  validateBody: BodyValidator;
  localOutbox: LocalOutbox;
  /** Replies kept for resends (the local outbox keeps every reply it sends). */
  answers: KeptAnswers;
  audit: AuditSink;
  logger: Logger;
  /** The appliance's own address for replies' `from` (the first served municipality's CS). */
  selfAddress: () => string;
  /**
   * Types that may share a group commit with other requests, each with the keys of what its flow
   * reads (from the raw, not yet validated body). A type not listed is handled in a group of its own.
   */
  groupKeys?: ReadonlyMap<string, (body: unknown) => string[]>;
  /**
   * Called when a pass starts with the `groupKeys` of its requests, so the role can read what they
   * will read in one go (the CS role: the records of the identity.updates' 住民票コード).
   */
  readAhead?: (keys: string[]) => void;
}

export interface Intake {
  start(): void;
  close(): Promise<void>;
  idle(): Promise<void>;
  kick(): void;
}

export function createIntake(o: IntakeOptions): Intake {
  const seen = o.db.sublevel<string, number>(SUBLEVELS.seen, { valueEncoding: 'json' });
  // Interactive requests awaiting their upstream answer (local/interactive.ts); keys only are read here.
  const pending = o.db.sublevel(SUBLEVELS.pending, { valueEncoding: 'view' });
  let running = false;
  let again = false;
  let closed = false;
  let idleWaiters: Array<() => void> = [];
  let retryTimer: NodeJS.Timeout | undefined;
  const group = new GroupCommit(o.db);
  // Keys read by the requests in the open group; `exclusive`: one of them may have read anything.
  const groupKeys = new Set<string>();
  let exclusive = false;
  let seenInPass = new Map<string, boolean>();

  async function writeGroup(): Promise<void> {
    await group.flush();
    groupKeys.clear();
    exclusive = false;
  }

  /** Called by a request before it reads state: writes the open group first when they could overlap. */
  async function claim(keys: string[] | undefined): Promise<void> {
    if (group.size > 0 && (exclusive || keys === undefined || keys.some((k) => groupKeys.has(k)))) await writeGroup();
    if (keys === undefined) exclusive = true;
    else for (const k of keys) groupKeys.add(k);
  }

  /**
   * Whether each request of a pass was taken already (its `seen` record), read for the whole pass in
   * one getMany instead of one read per request. Only this intake writes `seen`, and the pass before
   * is written when this one starts; an entry is used once, so a second request with the same id in
   * the pass (it shares the claim key, so the group holding the first is written) reads afresh.
   */
  async function takenAlready(batch: QueuedRequest[]): Promise<Map<string, boolean>> {
    const peeked = batch.map(peek);
    try {
      o.readAhead?.(peeked.flatMap((r, i) => o.groupKeys?.get(batch[i]!.topic.slice(4))?.(r.body) ?? []));
    } catch (e) {
      // Only a saving: each request reads what it needs itself.
      o.logger.warn({ err: (e as Error).message }, 'intake: read-ahead of a pass failed');
    }
    const keys = [...new Set(peeked.map((r, i) => `${batch[i]!.clientId}!${r.id}`))];
    const values = await seen.getMany(keys);
    return new Map(keys.map((k, i) => [k, values[i] !== undefined]));
  }

  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    void pump()
      .catch((e) => o.logger.error({ err: (e as Error).message }, 'intake pump failed'))
      .finally(() => {
        running = false;
        if (again && !closed) {
          again = false;
          kick();
          return;
        }
        const w = idleWaiters;
        idleWaiters = [];
        for (const f of w) f();
      });
  }

  async function pump(): Promise<void> {
    // A request whose answer could not be committed (DB error) stays queued and is retried on the
    // next wake-up; `after` and `retryLater` keep this pass from spinning on it.
    let after = 0;
    const retryLater = new Set<number>();
    // The priority lane's requests taken in this pass (queued until its group is written).
    const taken = new Set<number>();
    /**
     * The priority lane: an interactive look-up never waits behind a queued durable burst, only for
     * the request in hand. It changes nothing a queued update reads, and an update not yet answered
     * is not yet applied, so answering the look-up first is consistent.
     */
    const urgent = async () => ((await o.source.readPriority?.(64)) ?? []).filter((q) => !retryLater.has(q.seq) && !taken.has(q.seq));
    for (;;) {
      again = false;
      const first = await urgent();
      const batch = first.length > 0 ? first : (await o.source.read(after, 64)).filter((q) => !retryLater.has(q.seq));
      if (batch.length === 0 || closed) return;
      // In queue order: flows for one person stay in order; handlers never block on upstream. The
      // next request starts once this one's writes are staged in the group (or it finished).
      seenInPass = await takenAlready(batch);
      group.open();
      const handled: Array<Promise<void>> = [];
      const take = async (q: QueuedRequest) => {
        let staged!: () => void;
        const turn = new Promise<void>((resolve) => {
          staged = resolve;
        });
        const done = handleOne(q, staged).catch((e: unknown) => {
          o.logger.error({ err: (e as Error).message, seq: q.seq }, 'local request could not be answered; it stays queued and is retried');
          retryLater.add(q.seq);
          // Without new traffic nothing else would wake the intake for it.
          clearTimeout(retryTimer);
          retryTimer = setTimeout(kick, 1000);
          retryTimer.unref();
        });
        handled.push(done);
        await Promise.race([turn, done]);
      };
      for (const q of batch) {
        if (closed) break;
        if (first.length === 0) {
          after = q.seq;
          // Lets the broker take in what arrived meanwhile (a search at a terminal): a pass whose
          // records were read ahead runs without I/O of its own and would hold the event loop to the end.
          await new Promise<void>((resolve) => setImmediate(resolve));
          for (const u of await urgent()) {
            taken.add(u.seq);
            await take(u);
          }
          if (taken.has(q.seq)) continue;
        } else taken.add(q.seq);
        await take(q);
      }
      // Whatever a request commits after this (a refusal after a failed group write) is written alone.
      await group.close();
      groupKeys.clear();
      exclusive = false;
      await Promise.all(handled);
      taken.clear();
    }
  }

  async function handleOne(q: QueuedRequest, staged: () => void): Promise<void> {
    const systemId = q.clientId;
    const cfg = o.config();
    const self = o.selfAddress();
    const ackUow = (): UnitOfWork => {
      const uow = new UnitOfWork(o.db, group.batch(staged));
      o.source.ack(uow.batch, q.seq);
      return uow;
    };
    const refuse = async (code: ErrorCode, message: string, details: ErrorDetail[], id: string, type: string): Promise<void> => {
      const uow = ackUow();
      const err = errorReply({ id, from: systemId }, self, code, message, details);
      // Not taken (no `seen` record): a resend is checked afresh, so nothing is kept for it.
      o.localOutbox.replyNotKept(uow, systemId, err);
      await o.audit(uow, { actor: { kind: 'system', id: systemId }, action: type, outcome: 'refused', code, detail: message });
      await uow.commit();
      o.logger.info({ systemId, type, code, reason: message }, 'local request refused');
    };

    const system = cfg.systems.find((s) => s.id === systemId);
    const topicType = q.topic.startsWith('req/') ? q.topic.slice(4) : '';
    if (!system || !system.enabled) {
      return refuse(
        'unauthorized',
        `system "${systemId}" is not configured or disabled`,
        [
          {
            path: '(client)',
            problem: `system.unknown: the MQTT client id "${systemId.slice(0, 64)}" is not an enabled system of the configuration`,
          },
        ],
        '',
        topicType || 'unknown',
      );
    }
    const parsed = parseEnvelope(q.payload, localEnvelopeSchema, cfg.limits.maxPayloadBytes);
    if (!parsed.ok) {
      const id = bestEffortId(q.payload);
      return refuse(parsed.error.code, parsed.error.message, parsed.error.details, id, topicType);
    }
    const env = parsed.value;
    if (env.type !== topicType) {
      return refuse(
        'invalid_request',
        `envelope type "${env.type}" does not match topic ${q.topic}`,
        [{ path: 'type', problem: `expected "${topicType}"` }],
        env.id,
        topicType,
      );
    }
    if (env.from !== undefined && env.from !== systemId) {
      return refuse(
        'unauthorized',
        `from "${env.from}" disagrees with the authenticated system "${systemId}"`,
        [{ path: 'from', problem: 'must be the authenticated system id or omitted' }],
        env.id,
        env.type,
      );
    }
    const handler = o.handlers.get(env.type);
    // Unknown to the contract is a malformed request whoever sends it; a known type is a question of the role.
    if (!handler && !isMessageType(env.type)) {
      const e = unknownTypeError(env.type);
      return refuse(e.code, e.message, e.details, env.id, env.type);
    }
    const role = cfg.roles[system.role];
    if (!role || !role.send.includes(env.type)) {
      return refuse(
        'forbidden',
        `role "${system.role}" may not send ${env.type}`,
        [{ path: 'type', problem: 'type.forbidden: not allowed for this role' }],
        env.id,
        env.type,
      );
    }
    const dupKey = `${systemId}!${env.id}`;
    const keysOf = o.groupKeys?.get(env.type);
    await claim(keysOf ? [`id:${dupKey}`, ...keysOf(env.body)] : undefined);
    const prefetched = seenInPass.get(dupKey);
    seenInPass.delete(dupKey);
    if (prefetched ?? (await seen.get(dupKey)) !== undefined) return answerAgain(dupKey, env.id, env.type);
    if (!handler) {
      return refuse(
        'invalid_request',
        `message type ${env.type} is not handled by this appliance`,
        [{ path: 'type', problem: 'type.notHandled: a contract type that local systems do not send to the appliance' }],
        env.id,
        env.type,
      );
    }
    if (env.at !== undefined) {
      const problem = outsideWindow(env.at, q.receivedAt, cfg.trust.replayWindowSeconds);
      if (problem)
        return refuse(
          'invalid_request',
          `envelope time ${env.at} is outside the accepted window`,
          [{ path: 'at', problem }],
          env.id,
          env.type,
        );
    }
    const bodyError = o.validateBody(env.type, env.body);
    if (bodyError) return refuse(bodyError.code, bodyError.message, bodyError.details, env.id, env.type);

    const envelope: Envelope = {
      v: 1,
      id: env.id,
      type: env.type,
      from: systemId,
      to: env.to ?? self,
      at: env.at ?? nowIso(q.receivedAt),
      corr: env.corr ?? null,
      body: env.body,
    };
    const req: LocalRequest = { seq: q.seq, systemId, role: system.role, envelope, receivedAt: q.receivedAt };
    const ctx: RequestContext = {
      begin: () => {
        const uow = ackUow();
        uow.batch.put(dupKey, q.receivedAt, { sublevel: seen });
        return uow;
      },
      reply: (uow, body) => o.localOutbox.reply(uow, systemId, resultReply(envelope, self, systemId, body)),
      fail: (uow, code, message, details) => o.localOutbox.reply(uow, systemId, errorReply(envelope, self, code, message, details)),
      claim: (keys) => {
        for (const k of keys) groupKeys.add(k);
      },
    };
    try {
      await handler(req, ctx);
    } catch (e) {
      o.logger.error({ err: (e as Error).message, type: env.type, id: env.id }, 'flow failed');
      await refuse(
        'internal',
        'the appliance could not process this request; it was not applied',
        [{ path: '(request)', problem: 'internal: the flow failed; nothing was applied, the request may be sent again' }],
        env.id,
        env.type,
      );
    }

    /**
     * A resend of an id already taken: the kept reply again (same id, body and corr; `at` is the time
     * of sending, so the receiver's freshness window accepts it). While the first is still awaiting its
     * upstream answer, that answer is the reply to both. Never nothing: past the window, conflict.
     */
    async function answerAgain(key: string, id: string, type: string): Promise<void> {
      const inProgress = (await pending.keys({ gte: key, lte: key, limit: 1 }).all()).length > 0;
      const kept = inProgress ? undefined : await o.answers.get(systemId, id);
      if (kept?.reply) {
        const uow = ackUow();
        o.localOutbox.replyNotKept(uow, systemId, { ...kept.reply, at: nowIso() });
        await o.audit(uow, {
          actor: { kind: 'system', id: systemId },
          action: type,
          outcome: 'ok',
          code: 'resent',
          detail: `duplicate of an answered request; kept reply ${kept.reply.id} sent again`,
        });
        await uow.commit();
        o.logger.info({ systemId, id, type }, 'duplicate local request answered again with the kept reply');
        return;
      }
      if (inProgress) {
        const uow = ackUow();
        await uow.commit();
        o.logger.info({ systemId, id, type }, 'duplicate of a request awaiting its upstream answer; that answer replies to both');
        return;
      }
      const windowS = cfg.trust.dedupeWindowSeconds;
      return kept?.withheld
        ? refuse(
            'conflict',
            `request ${id} was answered; its reply carried a 処理通番, which is not kept after delivery`,
            [
              {
                path: 'id',
                problem: 'reply.withheld: the issued 処理通番 is not kept (番号法 §21-2); request a new serial number with a new id',
              },
            ],
            id,
            type,
          )
        : refuse(
            'conflict',
            `request ${id} was already answered and its reply is no longer kept (replies are kept ${windowS} s)`,
            [
              {
                path: 'id',
                problem: `id.answered: already answered more than trust.dedupeWindowSeconds (${windowS} s) ago; send a new request with a new id`,
              },
            ],
            id,
            type,
          );
    }
  }

  return {
    start: () => {
      o.source.prioritize?.(
        new Set([...o.handlers.keys()].filter((t) => isMessageType(t) && specOf(t).kind === 'interactive').map((t) => `req/${t}`)),
      );
      o.source.onAvailable(kick);
      kick();
    },
    close: async () => {
      closed = true;
      clearTimeout(retryTimer);
    },
    idle: () => (running ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
    kick,
  };
}

/** Why a sender's `at` is refused: unreadable, or further than `windowSeconds` from the arrival time. */
export function outsideWindow(at: string, receivedAt: number, windowSeconds: number): string | undefined {
  const t = Date.parse(at);
  if (Number.isNaN(t)) return 'at.format: not a valid date and time';
  const off = Math.round((t - receivedAt) / 1000);
  if (Math.abs(off) <= windowSeconds) return undefined;
  return `at.window: ${Math.abs(off)} s ${off < 0 ? 'before' : 'after'} the appliance's clock; accepted: ±${windowSeconds} s (trust.replayWindowSeconds)`;
}

/** The request's id for the error reply's `corr`, when the payload is at least JSON with an id. */
function bestEffortId(payload: Uint8Array): string {
  return peek({ payload }).id;
}

/** Id (as bestEffortId) and raw body of a request not yet checked: what a pass reads ahead from. */
function peek(q: Pick<QueuedRequest, 'payload'>): { id: string; body: unknown } {
  try {
    const v = JSON.parse(Buffer.from(q.payload).toString('utf8')) as { id?: unknown; body?: unknown } | null;
    return { id: typeof v?.id === 'string' && v.id.length <= 64 ? v.id : '', body: v?.body };
  } catch {
    return { id: '', body: undefined };
  }
}
