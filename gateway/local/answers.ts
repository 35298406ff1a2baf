// Replies kept for resends (再送への再回答): the contract makes resending always safe, so the reply to a
// local request is kept, in the same atomic batch as the reply itself, and a resend of the same id gets
// it again. Replies may carry personal data (search hits, verified records): the sublevel is sealed in
// the appliance (encodings.answers). Kept for trust.dedupeWindowSeconds after the answer; then only the
// fact that the id was answered remains (the intake's `seen` record), and a resend is told so.
//   a!{systemId}!{requestId} → { at, reply } | { at, withheld }    t!{at}!{systemId}!{requestId} → window index
import type { Envelope } from '../../platform/envelope.js';
import { SUBLEVELS, seqKey, type Batch, type Db } from '../../platform/store/db.js';

/** Why a reply was not kept: a 処理通番 must not outlive its delivery (番号法 §21-2). */
export type Withheld = 'serial';

export interface KeptAnswer {
  at: number;
  reply?: Envelope<object>;
  withheld?: Withheld;
}

export interface KeptAnswers {
  /** Adds the reply to the caller's batch (it is kept once that batch is written). */
  keep(batch: Batch, systemId: string, reply: Envelope<object>): void;
  get(systemId: string, requestId: string): Promise<KeptAnswer | undefined>;
  /** Forgets replies kept longer than the window before `now`; returns how many. */
  expire(now?: number): Promise<number>;
}

/** Reply types whose body is not kept: serial.request.result carries the issued 処理通番. */
const WITHHELD: Readonly<Record<string, Withheld>> = { 'serial.request.result': 'serial' };

export function createKeptAnswers(o: { db: Db; windowMs: () => number; valueEncoding?: string | object; now?: () => number }): KeptAnswers {
  const sub = o.db.sublevel<string, KeptAnswer | ''>(SUBLEVELS.answers, { valueEncoding: (o.valueEncoding ?? 'json') as 'json' });
  const now = o.now ?? Date.now;
  const key = (systemId: string, requestId: string) => `a!${systemId}!${requestId}`;
  return {
    keep(batch, systemId, reply) {
      if (reply.corr === null) return; // a refusal of an unreadable request: nothing to resend by
      const at = now();
      const withheld = WITHHELD[reply.type];
      batch.put(key(systemId, reply.corr), withheld ? { at, withheld } : { at, reply }, { sublevel: sub });
      batch.put(`t!${seqKey(at, 15)}!${systemId}!${reply.corr}`, '', { sublevel: sub });
    },
    async get(systemId, requestId) {
      const v = await sub.get(key(systemId, requestId));
      return v === '' || v === undefined ? undefined : v;
    },
    async expire(at = now()) {
      const cutoff = at - o.windowMs();
      let n = 0;
      let ops = 0;
      let batch = sub.batch();
      for await (const k of sub.keys({ gte: 't!', lt: `t!${seqKey(Math.max(0, cutoff), 15)}` })) {
        batch.del(k);
        const rest = k.slice(k.indexOf('!', 2) + 1); // {systemId}!{requestId}
        const kept = await sub.get(`a!${rest}`);
        // A later reply to the same id (e.g. a relay's dead-letter error) is kept from its own time.
        if (kept && kept.at < cutoff) {
          batch.del(`a!${rest}`);
          n++;
        }
        if (++ops % 1000 === 0) {
          await batch.write();
          batch = sub.batch();
        }
      }
      await batch.write();
      return n;
    },
  };
}
