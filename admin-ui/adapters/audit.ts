// UI audit events ↔ the hash-chained audit log (gateway/audit). Operators act as actor kind `admin`;
// role, channel, target and client address go into `detail` (no personal data: operator ids only).
import type { AuditLog } from '../../gateway/audit/index.js';
import type { AuditEvent, AuditRecord, AuditService } from '../services.js';

const ACTION = /^[a-z][a-zA-Z0-9]*([._-][a-zA-Z0-9]+)*$/;
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

export function auditFromLog(log: AuditLog): AuditService {
  return {
    async append(e: AuditEvent) {
      const action = ACTION.test(e.action)
        ? e.action
        : `ui.${
            e.action
              .toLowerCase()
              .replace(/[^a-z0-9]+/g, '.')
              .replace(/^\.+|\.+$/g, '') || 'event'
          }`;
      const detail: Record<string, string> = {};
      for (const k of ['role', 'via', 'target', 'detail', 'address'] as const) {
        const v = e[k];
        if (v) detail[k] = clip(v, 512);
      }
      await log.append({
        actor: { kind: 'admin', id: clip(e.actor || '(none)', 128) },
        action,
        outcome: e.outcome === 'failed' ? 'error' : e.outcome,
        detail,
      });
    },
    async query(q) {
      const entries = await log.query({
        reverse: true,
        limit: q.limit ?? 200,
        ...(q.actor ? { actorId: q.actor } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.outcome ? { outcome: q.outcome === 'failed' ? 'error' : (q.outcome as 'ok' | 'refused') } : {}),
        ...(q.since ? { since: new Date(q.since) } : {}),
        ...(q.until ? { until: new Date(q.until) } : {}),
      });
      return entries.map((x): AuditRecord => {
        const d = (x.event.detail ?? {}) as Record<string, unknown>;
        const r: AuditRecord = {
          seq: x.seq,
          at: x.event.at,
          hash: x.hash,
          action: x.event.action,
          actor: `${x.event.actor.id}`,
          outcome: x.event.outcome === 'error' ? 'failed' : x.event.outcome,
        };
        // A broker refusal names no system when the client id matched none: an unknown client, not a configured system.
        if (x.event.actor.kind !== 'admin') r.role = x.event.actor.kind === 'system' && d.systemId === null ? 'client' : x.event.actor.kind;
        for (const k of ['role', 'via', 'target', 'detail', 'address'] as const) if (typeof d[k] === 'string') r[k] = d[k];
        // The broker records the peer as `remote`.
        if (!r.address && typeof d.remote === 'string') r.address = d.remote;
        if (!r.detail && x.event.code) r.detail = x.event.code;
        return r;
      });
    },
    async verify() {
      const v = await log.verify();
      const handovers = v.keyHistory.flatMap((e) => (e.handedOverAt !== undefined ? [`#${e.handedOverAt}`] : []));
      const detail = v.ok
        ? `${v.entries} entries, ${v.checkpoints} signed checkpoints${v.unsignedTail ? `, ${v.unsignedTail} after the last checkpoint` : ''}` +
          `${handovers.length ? `, signing key handed over at ${handovers.join(', ')}` : ''}`
        : `first problem at #${v.firstBad?.seq}: ${v.firstBad?.reason} — ${v.firstBad?.message}`;
      return {
        ok: v.ok,
        checked: v.entries,
        detail,
        ...(v.ok ? { intact: { entries: v.entries, checkpoints: v.checkpoints, unsignedTail: v.unsignedTail, handovers } } : {}),
      };
    },
  };
}
