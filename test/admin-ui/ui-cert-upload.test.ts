// Uploading a local system's client certificate through the admin app (HTTP, no browser): a good one
// becomes a new config version pinning its fingerprint; a wrong CN, an unknown CA, an expired one or a
// pasted private key is refused at the field, and no version is made. Dev-CA issuance pins the same way.
// The last block does it as an operator would: Chromium, the page's file input, over HTTPS.
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { createLogger } from '../../platform/log/logger.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { createAdminApp, SESSION_COOKIE } from '../../admin-ui/app.js';
import { openConfigVersions, type ConfigVersions } from '../../config/versions.js';
import { createSystemsService } from '../../admin-ui/adapters/systems.js';
import { devCaClientCertificates } from '../../admin-ui/adapters/devca.js';
import { createDevCa } from '../../hsm/dev-ca.js';
import { certificateFingerprint } from '../../broker/client-cert.js';
import type { ApplianceServices, AuditEvent } from '../../admin-ui/services.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/ports.js';
import { launchChromium } from '../helpers/browser.js';
import { startAdminUi } from '../../admin-ui/server.js';
import { selfSignedUiCertificate } from '../../admin-ui/tls.js';

let pki: TestPki;
const pkiDir = tempDir('jukigw-upload-pki-');
beforeAll(async () => {
  pki = await createTestPki(pkiDir.path, { clients: ['rr-01', 'term-01', 'nl-01'], expired: 'rr-01', revoked: 'term-01' });
});
afterAll(() => pkiDir.cleanup());

let dir: ReturnType<typeof tempDir>;
let db: Db;
let versions: ConfigVersions;
let app: ReturnType<typeof createAdminApp>;
let events: AuditEvent[];
let services: ApplianceServices;
const fp = (pem: string) => certificateFingerprint(new X509Certificate(pem).raw);

beforeEach(async () => {
  dir = tempDir('jukigw-upload-');
  db = await openApplianceDb(join(dir.path, 'db'));
  events = [];
  const tls = `{ cert: '${pki.server.certFile}', key: '${pki.server.keyFile}', ca: '${pki.caFile}' }`;
  const initialText = [
    "municipalities: ['242012']",
    'listeners:',
    `  - { name: local-tls, type: tls, host: 0.0.0.0, port: 8883, tls: ${tls} }`,
    // Same CA but loopback only: does not count as a CA a local system connects through.
    `  - { name: nl-tls, type: tls, host: 127.0.0.1, port: 8884, segment: number-linkage, tls: ${tls} }`,
    'systems:',
    '  - { id: rr-01, role: resident-register, description: 住民基本台帳システム }',
    '  - { id: term-01, role: terminal }',
    '  - { id: nl-01, role: number-linkage }',
    '',
  ].join('\n');
  versions = await openConfigVersions({ db, initialText });
  const ca = await createDevCa(join(dir.path, 'dev-ca'));
  services = {
    config: versions,
    systems: createSystemsService(versions, { issueClientCert: devCaClientCertificates(ca) }),
    status: {},
    audit: {
      append: async (e) => {
        events.push(e);
      },
    },
  };
  const auth = await openAuthStore({ db, idleMinutes: 15 });
  app = createAdminApp({ services, auth, logger: createLogger({ level: 'silent' }), idleMinutes: 15 });
  await auth.createAccount('boss', 'admin', 'first chief password 1', 'en'); // the pages in English: the assertions below read them
  await auth.changePassword('boss', 'first chief password 1', 'second chief password 2');
});
afterEach(async () => {
  await db.close();
  dir.cleanup();
});

async function session(): Promise<{ cookie: string; csrf: string }> {
  const g = await app.request('https://ui.test/login');
  const loginCookie = g.headers.getSetCookie()[0]!.split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await g.text())![1]!;
  const r = await app.request('https://ui.test/login', {
    method: 'POST',
    headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, username: 'boss', password: 'second chief password 2' }),
  });
  const cookie = r.headers
    .getSetCookie()
    .find((c) => c.startsWith(SESSION_COOKIE))!
    .split(';')[0]!;
  const page = await app.request('https://ui.test/systems?edit=rr-01', { headers: { cookie } });
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]! };
}

/** Posts the upload form as a browser without JavaScript does: multipart/form-data. */
async function upload(id: string, fields: { certificate?: string; file?: Buffer }, s?: { cookie: string; csrf: string }) {
  const { cookie, csrf } = s ?? (await session());
  const form = new FormData();
  form.set('_csrf', csrf);
  form.set('certificate', fields.certificate ?? '');
  form.set('certificateFile', fields.file ? new File([new Uint8Array(fields.file)], 'client.der') : new File([], ''));
  return app.request(`https://ui.test/systems/${id}/certificate/upload`, { method: 'POST', headers: { cookie }, body: form });
}

const fieldError = (html: string) => {
  const m = /data-field-error="certificate">([^<]*)</.exec(html);
  return m?.[1]
    ?.replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
};

describe('client certificate upload', () => {
  it('a file sent in the pasted-PEM field is refused as no certificate, never read as "[object File]"', async () => {
    const { cookie, csrf } = await session();
    const form = new FormData();
    form.set('_csrf', csrf);
    form.set('certificate', new File([pki.clients['rr-01']!.cert], 'client.pem'));
    form.set('certificateFile', new File([], ''));
    const r = await app.request('https://ui.test/systems/rr-01/certificate/upload', { method: 'POST', headers: { cookie }, body: form });
    expect(r.status).toBe(422);
    const html = await r.text();
    expect(html).not.toContain('[object File]');
    const empty = await upload('rr-01', { certificate: '' }, { cookie, csrf });
    expect(fieldError(html)).toBe(fieldError(await empty.text()));
  });

  it("the systems page offers the upload form (multipart, CSRF token) on the system's page", async () => {
    const { cookie } = await session();
    const html = await (await app.request('https://ui.test/systems?edit=rr-01', { headers: { cookie } })).text();
    expect(html).toMatch(
      /<form method="post" action="\/systems\/rr-01\/certificate\/upload" enctype="multipart\/form-data"><input type="hidden" name="_csrf"/,
    );
    expect(html).toContain('name="certificateFile"');
    expect(html).not.toContain('Client certificate upload: not available');
  });

  it('a good certificate (PEM text) becomes a new config version pinning its fingerprint, audited', async () => {
    const before = await versions.current();
    const r = await upload('rr-01', { certificate: pki.clients['rr-01']!.cert });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/systems?edit=rr-01#certificate');
    const after = await versions.current();
    expect(after.version).toBe(before.version + 1);
    const want = fp(pki.clients['rr-01']!.cert);
    expect(after.config.systems.find((s) => s.id === 'rr-01')!.certificateSha256).toBe(want);
    expect(after.comment).toBe(`system rr-01: client certificate uploaded (sha256 ${want})`);
    expect(after.text).toContain('住民基本台帳システム');
    expect(events.at(-1)).toMatchObject({ action: 'system.certificate.upload', outcome: 'ok', target: 'rr-01', actor: 'boss' });
    expect(events.at(-1)!.detail).toContain(`sha256 ${want}`);
  });

  it('a certificate file in DER works the same way', async () => {
    const der = new X509Certificate(pki.clients['term-01']!.cert).raw;
    expect((await upload('term-01', { file: der })).status).toBe(303);
    expect((await versions.current()).config.systems.find((s) => s.id === 'term-01')!.certificateSha256).toBe(certificateFingerprint(der));
  });

  it.each([
    ['a wrong CN', (): string => pki.clients['term-01']!.cert, 'CN is "term-01", but must be the system id "rr-01"'],
    ['an unknown CA', (): string => pki.rogue.cert, 'not issued by the CA of the local TLS listener(s) local-tls'],
    ['an expired certificate', (): string => pki.expired.cert, /^expired on \d{4}-\d\d-\d\dT/],
    ['not a certificate', (): string => 'hello', 'not a PEM certificate (expected -----BEGIN CERTIFICATE-----)'],
    ['a CA certificate', (): string => pki.caPem, 'is a CA certificate, not a client certificate'],
    ['a server certificate', (): string => pki.server.cert, 'CN is "localhost", but must be the system id "rr-01"'],
    ['a private key with it', (): string => pki.clients['rr-01']!.cert + pki.clients['rr-01']!.key, /^contains a private key/],
  ] as const)('refuses %s at the field, with no new version', async (_label, pem, message) => {
    const before = await versions.current();
    const r = await upload('rr-01', { certificate: pem() });
    expect(r.status).toBe(422);
    const html = await r.text();
    const err = fieldError(html);
    if (typeof message === 'string') expect(err).toBe(message);
    else expect(err).toMatch(message);
    expect(html).not.toContain('PRIVATE KEY');
    expect((await versions.current()).version).toBe(before.version);
    expect((await versions.current()).config.systems.find((s) => s.id === 'rr-01')!.certificateSha256).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ action: 'system.certificate.upload', outcome: 'refused', target: 'rr-01' });
  });

  it('refuses a client certificate whose extendedKeyUsage lacks clientAuth', async () => {
    // The test PKI's server certificate is serverAuth only; make the system's id its CN to reach that check.
    const r = await versions.apply(
      (await versions.current()).text.replace('id: term-01', 'id: localhost'),
      { user: 't', role: 'admin', via: 'cli' },
      'test',
    );
    expect(r.ok).toBe(true);
    const before = await versions.current();
    const res = await upload('localhost', { certificate: pki.server.cert });
    expect(fieldError(await res.text())).toBe('is not a client certificate (extendedKeyUsage lacks clientAuth)');
    expect((await versions.current()).version).toBe(before.version);
  });

  it("needs a non-loopback TLS listener of the system's segment to check the CA against", async () => {
    const res = await upload('nl-01', { certificate: pki.clients['nl-01']!.cert });
    expect(res.status).toBe(422);
    expect(fieldError(await res.text())).toBe('no non-loopback TLS listener serves the number-linkage segment, so no CA to check against');
  });

  it('refuses without the CSRF token', async () => {
    const { cookie } = await session();
    const r = await upload('rr-01', { certificate: pki.clients['rr-01']!.cert }, { cookie, csrf: 'forged' });
    expect(r.status).toBe(403);
    expect((await versions.current()).config.systems.find((s) => s.id === 'rr-01')!.certificateSha256).toBeUndefined();
  });

  it('the API uploads through the same function, with the same errors', async () => {
    const { cookie, csrf } = await session();
    const post = (pem: string) =>
      app.request('https://ui.test/api/v1/systems/rr-01/certificate', {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ certificate: pem }),
      });
    const bad = await post(pki.rogue.cert);
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { details: unknown }).details).toEqual([
      { path: 'certificate', problem: 'not issued by the CA of the local TLS listener(s) local-tls' },
    ]);
    const good = await post(pki.clients['rr-01']!.cert);
    expect(good.status).toBe(200);
    expect(((await good.json()) as { fingerprintSha256: string }).fingerprintSha256).toBe(fp(pki.clients['rr-01']!.cert));
  });

  it('issuing from the dev CA pins the issued certificate in a new config version', async () => {
    const { cookie, csrf } = await session();
    const before = await versions.current();
    const r = await app.request('https://ui.test/systems/term-01/certificate', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(r.status).toBe(200);
    const pem = await r.text();
    const after = await versions.current();
    expect(after.version).toBe(before.version + 1);
    expect(after.config.systems.find((s) => s.id === 'term-01')!.certificateSha256).toBe(fp(pem));
    expect(new X509Certificate(pem).subject).toBe('CN=term-01');
    expect(after.comment).toBe(`system term-01: client certificate issued by the dev CA (sha256 ${fp(pem)})`);
    expect(events.at(-1)!.detail).toContain(`pinned sha256 ${fp(pem)} in config version ${after.version}`);
  });
});

describe("client certificate upload in Chromium (the page's file input)", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium({ ignoreCertificateErrors: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('pins a certificate file chosen in the file input, and refuses a wrong one with the exact reason on the page', async () => {
    const ui = await startAdminUi({
      config: { enabled: true, host: '127.0.0.1', port: await freePort(), sessionIdleMinutes: 15, timeZone: 'Asia/Tokyo' },
      services,
      logger: createLogger({ level: 'silent' }),
      db,
      dataDir: dir.path,
      tls: await selfSignedUiCertificate(['127.0.0.1']),
    });
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const p = await ctx.newPage();
      await p.goto(`${ui.url}/login`);
      await p.fill('#username', 'boss');
      await p.fill('#password', 'second chief password 2');
      await Promise.all([p.waitForNavigation(), p.click('#login')]);
      await p.goto(`${ui.url}/systems?edit=rr-01`);
      await expect(p.locator('#certificate').textContent()).resolves.toContain('none pinned');
      const before = await versions.current();
      const submit = () => Promise.all([p.waitForNavigation(), p.click('#cert-upload')]);

      // Another system's certificate (PEM file), then one from a CA no listener trusts (DER file).
      await p.setInputFiles('#cert-file', {
        name: 'term-01.pem',
        mimeType: 'application/x-pem-file',
        buffer: Buffer.from(pki.clients['term-01']!.cert),
      });
      await submit();
      await expect(p.locator('[data-field-error="certificate"]').textContent()).resolves.toBe(
        'CN is "term-01", but must be the system id "rr-01"',
      );
      await p.setInputFiles('#cert-file', {
        name: 'rogue.der',
        mimeType: 'application/pkix-cert',
        buffer: new X509Certificate(pki.rogue.cert).raw,
      });
      await submit();
      await expect(p.locator('[data-field-error="certificate"]').textContent()).resolves.toBe(
        'not issued by the CA of the local TLS listener(s) local-tls',
      );
      await expect(p.locator('#certificate').textContent()).resolves.toContain('none pinned');
      expect((await versions.current()).version).toBe(before.version);
      expect(events.filter((e) => e.action === 'system.certificate.upload').map((e) => e.outcome)).toEqual(['refused', 'refused']);

      // The system's own certificate, as a DER file from disk.
      const der = new X509Certificate(pki.clients['rr-01']!.cert).raw;
      const derFile = join(dir.path, 'rr-01.der');
      writeFileSync(derFile, der);
      await p.setInputFiles('#cert-file', derFile);
      await submit();
      const want = certificateFingerprint(der);
      expect(new URL(p.url()).pathname + new URL(p.url()).search).toBe('/systems?edit=rr-01');
      await expect(p.locator('.flash').textContent()).resolves.toContain(
        `Certificate for rr-01 registered (SHA-256 ${want}, config version ${before.version + 1})`,
      );
      await expect(p.locator('#certificate [data-fingerprint]').getAttribute('data-fingerprint')).resolves.toBe(want);
      await expect(p.locator('[data-field-error="certificate"]').count()).resolves.toBe(0);
      expect((await versions.current()).config.systems.find((s) => s.id === 'rr-01')!.certificateSha256).toBe(want);
    } finally {
      await ctx.close();
      await ui.close();
    }
  });
});
