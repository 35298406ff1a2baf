// The certificate procedure of docs/verifying.md on a real SoftHSM token, with the real CLI as a
// process and the appliance in this process: a development certificate signs the first checkpoints,
// then `keys csr` → `pki sign` → `keys import`, a restart, more entries — and every verification
// (CLI plain and pinned, /api/v1/audit/verify, the UI's audit page) says intact. The same for a new
// key (`keys generate --label` + `keys selfsign` + hsm.keyLabel) and for the HSM page's import.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAppliance, type ApplianceHandle } from '../../../appliance/start.js';
import { adminApi } from '../../../cli/adminApi.js';
import { loadConfig } from '../../../config/load.js';
import { openAuthStore } from '../../../admin-ui/auth/store.js';
import { auditStore } from '../../../gateway/audit/verify.js';
import type { AuditEntry } from '../../../gateway/audit/index.js';
import { createLogger } from '../../../platform/log/logger.js';
import { openApplianceDb } from '../../../platform/store/db.js';
import { kidOf, pemBlocks } from '../../../hsm/index.js';
import { jukiGw } from '../../helpers/cli.js';
import { freePort } from '../../helpers/ports.js';
import { createSoftHsmToken, type SoftHsmToken } from '../../helpers/softhsm.js';
import { tempDir } from '../../helpers/tmp.js';
import { uiLogin } from '../../helpers/ui-session.js';
import { lookup } from './audit-helpers.js';

const dir = tempDir('jukigw-audit-handover-');
const dataDir = join(dir.path, 'data');
const configFile = join(dir.path, 'juki-gw.yaml');
const ca = join(dir.path, 'ca');
const PIN_ENV = 'HANDOVER_TEST_PIN';
let token: SoftHsmToken;
let configText = '';
let app: ApplianceHandle | undefined;
let apiToken = '';
const PASSWORD = 'audit handover password 2';

const cli = (...args: string[]) => jukiGw(args, { timeoutMs: 120_000 });
const certFile = (label: string) => join(dataDir, 'hsm', `${label}.cert.pem`);
const kidOfFile = (file: string) => kidOf(pemBlocks(readFileSync(file, 'utf8'))[0]!);

async function writeConfig(keyLabel: string) {
  configText = [
    "municipalities: ['242012']",
    `dataDir: ${dataDir}`,
    'log: { level: error }',
    `hsm: { kind: pkcs11, module: ${token.module}, tokenLabel: ${token.label}, pin: { env: ${PIN_ENV} }, keyLabel: ${keyLabel}, signingThreads: false, sessions: 1 }`,
    `ui: { enabled: true, host: 127.0.0.1, port: ${await freePort()} }`,
    `admin: { host: 127.0.0.1, port: ${await freePort()} }`,
    'audit: { checkpointEvery: 5, checkpointSeconds: 3600 }',
    'limits: { minFreeDiskBytes: 0 }',
    '',
  ].join('\n');
  writeFileSync(configFile, configText);
}

async function start() {
  const r = loadConfig(configFile);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  app = await startAppliance(r.config, {
    logger: createLogger({ level: 'silent' }),
    configText,
    only: ['hsm', 'crypto', 'audit', 'config-versions', 'ui'],
  });
  return app;
}
async function stop() {
  const a = app;
  app = undefined;
  await a?.close();
}

/** Entries as the flows write them, through the running appliance's audit log. */
async function writeEntries(n: number, from: number) {
  for (let i = from; i < from + n; i++) await app!.parts.auditLog!.append(lookup(i));
}

/** The running appliance's three views: /api/v1/audit/verify, the UI's audit page, and its signer kid. */
async function applianceVerdicts() {
  const r = loadConfig(configFile);
  if (!r.ok) throw new Error('config');
  const a = adminApi(r.config, { env: { JUKIGW_API_TOKEN: apiToken } });
  if (!a.ok) throw new Error(a.message);
  const api = await a.api.call('GET', '/audit/verify');
  const ui = await uiLogin(a.api.url, join(dataDir, 'ui-tls', 'ui.pem'), 'inspector', PASSWORD);
  // The verdict's wording is read in English (the UI's default is Japanese).
  expect((await ui.post('/password/language', { language: 'en' })).status).toBeLessThan(400);
  const page = (await ui.get('/audit?verify=1')).text;
  return {
    api: api.json as { ok: boolean; detail: string },
    page: /<span id="verify-result"[^>]*>([^<]*)/.exec(page)?.[1] ?? page.slice(0, 300),
  };
}

async function storedCertKids(): Promise<string[]> {
  const db = await openApplianceDb(join(dataDir, 'db'));
  try {
    const out: string[] = [];
    for await (const k of auditStore(db).keys({ gte: 'cert/', lt: 'cert0' })) out.push(k.slice(5));
    return out;
  } finally {
    await db.close();
  }
}

async function handoverEntries(): Promise<AuditEntry[]> {
  const db = await openApplianceDb(join(dataDir, 'db'));
  try {
    const out: AuditEntry[] = [];
    for await (const v of auditStore(db).values({ gte: 'e/', lt: 'e0' }))
      if ((v as AuditEntry).event.action === 'audit.keyHandover') out.push(v as AuditEntry);
    return out;
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  token = createSoftHsmToken();
  process.env[PIN_ENV] = token.pin;
  await writeConfig('node-signing');
  expect((await cli('pki', 'init', '--dir', ca)).code).toBe(0);
  const gen = await cli('keys', 'generate', '--config', configFile);
  expect(gen.code, gen.stderr).toBe(0);
  // First start: the development certificate is made; accounts for the API and the UI.
  await start();
  const auth = await openAuthStore({ db: app!.parts.db, idleMinutes: 15 });
  apiToken = (await auth.createApiToken('admin', 'audit handover test')).token;
  expect(await auth.createAccount('inspector', 'auditor', 'audit handover password 1')).toBeUndefined();
  expect(await auth.changePassword('inspector', 'audit handover password 1', PASSWORD)).toBeUndefined();
}, 180_000);

afterEach(async () => {
  await stop();
});
afterAll(async () => {
  await stop();
  delete process.env[PIN_ENV];
  token?.cleanup();
  dir.cleanup();
});

async function expectAllIntact(pins: string[][]) {
  const plain = await cli('audit', 'verify', '--data-dir', dataDir);
  expect(plain.code, plain.stdout + plain.stderr).toBe(0);
  expect(plain.stdout).toMatch(/^audit log ok: /);
  expect(plain.stdout).not.toMatch(/-\d+ unsigned/);
  for (const pin of pins) {
    const r = await cli('audit', 'verify', '--data-dir', dataDir, ...pin);
    expect(r.code, `${pin.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^audit log ok: .*\(pinned\)/);
  }
}

describe('audit trail across the certificate procedure (SoftHSM, real CLI)', () => {
  const devCert = join(dir.path, 'dev-cert.pem');
  it('keys csr → pki sign → keys import: the chain stays intact for every verifier, the old certificate is kept', async () => {
    await writeEntries(12, 1);
    writeFileSync(devCert, readFileSync(certFile('node-signing')));
    const devKid = kidOfFile(devCert);
    expect((await applianceVerdicts()).api.ok).toBe(true);
    await stop();

    const csr = join(dir.path, 'node.csr');
    expect((await cli('keys', 'csr', '--config', configFile, '--subject', 'CN=lg:242012, O=Tsu City', '--out', csr)).code).toBe(0);
    const signed = join(dir.path, 'node.pem');
    expect((await cli('pki', 'sign', '--dir', ca, '--csr', csr, '--out', signed)).code).toBe(0);
    const imp = await cli('keys', 'import', '--config', configFile, '--cert', signed, '--chain', join(ca, 'ca.pem'));
    expect(imp.code, imp.stderr).toBe(0);
    const caKid = kidOfFile(signed);
    expect(caKid).not.toBe(devKid);

    await start();
    await writeEntries(12, 13);
    const v = await applianceVerdicts();
    expect(v.api, v.api.detail).toMatchObject({ ok: true });
    expect(v.page).toMatch(/^Chain intact: .*signing key handed over at #\d+/);
    await stop();

    await expectAllIntact([
      ['--config', configFile],
      ['--cert', devCert],
      ['--cert', signed],
      ['--cert', join(ca, 'ca.pem')],
    ]);
    expect(await storedCertKids()).toEqual(expect.arrayContaining([devKid, caKid]));
    const [h] = await handoverEntries();
    expect(h?.event).toMatchObject({ outcome: 'ok', detail: { fromKid: devKid, toKid: caKid } });
    const text = await cli('audit', 'verify', '--config', configFile);
    expect(text.stdout).toContain(`key ${caKid} from checkpoint `);
    expect(text.stdout).toContain(`: handed over at entry ${h!.seq} by the outgoing key`);
    const json = JSON.parse((await cli('audit', 'verify', '--config', configFile, '--json')).stdout);
    expect(json.keyHistory).toEqual([
      expect.objectContaining({ kid: devKid }),
      expect.objectContaining({ kid: caKid, handedOverAt: h!.seq }),
    ]);
  }, 300_000);

  it('a new key (keys generate --label, keys selfsign, hsm.keyLabel): handed over by the outgoing key', async () => {
    const before = kidOfFile(certFile('node-signing'));
    expect((await cli('keys', 'generate', '--config', configFile, '--label', 'node-signing-2')).code).toBe(0);
    expect(
      (await cli('keys', 'selfsign', '--config', configFile, '--label', 'node-signing-2', '--subject', 'CN=lg:242012 2, O=Tsu City')).code,
    ).toBe(0);
    await writeConfig('node-signing-2');
    await start();
    await writeEntries(7, 25);
    const v = await applianceVerdicts();
    expect(v.api, v.api.detail).toMatchObject({ ok: true });
    expect(v.page).toMatch(/^Chain intact/);
    await stop();
    const after = kidOfFile(certFile('node-signing-2'));
    expect((await handoverEntries()).at(-1)?.event).toMatchObject({ outcome: 'ok', detail: { fromKid: before, toKid: after } });
    await expectAllIntact([
      ['--config', configFile],
      ['--cert', join(dir.path, 'dev-cert.pem')],
      ['--cert', join(ca, 'ca.pem')],
    ]);
  }, 300_000);

  it("the HSM page's certificate import: same handover at the next start", async () => {
    await start();
    const auth = await openAuthStore({ db: app!.parts.db, idleMinutes: 15 });
    expect(await auth.createAccount('officer', 'security', 'security desk pass 1')).toBeUndefined();
    expect(await auth.changePassword('officer', 'security desk pass 1', PASSWORD)).toBeUndefined();
    const r = loadConfig(configFile);
    if (!r.ok) throw new Error('config');
    const url = `https://127.0.0.1:${r.config.ui.port}`;
    const ui = await uiLogin(url, join(dataDir, 'ui-tls', 'ui.pem'), 'officer', PASSWORD);
    const csrRes = await ui.post('/keys/csr', { label: 'node-signing-2', subject: 'CN=lg:242012, O=Tsu City' });
    expect(csrRes.status).toBe(200);
    const csr = join(dir.path, 'page.csr');
    writeFileSync(csr, csrRes.text);
    const issued = join(dir.path, 'page.pem');
    expect((await cli('pki', 'sign', '--dir', ca, '--csr', csr, '--out', issued)).code).toBe(0);
    const imp = await ui.post('/keys/import', { label: 'node-signing-2', pem: readFileSync(issued, 'utf8') });
    expect(imp.status).toBe(303);
    expect(kidOfFile(certFile('node-signing-2'))).toBe(kidOfFile(issued));
    await writeEntries(3, 32);
    await stop();
    await start();
    await writeEntries(6, 35);
    const v = await applianceVerdicts();
    expect(v.api, v.api.detail).toMatchObject({ ok: true });
    await stop();
    expect((await handoverEntries()).at(-1)?.event.detail).toMatchObject({ toKid: kidOfFile(issued) });
    await expectAllIntact([
      ['--config', configFile],
      ['--cert', join(dir.path, 'dev-cert.pem')],
      ['--cert', join(ca, 'ca.pem')],
      ['--cert', issued],
    ]);
  }, 300_000);
});
