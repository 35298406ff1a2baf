// What a new administrator meets on a fresh install (the embedded default, as `npm start` runs it), in
// Chromium at 1366×768 in Japanese: no English on Japanese pages, the audit page within the screen, empty
// tables that say so, TLS files on the upstream link form, an issued certificate shown at once; and the
// trail of a request from the number-linkage segment and of a known system on the wrong listener.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { connectClient, endClient, refusal } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { startUiAppliance, type UiAppliance } from './ui-appliance.js';

const PASSWORD = 'kanri password for trial 7';
const tmp = tempDir('jukigw-uitrial-');
const SHOTS = tmp.path;
const LOG = join(tmp.path, 'appliance.log');

let a: UiAppliance;
let browser: Browser;
let page: Page;

/** English words left in a Japanese text: quoted names, identifiers (with digits or ':', '.', '/', '_', '-') and the allowed terms removed. */
function englishWords(text: string, allowed: string[] = []): string[] {
  const rest = text.replace(/"[^"]*"/g, ' ').replace(/\S*[\d:./_-]\S*/g, ' ');
  return (rest.match(/[A-Za-z]{3,}/g) ?? []).filter((w) => w !== 'JST' && !allowed.includes(w));
}

const password = (id: string) => readFileSync(join(a.dataDir, 'dev-passwords', id), 'utf8').trim();
const mqttUrl = (listener: string) => `mqtt://127.0.0.1:${a.app.parts.broker!.address(listener).port}`;

beforeAll(async () => {
  a = await startUiAppliance({ logFile: LOG });
  browser = await launchChromium({ ignoreCertificateErrors: true });
  const ctx = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1366, height: 768 },
    locale: 'ja-JP',
    acceptDownloads: true,
  });
  page = await ctx.newPage();
  await page.goto(`${a.url}/login`);
  await page.fill('#username', 'admin');
  await page.fill('#password', a.firstAdminPassword);
  await Promise.all([page.waitForNavigation(), page.click('#login')]);
  await page.fill('#current', a.firstAdminPassword);
  await page.fill('#next', PASSWORD);
  await page.fill('#repeat', PASSWORD);
  await page.click('#change-password');
  await expect(page.locator('.flash').innerText()).resolves.toBe('パスワードを変更しました。');
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await a?.close();
  tmp.cleanup();
});

describe('a new administrator on a fresh install (ja, 1366×768)', () => {
  it('Japanese pages: the example systems, the consistency summary and the token line in Japanese', async () => {
    await page.goto(`${a.url}/systems`);
    const descriptions = await page.locator('#systems tbody tr td:nth-child(3)').allInnerTexts();
    expect(descriptions).toHaveLength(4);
    expect(descriptions.flatMap((d) => englishWords(d))).toEqual([]);
    expect(descriptions[0]).toBe('住民基本台帳システム (例)');

    await page.goto(`${a.url}/consistency`);
    await page.click('#cs-start');
    await page.waitForSelector('#cs-results', { timeout: 30_000 });
    const summary = await page.locator('#cs-progress p').innerText();
    expect(englishWords(summary), summary).toEqual([]);
    await page.goto(`${a.url}/audit?action=consistency.check`);
    const checkDetail = await page.locator('#audit-records tbody tr td:nth-child(7)').first().innerText();
    expect(englishWords(checkDetail), checkDetail).toEqual([]);

    for (const [path, where] of [
      ['/keys', '#token-status p'],
      ['/', '#token p'],
    ] as const) {
      await page.goto(`${a.url}${path}`);
      const line = await page.locator(where).innerText();
      expect(englishWords(line, ['PKCS', 'SoftHSM', 'pkcs11']), `${path}: ${line}`).toEqual([]);
      expect(line).toMatch(/PKCS#11 トークン "juki-gw" \(スロット \d+\)、鍵 "juki-gw-signing"、セッション \d+ 個/);
    }
  });

  it('empty tables say that there is nothing', async () => {
    for (const [path, table] of [
      ['/keys', '#anchors'],
      ['/accounts', '#api-tokens table'],
      ['/consistency', '#cs-results table'],
    ] as const) {
      await page.goto(`${a.url}${path}`);
      await expect(page.locator(`${table} tbody tr`).innerText(), `${path} ${table}`).resolves.toBe('なし');
    }
    // No table anywhere is left with its header alone.
    for (const path of ['/', '/systems', '/links', '/keys', '/queues', '/consistency', '/jobs', '/audit', '/config', '/accounts']) {
      await page.goto(`${a.url}${path}`);
      const bare = await page.locator('table').evaluateAll((ts) => ts.filter((t) => t.querySelectorAll('tbody tr').length === 0).length);
      expect(bare, path).toBe(0);
    }
  });

  it('issuing a client certificate shows it on its row without a reload', async () => {
    await page.goto(`${a.url}/systems`);
    const cell = page.locator('[data-system="rr-01"] td:nth-child(6)');
    await expect(cell.innerText()).resolves.toBe('未登録');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-system="rr-01"] [data-op="issue-certificate"]'),
    ]);
    const pem = readFileSync(await download.path(), 'utf8');
    expect(pem).toContain('-----BEGIN CERTIFICATE-----');
    expect(pem).toContain('PRIVATE KEY-----');
    const pinned = (await a.app.parts.versions!.current()).config.systems.find((s) => s.id === 'rr-01')!.certificateSha256!;
    expect(pinned).toMatch(/^[0-9a-f]{64}$/);
    await until(async () => (await cell.innerText()) !== '未登録', 10_000, 'the row shows the issued certificate');
    await expect(cell.locator('code').getAttribute('title')).resolves.toBe(pinned);
  });

  it('a refused number-linkage request leaves no "ok" entry of that request', async () => {
    const nl = await connectClient(mqttUrl('linkage-dev'), {
      clientId: 'nl-01',
      username: 'nl-01',
      password: password('nl-01'),
      clean: false,
    });
    try {
      await nl.subscribeAsync('res/nl-01', { qos: 1 });
      const id = uuidv7();
      const reply = new Promise<Envelope>((resolve) =>
        nl.on('message', (_t, p) => {
          const e = JSON.parse(p.toString()) as Envelope;
          if (e.corr === id) resolve(e);
        }),
      );
      const seqBefore = a.app.parts.auditLog!.head().seq;
      // A harmless unknown field (stripped by the GW) on a request that the checks after it refuse (no myNumber).
      await nl.publishAsync(
        'req/code.request',
        JSON.stringify({ v: 1, id, type: 'code.request', body: { lgCode: '242012', serialNo: 'S-trial-1', clientVersion: 'nl-2.1' } }),
        { qos: 1 },
      );
      const r = await reply;
      expect(r.type).toBe('error');
      const entries = await until(
        async () => {
          const all = (await a.app.parts.auditLog!.query({ actorId: 'nl-01' })).filter((e) => e.seq > seqBefore);
          return all.some((e) => e.event.outcome === 'refused') ? all : undefined;
        },
        10_000,
        'the refusal in the audit log',
      );
      const ofRequest = entries.filter((e) => e.event.action === 'code.request');
      expect(ofRequest.map((e) => e.event.outcome)).toEqual(['refused']);
      // The GW's report of the stripped field names the request and says it went on to the checks, not that it was accepted.
      const screen = entries.filter((e) => e.event.code === 'fields_stripped');
      expect(screen).toHaveLength(1);
      expect(screen[0]!.event.action).toBe('gw.screen');
      expect(JSON.stringify(screen[0]!.event.detail)).toContain(`code.request ${id}: clientVersion stripped`);
    } finally {
      await endClient(nl);
    }
  });

  it('a known terminal on the number-linkage listener is named as that system on the wrong listener', async () => {
    const seqBefore = a.app.parts.auditLog!.head().seq;
    expect(await refusal(mqttUrl('linkage-dev'), { clientId: 'term-01', username: 'term-01', password: password('term-01') })).toBe(5);
    const denial = await until(
      async () => (await a.app.parts.auditLog!.query({ action: 'broker.denial' })).find((e) => e.seq > seqBefore),
      10_000,
      'the denial in the audit log',
    );
    const detail = denial.event.detail as { detail: string; systemId: string | null };
    expect(detail.systemId).toBe('term-01');
    expect(detail.detail).toBe(
      'system term-01 (role terminal) is configured but connected on the wrong listener: linkage-dev serves the number-linkage segment only; connect on a local listener',
    );
    const logged = await until(
      () =>
        readFileSync(LOG, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { msg: string; denial?: { systemId: string | null; detail: string } })
          .find((l) => l.denial?.detail === detail.detail),
      10_000,
      'the log line',
    );
    expect(logged.denial!.systemId).toBe('term-01');
    await page.goto(`${a.url}/audit?action=broker.denial`);
    const row = await page.locator('#audit-records tbody tr').first().locator('td').allInnerTexts();
    expect(row[2]).toBe('term-01 (システム)');
    expect(row[6]).toBe(
      'システム term-01 (役割 terminal) は登録済みですが、接続した待受が違います: linkage-dev は番号連携セグメント専用です。ローカルの待受に接続してください',
    );
  });

  it('the audit page fits a 1366 px screen', async () => {
    await page.goto(`${a.url}/audit`);
    await page.screenshot({ path: join(SHOTS, 'audit-1366.png'), fullPage: true });
    const rows = await page.locator('#audit-records tbody tr').count();
    expect(rows).toBeGreaterThan(8);
    const width = await page.locator('html').evaluate((html) => html.scrollWidth);
    expect(width).toBeLessThanOrEqual(1366);
    // The entries of this trial read in Japanese too (codes, ids and role names aside).
    const details = await page.locator('#audit-records tbody tr td:nth-child(7)').allInnerTexts();
    expect(details.flatMap((d) => englishWords(d, ['terminal']))).toEqual([]);
  });

  it('the upstream link form sets, shows and checks the TLS files of a link', async () => {
    const ca = join(a.dataDir, 'dev-ca', 'ca.pem');
    const key = join(a.dataDir, 'dev-ca', 'ca-key.pem');
    await page.goto(`${a.url}/links`);
    // Only the CA: the certificate and key of the link are named as missing.
    await page.fill('#up-name', 'pref');
    await page.fill('#up-url', 'mqtts://127.0.0.1:8883');
    await page.fill('#up-nodes', 'pref:240001');
    await page.fill('#up-tls-ca', ca);
    await page.click('#link-save');
    await expect(page.locator('[data-field-error="tls.cert"]').innerText()).resolves.toBe(
      'TLS のクライアント証明書のファイルがありません (CA、証明書、鍵の 3 つすべてが必要です)',
    );
    await expect(page.locator('[data-field-error="tls.key"]').count()).resolves.toBe(1);
    // A file that is not there is named with its path.
    await page.fill('#up-tls-cert', join(a.dataDir, 'no-such.pem'));
    await page.fill('#up-tls-key', key);
    await page.click('#link-save');
    await expect(page.locator('[data-field-error="tls.cert"]').innerText()).resolves.toContain(join(a.dataDir, 'no-such.pem'));
    expect((await a.app.parts.versions!.current()).config.upstreams).toEqual([]);
    // TLS files on a plain URL: the URL is named.
    await page.fill('#up-tls-cert', ca);
    await page.fill('#up-url', 'mqtt://127.0.0.1:1883');
    await page.click('#link-save');
    await expect(page.locator('[data-field-error="url"]').innerText()).resolves.toBe(
      'TLS のファイルが指定されていますが、URL が mqtts:// (または ssl://) ではありません',
    );
    const refusals = await a.app.parts.auditLog!.query({ action: 'upstream.upsert', outcome: 'refused' });
    expect(refusals.map((e) => JSON.stringify(e.event.detail))).toEqual([
      expect.stringContaining('no TLS client certificate file given'),
      expect.stringContaining(`cannot read ${join(a.dataDir, 'no-such.pem')}: ENOENT`),
      expect.stringContaining('TLS files are set but the URL is not mqtts://'),
    ]);
    expect((await a.app.parts.versions!.current()).config.upstreams).toEqual([]);
    await page.fill('#up-url', 'mqtts://127.0.0.1:8883');
    await page.click('#link-save');
    await expect(page.locator('.flash').innerText()).resolves.toMatch(/^上位接続 pref を保存しました/);
    expect((await a.app.parts.versions!.current()).config.upstreams).toEqual([
      { name: 'pref', url: 'mqtts://127.0.0.1:8883', nodes: ['pref:240001'], tls: { ca, cert: ca, key } },
    ]);
    await page.goto(`${a.url}/links?edit=pref`);
    await expect(page.locator('#up-tls-ca').inputValue()).resolves.toBe(ca);
    await expect(page.locator('#up-tls-key').inputValue()).resolves.toBe(key);
  });
});
