// `juki-gw keys data-keys | rotate-data-key`: the data keys of encryption at rest, on the running
// appliance through its admin API (the appliance holds the database while it runs).
import type { ApplianceConfig } from '../config/schema/index.js';
import type { DataKeyInfo, DataKeyRotationStatus } from '../gateway/crypto/index.js';
import { adminApi, type AdminApi } from './adminApi.js';
import { showTime, type ShowTime } from './time.js';

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

function refusal(status: number, json: Record<string, unknown>): string {
  const why = typeof json.message === 'string' ? json.message : `HTTP ${status}`;
  if (status === 401) return `${why} (check the API token)`;
  if (status === 403) return `${why} (rotating data keys needs an admin account's token)`;
  return why;
}

function printKeys(keys: DataKeyInfo[], time: ShowTime): void {
  for (const k of keys)
    out(
      `data key ${String(k.id).padStart(3)}  ${(k.current ? 'current' : k.state).padEnd(8)} created ${time(k.createdAt)}${k.retiredAt ? `  retired ${time(k.retiredAt)}` : ''}`,
    );
}

function printRotation(r: DataKeyRotationStatus, time: ShowTime): void {
  if (r.state === 'idle') {
    out('no rotation since the appliance started');
    return;
  }
  out(
    `rotation by ${r.by} at ${time(r.startedAt)}: ${r.state}; ${r.rewritten} values re-encrypted (${r.scanned} scanned, ${r.skippedConcurrent} rewritten by the flows meanwhile) in ${r.passes} pass(es)` +
      `${r.retired.length ? `; retired data key(s) ${r.retired.join(', ')}` : ''}${r.unreadable ? `; ${r.unreadable} unreadable value(s) left as they were` : ''}`,
  );
  if (r.detail) out(r.detail);
}

export async function dataKeys(
  sub: string,
  config: ApplianceConfig,
  o: { url?: string | undefined; tokenFile?: string | undefined; ca?: string | undefined; wait: boolean },
): Promise<number> {
  const a = adminApi(config, { url: o.url, tokenFile: o.tokenFile, ca: o.ca });
  if (!a.ok) {
    err(`keys ${sub}: ${a.message}`);
    return 1;
  }
  const time = showTime(config);
  const api: AdminApi = a.api;
  try {
    if (sub === 'data-keys') {
      const r = await api.call('GET', '/data-keys');
      if (r.status !== 200) {
        err(`keys data-keys: ${refusal(r.status, r.json)}`);
        return 1;
      }
      printKeys(r.json.keys as DataKeyInfo[], time);
      printRotation(r.json.rotation as DataKeyRotationStatus, time);
      return 0;
    }
    const started = await api.call('POST', '/data-keys/rotate', {});
    if (started.status !== 202) {
      err(`keys rotate-data-key: ${refusal(started.status, started.json)}`);
      if (started.json.rotation) printRotation(started.json.rotation as DataKeyRotationStatus, time);
      return 1;
    }
    const first = started.json.rotation as DataKeyRotationStatus;
    out(`data key ${first.newKeyId} is current on ${api.url}; re-encrypting every stored value while the appliance runs`);
    if (!o.wait) {
      out('not waiting (--no-wait): follow it with "juki-gw keys data-keys"');
      return 0;
    }
    let lastPrinted = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const r = await api.call('GET', '/data-keys');
      if (r.status !== 200) {
        err(`keys rotate-data-key: ${refusal(r.status, r.json)}`);
        return 1;
      }
      const rot = r.json.rotation as DataKeyRotationStatus;
      if (rot.startedAt !== first.startedAt) {
        err('keys rotate-data-key: another rotation replaced this one (was the appliance restarted?)');
        return 1;
      }
      if (rot.state === 'running') {
        if (Date.now() - lastPrinted > 10_000) {
          out(`… ${rot.rewritten} values re-encrypted`);
          lastPrinted = Date.now();
        }
        continue;
      }
      printRotation(rot, time);
      printKeys(r.json.keys as DataKeyInfo[], time);
      return rot.state === 'done' && rot.complete ? 0 : 1;
    }
  } catch (e) {
    err(`keys ${sub}: ${(e as Error).message}`);
    return 1;
  }
}
