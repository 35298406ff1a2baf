// The CLI's way to a RUNNING appliance: LevelDB admits one process, so operations on live state go
// through the appliance's own admin API (/api/v1, HTTPS) with an API token from the Accounts page.
// The token comes from JUKIGW_API_TOKEN or a file, never from the command line (visible in ps).
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import type { ApplianceConfig } from '../config/schema/index.js';

export interface AdminApi { url: string; call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> }

export type AdminApiResult = { ok: true; api: AdminApi } | { ok: false; message: string };

export function adminApi(config: ApplianceConfig, opts: { url?: string | undefined; tokenFile?: string | undefined; ca?: string | undefined; env?: NodeJS.ProcessEnv }): AdminApiResult {
  const env = opts.env ?? process.env;
  let token = env.JUKIGW_API_TOKEN?.trim();
  if (opts.tokenFile) {
    try { token = readFileSync(opts.tokenFile, 'utf8').trim(); } catch (e) { return { ok: false, message: `--token-file ${opts.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }; }
  }
  if (!token) return { ok: false, message: 'no API token: set JUKIGW_API_TOKEN or give --token-file FILE (an admin API token from the admin UI, Accounts page)' };
  if (!opts.url && !config.ui.enabled) return { ok: false, message: 'the admin UI/API is disabled in this configuration (ui.enabled: false); give --url of a running admin API' };
  const host = ['0.0.0.0', '::', ''].includes(config.ui.host) ? '127.0.0.1' : config.ui.host;
  const url = (opts.url ?? `https://${host.includes(':') ? `[${host}]` : host}:${config.ui.port}`).replace(/\/+$/, '');
  // The appliance's own certificate: configured, or the self-signed one it generated in the data dir.
  const caFile = opts.ca ?? config.ui.tls?.cert ?? join(config.dataDir, 'ui-tls', 'ui.pem');
  if (!existsSync(caFile)) return { ok: false, message: `no certificate to trust the admin API with (${caFile} does not exist); give --ca FILE` };
  const ca = [...rootCertificates, readFileSync(caFile, 'utf8')];
  const bearer = token;
  return {
    ok: true,
    api: {
      url,
      call: (method, path, body) => new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = request(`${url}/api/v1${path}`, {
          method, ca, timeout: 30_000,
          headers: { authorization: `Bearer ${bearer}`, accept: 'application/json', ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: Record<string, unknown>;
            try { json = JSON.parse(text) as Record<string, unknown>; } catch { json = { message: text.slice(0, 200) }; }
            resolve({ status: res.statusCode ?? 0, json });
          });
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in 30 s`)));
        req.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ECONNREFUSED'
          ? new Error(`the admin API at ${url} is not reachable (is the appliance running?)`) : e));
        req.end(data);
      }),
    },
  };
}
