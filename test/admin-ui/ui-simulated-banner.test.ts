// The whole appliance without upstreams runs simulated ones (appliance/simulatedUpstream.ts);
// every signed-in page of the admin UI then says so, loudly, in the account's language.
import { mkdirSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppliance, type ApplianceHandle } from '../../appliance/start.js';
import { parseConfigText } from '../../config/load.js';
import { SESSION_COOKIE } from '../../admin-ui/app.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { createLogger } from '../../platform/log/logger.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('jukigw-simulated-ui-');
let app: ApplianceHandle;
let cookies: Record<'ja' | 'en', string>;

/** GET over HTTPS to the appliance's self-signed admin UI. */
function get(url: string, cookie: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { cookie }, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  const dataDir = join(dir.path, 'data');
  mkdirSync(dataDir, { recursive: true });
  const text = [
    "municipalities: ['242012']",
    `dataDir: ${dataDir}`,
    'hsm: { kind: software }',
    'broker: { syncWrites: false }',
    `listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: ${await freePort()} }]`,
    `admin: { host: 127.0.0.1, port: ${await freePort()} }`,
    `ui: { enabled: true, host: 127.0.0.1, port: ${await freePort()} }`,
    '',
  ].join('\n');
  const r = parseConfigText(text);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  app = await startAppliance(r.config, { logger: createLogger({ level: 'silent' }), configText: text });
  const auth = await openAuthStore({ db: app.parts.db, idleMinutes: 15 });
  const session = async (name: string, lang: 'ja' | 'en') => {
    expect(await auth.createAccount(name, 'monitor', 'first password 2026 x', lang)).toBeUndefined();
    expect(await auth.changePassword(name, 'first password 2026 x', 'second password 2026 x')).toBeUndefined();
    const l = await auth.login(name, 'second password 2026 x');
    if (!l.ok) throw new Error('login failed');
    return `${SESSION_COOKIE}=${l.token}`;
  };
  cookies = { ja: await session('shokuin', 'ja'), en: await session('staff', 'en') };
}, 120_000);
afterAll(async () => {
  await app?.close();
  dir.cleanup();
});

describe('simulated upstreams in the admin UI', () => {
  it("shows the banner on the dashboard and every other page, in the account's language", async () => {
    const url = app.parts.uiUrl!;
    for (const path of ['/', '/links', '/queues', '/config', '/password']) {
      const ja = await get(`${url}${path}`, cookies.ja);
      expect(ja.status, path).toBe(200);
      expect(ja.body, path).toMatch(
        /<div class="simulated" id="simulated-banner" role="alert" title="SIMULATED upstream[^"]*">【模擬環境】上位接続先が設定されていないため/,
      );
      const en = await get(`${url}${path}`, cookies.en);
      expect(en.body, path).toContain('id="simulated-banner" role="alert"');
      expect(en.body, path).toContain('>SIMULATED UPSTREAMS: no upstream is configured.');
    }
  });
});
