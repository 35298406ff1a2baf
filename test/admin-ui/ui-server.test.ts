// The admin UI server itself (startAdminUi): HTTPS only on the configured address, TLS ≥ 1.2, the
// self-signed certificate kept across starts, the first-run admin password printed once and never logged.
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { createLogger } from '../../platform/log/logger.js';
import { openConfigVersions } from '../../config/versions.js';
import { createSystemsService } from '../../admin-ui/adapters/systems.js';
import { startAdminUi, type AdminUiHandle } from '../../admin-ui/server.js';
import { fingerprint } from '../../admin-ui/tls.js';
import type { ApplianceServices, AuditEvent } from '../../admin-ui/services.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

let dir: ReturnType<typeof tempDir>;
let db: Db;
let logFile: string;
let events: AuditEvent[];
const handles: AdminUiHandle[] = [];

beforeEach(async () => {
  dir = tempDir('jukigw-uiserver-');
  db = await openApplianceDb(join(dir.path, 'db'));
  logFile = join(dir.path, 'appliance.log');
  events = [];
});
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
  await db.close();
  dir.cleanup();
});

async function start(port: number, printed: string[]): Promise<AdminUiHandle> {
  const versions = await openConfigVersions({ db, initialText: "municipalities: ['242012']\n" });
  const services: ApplianceServices = {
    config: versions,
    systems: createSystemsService(versions),
    status: {},
    audit: {
      append: async (e) => {
        events.push(e);
      },
    },
  };
  const h = await startAdminUi({
    config: { enabled: true, host: '127.0.0.1', port, sessionIdleMinutes: 15, timeZone: 'Asia/Tokyo' },
    services,
    db,
    dataDir: dir.path,
    logger: createLogger({ level: 'info', destination: logFile }),
    printOnce: (t) => {
      printed.push(t);
    },
  });
  handles.push(h);
  return h;
}

function httpsLogin(url: string, password: string): Promise<number> {
  const u = new URL(url);
  const call = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; cookie?: string; text: string }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, method, path, headers, rejectUnauthorized: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            cookie: res.headers['set-cookie']?.[0]?.split(';')[0],
            text: Buffer.concat(chunks).toString(),
          }),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  return call('GET', '/login', {}).then(async (page) => {
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const form = new URLSearchParams({ _csrf: csrf, username: 'admin', password }).toString();
    const r = await call('POST', '/login', { cookie: page.cookie!, 'content-type': 'application/x-www-form-urlencoded' }, form);
    return r.status;
  });
}

describe('admin UI server', () => {
  it('prints the first-run one-time admin password once, never into the log, and it logs in', async () => {
    const port = await freePort();
    const printed: string[] = [];
    const first = await start(port, printed);
    expect(printed).toHaveLength(1);
    const password = /one-time password: (\S+)/.exec(printed[0]!)![1]!;
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(events).toContainEqual(expect.objectContaining({ action: 'account.first-admin', outcome: 'ok', target: 'admin' }));
    expect(await httpsLogin(first.url, password)).toBe(303);
    await first.close();
    handles.length = 0;
    // A second start on the same database: the account exists, nothing is printed again.
    const second = await start(port, printed);
    expect(printed).toHaveLength(1);
    expect(await httpsLogin(second.url, password)).toBe(303);
    await until(() => readFileSync(logFile, 'utf8').includes('admin UI listening'), 15_000, 'the listening line logged');
    const log = readFileSync(logFile, 'utf8');
    expect(log).toContain('admin UI listening');
    expect(log).not.toContain(password);
  });

  it('speaks HTTPS only (TLS ≥ 1.2) on the configured address, with a self-signed certificate kept across starts', async () => {
    const port = await freePort();
    const ui = await start(port, []);
    expect(ui.url).toBe(`https://127.0.0.1:${port}`);
    // Plain HTTP to the same port gets no HTTP answer.
    const plain = await new Promise<string>((resolve) => {
      const req = httpGet({ host: '127.0.0.1', port, path: '/login', timeout: 5000 }, (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.on('timeout', () => req.destroy(new Error('timeout')));
    });
    expect(plain).not.toMatch(/^answered/);
    // A client offering at most TLS 1.1 (which this Node/OpenSSL can speak at SECLEVEL=0) gets the
    // server's protocol_version alert.
    const old = await new Promise<string>((resolve) => {
      const s = tlsConnect(
        { host: '127.0.0.1', port, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false },
        () => {
          resolve(`connected ${s.getProtocol()}`);
          s.destroy();
        },
      );
      s.on('error', (e) => resolve(e.message));
    });
    expect(old).not.toMatch(/^connected/);
    expect(old).toMatch(/alert protocol version/);
    const modern = await new Promise<{ protocol: string | null; cert: string }>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        resolve({ protocol: s.getProtocol(), cert: s.getPeerX509Certificate()!.toString() });
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(modern.protocol).toBe('TLSv1.3');
    const pem = readFileSync(join(dir.path, 'ui-tls', 'ui.pem'), 'utf8');
    expect(fingerprint(modern.cert)).toBe(fingerprint(pem));
    // The log file is written asynchronously (its stream opens the file first): wait for the line.
    await until(() => readFileSync(logFile, 'utf8').includes(fingerprint(pem)), 15_000, 'the certificate fingerprint logged');
    await ui.close();
    handles.length = 0;
    await start(port, []);
    expect(readFileSync(join(dir.path, 'ui-tls', 'ui.pem'), 'utf8')).toBe(pem);
  });
});
