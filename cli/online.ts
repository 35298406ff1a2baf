// Offline or through the running appliance: LevelDB admits one process, so when the appliance holds
// the data dir's database the CLI does the same operation through the appliance's admin API (same
// roles and audit as the UI, API token from JUKIGW_API_TOKEN or --token-file); otherwise directly.
import { join } from 'node:path';
import type { ApplianceConfig } from '../config/schema/index.js';
import type { Job } from '../admin-ui/adapters/jobs.js';
import { storeLocked } from '../platform/store/db.js';
import { adminApi, type AdminApi } from './adminApi.js';
import { progressPrinter } from './progress.js';

export const ONLINE_OPTIONS = { url: { type: 'string' }, 'token-file': { type: 'string' }, ca: { type: 'string' } } as const;
/** The usage lines for the online path; `what` names the subcommands that take it ("retry and purge"). */
export const onlineUsage = (what: string) => `  While the appliance runs (it holds the data dir), ${what} through its admin API, with an API
  token in JUKIGW_API_TOKEN or --token-file FILE; [--url URL] [--ca FILE] (default: the configured
  admin UI address and its certificate).`;

/** True when another process (the running appliance) holds the data dir's database lock. */
export async function applianceHolds(dataDir: string): Promise<boolean> {
  return storeLocked(join(dataDir, 'db'));
}

export type OnlineFlags = { url?: string | undefined; 'token-file'?: string | undefined; ca?: string | undefined };

/** The running appliance's API, or the reason it cannot be reached (printed by the caller). */
export function runningAppliance(config: ApplianceConfig, v: OnlineFlags): { api: AdminApi } | { error: string } {
  const a = adminApi(config, { url: v.url, tokenFile: v['token-file'], ca: v.ca });
  return a.ok ? { api: a.api } : { error: `the appliance is running and holds ${config.dataDir}: ${a.message}` };
}

/** An API refusal in words: 401/403 name what to check. */
export function refusal(status: number, json: Record<string, unknown>, need: string): string {
  const why = typeof json.message === 'string' ? json.message : `HTTP ${status}`;
  if (status === 401) return `${why} (check the API token)`;
  if (status === 403) return `${why} (${need})`;
  return why;
}

/** Polls a job until it ends, drawing its progress; returns the finished job. */
export async function followJob(api: AdminApi, job: Job, label: string, detail?: (j: Job) => string | undefined): Promise<Job> {
  const bar = progressPrinter(label);
  let j = job;
  while (j.state === 'running') {
    await new Promise((r) => setTimeout(r, 250));
    const r = await api.call('GET', `/jobs/${j.id}`);
    if (r.status !== 200) {
      bar.end();
      throw new Error(`job ${j.id}: ${refusal(r.status, r.json, 'the token may not view jobs')}`);
    }
    j = r.json as Job;
    const d = detail?.(j);
    if (j.total > 0) bar({ done: j.done, total: j.total, ...(d ? { detail: d } : {}) });
  }
  if (j.state === 'done') bar({ done: 1, total: 1 });
  bar.end();
  return j;
}
