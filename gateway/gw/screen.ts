// The GW in front of the intake: every request a number-linkage system queued passes the whitelist
// here, before any CS code reads it. Refusals are answered, audited and acknowledged here; accepted
// requests go on with unknown fields stripped (the payload handed on no longer carries them), the
// stripping audited as the screen's own step (action gw.screen), apart from the request's outcome.
import type { ApplianceConfig } from '../../config/schema/index.js';
import { errorReply, type ErrorCode } from '../../platform/envelope.js';
import type { DurableRequestSource, QueuedRequest } from '../local/intake.js';
import type { LocalOutbox } from '../local/localOutbox.js';
import type { AuditEvent } from '../local/types.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Batch, Db } from '../../platform/store/db.js';
import { UnitOfWork } from '../../platform/store/unitOfWork.js';
import { screenBody } from './whitelist.js';

export const NUMBER_LINKAGE_ROLE = 'number-linkage';

/** The stripped fields' report: which request, which names (never values), and that it went on. */
const screenedDetail = (type: string, id: string, stripped: string[]) =>
  `${type} ${id}: ${stripped.join(',')} stripped (names only); passed on to the request checks, whose outcome is its own entry`;

export interface GwAuditor {
  record(scope: { batch: Batch } | undefined, event: AuditEvent): Promise<void>;
}

export interface ScreenOptions {
  source: DurableRequestSource;
  db: Db;
  config: () => ApplianceConfig;
  localOutbox: LocalOutbox;
  audit: GwAuditor;
  logger: Logger;
  selfAddress: () => string;
  /** Told the type of every request from the segment that the screen has seen. */
  onRequest?: (type: string) => void;
  /** Metrics hook (gateway/gw/metrics.ts). */
  count?: (outcome: 'passed' | 'refused' | 'stripped', type: string) => void;
}

export interface ScreenStats {
  passed: number;
  refused: number;
  stripped: number;
}

export function createGwScreen(o: ScreenOptions): DurableRequestSource & { stats(): ScreenStats } {
  const stats: ScreenStats = { passed: 0, refused: 0, stripped: 0 };
  const fromSegment = (q: QueuedRequest) => o.config().systems.find((s) => s.id === q.clientId)?.role === NUMBER_LINKAGE_ROLE;

  async function refuse(
    q: QueuedRequest,
    id: string,
    type: string,
    error: { code: ErrorCode; message: string; details: { path: string; problem: string }[] },
  ): Promise<void> {
    const uow = new UnitOfWork(o.db);
    o.source.ack(uow.batch, q.seq);
    o.localOutbox.replyNotKept(
      uow,
      q.clientId,
      errorReply({ id, from: q.clientId }, o.selfAddress(), error.code, error.message, error.details),
    );
    await o.audit.record(uow, {
      actor: { kind: 'system', id: q.clientId },
      action: type || 'unknown',
      outcome: 'refused',
      code: error.code,
      detail: `gw: ${error.message}`,
    });
    await uow.commit();
    stats.refused++;
    o.count?.('refused', type);
    o.logger.info(
      { systemId: q.clientId, type, code: error.code, problems: error.details.map((d) => d.problem.split(':')[0]) },
      'gw: request from the number-linkage segment refused',
    );
  }

  /** The request to hand on (maybe rewritten), or undefined when the GW answered it itself. */
  async function screen(q: QueuedRequest): Promise<QueuedRequest | undefined> {
    if (!fromSegment(q)) return q;
    let env: Record<string, unknown>;
    try {
      env = JSON.parse(Buffer.from(q.payload).toString('utf8')) as Record<string, unknown>;
    } catch {
      return q; // the intake answers broken payloads precisely (invalid_request)
    }
    if (typeof env !== 'object' || env === null || Array.isArray(env) || typeof env.type !== 'string') return q;
    const id = typeof env.id === 'string' && env.id.length <= 64 ? env.id : '';
    o.onRequest?.(env.type);
    const r = screenBody(env.type, env.body);
    if (!r.ok) {
      await refuse(q, id, env.type.slice(0, 64), r.error);
      return undefined;
    }
    stats.passed++;
    o.count?.('passed', env.type);
    if (r.stripped.length === 0) return q;
    stats.stripped++;
    o.count?.('stripped', env.type);
    // Names only: values of unknown fields are never logged.
    o.logger.warn(
      { systemId: q.clientId, type: env.type, id, stripped: r.stripped },
      'gw: unknown fields stripped from a number-linkage request',
    );
    // The screen's own step, not the request's outcome: the checks after it may still refuse the request,
    // and that outcome is the request's entry (an "ok" under the request's type would read as accepted).
    await o.audit.record(undefined, {
      actor: { kind: 'system', id: q.clientId },
      action: 'gw.screen',
      outcome: 'ok',
      code: 'fields_stripped',
      detail: screenedDetail(env.type, id, r.stripped).slice(0, 512),
    });
    return { ...q, payload: Buffer.from(JSON.stringify({ ...env, body: r.body })) };
  }

  return {
    async read(afterSeq, limit) {
      // Refused entries are gone from the queue, so read on until something passes or nothing is left.
      let after = afterSeq;
      for (;;) {
        const batch = await o.source.read(after, limit);
        if (batch.length === 0) return [];
        const out: QueuedRequest[] = [];
        for (const q of batch) {
          const passed = await screen(q);
          if (passed) out.push(passed);
          after = q.seq;
        }
        if (out.length) return out;
      }
    },
    async readPriority(limit) {
      const out: QueuedRequest[] = [];
      for (const q of (await o.source.readPriority?.(limit)) ?? []) {
        const passed = await screen(q);
        if (passed) out.push(passed);
      }
      return out;
    },
    prioritize: (topics) => o.source.prioritize?.(topics),
    onAvailable: (l) => o.source.onAvailable(l),
    ack: (batch, seq) => o.source.ack(batch, seq),
    stats: () => ({ ...stats }),
  };
}
