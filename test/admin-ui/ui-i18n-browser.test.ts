// Every page of the admin UI in Chromium, in Japanese (the default) and in English (chosen per
// account): the html lang attribute, Japanese labels with no English or catalogue key left over,
// and every time shown in one zone (JST with its offset) in the same form on every page.
// Screenshots (Japanese) go to a temporary directory; `npm run screenshots` points them at docs/ui.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';
import { startUiFixture, type UiFixture } from './ui-fixture.js';
import { en } from '../../admin-ui/i18n/en.js';
import { ja } from '../../admin-ui/i18n/ja.js';

const shotsTmp = process.env.JUKIGW_SCREENSHOTS ? undefined : tempDir('jukigw-shots-');
const SHOTS = process.env.JUKIGW_SCREENSHOTS ?? shotsTmp!.path;
const PASSWORD = 'kanri password for i18n 7';
const JST = /^20\d\d-\d\d-\d\d \d\d:\d\d:\d\d JST \(\+09:00\)$/;
const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;
/** Labels that are the same in Japanese administrative screens (terms of the protocol, not words). */
const SAME_IN_BOTH = new Set(['#', 'kid', 'SHA-256', 'URL', 'ID']);
/** Names of the fixture's own things that happen to be English words of the catalogue (the link `closed`). */
const FIXTURE_NAMES = new Set(['closed']);

let f: UiFixture;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let configVersion: number;

/** The pages an administrator sees, each with the screenshot name it gets (ja). */
const PAGES: [path: () => string, shot?: string][] = [
  [() => '/', 'dashboard'],
  [() => '/systems', 'systems'],
  [() => '/systems?edit=rr-01'],
  [() => '/links', 'links'],
  [() => '/keys', 'keys'],
  [() => '/queues', 'queues'],
  [() => '/queues/juki-net', 'queue'],
  [() => '/queues/sim', 'queue-empty'],
  [() => '/consistency', 'consistency'],
  [() => '/jobs', 'jobs'],
  [() => '/audit?verify=1', 'audit'],
  [() => '/config', 'config'],
  [() => `/config/versions/${configVersion}`],
  [() => `/config/diff?from=${configVersion - 1}&to=${configVersion}`, 'config-diff'],
  [() => '/accounts', 'accounts'],
  [() => '/password', 'password'],
];

/** The page's own words: everything visible except data cells, source text and codes (ids, paths, YAML). */
const ownText = (p: Page): Promise<string> =>
  p.locator('body').evaluate((body) => {
    const copy = body.cloneNode(true);
    for (const e of copy.querySelectorAll('td, pre, textarea, code, option, script')) e.remove();
    return (copy as unknown as { innerText: string }).innerText;
  });

/** The visible strings of the English catalogue that Japanese pages must not show (as whole words). */
const englishOnly = Object.entries(en)
  .filter(
    ([k, v]) => typeof v === 'string' && v.length >= 3 && v !== ja[k as keyof typeof ja] && !SAME_IN_BOTH.has(v) && !FIXTURE_NAMES.has(v),
  )
  .map(([, v]) => ({ text: v as string, re: new RegExp(`(^|\\W)${(v as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|\\W)`) }));

/**
 * English texts of other components the UI translates (token warning, broker refusals, the appliance's
 * own audit details and comments): Japanese pages show none of them, data cells included.
 */
const COMPONENT_PREFIXES = ['token.warning.', 'detail.', 'config.comment.', 'systems.example', 'queue.none', 'actorKind.unknownClient'];
const componentEnglish = [
  ...Object.entries(en)
    .filter(([k, v]) => typeof v === 'string' && COMPONENT_PREFIXES.some((x) => k.startsWith(x)))
    .map(([, v]) => v as string),
  'not for production',
  'burst of failed logins',
  'reaches beyond',
  'client ID must equal',
  ' since ',
  ' parts',
  'signed by',
  'chain intact',
  'encrypted (',
  'bytes',
  'signed checkpoints',
];

async function expectPage(p: Page, lang: 'ja' | 'en', where: string): Promise<void> {
  expect(await p.locator('html').getAttribute('lang'), where).toBe(lang);
  const text = await ownText(p);
  const all = await p.locator('body').innerText();
  expect(all, `${where}: mojibake`).not.toContain('\uFFFD');
  // No catalogue key shown instead of its text (data cells may hold audit action names such as config.apply).
  expect(
    Object.keys(en).filter((k) => k.includes('.') && text.includes(k)),
    where,
  ).toEqual([]);
  // Times: one form, one zone, on every page; no raw ISO time outside data cells.
  for (const t of await p.locator('.time').allInnerTexts()) expect(t, `${where}: a time`).toMatch(JST);
  expect(text, where).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
  const labels = (await p.locator('h1, h2, th, label, button, nav a, header a, .flash, caption, .na').allInnerTexts())
    .map((s) => s.trim())
    .filter((s) => s && !SAME_IN_BOTH.has(s));
  expect(labels.length, where).toBeGreaterThan(0);
  if (lang === 'ja') {
    expect(
      englishOnly.filter((s) => s.re.test(text)).map((s) => s.text),
      `${where}: English left on a Japanese page`,
    ).toEqual([]);
    expect(
      componentEnglish.filter((s) => all.includes(s)),
      `${where}: a component's English text on a Japanese page`,
    ).toEqual([]);
    expect(
      labels.filter((s) => !JAPANESE.test(s)),
      `${where}: labels not in Japanese`,
    ).toEqual([]);
  } else {
    expect(
      labels.filter((s) => JAPANESE.test(s) && !s.includes('日本語')),
      `${where}: Japanese left on an English page`,
    ).toEqual([]);
  }
}

async function login(p: Page, user: string, password: string): Promise<void> {
  await p.goto(`${f.url}/login`);
  await p.fill('#username', user);
  await p.fill('#password', password);
  await Promise.all([p.waitForNavigation(), p.click('#login')]);
}

beforeAll(async () => {
  f = await startUiFixture();
  browser = await launchChromium({ ignoreCertificateErrors: true });
  ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, locale: 'ja-JP' });
  page = await ctx.newPage();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await f?.close();
  shotsTmp?.cleanup();
});

describe('admin UI in Japanese (default) and English (per account)', () => {
  it('speaks Japanese before login and to a new account, and refuses in Japanese', async () => {
    await page.goto(`${f.url}/login`);
    await expectPage(page, 'ja', '/login');
    await expect(page.locator('h1').innerText()).resolves.toBe('ログイン');
    await page.screenshot({ path: join(SHOTS, 'login.png'), fullPage: true });
    await login(page, 'admin', 'wrong password here');
    await expect(page.locator('.flash.error').innerText()).resolves.toBe('ユーザー名またはパスワードが正しくありません。');
    await expectPage(page, 'ja', '/login (refused)');
    await login(page, 'admin', f.firstPassword);
    expect(new URL(page.url()).pathname).toBe('/password');
    await expectPage(page, 'ja', '/password (forced)');
    await page.fill('#current', f.firstPassword);
    await page.fill('#next', 'short');
    await page.fill('#repeat', 'short');
    await page.click('#change-password');
    await expect(page.locator('[data-field-error="next"]').innerText()).resolves.toBe('12 文字以上にしてください');
    await page.fill('#current', f.firstPassword);
    await page.fill('#next', PASSWORD);
    await page.fill('#repeat', PASSWORD);
    await page.click('#change-password');
    await expect(page.locator('.flash').innerText()).resolves.toBe('パスワードを変更しました。');
  });

  it('shows every page in Japanese, every time in JST with its offset, the same time the same everywhere', async () => {
    // Some state for the pages: a refused and an applied configuration, a finished consistency run.
    await page.goto(`${f.url}/config`);
    const text = (await f.versions.current()).text;
    await page.fill('#config-text', text.replace('maxPayloadBytes: 1048576', 'maxPayloadBytes: 10'));
    await page.click('#config-apply');
    await expect(page.locator('#config-problems strong').innerText()).resolves.toBe('1 件の問題があります。何も適用していません。');
    await expect(page.locator('#config-problems [data-path="limits.maxPayloadBytes"]').innerText()).resolves.toMatch(
      /^limits\.maxPayloadBytes \(\d+ 行目\): /,
    );
    await expectPage(page, 'ja', '/config (problem)');
    await page.screenshot({ path: join(SHOTS, 'config-error.png'), fullPage: true });
    await page.fill('#config-text', text.replace('maxPayloadBytes: 1048576', 'maxPayloadBytes: 2097152'));
    await page.fill('#comment', '一括転送のため上限を拡大');
    await page.click('#config-apply');
    configVersion = (await f.versions.current()).version;
    await expect(page.locator('.flash').innerText()).resolves.toBe(`バージョン ${configVersion} を適用しました。 即時反映: limits。`);
    await page.goto(`${f.url}/consistency`);
    await page.click('#cs-start');
    await page.waitForSelector('#cs-results', { timeout: 30_000 });
    // Jobs: a backup and an audit verification, as `juki-gw backup create` and `audit verify` start them.
    const admin = { user: 'admin', role: 'admin', via: 'api' } as const;
    const jobs = [f.operations.startBackup({ passphrase: 'i18n backup passphrase' }, admin), f.operations.startAuditVerify({}, admin)];
    await until(() => jobs.every((j) => j.state === 'done'), 30_000, 'the backup and the verification');
    // Broker refusals as appliance/components/auditTrail.ts records them: an unknown client id, a wrong password.
    for (const [id, systemId, detail] of [
      ['my-app', null, 'client ID must equal the system ID term-01'],
      ['term-01', 'term-01', 'bad username or password'],
      [
        'term-01',
        'term-01',
        'system term-01: burst of failed logins over (successful login): 1 attempts, 1 passwords checked and wrong, 0 refused unchecked',
      ],
    ] as const) {
      await f.auditLog.append({
        actor: { kind: 'system', id },
        action: 'broker.denial',
        outcome: 'refused',
        code: 'auth',
        detail: { detail, listener: 'local-dev', remote: '127.0.0.1', topic: null, systemId },
      });
    }

    for (const [path, shot] of PAGES) {
      await page.goto(`${f.url}${path()}`);
      await expectPage(page, 'ja', path());
      if (shot) await page.screenshot({ path: join(SHOTS, `${shot}.png`), fullPage: true });
    }
    // The link state reads once; broker refusals show their address, an unknown client as such.
    await page.goto(f.url);
    await expect(page.locator('#links [data-link="sim"] td').nth(1).innerText()).resolves.toMatch(
      /^接続中（20\d\d-\d\d-\d\d \d\d:\d\d:\d\d JST \(\+09:00\) から）$/,
    );
    await page.goto(`${f.url}/links`);
    await expect(page.locator('tr[data-link="sim"] [data-state]').innerText()).resolves.toMatch(
      /^接続中（20\d\d-\d\d-\d\d \d\d:\d\d:\d\d JST \(\+09:00\) から）$/,
    );
    await page.goto(`${f.url}/audit`);
    const denials = await page
      .locator('#audit-records tr:has-text("broker.denial")')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(denials.map((r) => [r[2], r[6], r[7]])).toEqual([
      [
        'term-01 (システム)',
        'システム term-01: ログイン失敗の連続が終了 (ログイン成功): 1回、パスワード照合で不一致 1回、照合せず拒否 0回',
        '127.0.0.1',
      ],
      ['term-01 (システム)', 'ユーザー名またはパスワードが正しくありません', '127.0.0.1'],
      ['my-app (未登録のクライアント)', 'クライアント ID はシステム ID term-01 と同じでなければなりません', '127.0.0.1'],
    ]);
    await page.goto(`${f.url}/queues/sim`);
    await expect(page.locator('#pending [data-empty]').innerText()).resolves.toBe('メッセージはありません。');
    await expect(page.locator('#pending table, #dead-letters table').count()).resolves.toBe(0);
    // The same moment reads the same on the history and on the version's own page.
    await page.goto(`${f.url}/config`);
    const inHistory = await page.locator(`[data-version="${configVersion}"] td.time`).innerText();
    expect(inHistory).toMatch(JST);
    const stored = (await f.versions.versions()).find((v) => v.version === configVersion)!.createdAt;
    expect(Date.parse(inHistory.replace(' JST (+09:00)', '+09:00').replace(' ', 'T'))).toBe(Math.floor(Date.parse(stored) / 1000) * 1000);
    await page.goto(`${f.url}/config/versions/${configVersion}`);
    await expect(page.locator('main p.muted').innerText()).resolves.toContain(inHistory);
    // The chart's axis is in the same zone; real upstreams are configured, so no simulation banner.
    await page.goto(f.url);
    await expect(page.locator('#simulated-banner').count()).resolves.toBe(0);
    await expect(page.locator('#rate-chart-zone').textContent()).resolves.toBe('JST (+09:00)');
    const ticks = await page
      .locator('#rate-chart [data-tick-ms]')
      .evaluateAll((ts) => ts.map((t) => [Number(t.getAttribute('data-tick-ms')), t.textContent]));
    expect(ticks).toHaveLength(5);
    for (const [ms, label] of ticks) expect(label).toBe(new Date(Number(ms) + 9 * 3_600_000).toISOString().slice(11, 16));
  });

  it('refuses a monitor in Japanese, on the page the monitor sees', async () => {
    await page.goto(`${f.url}/accounts`);
    await page.fill('#acct-name', 'kanshi');
    await page.selectOption('#acct-role', 'monitor');
    await page.fill('#acct-password', 'monitor first pass 2026');
    await page.click('#acct-create');
    await expect(page.locator('.flash').innerText()).resolves.toBe('アカウント kanshi を作成しました。');
    const other = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, locale: 'ja-JP' });
    const p = await other.newPage();
    await login(p, 'kanshi', 'monitor first pass 2026');
    await p.fill('#current', 'monitor first pass 2026');
    await p.fill('#next', 'monitor second pass 2026');
    await p.fill('#repeat', 'monitor second pass 2026');
    await p.click('#change-password');
    const r = await p.goto(`${f.url}/accounts`);
    expect(r?.status()).toBe(403);
    await expectPage(p, 'ja', '/accounts (forbidden)');
    await expect(p.locator('#forbidden').innerText()).resolves.toContain('監視者');
    await p.screenshot({ path: join(SHOTS, 'forbidden.png'), fullPage: true });
    await other.close();
  });

  it('switches the account to English: every page in English, with the same times', async () => {
    await page.goto(`${f.url}/config`);
    const jaTime = await page.locator(`[data-version="${configVersion}"] td.time`).innerText();
    await page.goto(`${f.url}/password`);
    await page.selectOption('#lang', 'en');
    await page.click('#lang-save');
    await expect(page.locator('.flash').innerText()).resolves.toBe('Display language saved.');
    mkdirSync(join(SHOTS, 'en'), { recursive: true });
    for (const [path] of PAGES) {
      await page.goto(`${f.url}${path()}`);
      await expectPage(page, 'en', path());
      // The English pages' screenshots come from test/admin-ui/ui-browser.test.ts, all but the Jobs page.
      if (path() === '/jobs') await page.screenshot({ path: join(SHOTS, 'en', 'jobs.png'), fullPage: true });
    }
    await page.goto(`${f.url}/config`);
    await expect(page.locator(`[data-version="${configVersion}"] td.time`).innerText()).resolves.toBe(jaTime);
    await expect(page.locator('nav').innerText()).resolves.toContain('Audit log');
    // The choice is the account's: a new session of the same account is in English too, the login page is not.
    await page.locator('#logout').click();
    await page.waitForURL(/\/login$/);
    await expectPage(page, 'ja', '/login (after logout, Japanese browser)');
    await login(page, 'admin', PASSWORD);
    await expectPage(page, 'en', '/ (English account)');
    // An unknown language is refused at its field, and the setting stays.
    const csrf = await page.locator('input[name="_csrf"]').first().getAttribute('value');
    const bad = await page.request.post(`${f.url}/password/language`, { form: { _csrf: csrf!, language: 'fr' }, maxRedirects: 0 });
    expect(bad.status()).toBe(422);
    expect(await bad.text()).toContain('data-field-error="language">unknown language &quot;fr&quot; (ja or en)<');
    await page.goto(f.url);
    await expectPage(page, 'en', '/ (still English)');
    // The JSON API stays language-neutral (ids and ISO times, no words of either catalogue).
    const status = await page.request.get(`${f.url}/api/v1/config/versions`);
    expect(JSON.stringify(await status.json())).toMatch(/"createdAt":"20\d\d-\d\d-\d\dT[\d:.]+Z"/);
  });

  it('shows an English browser the login page in English', async () => {
    const other = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US' });
    const p = await other.newPage();
    await p.goto(`${f.url}/login`);
    await expectPage(p, 'en', '/login (English browser)');
    await expect(p.locator('h1').innerText()).resolves.toBe('Log in');
    await other.close();
    expect(
      (await f.auditRecords())
        .filter((a) => a.action === 'account.language')
        .map((a) => [a.actor, a.outcome, a.detail])
        .sort(),
    ).toEqual([
      ['admin', 'ok', 'en'],
      ['admin', 'refused', 'unknown language "fr"'],
    ]);
  });
});
