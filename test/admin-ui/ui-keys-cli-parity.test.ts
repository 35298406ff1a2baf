// The HSM page and `juki-gw keys` (the real CLI, run as a process) on one SoftHSM token: the same keys
// with the same public keys and certificates, and CSRs carrying the same public key — whichever side
// generated the key.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../hsm/reflect-polyfill.js';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { createAdminApp, SESSION_COOKIE } from '../../admin-ui/app.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { keysFromHsm } from '../../admin-ui/adapters/keys.js';
import { openConfigVersions } from '../../config/versions.js';
import type { ApplianceServices } from '../../admin-ui/services.js';
import { createLogger } from '../../platform/log/logger.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { kidOf } from '../../hsm/index.js';
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';
import { tempDir } from '../helpers/tmp.js';
import { jukiGw } from '../helpers/cli.js';

const dir = tempDir('ui-keys-parity-');
const configFile = join(dir.path, 'juki-gw.yaml');
const SUBJECT = 'CN=lg:242012, O=Tsu City';
let token: SoftHsmToken;
let config: ApplianceConfig;
let db: Db;
let app: ReturnType<typeof createAdminApp>;

const cli = (...args: string[]) => jukiGw(args);

async function session(): Promise<{ cookie: string; csrf: string }> {
  const g = await app.request('https://ui.test/login');
  const loginCookie = g.headers.getSetCookie()[0]!.split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await g.text())![1]!;
  const r = await app.request('https://ui.test/login', {
    method: 'POST',
    headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, username: 'officer', password: 'second security pass 2' }),
  });
  const cookie = r.headers
    .getSetCookie()
    .find((c) => c.startsWith(SESSION_COOKIE))!
    .split(';')[0]!;
  const page = await app.request('https://ui.test/keys', { headers: { cookie } });
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]! };
}

const post = (s: { cookie: string; csrf: string }, path: string, fields: Record<string, string>) =>
  app.request(`https://ui.test${path}`, {
    method: 'POST',
    headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: s.csrf, ...fields }),
  });

/** The rows of the page's key table: label, algorithm, kid, certificate subject. */
async function pageKeys(s: { cookie: string }): Promise<{ label: string; algorithm: string; kid: string; subject: string }[]> {
  const html = await (await app.request('https://ui.test/keys', { headers: { cookie: s.cookie } })).text();
  const rows = [...html.matchAll(/<tr><td>([^<]+)<\/td><td>([^<]+)<\/td><td class="any">([^<]+)<\/td><td>([^<]+)<\/td>/g)];
  return rows.map((m) => ({ label: m[1]!, algorithm: m[2]!, kid: m[3]!, subject: m[4]! }));
}

/** The SPKI of a CSR, after checking its own signature (proof of possession). */
async function csrKey(pem: string): Promise<{ spki: Buffer; subject: string }> {
  const req = new x509.Pkcs10CertificateRequest(pem);
  expect(await req.verify()).toBe(true);
  return { spki: Buffer.from(req.publicKey.rawData), subject: req.subject };
}

beforeAll(async () => {
  token = createSoftHsmToken();
  process.env.PARITY_TEST_PIN = token.pin;
  writeFileSync(
    configFile,
    [
      "municipalities: ['242012']",
      `dataDir: ${JSON.stringify(join(dir.path, 'data'))}`,
      'log: { level: error }',
      `hsm: { kind: pkcs11, module: ${token.module}, tokenLabel: ${token.label}, pin: { env: PARITY_TEST_PIN }, keyLabel: node-signing }`,
      '',
    ].join('\n'),
  );
  const r = loadConfig(configFile);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  config = r.config;
  db = await openApplianceDb(join(dir.path, 'ui-db'));
  const versions = await openConfigVersions({ db, initialText: "municipalities: ['242012']\n" });
  // What applianceServices wires for the HSM page (admin-ui/adapters/index.ts).
  const services: ApplianceServices = {
    config: versions,
    systems: { list: async () => [] } as never,
    status: {},
    audit: { append: async () => undefined },
    keys: keysFromHsm({ hsm: () => config.hsm, dataDir: config.dataDir, trustAnchorFiles: () => [] }),
  };
  const auth = await openAuthStore({ db, idleMinutes: 15 });
  app = createAdminApp({ services, auth, logger: createLogger({ level: 'silent' }), idleMinutes: 15 });
  expect(await auth.createAccount('officer', 'security', 'first security pass 1')).toBeUndefined();
  expect(await auth.changePassword('officer', 'first security pass 1', 'second security pass 2')).toBeUndefined();
});
afterAll(async () => {
  delete process.env.PARITY_TEST_PIN;
  await db?.close();
  token?.cleanup();
  dir.cleanup();
});

describe('the HSM page and `juki-gw keys` see the same token', () => {
  it('list the same keys with the same public keys and certificate, whichever side generated them', async () => {
    const gen = await cli('keys', 'generate', '--config', configFile);
    expect(gen.code, gen.stderr).toBe(0);
    const cliKid = /public key SHA-256 (\S+)/.exec(gen.stdout)![1]!;
    const s = await session();
    const made = await post(s, '/keys/generate', { label: 'page-made' });
    expect(made.status).toBe(303);

    let onPage = await pageKeys(s);
    const listed = await cli('keys', 'list', '--config', configFile);
    expect(listed.code, listed.stderr).toBe(0);
    const cliLabels = [...listed.stdout.matchAll(/^key {2}(\S+) +(EC-256)/gm)].map((m) => m[1]);
    expect(onPage.map((k) => k.label)).toEqual(['node-signing', 'page-made']);
    expect([...cliLabels].sort()).toEqual(['node-signing', 'page-made']);
    expect(onPage.map((k) => k.algorithm)).toEqual(['ES256', 'ES256']);
    expect(onPage[0]).toMatchObject({ kid: cliKid, subject: '—' });

    // A certificate the CLI made for the configured key: the page shows the same subject and kid.
    expect((await cli('keys', 'selfsign', '--config', configFile, '--subject', SUBJECT)).code).toBe(0);
    const cert = /^cert {2}(.+?) {2}issuer .* kid (\S+)$/m.exec((await cli('keys', 'list', '--config', configFile)).stdout)!;
    onPage = await pageKeys(s);
    expect(onPage[0]).toMatchObject({ label: 'node-signing', subject: cert[1], kid: cert[2] });
    expect(cert[1]).toBe(SUBJECT);
  });

  it("the page's CSR and `juki-gw keys csr` carry the same public key, for each key on the token", async () => {
    const s = await session();
    for (const label of ['node-signing', 'page-made']) {
      const res = await post(s, '/keys/csr', { label, subject: SUBJECT });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pkcs10');
      const fromPage = await csrKey(await res.text());
      const c = await cli('keys', 'csr', '--config', configFile, '--label', label, '--subject', SUBJECT);
      expect(c.code, c.stderr).toBe(0);
      const fromCli = await csrKey(c.stdout);
      expect(fromPage.spki.equals(fromCli.spki), label).toBe(true);
      expect(fromPage.subject).toBe(fromCli.subject);
      // ... and it is the key whose public key the CLI reported when it generated it.
      if (label === 'page-made') expect((await pageKeys(s)).find((k) => k.label === label)!.kid).toBe(kidOf(fromCli.spki));
    }
    const keys = await pageKeys(s);
    expect(new Set(keys.map((k) => k.kid)).size).toBe(2);
  });
});
