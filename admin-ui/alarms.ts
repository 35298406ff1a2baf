// Alarms the dashboard derives from the figures it shows (in addition to component alarms), worded
// in the reader's language; `source` stays the component's id.
import type { Alarm, CertificateInfo, DiskStatus, LinkStatus, QueueSummary } from './services.js';
import type { TokenStatus } from '../hsm/types.js';
import type { View } from './context.js';
import { certificateLabel, linkDetail } from './layout.js';
import { tokenWarningText } from './i18n/components.js';

export function deriveAlarms(
  v: View,
  f: {
    disk?: DiskStatus | undefined;
    certificates?: CertificateInfo[] | undefined;
    token?: TokenStatus | undefined;
    links?: LinkStatus[] | undefined;
    queues?: QueueSummary[] | undefined;
  },
): Alarm[] {
  const t = v.t;
  const out: Alarm[] = [];
  if (f.disk && f.disk.freeBytes < f.disk.minFreeBytes) {
    out.push({ severity: 'critical', source: 'disk', message: t['alarm.disk'](f.disk.path) });
  }
  for (const c of f.certificates ?? []) {
    if (c.daysLeft < 0)
      out.push({
        severity: 'critical',
        source: 'certificate',
        message: t['alarm.certExpired'](certificateLabel(v, c), v.time.time(c.notAfter)),
      });
    else if (c.daysLeft < 30)
      out.push({
        severity: c.daysLeft < 7 ? 'critical' : 'warning',
        source: 'certificate',
        message: t['alarm.certExpires'](certificateLabel(v, c), c.daysLeft),
      });
  }
  if (f.token && !f.token.ready) out.push({ severity: 'critical', source: 'token', message: t['alarm.tokenNotReady'](f.token.detail) });
  if (f.token?.warning) out.push({ severity: 'warning', source: 'token', message: tokenWarningText(t, f.token) ?? f.token.warning });
  for (const l of f.links ?? [])
    if (!l.connected) out.push({ severity: 'warning', source: 'uplink', message: t['alarm.linkDown'](l.name, linkDetail(v, l)) });
  for (const q of f.queues ?? [])
    if (q.deadLetters > 0) out.push({ severity: 'warning', source: 'queue', message: t['alarm.deadLetters'](q.name, q.deadLetters) });
  return out;
}

/** An alarm source in the reader's language: the derived ones translated, a component's id as it is. */
export function alarmSource(v: View, source: string): string {
  const key = `alarm.source.${source}` as const;
  return key in v.t ? v.t[key as 'alarm.source.disk'] : source;
}
