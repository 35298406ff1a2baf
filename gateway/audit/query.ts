// Reading the audit log for the admin UI and the CLI: a range scan with simple filters.
import type { AbstractSublevel } from 'abstract-level';
import type { Db } from '../../platform/store/db.js';
import { ENTRY_RANGE, entryKey, type AuditEntry } from './chain.js';

export interface AuditQuery {
  fromSeq?: number;
  toSeq?: number;
  /** Inclusive time bounds on the event's `at`. */
  since?: Date;
  until?: Date;
  actorId?: string;
  actorKind?: AuditEntry['event']['actor']['kind'];
  terminalId?: string;
  dutyCode?: string;
  action?: string;
  outcome?: AuditEntry['event']['outcome'];
  /** A keyed hash (kind:…): entries that touched this identifier. */
  key?: string;
  /** Default 1000, at most 10000. */
  limit?: number;
  /** Newest first. */
  reverse?: boolean;
}

export async function queryEntries(
  store: AbstractSublevel<Db, string | Uint8Array, string, unknown>,
  q: AuditQuery,
): Promise<AuditEntry[]> {
  const limit = Math.min(Math.max(1, q.limit ?? 1000), 10_000);
  const range = {
    gte: q.fromSeq !== undefined ? entryKey(q.fromSeq) : ENTRY_RANGE.gte,
    ...(q.toSeq !== undefined ? { lte: entryKey(q.toSeq) } : { lt: ENTRY_RANGE.lt }),
  };
  const since = q.since?.getTime();
  const until = q.until?.getTime();
  const out: AuditEntry[] = [];
  for await (const v of store.values({ ...range, reverse: q.reverse ?? false })) {
    const e = v as AuditEntry;
    const ev = e.event;
    if (!ev) continue;
    const at = Date.parse(ev.at);
    if (since !== undefined && at < since) continue;
    if (until !== undefined && at > until) continue;
    if (q.actorId !== undefined && ev.actor.id !== q.actorId) continue;
    if (q.actorKind !== undefined && ev.actor.kind !== q.actorKind) continue;
    if (q.terminalId !== undefined && ev.terminalId !== q.terminalId) continue;
    if (q.dutyCode !== undefined && ev.dutyCode !== q.dutyCode) continue;
    if (q.action !== undefined && ev.action !== q.action) continue;
    if (q.outcome !== undefined && ev.outcome !== q.outcome) continue;
    if (q.key !== undefined && !ev.keys.includes(q.key)) continue;
    out.push(e);
    if (out.length >= limit) break;
  }
  return out;
}
