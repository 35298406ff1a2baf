// An information query that a crash or kill left in flight has its query record and no answer. At
// restart the CS answers its caller upstream_unavailable (local/interactive.ts recover); the GW first
// records that as the query's outcome, so every 情報提供等記録 of a query is closed by an answer.
import type { ProvisionRecords } from '../provision/index.js';
import { SUBLEVELS, type Db } from '../../platform/store/db.js';

/** What the interactive forwarder keeps per request in flight (local/interactive.ts PendingRecord). */
interface PendingView {
  systemId?: unknown;
  requestId?: unknown;
  type?: unknown;
  since?: unknown;
}

export const INTERRUPTED_RESULT = 'upstream_unavailable';

/** Runs before the CS role's recovery answers the pending requests; returns how many were recorded. */
export async function recordInterruptedQueries(db: Db, provision: ProvisionRecords): Promise<number> {
  const pending = db.sublevel<string, PendingView>(SUBLEVELS.pending, { valueEncoding: 'json' });
  const batch = db.batch();
  let n = 0;
  for await (const rec of pending.values()) {
    if (rec.type !== 'info.query' || typeof rec.systemId !== 'string' || typeof rec.requestId !== 'string' || typeof rec.since !== 'number')
      continue;
    // From just before the query was recorded until now: an earlier start's interrupted answer may be
    // long after it (the appliance down in between), and must still be found to keep this once.
    const records = await provision.ofRequest(rec.systemId, rec.requestId, rec.since - 60_000, Date.now() + 1);
    const query = records.find((r) => r.kind === 'query');
    // Already closed by an earlier start that stopped before the CS answered the caller.
    if (!query || records.some((r) => r.kind === 'answer')) continue;
    const { at: _at, kind: _kind, result: _result, ...base } = query;
    provision.add(batch, { ...base, kind: 'answer', result: INTERRUPTED_RESULT });
    n++;
  }
  await batch.write();
  return n;
}
