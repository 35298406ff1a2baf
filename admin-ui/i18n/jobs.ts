// A job's progress and outcome in the reader's language, from its structured result (the stored
// `summary` stays the English line the API, the CLI and the audit log carry).
import type { Catalogue } from './index.js';
import type { Job } from '../adapters/jobs.js';

/** What done/total count, named: a backup's progress is the database read, not the file written. */
export function jobProgressText(t: Catalogue, j: Pick<Job, 'kind' | 'done' | 'total' | 'unit'>): string {
  if (j.kind === 'backup' && j.unit === 'bytes') return t['jobs.progress.backup'](j.done, j.total);
  return `${j.done} / ${j.total} ${t[`jobs.unit.${j.unit}`]}`;
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** The outcome from `result` when it has the expected shape; otherwise the summary as it is. */
export function jobOutcomeText(t: Catalogue, j: Pick<Job, 'kind' | 'summary' | 'result'>): string {
  const r = j.result;
  const fallback = j.summary ?? '';
  if (!r) return fallback;
  if (j.kind === 'backup') {
    const [parts, bytes, fileBytes] = [num(r.parts), num(r.bytes), num(r.fileBytes)];
    if (parts === undefined || bytes === undefined || fileBytes === undefined || typeof r.kid !== 'string') return fallback;
    const enc =
      r.encryption === 'passphrase'
        ? t['jobs.result.encrypted.passphrase']
        : r.encryption === 'recipient'
          ? t['jobs.result.encrypted.recipient']
          : r.encrypted === false
            ? t['jobs.result.notEncrypted']
            : undefined;
    if (enc === undefined) return fallback;
    const leftOut = Array.isArray(r.leftOut) && r.leftOut.length ? t['jobs.result.leftOut'](r.leftOut.join(', ')) : '';
    return `${t['jobs.result.backup'](parts, bytes, fileBytes, r.kid, enc)}${leftOut}`;
  }
  if (j.kind === 'audit.verify') {
    if (r.ok === true && num(r.entries) !== undefined && num(r.checkpoints) !== undefined) {
      return `${t['jobs.result.verified'](num(r.entries)!, num(r.checkpoints)!)}${r.pinned ? '' : ` (${t['jobs.result.notPinned']})`}`;
    }
    const bad = r.firstBad as { seq?: unknown; reason?: unknown; message?: unknown } | undefined;
    if (r.ok === false && bad && num(bad.seq) !== undefined)
      return t['jobs.result.verifyBroken'](num(bad.seq)!, String(bad.reason), String(bad.message));
    return fallback;
  }
  const [lines, accepted, unchanged, rejected, lastSeq] = [r.lines, r.accepted, r.unchanged, r.rejected, r.lastSeq].map(num);
  if (lines === undefined || accepted === undefined || unchanged === undefined || rejected === undefined || lastSeq === undefined)
    return fallback;
  const label = fallback.split(': ')[0] ?? '';
  const resumed = num(r.resumedFromLine) ? ` (${t['jobs.result.resumed'](num(r.resumedFromLine)!)})` : '';
  return `${label}${resumed}: ${t['jobs.result.import'](lines, accepted, unchanged, rejected, lastSeq)}`;
}
