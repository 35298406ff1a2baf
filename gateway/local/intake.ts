// 受付: takes local requests from the durable request queue (stored before PUBACK), checks them
// against the contract and the sender's role, and hands them to the flow for their type. Every
// refusal gets an `error` reply and an audit entry, and changes nothing else. A request is never
// silently dropped, and none is lost: it leaves the queue only in the batch that answers it.
import type { Logger } from 'pino';
import type { ApplianceConfig } from '../../config/schema/index.js';
import {
  errorReply, localEnvelopeSchema, nowIso, parseEnvelope, resultReply,
  type ErrorBody, type ErrorCode, type ErrorDetail, type Envelope,
} from '../envelope.js';
import { SUBLEVELS, type Batch, type Db } from '../store/db.js';
import { UnitOfWork } from '../store/unitOfWork.js';
import type { LocalOutbox } from './localOutbox.js';
import type { AuditSink, FlowHandler, LocalRequest, RequestContext } from './types.js';

export interface QueuedRequest { seq: number; clientId: string; topic: string; payload: Uint8Array; receivedAt: number }

/** The durable request queue the broker fills before PUBACK (broker/persistence RequestQueue). */
export interface DurableRequestSource {
  read(afterSeq: number, limit: number): Promise<QueuedRequest[]>;
  onAvailable(listener: () => void): unknown;
  ack(batch: Batch, seq: number): void;
}

export type BodyValidator = (type: string, body: unknown) => ErrorBody | undefined;

export interface IntakeOptions {
  db: Db;
  source: DurableRequestSource;
  config: () => ApplianceConfig;
  handlers: ReadonlyMap<string, FlowHandler>;
  validateBody: BodyValidator;
  localOutbox: LocalOutbox;
  audit: AuditSink;
  logger: Logger;
  /** The appliance's own address for replies' `from` (the first served municipality's CS). */
  selfAddress: () => string;
}

export interface Intake { start(): void; close(): Promise<void>; idle(): Promise<void>; kick(): void }

export function createIntake(o: IntakeOptions): Intake {
  const seen = o.db.sublevel<string, number>(SUBLEVELS.seen, { valueEncoding: 'json' });
  let running = false;
  let again = false;
  let closed = false;
  let idleWaiters: Array<() => void> = [];
  let retryTimer: NodeJS.Timeout | undefined;

  function kick(): void {
    if (closed) return;
    if (running) { again = true; return; }
    running = true;
    void pump().catch((e) => o.logger.error({ err: (e as Error).message }, 'intake pump failed'))
      .finally(() => {
        running = false;
        if (again && !closed) { again = false; kick(); return; }
        const w = idleWaiters; idleWaiters = []; for (const f of w) f();
      });
  }

  async function pump(): Promise<void> {
    // A request whose answer could not be committed (DB error) stays queued and is retried on the
    // next wake-up; `after` keeps this pass from spinning on it.
    let after = 0;
    for (;;) {
      again = false;
      const batch = await o.source.read(after, 64);
      if (batch.length === 0 || closed) return;
      // In queue order: flows for one person stay in order; handlers never block on upstream.
      for (const q of batch) {
        if (closed) return;
        after = q.seq;
        try {
          await handleOne(q);
        } catch (e) {
          o.logger.error({ err: (e as Error).message, seq: q.seq }, 'local request could not be answered; it stays queued and is retried');
          // Without new traffic nothing else would wake the intake for it.
          clearTimeout(retryTimer);
          retryTimer = setTimeout(kick, 1000);
          retryTimer.unref();
        }
      }
    }
  }

  async function handleOne(q: QueuedRequest): Promise<void> {
    const systemId = q.clientId;
    const cfg = o.config();
    const self = o.selfAddress();
    const ackUow = (): UnitOfWork => {
      const uow = new UnitOfWork(o.db);
      o.source.ack(uow.batch, q.seq);
      return uow;
    };
    const refuse = async (code: ErrorCode, message: string, details: ErrorDetail[], id: string, type: string): Promise<void> => {
      const uow = ackUow();
      const err = errorReply({ id, from: systemId }, self, code, message, details);
      o.localOutbox.reply(uow, systemId, err);
      await o.audit(uow, { actor: { kind: 'system', id: systemId }, action: type, outcome: 'refused', code, detail: message });
      await uow.commit();
      o.logger.info({ systemId, type, code, reason: message }, 'local request refused');
    };

    const system = cfg.systems.find((s) => s.id === systemId);
    const topicType = q.topic.startsWith('req/') ? q.topic.slice(4) : '';
    if (!system || !system.enabled) {
      return refuse('unauthorized', `system "${systemId}" is not configured or disabled`, [], '', topicType || 'unknown');
    }
    const parsed = parseEnvelope(q.payload, localEnvelopeSchema, cfg.limits.maxPayloadBytes);
    if (!parsed.ok) {
      const id = bestEffortId(q.payload);
      return refuse(parsed.error.code, parsed.error.message, parsed.error.details, id, topicType);
    }
    const env = parsed.value;
    if (env.type !== topicType) {
      return refuse('invalid_request', `envelope type "${env.type}" does not match topic ${q.topic}`, [{ path: 'type', problem: `expected "${topicType}"` }], env.id, topicType);
    }
    if (env.from !== undefined && env.from !== systemId) {
      return refuse('unauthorized', `from "${env.from}" disagrees with the authenticated system "${systemId}"`, [{ path: 'from', problem: 'must be the authenticated system id or omitted' }], env.id, env.type);
    }
    const role = cfg.roles[system.role];
    if (!role || !role.send.includes(env.type)) {
      return refuse('forbidden', `role "${system.role}" may not send ${env.type}`, [{ path: 'type', problem: 'not allowed for this role' }], env.id, env.type);
    }
    const dupKey = `${systemId}!${env.id}`;
    if ((await seen.get(dupKey)) !== undefined) {
      const uow = ackUow();
      await uow.commit();
      o.logger.info({ systemId, id: env.id, type: env.type }, 'duplicate local request dropped (already answered)');
      return;
    }
    const handler = o.handlers.get(env.type);
    if (!handler) {
      return refuse('invalid_request', `message type ${env.type} is not handled by this appliance`, [{ path: 'type', problem: 'unknown message type' }], env.id, env.type);
    }
    const bodyError = o.validateBody(env.type, env.body);
    if (bodyError) return refuse(bodyError.code, bodyError.message, bodyError.details, env.id, env.type);

    const envelope: Envelope = {
      v: 1, id: env.id, type: env.type, from: systemId, to: env.to ?? self,
      at: env.at ?? nowIso(q.receivedAt), corr: env.corr ?? null, body: env.body,
    };
    const req: LocalRequest = { seq: q.seq, systemId, role: system.role, envelope, receivedAt: q.receivedAt };
    const ctx: RequestContext = {
      begin: () => {
        const uow = ackUow();
        uow.batch.put(dupKey, q.receivedAt, { sublevel: seen });
        return uow;
      },
      reply: (uow, body) => o.localOutbox.reply(uow, systemId, resultReply(envelope, self, systemId, body)),
      fail: (uow, code, message, details = []) => o.localOutbox.reply(uow, systemId, errorReply(envelope, self, code, message, details)),
    };
    try {
      await handler(req, ctx);
    } catch (e) {
      o.logger.error({ err: (e as Error).message, type: env.type, id: env.id }, 'flow failed');
      await refuse('internal', 'the appliance could not process this request; it was not applied', [], env.id, env.type);
    }
  }

  return {
    start: () => { o.source.onAvailable(kick); kick(); },
    close: async () => { closed = true; clearTimeout(retryTimer); },
    idle: () => (running ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
    kick,
  };
}

/** The request's id for the error reply's `corr`, when the payload is at least JSON with an id. */
function bestEffortId(payload: Uint8Array): string {
  try {
    const v = JSON.parse(Buffer.from(payload).toString('utf8')) as { id?: unknown };
    return typeof v.id === 'string' && v.id.length <= 64 ? v.id : '';
  } catch {
    return '';
  }
}
