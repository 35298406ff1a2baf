// Queues page ↔ gateway/uplink Outbox (one outbox, one queue per link). Entry ids are outbox seqs.
import type { Outbox, OutboxSummary } from '../../gateway/uplink/index.js';
import type { QueueEntry, QueuesService } from '../services.js';

const SCAN_PAGE = 500;

function entry(e: OutboxSummary, dead: boolean): QueueEntry {
  const out: QueueEntry = {
    id: String(e.seq),
    messageId: e.id,
    type: e.type,
    to: e.to,
    enqueuedAt: new Date(e.enqueuedAt).toISOString(),
    attempts: e.attempts,
    dead,
  };
  const err = e.reason ?? e.lastError;
  if (err !== undefined) out.lastError = err;
  return out;
}

/** `links`: configured link names, so a link with an empty queue is still listed. */
export function queuesFromOutbox(outbox: Outbox, links: () => string[]): QueuesService {
  const scan = async function* (dead: boolean) {
    let after: number | undefined;
    for (;;) {
      const page = await outbox.list({ dead, limit: SCAN_PAGE, ...(after !== undefined ? { afterSeq: after } : {}) });
      yield* page;
      if (page.length < SCAN_PAGE) return;
      after = page[page.length - 1]!.seq;
    }
  };
  return {
    async list() {
      const stats = outbox.stats();
      const names = [...new Set([...links(), ...Object.keys(stats)])].sort();
      return names.map((name) => {
        const s = stats[name];
        return { name, depth: s?.depth ?? 0, oldestAgeMs: s && s.depth > 0 ? s.oldestAgeMs : null, deadLetters: s?.dead ?? 0 };
      });
    },
    async show(queue, { dead = false, limit = 100 }) {
      const out: QueueEntry[] = [];
      for await (const e of scan(dead)) {
        if (e.link !== queue) continue;
        out.push(entry(e, dead));
        if (out.length >= limit) break;
      }
      return out;
    },
    async retry(queue, id) {
      const seq = Number(id);
      if (!Number.isSafeInteger(seq)) return { ok: false, detail: `not a queue entry id: ${id}` };
      const e = await outbox.show(seq, { dead: true });
      if (!e || e.link !== queue) return { ok: false, detail: `no dead letter ${id} in ${queue}` };
      const ok = await outbox.retry(seq, { dead: true });
      return ok ? { ok: true, detail: 'queued again with attempts reset' } : { ok: false, detail: 'gone meanwhile' };
    },
    async purgeDeadLetters(queue) {
      const seqs: number[] = [];
      for await (const e of scan(true)) if (e.link === queue) seqs.push(e.seq);
      let n = 0;
      for (const s of seqs) n += await outbox.purge(s, { dead: true });
      return n;
    },
  };
}
