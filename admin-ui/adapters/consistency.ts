// Consistency page ↔ gateway/cs/consistency ConsistencyChecker. A run goes on in the background;
// its committed state (resumable, in SUBLEVELS.consistency) is what the progress bar shows. Every end
// of a run is a terminal state with its reason and an audit entry: done, failed (the peer refused),
// interrupted (the process stopped while it ran; the next one marks it when it reads the runs).
import { uuidv7 } from '../../platform/envelope.js';
import type { ConsistencyChecker } from '../../gateway/cs/consistency/session.js';
import type { SessionState } from '../../gateway/cs/consistency/sessionStore.js';
import type { ConsistencyTransport, ConsistencyMode } from '../../gateway/cs/consistency/protocol.js';
import type { AuditEvent, ConsistencyProgress, ConsistencyService } from '../services.js';

export interface ConsistencyOptions {
  checker: ConsistencyChecker;
  /** Municipality checked and the peer compared with (e.g. 'pref:240001'). */
  lgCode: () => string;
  peer: string;
  transport: ConsistencyTransport;
  mode?: ConsistencyMode;
  /** Bucket bits; default sized by the checker from the record count. */
  bits?: number;
  maxResults?: number;
  /** Records how each run ended (action `consistency.check`). */
  audit: (e: AuditEvent) => Promise<void>;
}

export const INTERRUPTED_REASON = 'the appliance stopped while the check ran (restart or crash); start a new check';

export function consistencyFromChecker(o: ConsistencyOptions): ConsistencyService {
  const summary = (s: SessionState) => `${s.mode} · ${s.lgCode} vs ${s.peer} · ${s.differences} difference(s)`;
  const progressOf = (s: SessionState): ConsistencyProgress => {
    const total = s.mode === 'incremental' ? 2 ** s.bits : s.recordCount;
    const done = s.done ? total : s.mode === 'incremental' ? s.nextBucket : s.recordsSent;
    const state = s.done ? 'done' : (s.stopped?.state ?? 'running');
    const base: ConsistencyProgress = { runId: s.id, state, done, total, startedAt: s.startedAt };
    return s.stopped
      ? { ...base, detail: s.stopped.reason }
      : { ...base, summary: { mode: s.mode, lgCode: s.lgCode, peer: s.peer, differences: s.differences }, detail: summary(s) };
  };
  let settling: Promise<void> = Promise.resolve();
  /** Marks (once, serialised) the sessions no process runs any more as interrupted, and audits them. */
  const settleLeftOver = () => {
    // A failed pass fails its own caller only; the next read tries again.
    settling = settling
      .catch(() => undefined)
      .then(async () => {
        for (const s of await o.checker.sessions.list()) {
          if (s.done || s.stopped) continue;
          const marked = await o.checker.interrupt(s.id, INTERRUPTED_REASON);
          if (marked)
            await o.audit({
              action: 'consistency.check',
              actor: 'appliance',
              outcome: 'failed',
              target: s.id,
              detail: `interrupted: ${INTERRUPTED_REASON} (${summary(marked)})`,
            });
        }
      });
    return settling;
  };
  return {
    async start(actor) {
      await settleLeftOver();
      const id = uuidv7();
      const run = o.checker.start({
        id,
        lgCode: o.lgCode(),
        peer: o.peer,
        transport: o.transport,
        ...(o.mode ? { mode: o.mode } : {}),
        ...(o.bits !== undefined ? { bits: o.bits } : {}),
      });
      const ended = (outcome: 'ok' | 'failed', detail: string) =>
        o.audit({
          action: 'consistency.check',
          actor: actor.user,
          role: actor.role,
          via: actor.via,
          outcome,
          target: id,
          detail: detail.slice(0, 500),
        });
      const outcome: { error?: Error } = {};
      void run
        .then(
          (s) => ended('ok', `${summary(s)}, ${s.requests} request(s)`),
          (e: Error) => {
            outcome.error = e;
            return ended('failed', `failed (resumable): ${e.message}`);
          },
          // The end is committed on the session either way; a failed audit append has no request left to fail.
        )
        .catch(() => undefined);
      // The session is committed before the first exchange; the page follows it from then on.
      for (let i = 0; i < 500; i++) {
        if (await o.checker.sessions.get(id)) return { runId: id };
        if (outcome.error) throw outcome.error;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('the consistency check did not start within 10 s');
    },
    async progress(runId) {
      await settleLeftOver();
      if (runId) {
        const s = await o.checker.sessions.get(runId);
        return s && progressOf(s);
      }
      const all = await o.checker.sessions.list();
      const last = all.sort((a, b) => a.startedAt.localeCompare(b.startedAt)).at(-1);
      return last && progressOf(last);
    },
    async results(runId) {
      const out = [];
      for await (const d of o.checker.sessions.differences(runId)) {
        out.push({ key: d.residentCode, kind: d.kind, detail: d.fields?.join(', ') ?? '' });
        if (out.length >= (o.maxResults ?? 1000)) break;
      }
      return out;
    },
  };
}
