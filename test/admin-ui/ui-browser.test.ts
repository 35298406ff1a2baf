// The admin UI in a real browser (Debian's Chromium via playwright-core) over real components, in
// English (each account switches to it; the login page follows the browser's language): the Japanese
// default is covered page by page in ui-i18n-browser.test.ts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createDevCa, loadDevCa, signCsr } from '../../hsm/dev-ca.js';
import { toPem } from '../../hsm/index.js';
import { launchChromium } from '../helpers/browser.js';
import { closed, connectClient, endClient, refusal } from '../helpers/mqtt.js';
import { startUiFixture, type UiFixture } from './ui-fixture.js';
import { nowIso, uuidv7 } from '../../platform/envelope.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/until.js';
import { tempDir } from '../helpers/tmp.js';

// Screenshots go to a temporary directory; `npm run screenshots` points them at docs/ui.
const shotsTmp = process.env.JUKIGW_SCREENSHOTS ? undefined : tempDir('jukigw-shots-');
const SHOTS = join(process.env.JUKIGW_SCREENSHOTS ?? shotsTmp!.path, 'en');
const ADMIN_PASSWORD = 'correct horse battery staple 7';

let f: UiFixture;
let browser: Browser;
let admin: BrowserContext;
let page: Page;

/** Every URL any page requested, and every CSP violation or script error Chromium reported. */
const requested: string[] = [];
const browserProblems: string[] = [];
function watched(ctx: BrowserContext): BrowserContext {
  ctx.on('request', (r) => {
    requested.push(r.url());
  });
  ctx.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) browserProblems.push(m.text());
  });
  ctx.on('weberror', (e) => {
    browserProblems.push(e.error().message);
  });
  return ctx;
}

async function newContext(opts: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
  return watched(await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, locale: 'en-US', ...opts }));
}

async function login(p: Page, user: string, password: string): Promise<void> {
  await p.goto(`${f.url}/login`);
  await p.fill('#username', user);
  await p.fill('#password', password);
  await Promise.all([p.waitForNavigation(), p.click('#login')]);
}

/** Every state-changing form of the page carries its CSRF token (the server refuses it otherwise). */
async function expectCsrfOnEveryForm(p: Page): Promise<void> {
  const forms = await p.locator('form').evaluateAll((fs) =>
    fs.map((f) => ({
      action: f.getAttribute('action'),
      method: (f.getAttribute('method') ?? 'get').toLowerCase(),
      csrf: f.querySelector('input[type="hidden"][name="_csrf"]')?.getAttribute('value') ?? '',
    })),
  );
  for (const f of forms.filter((x) => x.method === 'post')) expect(f.csrf, `form ${f.action}`).toMatch(/^[A-Za-z0-9_-]{32}$/);
}

async function shot(p: Page, name: string): Promise<void> {
  await expectCsrfOnEveryForm(p);
  shotPaths.add(new URL(p.url()).pathname);
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
const shotPaths = new Set<string>();

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  f = await startUiFixture();
  browser = await launchChromium({ ignoreCertificateErrors: true });
  admin = await newContext();
  page = await admin.newPage();
});

afterAll(async () => {
  await browser?.close();
  await f?.close();
  shotsTmp?.cleanup();
});

describe('admin UI in Chromium', () => {
  it('first login with the one-time password forces a password change', async () => {
    expect(f.firstPassword).toMatch(/^[A-Za-z0-9]{20}$/);
    await page.goto(f.url);
    expect(new URL(page.url()).pathname).toBe('/login');
    await shot(page, 'login');
    await login(page, 'admin', f.firstPassword);
    expect(new URL(page.url()).pathname, (await page.locator('main').textContent()) ?? '').toBe('/password');
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('ja');
    // The display language can be chosen before the forced change, to read that page.
    await page.selectOption('#lang', 'en');
    await page.click('#lang-save');
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('en');
    await expect(page.locator('.flash').textContent()).resolves.toBe('Display language saved.');
    await expect(page.locator('#must-change').isVisible()).resolves.toBe(true);
    // Other pages stay closed until the password is changed.
    await page.goto(`${f.url}/config`);
    expect(new URL(page.url()).pathname).toBe('/password');
    // Too short a password is refused at its field.
    await page.fill('#current', f.firstPassword);
    await page.fill('#next', 'short');
    await page.fill('#repeat', 'short');
    await page.click('#change-password');
    await expect(page.locator('[data-field-error="next"]').textContent()).resolves.toContain('at least 12 characters');
    await shot(page, 'password');
    await page.fill('#current', f.firstPassword);
    await page.fill('#next', ADMIN_PASSWORD);
    await page.fill('#repeat', ADMIN_PASSWORD);
    await page.click('#change-password');
    expect(new URL(page.url()).pathname).toBe('/');
    await expect(page.locator('.flash').textContent()).resolves.toContain('Password changed');
    // The one-time password no longer works.
    const other = await newContext();
    const p2 = await other.newPage();
    await login(p2, 'admin', f.firstPassword);
    await expect(p2.locator('.flash.error').textContent()).resolves.toContain('Wrong user name or password');
    await other.close();
    expect((await f.auditRecords()).some((a) => a.action === 'password.change' && a.outcome === 'ok' && a.actor === 'admin')).toBe(true);
  });

  it('locks an account after 5 failures for 15 minutes, even for the right password', async () => {
    await page.goto(`${f.url}/accounts`);
    await page.fill('#acct-name', 'clerk');
    await page.selectOption('#acct-role', 'monitor');
    await page.selectOption('#acct-lang', 'en');
    await page.fill('#acct-password', 'initial password 12345');
    await page.click('#acct-create');
    await expect(page.locator('[data-account="clerk"]').isVisible()).resolves.toBe(true);
    const ctx = await newContext();
    const p = await ctx.newPage();
    for (let i = 0; i < 5; i++) await login(p, 'clerk', `wrong password ${i}`);
    await expect(p.locator('.flash.error').textContent()).resolves.toContain('locked');
    await login(p, 'clerk', 'initial password 12345');
    await expect(p.locator('.flash.error').textContent()).resolves.toContain('locked');
    expect(new URL(p.url()).pathname).toBe('/login');
    await ctx.close();
    expect((await f.auditRecords()).filter((a) => a.action === 'login' && a.actor === 'clerk' && a.outcome === 'refused').length).toBe(6);
    await page.goto(`${f.url}/accounts`);
    await expect(page.locator('[data-account="clerk"]').textContent()).resolves.toContain('locked until');
    await shot(page, 'accounts');
  });

  it('adds a local system, which then connects and shows on the dashboard', async () => {
    process.env.JUKIGW_TEST_PW_RR02 = 'rr-02 loopback password';
    // A system already connected must stay connected through the change (applied live, point 4).
    const rr01 = await connectClient(f.plainUrl(), { clientId: 'rr-01', username: 'rr-01', password: 'rr-01 loopback password' });
    let rr01Closed = false;
    rr01.on('close', () => {
      rr01Closed = true;
    });
    await page.goto(`${f.url}/systems`);
    await page.fill('#sys-id', 'rr-02');
    await page.selectOption('#sys-role', 'resident-register');
    await page.fill('#sys-desc', '住民基本台帳システム (予備機)');
    await page.fill('#sys-pwenv', 'JUKIGW_TEST_PW_RR02');
    await page.click('#system-save');
    await expect(page.locator('.flash').textContent()).resolves.toContain('System rr-02 saved');
    await expect(page.locator('[data-system="rr-02"]').textContent()).resolves.toContain('offline');
    const v = await f.versions.current();
    expect(v.config.systems.find((s) => s.id === 'rr-02')).toMatchObject({
      role: 'resident-register',
      password: { env: 'JUKIGW_TEST_PW_RR02' },
    });
    expect(v.text).toContain('# juki-gw test appliance'); // comments survive the edit
    const client = await connectClient(f.plainUrl(), { clientId: 'rr-02', username: 'rr-02', password: 'rr-02 loopback password' });
    try {
      await page.goto(f.url);
      const row = page.locator('#connected [data-client="rr-02"] td');
      await expect(row.allTextContents()).resolves.toEqual([
        'rr-02',
        'rr-02',
        'resident-register',
        'local-dev',
        expect.stringMatching(/^20\d\d-/),
      ]);
      await page.goto(`${f.url}/systems`);
      await expect(page.locator('[data-system="rr-02"]').textContent()).resolves.toContain('connected');
      await shot(page, 'systems');
      for (let i = 0; i < 3; i++)
        await client.publishAsync('req/identity.update', JSON.stringify({ v: 1, id: `x-${i}`, type: 'identity.update', body: {} }), {
          qos: 1,
        });
      await page.goto(f.url);
      await expect(page.locator('#rate-chart').getAttribute('aria-label')).resolves.toMatch(/: [1-9]\d* in/);
      // One point per minute of the last hour, for inbound and outbound.
      for (const pl of await page.locator('#rate-chart polyline').all())
        expect((await pl.getAttribute('points'))!.split(' ')).toHaveLength(60);
      await expect(page.locator('#connected [data-client="rr-01"]').count()).resolves.toBe(1);
      expect(rr01Closed).toBe(false);
      expect(rr01.connected).toBe(true);
      // Every card of the dashboard shows real figures, the links' too (the fixture runs the uplink).
      expect(await page.locator('main [data-na]').count()).toBe(0);
      await expect(page.locator('#links [data-link="sim"] [data-state]').getAttribute('data-state')).resolves.toBe('up');
      await expect(page.locator('#queues tr:has-text("juki-net") td').allTextContents()).resolves.toEqual(['juki-net', '0', '—', '1']);
      await expect(page.locator('#alarms').textContent()).resolves.toContain('juki-net: 1 dead letter(s)');
      await expect(page.locator('#token').textContent()).resolves.toMatch(/ready software/);
      await expect(page.locator('#certs tbody tr').count()).resolves.toBeGreaterThanOrEqual(2);
      await expect(page.locator('#certs').textContent()).resolves.toMatch(/signing key.*trust anchor/);
      await expect(page.locator('#disk').textContent()).resolves.toMatch(/free of \d/);
      await shot(page, 'dashboard');
    } finally {
      await endClient(client);
      await endClient(rr01);
    }
  });

  it("shows each upstream link's state, queue depth and oldest age from the running uplink; a link goes down when its broker stops", async () => {
    const linkCells = (name: string) => page.locator(`#links [data-link="${name}"] td`).allTextContents();
    const linkState = (name: string) => page.locator(`#links [data-link="${name}"] [data-state]`).getAttribute('data-state');
    await page.goto(f.url);
    await expect(linkState('sim')).resolves.toBe('up');
    // `juki-net` is unreachable from here and `closed` refuses: both down, with the reason.
    await expect(linkState('juki-net')).resolves.toBe('down');
    await expect(linkState('closed')).resolves.toBe('down');
    expect((await linkCells('closed'))[1]).toMatch(/ECONNREFUSED/);
    expect((await linkCells('sim')).slice(2)).toEqual(['0', '—']);

    await f.mosquitto.stop();
    await until(() => f.uplink.linkStatus().find((l) => l.name === 'sim')?.state !== 'up', 5000, 'link sim down');
    // A reply for the card node waits in the link's queue while it is down (replies need no upstream ack).
    const b = f.db.batch();
    const seq = f.outbox.enqueue(b, {
      v: 1,
      id: uuidv7(),
      type: 'card.delivery.result',
      from: 'lg:242012',
      to: 'card',
      at: nowIso(),
      corr: uuidv7(),
      body: {},
    });
    await f.outbox.commit(b);
    await new Promise((r) => setTimeout(r, 600));
    await page.goto(f.url);
    await expect(linkState('sim')).resolves.toBe('down');
    const down = await linkCells('sim');
    expect(down.slice(2)).toEqual(['1', expect.stringMatching(/^[1-9]\d* s$/)]);
    expect(f.uplink.queueStats().sim).toMatchObject({ depth: 1 });
    await expect(page.locator('#alarms').textContent()).resolves.toContain('sim disconnected: down since');

    await f.mosquitto.start();
    await until(
      async () =>
        f.uplink.linkStatus().find((l) => l.name === 'sim')?.state === 'up' && (await f.outbox.list()).every((e) => e.seq !== seq),
      10_000,
      'link sim up and drained',
    );
    await page.goto(f.url);
    await expect(linkState('sim')).resolves.toBe('up');
    expect((await linkCells('sim')).slice(2)).toEqual(['0', '—']);
    expect(await f.outbox.list({ dead: true })).toEqual([expect.objectContaining({ link: 'juki-net' })]);
  });

  it('disables a local system: its connection is closed and it is refused afterwards, others stay', async () => {
    const rr02 = await connectClient(f.plainUrl(), {
      clientId: 'rr-02',
      username: 'rr-02',
      password: 'rr-02 loopback password',
      reconnectPeriod: 0,
    });
    const rr01 = await connectClient(f.plainUrl(), { clientId: 'rr-01', username: 'rr-01', password: 'rr-01 loopback password' });
    let rr01Closed = false;
    rr01.on('close', () => {
      rr01Closed = true;
    });
    const gone = closed(rr02);
    await page.goto(`${f.url}/systems`);
    await page.click('[data-system="rr-02"] button:text("disable")');
    await expect(page.locator('.flash').textContent()).resolves.toContain('System rr-02 disabled');
    await expect(page.locator('[data-system="rr-02"]').textContent()).resolves.toContain('disabled');
    expect((await f.versions.current()).config.systems.find((s) => s.id === 'rr-02')?.enabled).toBe(false);
    await gone;
    expect(
      await refusal(f.plainUrl(), { clientId: 'rr-02', username: 'rr-02', password: 'rr-02 loopback password', reconnectPeriod: 0 }),
    ).toBe(5);
    expect(rr01Closed).toBe(false);
    await endClient(rr01);
    expect(
      (await f.auditRecords()).some(
        (a) => a.action === 'system.disable' && a.target === 'rr-02' && a.outcome === 'ok' && a.actor === 'admin',
      ),
    ).toBe(true);
  });

  it('shows a configuration error at the field that is wrong, and applies nothing', async () => {
    const before = await f.versions.current();
    await page.goto(`${f.url}/config`);
    const text = before.text.replace('maxPayloadBytes: 1048576', 'maxPayloadBytes: 10');
    await page.fill('#config-text', text);
    await page.click('#config-apply');
    const problem = page.locator('#config-problems [data-path="limits.maxPayloadBytes"]');
    await expect(problem.textContent()).resolves.toMatch(/limits\.maxPayloadBytes \(line \d+\)/);
    const line = text.split('\n').findIndex((l) => l.includes('maxPayloadBytes: 10')) + 1;
    await expect(page.locator(`#config-source span[data-line="${line}"]`).getAttribute('class')).resolves.toBe('err');
    expect((await f.versions.current()).version).toBe(before.version);
    await shot(page, 'config-error');
    // The structured system form marks its own field.
    await page.goto(`${f.url}/systems`);
    await page.fill('#sys-id', 'bad id!');
    await page.click('#system-save');
    await expect(page.locator('[data-field-error="id"]').textContent()).resolves.toContain('expected 1-64 characters');
    await expect(page.locator('#sys-id').getAttribute('class')).resolves.toBe('invalid');
  });

  it('applies a valid change as a new version, shows the diff and rolls back', async () => {
    const before = await f.versions.current();
    await page.goto(`${f.url}/config`);
    await page.fill('#config-text', before.text.replace('maxPayloadBytes: 1048576', 'maxPayloadBytes: 2097152'));
    await page.fill('#comment', 'larger payloads for bulk transfer');
    await page.click('#config-apply');
    await expect(page.locator('.flash').textContent()).resolves.toContain(`Version ${before.version + 1} applied. Live: limits.`);
    await page.click(`[data-version="${before.version + 1}"] a:text("diff")`);
    await expect(page.locator('#diff span.add').textContent()).resolves.toContain('maxPayloadBytes: 2097152');
    await expect(page.locator('#diff span.del').textContent()).resolves.toContain('maxPayloadBytes: 1048576');
    await shot(page, 'config-diff');
    await page.goto(`${f.url}/config`);
    await page.click(`[data-version="${before.version}"] button`);
    await expect(page.locator('.flash').textContent()).resolves.toContain(`Rolled back`);
    const now = await f.versions.current();
    expect(now.version).toBe(before.version + 2);
    expect(now.text).toBe(before.text);
    await shot(page, 'config');
  });

  it('applies a listener change from the configuration page: only that listener restarts, other clients stay', async () => {
    const [port2, port3] = [await freePort(), await freePort()];
    const base = (await f.versions.current()).text;
    const localDev = base.split('\n').find((l) => l.includes('name: local-dev'))!;
    const withSecond = base
      .replace(localDev, `${localDev}\n  - { name: second, type: plain, host: 127.0.0.1, port: ${port2} }`)
      .replace('systems:\n', 'systems:\n  - { id: rr-03, role: resident-register, password: { env: JUKIGW_TEST_PW_RR01 } }\n');
    const apply = async (text: string) => {
      await page.goto(`${f.url}/config`);
      await page.fill('#config-text', text);
      await page.click('#config-apply');
      return page.locator('.flash').textContent();
    };
    await expect(apply(withSecond)).resolves.toMatch(/applied\. Live: systems\. Listeners restarted: second\.$/);
    const login = (id: string) => ({ clientId: id, username: id, password: 'rr-01 loopback password', reconnectPeriod: 0 });
    const onFirst = await connectClient(f.plainUrl(), login('rr-01'));
    const onSecond = await connectClient(`mqtt://127.0.0.1:${port2}`, login('rr-03'));
    let firstClosed = false;
    onFirst.on('close', () => {
      firstClosed = true;
    });
    const secondGone = closed(onSecond);
    await expect(
      apply(withSecond.replace(`port: ${port2}`, `port: ${port3}`).replace('maxPayloadBytes: 1048576', 'maxPayloadBytes: 1048000')),
    ).resolves.toMatch(/applied\. Live: limits\. Listeners restarted: second\.$/);
    await secondGone;
    expect(await refusal(`mqtt://127.0.0.1:${port2}`, login('rr-03'))).toBe('closed');
    const moved = await connectClient(`mqtt://127.0.0.1:${port3}`, login('rr-03'));
    expect(firstClosed).toBe(false);
    expect(onFirst.connected).toBe(true);
    await endClient(moved);
    await endClient(onFirst);
    // Back to the configuration the other tests expect (a new version, applied the same way).
    await expect(apply(base)).resolves.toMatch(/Listeners restarted: second\.$/);
  });

  it('retries a dead letter from the queue page', async () => {
    await page.goto(`${f.url}/queues`);
    await expect(page.locator('[data-queue="juki-net"]').textContent()).resolves.toContain('1');
    await shot(page, 'queues');
    await page.click('[data-queue="juki-net"] a');
    await expect(page.locator(`[data-dead="${f.deadSeq}"]`).textContent()).resolves.toContain('rejected by the upstream');
    await shot(page, 'queue');
    await page.click(`[data-retry="${f.deadSeq}"]`);
    await expect(page.locator('.flash').textContent()).resolves.toContain('queued for another attempt');
    await expect(page.locator('[data-dead]').count()).resolves.toBe(0);
    expect(await f.outbox.list({ dead: true })).toHaveLength(0);
    const queued = await f.outbox.list();
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ attempts: 0, link: 'juki-net', type: 'identity.notify' });
    // The dashboard shows the queued message with its age, and no dead letter any more.
    await page.goto(f.url);
    const cells = await page.locator('#queues tr:has-text("juki-net") td').allTextContents();
    expect(cells).toEqual(['juki-net', '1', expect.stringMatching(/^\d+ (s|min)$/), '0']);
    expect((await f.auditRecords()).some((a) => a.action === 'queue.retry' && a.outcome === 'ok')).toBe(true);
  });

  it('refuses a form post without the CSRF token', async () => {
    const before = await f.versions.current();
    const r = await page.request.post(`${f.url}/systems`, {
      form: { id: 'evil-01', role: 'terminal', description: 'x', enabled: '1' },
      maxRedirects: 0,
    });
    expect(r.status()).toBe(403);
    expect(await r.text()).toContain('did not carry a valid form token');
    const wrong = await page.request.post(`${f.url}/systems`, {
      form: { _csrf: 'A'.repeat(32), id: 'evil-01', role: 'terminal' },
      maxRedirects: 0,
    });
    expect(wrong.status()).toBe(403);
    expect((await f.versions.current()).version).toBe(before.version);
    expect(
      (await f.auditRecords()).filter((a) => a.action === 'request.csrf' && a.target === 'POST /systems' && a.outcome === 'refused').length,
    ).toBe(2);
  });

  it('refuses an administrator action to a monitor, and records the attempt', async () => {
    await page.goto(`${f.url}/accounts`);
    await page.fill('#acct-name', 'watcher');
    await page.selectOption('#acct-role', 'monitor');
    await page.selectOption('#acct-lang', 'en');
    await page.fill('#acct-password', 'first pass for monitor 2026');
    await page.click('#acct-create');
    const ctx = await newContext();
    const p = await ctx.newPage();
    await login(p, 'watcher', 'first pass for monitor 2026');
    await p.fill('#current', 'first pass for monitor 2026');
    await p.fill('#next', 'the monitor sees only 42');
    await p.fill('#repeat', 'the monitor sees only 42');
    await p.click('#change-password');
    expect(new URL(p.url()).pathname).toBe('/');
    await expect(p.locator('nav').textContent()).resolves.not.toContain('Accounts');
    await p.goto(`${f.url}/systems`);
    await expect(p.locator('#system-form').count()).resolves.toBe(0);
    // A forged post with the monitor's own valid CSRF token: authorised by role, not by hidden buttons.
    const csrf = await p.locator('input[name="_csrf"]').first().getAttribute('value');
    const before = await f.versions.current();
    const r = await p.request.post(`${f.url}/systems/rr-01/disable`, { form: { _csrf: csrf! }, maxRedirects: 0 });
    expect(r.status()).toBe(403);
    expect(await r.text()).toContain('may not do this');
    expect((await f.versions.current()).version).toBe(before.version);
    const acc = await p.goto(`${f.url}/accounts`);
    expect(acc?.status()).toBe(403);
    await shot(p, 'forbidden');
    await ctx.close();
    expect((await f.auditRecords()).some((a) => a.action === 'system.disable' && a.actor === 'watcher' && a.outcome === 'refused')).toBe(
      true,
    );
  });

  it('serves the JSON API with an API token and the same authorisation', async () => {
    await page.goto(`${f.url}/accounts`);
    await page.selectOption('#tok-user', 'watcher');
    await page.fill('#tok-label', 'monitoring');
    await page.click('#api-tokens button:text("Create API token")');
    const token = await page.locator('#new-token').textContent();
    expect(token).toMatch(/^jgw_[0-9a-f]{12}\./);
    const api = await browser.newContext({ ignoreHTTPSErrors: true, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
    const status = await api.request.get(`${f.url}/api/v1/status`);
    expect(status.status()).toBe(200);
    const body = await status.json();
    expect(body.queues).toContainEqual({ name: 'juki-net', depth: 1, oldestAgeMs: expect.any(Number), deadLetters: 0 });
    expect(body.queues).toContainEqual({ name: 'sim', depth: 0, oldestAgeMs: null, deadLetters: 0 });
    expect(body.links).toContainEqual(expect.objectContaining({ name: 'sim', connected: true, queueDepth: 0 }));
    expect(body.links).toContainEqual(expect.objectContaining({ name: 'juki-net', connected: false, queueDepth: 1 }));
    const refused = await api.request.post(`${f.url}/api/v1/systems`, { data: { id: 'x-1', role: 'terminal' } });
    expect(refused.status()).toBe(403);
    const bad = await browser.newContext({ ignoreHTTPSErrors: true, extraHTTPHeaders: { authorization: 'Bearer jgw_000000000000.nope' } });
    expect((await bad.request.get(`${f.url}/api/v1/status`)).status()).toBe(401);
    await api.close();
    await bad.close();
  });

  it('filters the audit log and verifies its hash chain', async () => {
    await page.goto(`${f.url}/audit?actor=watcher`);
    await expect(page.locator('#audit-records').textContent()).resolves.toContain('system.disable');
    // The filter form: action and outcome together, every row matching both.
    await page.goto(`${f.url}/audit`);
    await page.fill('input[name="action"]', 'login');
    await page.selectOption('select[name="outcome"]', 'refused');
    await page.click('#audit-records >> xpath=preceding-sibling::form//button');
    expect(new URL(page.url()).searchParams.get('outcome')).toBe('refused');
    const rows = await page
      .locator('#audit-records tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.length).toBeGreaterThanOrEqual(7); // 6 against clerk, 1 for the one-time password reused
    expect(rows.every((r) => r[3] === 'login' && r[4] === 'refused')).toBe(true);
    await page.goto(`${f.url}/audit?verify=1`);
    await expect(page.locator('#verify-result').textContent()).resolves.toMatch(/^Chain intact: \d+ entries/);
    await shot(page, 'audit');
  });

  it('lets a security officer download a CSR for the signing key, and shows the trust anchors', async () => {
    await page.goto(`${f.url}/accounts`);
    await page.fill('#acct-name', 'officer');
    await page.selectOption('#acct-role', 'security');
    await page.selectOption('#acct-lang', 'en');
    await page.fill('#acct-password', 'first pass for keys 2026');
    await page.click('#acct-create');
    const ctx = await newContext();
    const p = await ctx.newPage();
    await login(p, 'officer', 'first pass for keys 2026');
    await p.fill('#current', 'first pass for keys 2026');
    await p.fill('#next', 'signing keys are mine 9');
    await p.fill('#repeat', 'signing keys are mine 9');
    await p.click('#change-password');
    await p.goto(`${f.url}/keys`);
    await expect(p.locator('main').textContent()).resolves.toContain('juki-gw development CA');
    await p.fill('[data-csr-subject="juki-gw-signing"]', 'CN=lg:242012, O=Tsu City');
    const [download] = await Promise.all([p.waitForEvent('download'), p.click('[data-csr-subject="juki-gw-signing"] + button')]);
    const csr = await download.path().then((x) => import('node:fs').then((fs) => fs.readFileSync(x, 'utf8')));
    expect(csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    // A second CA becomes a trust anchor: stored under dataDir/trust and listed in trust.anchors.
    const other = await createDevCa(join(f.dir, 'other-ca'), 'Mie prefecture test CA');
    const before = await f.versions.current();
    await p.fill('#anchor-pem', other.certPem);
    await p.click('#anchor-add');
    await expect(p.locator('.flash').textContent()).resolves.toContain('Trust anchor CN=Mie prefecture test CA');
    await expect(p.locator('main').textContent()).resolves.toContain('Mie prefecture test CA');
    const after = await f.versions.current();
    expect(after.version).toBe(before.version + 1);
    expect(after.author).toBe('officer');
    expect(after.config.trust.anchors).toHaveLength(2);
    await p.fill('#anchor-pem', 'not a certificate');
    await p.click('#anchor-add');
    await expect(p.locator('.flash.error').textContent()).resolves.toContain('no PEM certificate');
    await p.goto(`${f.url}/keys`);
    await shot(p, 'keys');
    // Not a configuration editor: the officer's apply is refused.
    const csrf = await p.locator('input[name="_csrf"]').first().getAttribute('value');
    expect(
      (await p.request.post(`${f.url}/config`, { form: { _csrf: csrf!, action: 'apply', text: 'x: 1' }, maxRedirects: 0 })).status(),
    ).toBe(403);
    await ctx.close();
    expect((await f.auditRecords()).some((a) => a.action === 'key.csr' && a.actor === 'officer' && a.outcome === 'ok')).toBe(true);
  });

  it('lets a security officer generate a key, download its CSR and import the certificate issued for it', async () => {
    const ctx = await newContext();
    const p = await ctx.newPage();
    await login(p, 'officer', 'signing keys are mine 9');
    await p.goto(`${f.url}/keys`);
    await p.fill('#key-label', 'juki-gw-signing-2027');
    await p.click('#key-generate');
    await expect(p.locator('.flash').textContent()).resolves.toMatch(/^Key juki-gw-signing-2027 ready on the token \(kid [\w-]+\)/);
    await p.fill('#csr-label', 'juki-gw-signing-2027');
    await p.fill('#csr-subject', 'CN=lg:242012, O=Tsu City');
    const [download] = await Promise.all([p.waitForEvent('download'), p.click('#csr-download')]);
    const csr = readFileSync(await download.path(), 'utf8');
    expect(csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    // The prefecture's CA (here the dev CA) certifies the request; the certificate goes back in.
    const ca = await loadDevCa(join(f.dir, 'dev-ca'));
    const issued = toPem(await signCsr(ca, csr, { kind: 'signing' }));
    await p.fill('#cert-label', 'juki-gw-signing-2027');
    await p.fill('#cert-pem', ca.certPem);
    await p.click('#cert-import');
    await expect(p.locator('.flash.error').textContent()).resolves.toContain('the certificate is not for the key "juki-gw-signing-2027"');
    await p.fill('#cert-label', 'juki-gw-signing-2027');
    await p.fill('#cert-pem', issued);
    await p.click('#cert-import');
    await expect(p.locator('.flash').textContent()).resolves.toContain('Certificate imported for juki-gw-signing-2027');
    expect(readFileSync(join(f.dir, 'hsm', 'juki-gw-signing-2027.cert.pem'), 'utf8')).toBe(issued);
    await ctx.close();
    const mine = (await f.auditRecords()).filter((a) => a.actor === 'officer' && a.target === 'juki-gw-signing-2027');
    expect(mine.map((a) => `${a.action}:${a.outcome}`).sort()).toEqual([
      'key.csr:ok',
      'key.generate:ok',
      'key.import-certificate:failed',
      'key.import-certificate:ok',
    ]);
  });

  it('runs a consistency check with a live progress bar and lists the differences', async () => {
    await page.goto(`${f.url}/consistency`);
    await page.click('#cs-start');
    await expect(page.locator('.flash').textContent()).resolves.toMatch(/Consistency check .+ started/);
    const progress = page.locator('#cs-progress progress');
    expect(Number(await progress.getAttribute('max'))).toBe(64);
    // The same-origin script reloads the page while the run goes on, until it is done.
    await page.waitForSelector('#cs-results', { timeout: 30_000 });
    await expect(page.locator('#cs-progress h2').textContent()).resolves.toContain('done');
    const rows = await page.locator('#cs-results tbody tr').allTextContents();
    expect(rows.filter((r) => r.includes('cs_only'))).toHaveLength(2);
    expect(rows.filter((r) => r.includes('server_only'))).toHaveLength(3);
    await shot(page, 'consistency');
  });

  it('tests upstream connections and edits a link with the error at the field', async () => {
    await page.goto(`${f.url}/links`);
    await page.click('#links tr:has-text("sim") button:text("test connection")');
    await expect(page.locator('.flash').textContent()).resolves.toMatch(
      /^sim: reachable — connected to mqtt:\/\/127\.0\.0\.1:\d+ \(CONNACK accepted\)/,
    );
    await page.click('#links tr:has-text("closed") button:text("test connection")');
    await expect(page.locator('.flash.error').textContent()).resolves.toMatch(/^closed: not reachable — .*ECONNREFUSED/);
    await page.click('#links tr:has-text("closed") a:text("edit")');
    await page.fill('#up-url', 'http://wrong');
    await page.click('form[action="/links"] button');
    await expect(page.locator('[data-field-error="url"]').textContent()).resolves.toContain('expected mqtt://host:port');
    await page.fill('#up-url', 'mqtts://10.30.0.11:8883');
    await page.click('form[action="/links"] button');
    await expect(page.locator('.flash').textContent()).resolves.toContain('Link closed saved');
    expect(f.versions.running().upstreams.find((u) => u.name === 'closed')?.url).toBe('mqtts://10.30.0.11:8883');
    await shot(page, 'links');
  });

  it('purges dead letters only after confirmation', async () => {
    const [entry] = await f.outbox.list();
    f.outbox.takeReady('juki-net', 10);
    await f.outbox.failed(entry!.seq, 'invalid_request: still rejected', { permanent: true });
    await page.goto(`${f.url}/queues/juki-net`);
    await page.click('#purge');
    await expect(page.locator('#purge-confirm').isVisible()).resolves.toBe(true);
    expect(await f.outbox.list({ dead: true })).toHaveLength(1);
    // A post without the confirmation field deletes nothing (and is recorded).
    const csrf = await page.locator('input[name="_csrf"]').first().getAttribute('value');
    const unconfirmed = await page.request.post(`${f.url}/queues/juki-net/purge`, { form: { _csrf: csrf! }, maxRedirects: 0 });
    expect(unconfirmed.status()).toBe(303);
    expect(await f.outbox.list({ dead: true })).toHaveLength(1);
    await page.click('#purge-confirm');
    await expect(page.locator('.flash').textContent()).resolves.toContain('1 dead letter(s) deleted from juki-net');
    expect(await f.outbox.list({ dead: true })).toHaveLength(0);
  });

  it('downloads a signed configuration backup and imports it as a new version', async () => {
    const before = await f.versions.current();
    await page.goto(`${f.url}/config`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#backup a')]);
    const file = await download.path();
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc.format).toBe('juki-gw-config-backup/1');
    await page.setInputFiles('#backup-file', file);
    await page.click('#backup button');
    await expect(page.locator('.flash').textContent()).resolves.toContain(`No change: version ${before.version} is already running`);
    // After a later change, importing the backup brings its configuration back as a new version.
    const changed = await f.versions.apply(
      before.text.replace(/maxPayloadBytes: \d+/, 'maxPayloadBytes: 524288'),
      { user: 'admin', role: 'admin', via: 'ui' },
      'smaller payloads',
    );
    expect(changed.ok).toBe(true);
    await page.goto(`${f.url}/config`);
    await page.setInputFiles('#backup-file', file);
    await page.click('#backup button');
    await expect(page.locator('.flash').textContent()).resolves.toContain(`Version ${before.version + 2} applied. Live: limits.`);
    const restored = await f.versions.current();
    expect(restored.version).toBe(before.version + 2);
    expect(restored.text).toBe(before.text);
    // A tampered backup is refused with the reason.
    doc.jws.signature = doc.jws.signature.slice(0, -4) + (doc.jws.signature.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    writeFileSync(file, JSON.stringify(doc));
    await page.setInputFiles('#backup-file', file);
    await page.click('#backup button');
    await expect(page.locator('.flash.error').textContent()).resolves.toContain('Import refused: (backup): signature does not verify');
    expect((await f.versions.current()).version).toBe(restored.version);
  });

  it('issues a client certificate for a local system from the dev CA', async () => {
    await page.goto(`${f.url}/systems`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-system="term-01"] button:text("issue client certificate")'),
    ]);
    const pem = readFileSync(await download.path(), 'utf8');
    const cert = new X509Certificate(pem);
    expect(cert.subject).toContain('CN=term-01');
    expect(cert.issuer).toContain('juki-gw development CA');
    expect(pem).toContain('-----BEGIN PRIVATE KEY-----');
  });

  it('works without JavaScript: log in, edit a system, validate a configuration, purge with confirmation, follow a consistency run', async () => {
    const ctx = await newContext({ javaScriptEnabled: false });
    const p = await ctx.newPage();
    await login(p, 'admin', ADMIN_PASSWORD);
    expect(new URL(p.url()).pathname).toBe('/');
    await p.goto(`${f.url}/systems?edit=term-01`);
    await p.fill('#sys-desc', '統合端末 窓口1 (2F)');
    await p.click('#system-save');
    await expect(p.locator('[data-system="term-01"]').textContent()).resolves.toContain('統合端末 窓口1 (2F)');
    // Configuration: a problem is shown at its path, nothing applied.
    const before = await f.versions.current();
    await p.goto(`${f.url}/config`);
    const wrong = before.text.replace(/^municipalities: .*$/m, "municipalities: ['242013']");
    expect(wrong).not.toBe(before.text);
    await p.fill('#config-text', wrong);
    await p.click('#config-validate');
    await expect(p.locator('#config-problems [data-path="municipalities[0]"]').textContent()).resolves.toContain('check digit');
    expect((await f.versions.current()).version).toBe(before.version);
    // Queues: the purge confirmation is a server-rendered step, not a script dialog.
    const b = f.db.batch();
    const seq = f.outbox.enqueue(b, {
      v: 1,
      id: uuidv7(),
      type: 'identity.notify',
      from: 'lg:242012',
      to: 'pref:240001',
      at: nowIso(),
      corr: null,
      body: {},
    });
    await f.outbox.commit(b);
    f.outbox.takeReady('juki-net', 10);
    await f.outbox.failed(seq, 'invalid_request: rejected again', { permanent: true });
    await p.goto(`${f.url}/queues/juki-net`);
    await p.click('#purge');
    await p.click('#purge-confirm');
    await expect(p.locator('.flash').textContent()).resolves.toContain('1 dead letter(s) deleted from juki-net');
    // Consistency: the progress page reloads itself with a meta refresh until the run is done.
    await p.goto(`${f.url}/consistency`);
    await p.click('#cs-start');
    await expect(p.locator('meta[http-equiv="refresh"]').count()).resolves.toBe(1);
    await p.waitForSelector('#cs-results', { timeout: 30_000 });
    await expect(p.locator('#cs-progress h2').textContent()).resolves.toContain('done');
    await ctx.close();
  });

  it('recorded every change and every refused or failed attempt above in the hash-chained audit log', async () => {
    const seen = new Set((await f.auditRecords()).map((a) => `${a.action}:${a.outcome}`));
    const changes = [
      'account.first-admin',
      'password.change',
      'account.create',
      'api-token.create',
      'system.upsert',
      'system.disable',
      'system.certificate.issue',
      'config.apply',
      'config.rollback',
      'config.export',
      'config.import',
      'queue.retry',
      'queue.purge',
      'consistency.start',
      'upstream.upsert',
      'upstream.test',
      'key.generate',
      'key.csr',
      'key.import-certificate',
      'trust-anchor.add',
      'login',
      'audit.verify',
    ];
    expect(changes.filter((a) => !seen.has(`${a}:ok`))).toEqual([]);
    const attempts = [
      'login:refused',
      'request.csrf:refused',
      'password.change:refused',
      'system.disable:refused',
      'system.upsert:refused',
      'config.apply:refused',
      'config.import:refused',
      'upstream.upsert:refused',
      'upstream.test:failed',
      'key.import-certificate:failed',
      'trust-anchor.add:failed',
      'accounts.manage:refused',
      'queue.purge:refused',
    ];
    expect(attempts.filter((a) => !seen.has(a))).toEqual([]);
    await expect(f.auditLog.verify()).resolves.toMatchObject({ ok: true });
  });

  it('loaded everything from the appliance itself, with no CSP violation, and pictured every page', async () => {
    expect(requested.length).toBeGreaterThan(50);
    expect(requested.filter((u) => !u.startsWith(`${f.url}/`) && !u.startsWith('data:'))).toEqual([]);
    expect(requested).toContain(`${f.url}/static/app.css`);
    expect(requested).toContain(`${f.url}/static/app.js`);
    expect(browserProblems).toEqual([]);
    for (const path of [
      '/',
      '/systems',
      '/links',
      '/keys',
      '/queues',
      '/consistency',
      '/audit',
      '/config',
      '/accounts',
      '/login',
      '/password',
    ]) {
      expect(shotPaths, path).toContain(path);
    }
  });
});
