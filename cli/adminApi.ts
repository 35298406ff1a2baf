// The CLI's way to a RUNNING appliance: LevelDB admits one process, so operations on live state go
// through the appliance's own admin API (/api/v1, HTTPS) with an API token from the Accounts page.
// The token comes from JUKIGW_API_TOKEN or a file, never from the command line (visible in ps).
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import type { ApplianceConfig } from '../config/schema/index.js';

export interface AdminApi {
  url: string;
  call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  /** A streamed request body (a register extract), answered with JSON. */
  upload(path: string, body: Readable, contentType: string): Promise<{ status: number; json: Record<string, unknown> }>;
  /** A binary answer (a backup file); JSON (an error) when the status is not 200. */
  download(path: string): Promise<{ status: number; body: Buffer; json: Record<string, unknown> }>;
}

function jsonOf(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { message: text.slice(0, 200) };
  }
}

export type AdminApiResult = { ok: true; api: AdminApi } | { ok: false; message: string };

export function adminApi(
  config: ApplianceConfig,
  opts: { url?: string | undefined; tokenFile?: string | undefined; ca?: string | undefined; env?: NodeJS.ProcessEnv },
): AdminApiResult {
  const env = opts.env ?? process.env;
  let token = env.JUKIGW_API_TOKEN?.trim();
  if (opts.tokenFile) {
    try {
      token = readFileSync(opts.tokenFile, 'utf8').trim();
    } catch (e) {
      return { ok: false, message: `--token-file ${opts.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
    }
  }
  if (!token)
    return {
      ok: false,
      message: 'no API token: set JUKIGW_API_TOKEN or give --token-file FILE (an admin API token from the admin UI, Accounts page)',
    };
  if (!opts.url && !config.ui.enabled)
    return {
      ok: false,
      message: 'the admin UI/API is disabled in this configuration (ui.enabled: false); give --url of a running admin API',
    };
  const host = ['0.0.0.0', '::', ''].includes(config.ui.host) ? '127.0.0.1' : config.ui.host;
  const url = (opts.url ?? `https://${host.includes(':') ? `[${host}]` : host}:${config.ui.port}`).replace(/\/+$/, '');
  // The appliance's own certificate: configured, or the self-signed one it generated in the data dir.
  const caFile = opts.ca ?? config.ui.tls?.cert ?? join(config.dataDir, 'ui-tls', 'ui.pem');
  if (!existsSync(caFile))
    return { ok: false, message: `no certificate to trust the admin API with (${caFile} does not exist); give --ca FILE` };
  const ca = [...rootCertificates, readFileSync(caFile, 'utf8')];
  const bearer = token;
  const send = (method: string, path: string, data?: Buffer | Readable, contentType?: string) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const length = Buffer.isBuffer(data) ? { 'content-length': data.length } : {};
      const req = request(
        `${url}/api/v1${path}`,
        {
          method,
          ca,
          timeout: 30_000,
          headers: {
            authorization: `Bearer ${bearer}`,
            accept: 'application/json',
            ...(data ? { 'content-type': contentType!, ...length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in 30 s`)));
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'ECONNREFUSED' ? new Error(`the admin API at ${url} is not reachable (is the appliance running?)`) : e),
      );
      if (data instanceof Readable) data.pipe(req);
      else req.end(data);
    });
  return {
    ok: true,
    api: {
      url,
      call: async (method, path, body) => {
        const r = await send(method, path, body === undefined ? undefined : Buffer.from(JSON.stringify(body)), 'application/json');
        return { status: r.status, json: jsonOf(r.body) };
      },
      upload: async (path, body, contentType) => {
        const r = await send('POST', path, body, contentType);
        return { status: r.status, json: jsonOf(r.body) };
      },
      download: async (path) => {
        const r = await send('GET', path);
        return { status: r.status, body: r.body, json: r.status === 200 ? {} : jsonOf(r.body) };
      },
    },
  };
}
