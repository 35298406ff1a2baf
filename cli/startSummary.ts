// The few lines an administrator at a terminal needs once the appliance is ready; the journal keeps
// the JSON log. Pure: everything is passed in.
import { dirname, resolve } from 'node:path';
import type { ApplianceConfig } from '../config/schema/index.js';

export interface SummaryInput {
  config: ApplianceConfig;
  uiUrl?: string;
  /** SHA-256 fingerprint of the UI's self-signed certificate (none when ui.tls names a certificate). */
  uiFingerprint?: string;
  /** The first-run admin password, when this start created the account (shown only now). */
  firstAdminPassword?: string;
  listeners: Record<string, { host: string; port: number }>;
  admin?: { host: string; port: number };
  simulatedUpstreams: boolean;
}

const hostPart = (h: string) => (h.includes(':') ? `[${h}]` : h);

export function startSummary(s: SummaryInput): string {
  const row = (label: string, text: string) => `  ${label.padEnd(16)} ${text}`;
  const out = [``, `juki-gw appliance ready — serving ${s.config.municipalities.join(', ')}`];
  if (s.uiUrl) {
    out.push(row('admin UI', `${s.uiUrl}${s.uiFingerprint ? `  (self-signed certificate, SHA-256 ${s.uiFingerprint})` : ''}`));
    out.push(
      row(
        'first login',
        s.firstAdminPassword
          ? `user "admin", one-time password ${s.firstAdminPassword}  (shown only now; change it at the first login)`
          : 'done earlier (the one-time password is shown only at the first start)',
      ),
    );
  }
  // Password files the appliance generates (inside its data dir), grouped by folder.
  const dataDir = resolve(s.config.dataDir);
  const byDir = new Map<string, string[]>();
  for (const sys of s.config.systems) {
    const file = sys.password?.file;
    if (!file || !resolve(file).startsWith(dataDir + '/')) continue;
    const dir = dirname(resolve(file));
    byDir.set(dir, [...(byDir.get(dir) ?? []), sys.id]);
  }
  for (const [dir, ids] of byDir) out.push(row('dev passwords', `${dir}/ (${ids.join(', ')})`));
  let label = 'MQTT listeners';
  for (const l of s.config.listeners) {
    const a = s.listeners[l.name];
    if (!a) continue;
    const url = `${l.type === 'tls' ? 'mqtts' : 'mqtt'}://${hostPart(a.host)}:${a.port}`;
    out.push(row(label, `${l.name.padEnd(14)} ${url.padEnd(28)} ${l.type === 'tls' ? 'mTLS' : 'plain'}, segment ${l.segment}`));
    label = '';
  }
  if (s.admin) out.push(row('health, metrics', `http://${hostPart(s.admin.host)}:${s.admin.port}/readyz  /metrics`));
  if (s.simulatedUpstreams) {
    out.push(
      '',
      '!!!!! UPSTREAMS ARE SIMULATED: no upstream is configured; nothing reaches J-LIS, the prefecture or',
      '!!!!! the card system. Synthetic people only. Configure `upstreams` for real links.',
    );
  }
  out.push('', row('first request', 'npx juki-gw send --help   (README, "Connecting a local system")'), '');
  return out.join('\n') + '\n';
}
