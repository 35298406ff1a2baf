// The admin UI in a real browser (Debian's Chromium via playwright-core) over real components.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { connectClient, endClient } from './helpers/mqtt.js';
import { startUiFixture, type UiFixture } from './ui-fixture.js';

const SHOTS = join(import.meta.dirname, '..', 'docs', 'ui');
const ADMIN_PASSWORD = 'correct horse battery staple 7';

let f: UiFixture;
let browser: Browser;
let admin: BrowserContext;
let page: Page;

async function newContext(): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, locale: 'ja-JP' });
}

async function login(p: Page, user: string, password: string): Promise<void> {
  await p.goto(`${f.url}/login`);
  await p.fill('#username', user);
  await p.fill('#password', password);
  await Promise.all([p.waitForNavigation(), p.click('#login')]);
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

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
});

describe('admin UI in Chromium', () => {
  it('first login with the one-time password forces a password change', async () => {
    expect(f.firstPassword).toMatch(/^[A-Za-z0-9]{20}$/);
    await page.goto(f.url);
    expect(new URL(page.url()).pathname).toBe('/login');
    await shot(page, 'login');
    await login(page, 'admin', f.firstPassword);
    expect(new URL(page.url()).pathname, await page.locator('main').textContent() ?? '').toBe('/password');
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
    expect(f.audit.some((a) => a.action === 'password.change' && a.outcome === 'ok' && a.actor === 'admin')).toBe(true);
  });

  it('locks an account after 5 failures for 15 minutes, even for the right password', async () => {
    await page.goto(`${f.url}/accounts`);
    await page.fill('#acct-name', 'clerk');
    await page.selectOption('#acct-role', 'monitor');
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
    expect(f.audit.filter((a) => a.action === 'login' && a.actor === 'clerk' && a.outcome === 'refused').length).toBe(6);
    await page.goto(`${f.url}/accounts`);
    await expect(page.locator('[data-account="clerk"]').textContent()).resolves.toContain('locked until');
    await shot(page, 'accounts');
  });
});
