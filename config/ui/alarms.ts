// Alarms the dashboard derives from the figures it shows (in addition to component alarms).
import type { Alarm, CertificateInfo, DiskStatus, LinkStatus, QueueSummary } from './services.js';
import type { TokenStatus } from '../../hsm/types.js';

export function deriveAlarms(f: { disk?: DiskStatus; certificates?: CertificateInfo[]; token?: TokenStatus; links?: LinkStatus[]; queues?: QueueSummary[] }): Alarm[] {
  const out: Alarm[] = [];
  if (f.disk && f.disk.freeBytes < f.disk.minFreeBytes) {
    out.push({ severity: 'critical', source: 'disk', message: `free space below the limit: new publishes are refused (${f.disk.path})` });
  }
  for (const c of f.certificates ?? []) {
    if (c.daysLeft < 0) out.push({ severity: 'critical', source: 'certificate', message: `${c.label} expired on ${c.notAfter}` });
    else if (c.daysLeft < 30) out.push({ severity: c.daysLeft < 7 ? 'critical' : 'warning', source: 'certificate', message: `${c.label} expires in ${c.daysLeft} days` });
  }
  if (f.token && !f.token.ready) out.push({ severity: 'critical', source: 'token', message: `signing token not ready: ${f.token.detail}` });
  if (f.token?.warning) out.push({ severity: 'warning', source: 'token', message: f.token.warning });
  for (const l of f.links ?? []) if (!l.connected) out.push({ severity: 'warning', source: 'uplink', message: `${l.name} disconnected: ${l.detail}` });
  for (const q of f.queues ?? []) if (q.deadLetters > 0) out.push({ severity: 'warning', source: 'queue', message: `${q.name}: ${q.deadLetters} dead letter(s)` });
  return out;
}
