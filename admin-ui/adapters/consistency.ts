// Consistency page ↔ gateway/cs/consistency ConsistencyChecker. A run goes on in the background;
// its committed state (resumable, in SUBLEVELS.consistency) is what the progress bar shows.
import type { ConsistencyChecker } from '../../gateway/cs/consistency/session.js';
import type { SessionState } from '../../gateway/cs/consistency/sessionStore.js';
import type { ConsistencyTransport, ConsistencyMode } from '../../gateway/cs/consistency/protocol.js';
import type { ConsistencyProgress, ConsistencyService } from '../services.js';

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
}

export function consistencyFromChecker(o: ConsistencyOptions): ConsistencyService {
  const failed = new Map<string, string>();
  const progressOf = (s: SessionState): ConsistencyProgress => {
    const total = s.mode === 'incremental' ? 2 ** s.bits : s.recordCount;
    const done = s.done ? total : s.mode === 'incremental' ? s.nextBucket : s.recordsSent;
    const err = failed.get(s.id);
    const state = s.done ? 'done' : err ? 'failed' : 'running';
    const p: ConsistencyProgress = { runId: s.id, state, done, total, startedAt: s.startedAt };
    p.detail = err ?? `${s.mode} · ${s.lgCode} vs ${s.peer} · ${s.differences} difference(s)`;
    return p;
  };
  return {
    async start() {
      const before = new Set((await o.checker.sessions.list()).map((s) => s.id));
      const run = o.checker.start({ lgCode: o.lgCode(), peer: o.peer, transport: o.transport, ...(o.mode ? { mode: o.mode } : {}), ...(o.bits !== undefined ? { bits: o.bits } : {}) });
      const outcome: { error?: Error } = {};
      run.then(() => undefined, (e: Error) => { outcome.error = e; });
      // The session is committed before the first exchange; its id is what the page follows.
      for (let i = 0; i < 500; i++) {
        const fresh = (await o.checker.sessions.list()).find((s) => !before.has(s.id));
        if (fresh) {
          run.catch((e: Error) => failed.set(fresh.id, e.message));
          return { runId: fresh.id };
        }
        if (outcome.error) throw outcome.error;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('the consistency check did not start within 10 s');
    },
    async progress(runId) {
      if (runId) { const s = await o.checker.sessions.get(runId); return s && progressOf(s); }
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
