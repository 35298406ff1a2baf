// 6 本人確認情報整合: the CS drives a check against pref:{code} or national over the uplink. Each phase
// (snapshot → bucket digests → entries of differing buckets → records of differing codes; or the full
// transfer for first load) is one consistency.check request answered by consistency.check.result.
// The engine (gateway/cs/consistency) commits progress and the difference list step by step, so an
// interrupted check resumes where it stopped. A server that sends a phase result on its own
// (consistency.result) is audited and acknowledged; the engine itself works request/reply.
import { prefectureCodeOf } from '../../../domain/identifiers.js';
import { errorReply, resultReply, type Envelope } from '../../../platform/envelope.js';
import { parseResult, validateBody } from '../../messages/index.js';
import type { FlowHandler as UpstreamHandler } from '../../uplink/index.js';
import { ConsistencyChecker, type CheckerOptions, type ConsistencyProgress } from '../consistency/session.js';
import type { ConsistencyMode, ConsistencyTransport, Difference } from '../consistency/protocol.js';
import type { SessionState } from '../consistency/sessionStore.js';
import { upstreamEnvelope, type CsFlowDeps } from './shared.js';

export class ConsistencyTransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One phase = one interactive consistency.check to the peer; an error reply or a malformed result throws. */
export function uplinkConsistencyTransport(deps: CsFlowDeps, peer: string, timeoutMs?: number): ConsistencyTransport {
  return async (request) => {
    const env = upstreamEnvelope(`lg:${request.lgCode}`, peer, 'consistency.check', request);
    const reply = await deps.uplink.request(env, timeoutMs ? { timeoutMs } : {});
    if (reply.type === 'error') {
      const b = reply.body as { code?: string; message?: string };
      throw new ConsistencyTransportError(b.code ?? 'internal', `${peer} answered ${request.phase} with ${b.code}: ${b.message ?? ''}`);
    }
    const r = parseResult('consistency.check', reply.body, deps.messages);
    if (!r.ok)
      throw new ConsistencyTransportError(
        'invalid_request',
        `${peer} sent a malformed ${request.phase} result: ${r.error.details.map((d) => d.path).join(', ')}`,
      );
    return r.value;
  };
}

export interface ConsistencyRuns {
  readonly checker: ConsistencyChecker;
  /** Default peer of a municipality: its prefectural server. */
  peerOf(lgCode: string, target?: 'pref' | 'national'): string;
  transportTo(peer: string): ConsistencyTransport;
  /** Runs a check to the end; progress is committed as it goes (resumable after a failure). */
  run(o: { lgCode: string; peer?: string; mode?: ConsistencyMode; bits?: number }): Promise<SessionState>;
  resume(id: string): Promise<SessionState>;
  differences(id: string): Promise<Difference[]>;
}

export function consistencyRuns(
  deps: CsFlowDeps,
  opts: CheckerOptions & { timeoutMs?: number; onProgress?: (p: ConsistencyProgress) => void } = {},
): ConsistencyRuns {
  const checker = new ConsistencyChecker(deps.db, deps.store, {
    ...opts,
    onProgress: (p) => {
      deps.logger.info(
        { check: p.id, mode: p.mode, done: p.done, total: p.total, differences: p.differences },
        'consistency check progress',
      );
      opts.onProgress?.(p);
    },
  });
  const transportTo = (peer: string) => uplinkConsistencyTransport(deps, peer, opts.timeoutMs);
  const audit = async (s: SessionState, outcome: 'ok' | 'error', detail: string) => {
    await deps.audit.record(undefined, {
      actor: { kind: 'appliance', id: 'consistency' },
      action: 'consistency.check',
      outcome,
      detail: `${s.id} ${s.lgCode} vs ${s.peer}: ${detail}`,
    });
  };
  const finish = async (p: Promise<SessionState>, id: () => Promise<string | undefined>) => {
    try {
      const s = await p;
      await audit(s, 'ok', `${s.mode} done, ${s.differences} difference(s), ${s.requests} request(s)`);
      return s;
    } catch (e) {
      const sid = await id();
      const s = sid ? await checker.sessions.get(sid) : undefined;
      if (s) await audit(s, 'error', `stopped (resumable): ${(e as Error).message.slice(0, 200)}`);
      throw e;
    }
  };
  return {
    checker,
    peerOf: (lgCode, target = 'pref') => (target === 'national' ? 'national' : `pref:${prefectureCodeOf(lgCode)}`),
    transportTo,
    async run(o) {
      const peer = o.peer ?? `pref:${prefectureCodeOf(o.lgCode)}`;
      const before = new Set((await checker.sessions.list()).map((s) => s.id));
      const p = checker.start({
        lgCode: o.lgCode,
        peer,
        transport: transportTo(peer),
        ...(o.mode ? { mode: o.mode } : {}),
        ...(o.bits !== undefined ? { bits: o.bits } : {}),
      });
      return finish(p, async () => (await checker.sessions.list()).find((s) => !before.has(s.id))?.id);
    },
    async resume(id) {
      const s = await checker.sessions.get(id);
      if (!s) throw new Error(`no consistency session ${id}`);
      return finish(checker.resume(id, transportTo(s.peer)), async () => id);
    },
    async differences(id) {
      const out: Difference[] = [];
      for await (const d of checker.sessions.differences(id)) out.push(d);
      return out;
    },
  };
}

/** consistency.result pushed by a server on its own: audited and acknowledged. */
export function consistencyResultInbound(deps: CsFlowDeps): UpstreamHandler {
  return async (env): Promise<Envelope> => {
    const v = validateBody('consistency.result', env.body, deps.messages);
    const scope = undefined;
    if (!v.ok) {
      await deps.audit.record(scope, {
        actor: { kind: 'system', id: env.from },
        action: 'consistency.result',
        outcome: 'refused',
        code: v.error.code,
        detail: v.error.message,
      });
      return errorReply(env, env.to, v.error.code, v.error.message, v.error.details);
    }
    await deps.audit.record(scope, {
      actor: { kind: 'system', id: env.from },
      action: 'consistency.result',
      outcome: 'ok',
      detail: `phase ${String(env.body.phase)} of ${String(env.body.checkId)}`,
    });
    return resultReply(env, env.to, env.from, { accepted: true });
  };
}
