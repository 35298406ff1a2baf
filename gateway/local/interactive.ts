// Interactive requests (2, 3-②, 4, 5): the local request is acknowledged together with a `pending`
// record, the upstream request goes out, and the answer (or a timeout / upstream_unavailable error)
// is replied in a second unit of work that removes the pending record. After a crash, pending
// records are answered with upstream_unavailable at start: a request is never silently dropped.
import type { Logger } from 'pino';
import { errorReply, resultReply, type Envelope, type ErrorBody, type ErrorDetail } from '../../platform/envelope.js';
import { SUBLEVELS, type Db } from '../../platform/store/db.js';
import { UnitOfWork } from '../../platform/store/unitOfWork.js';
import type { LocalOutbox } from './localOutbox.js';
import type { AuditSink, LocalRequest, RequestContext } from './types.js';

/** The uplink's request/reply: resolves to the upstream reply, or to an `error` envelope on timeout. */
export interface UpstreamRequester {
  request(envelope: Envelope, opts?: { timeoutMs?: number }): Promise<Envelope>;
}

interface PendingRecord {
  systemId: string;
  requestId: string;
  type: string;
  since: number;
}

export interface ForwardOptions {
  /** Turns the upstream result body into the body for the local caller (default: as is). */
  mapResult?: (reply: Envelope) => Record<string, unknown>;
  timeoutMs?: number;
  /** Audit fields for the answer (e.g. hit count of a search). */
  auditOf?: (reply: Envelope) => { hitCount?: number; keys?: string[] };
  /** Adds to the answer's unit of work for a successful reply (e.g. a push to the register system). */
  onResult?: (uow: UnitOfWork, reply: Envelope) => void;
  /** Adds to the answer's unit of work for every answer, result or error (e.g. a record of the outcome). */
  onAnswer?: (uow: UnitOfWork, reply: Envelope) => void;
}

export interface Interactive {
  forward(req: LocalRequest, ctx: RequestContext, upstream: Envelope, opts?: ForwardOptions): Promise<void>;
  /** Answers requests left pending by a previous run. */
  recover(): Promise<number>;
  inFlight(): number;
  settled(): Promise<void>;
}

export function createInteractive(o: {
  db: Db;
  requester: UpstreamRequester;
  localOutbox: LocalOutbox;
  audit: AuditSink;
  logger: Logger;
  selfAddress: () => string;
}): Interactive {
  const pending = o.db.sublevel<string, PendingRecord>(SUBLEVELS.pending, { valueEncoding: 'json' });
  const inflight = new Set<Promise<void>>();

  async function answer(
    rec: PendingRecord,
    key: string,
    build: (self: string) => Envelope<object>,
    auditEvent: Parameters<AuditSink>[1],
    extra?: (uow: UnitOfWork) => void,
  ): Promise<void> {
    const uow = new UnitOfWork(o.db);
    extra?.(uow);
    uow.batch.del(key, { sublevel: pending });
    o.localOutbox.reply(uow, rec.systemId, build(o.selfAddress()));
    await o.audit(uow, auditEvent);
    await uow.commit();
  }

  return {
    async forward(req, ctx, upstream, opts = {}) {
      const key = `${req.systemId}!${req.envelope.id}`;
      const rec: PendingRecord = { systemId: req.systemId, requestId: req.envelope.id, type: req.envelope.type, since: Date.now() };
      const uow = ctx.begin();
      uow.batch.put(key, rec, { sublevel: pending });
      await uow.commit();
      const p = o.requester
        .request(upstream, { timeoutMs: opts.timeoutMs })
        .catch((e: unknown): Envelope =>
          errorReply(upstream, upstream.to, 'upstream_unavailable', (e as Error).message, [
            { path: '(upstream)', problem: `upstream.unavailable: ${upstream.to} could not be asked` },
          ]),
        )
        .then(async (reply) => {
          const actor = { kind: 'system' as const, id: req.systemId };
          const body = req.envelope.body;
          const who = { terminalId: str(body.terminalId), operatorId: str(body.operatorId), dutyCode: str(body.dutyCode) };
          const recordAnswer = opts.onAnswer && ((uow: UnitOfWork) => opts.onAnswer!(uow, reply));
          if (reply.type === 'error') {
            const eb = reply.body as ErrorBody;
            await answer(
              rec,
              key,
              (self) => errorReply(req.envelope, self, eb.code, eb.message, detailsOf(eb, reply.from)),
              { actor, action: req.envelope.type, outcome: 'error', code: eb.code, detail: eb.message, ...who },
              recordAnswer,
            );
          } else {
            const mapped = opts.mapResult ? opts.mapResult(reply) : reply.body;
            await answer(
              rec,
              key,
              (self) => resultReply(req.envelope, self, req.systemId, mapped),
              { actor, action: req.envelope.type, outcome: 'ok', ...who, ...(opts.auditOf?.(reply) ?? {}) },
              (uow) => {
                recordAnswer?.(uow);
                opts.onResult?.(uow, reply);
              },
            );
          }
        })
        .catch((e: unknown) =>
          o.logger.error({ err: (e as Error).message, id: req.envelope.id }, 'could not record the answer to an interactive request'),
        );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    },

    async recover() {
      let n = 0;
      for await (const [key, rec] of pending.iterator()) {
        await answer(
          rec,
          key,
          (self) =>
            errorReply(
              { id: rec.requestId, from: rec.systemId },
              self,
              'upstream_unavailable',
              'the appliance restarted while waiting for the upstream answer; send the request again with a new id (a resend of this id gets this answer)',
              [{ path: '(upstream)', problem: 'upstream.interrupted: the appliance restarted before the upstream answer arrived' }],
            ),
          {
            actor: { kind: 'system', id: rec.systemId },
            action: rec.type,
            outcome: 'error',
            code: 'upstream_unavailable',
            detail: 'restart while pending',
          },
        );
        n++;
      }
      if (n) o.logger.warn({ count: n }, 'answered interactive requests left pending by a restart');
      return n;
    },
    inFlight: () => inflight.size,
    settled: async () => {
      while (inflight.size) await Promise.allSettled([...inflight]);
    },
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** An upstream error's details for the local caller: as given, or one naming who refused without saying where. */
function detailsOf(eb: ErrorBody, from: string): ErrorDetail[] {
  return eb.details?.length ? eb.details : [{ path: '(upstream)', problem: `${eb.code}: ${from} gave no details` }];
}
