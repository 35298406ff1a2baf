// Accounts, sessions, lockout, API tokens and the HTTP protections of the admin app (no browser).
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { createLogger } from '../../platform/log/logger.js';
import { openAuthStore, LOCKOUT_MS, type AuthStore } from '../../admin-ui/auth/store.js';
import { hashPassword, verifyPassword } from '../../admin-ui/auth/passwords.js';
import { createAdminApp, SESSION_COOKIE } from '../../admin-ui/app.js';
import { openConfigVersions } from '../../config/versions.js';
import { createSystemsService } from '../../admin-ui/adapters/systems.js';
import type { ApplianceServices, AuditEvent } from '../../admin-ui/services.js';
import { tempDir } from '../helpers/tmp.js';

// The real scrypt, counted: every login attempt must cost one, whether the name is an account or not.
vi.mock('../../admin-ui/auth/passwords.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../admin-ui/auth/passwords.js')>();
  return { ...real, verifyPassword: vi.fn(real.verifyPassword) };
});

let dir: ReturnType<typeof tempDir>;
let db: Db;
let clock = Date.parse('2026-04-01T09:00:00Z');
const now = () => clock;

beforeEach(async () => {
  dir = tempDir('jukigw-auth-');
  db = await openApplianceDb(join(dir.path, 'db'));
  clock = Date.parse('2026-04-01T09:00:00Z');
});
afterEach(async () => {
  await db.close();
  dir.cleanup();
});

describe('auth store', () => {
  it('hashes with scrypt and a per-password salt', async () => {
    const a = await hashPassword('twelve chars!!');
    const b = await hashPassword('twelve chars!!');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('twelve chars!!', a)).toBe(true);
    expect(await verifyPassword('twelve chars!?', a)).toBe(false);
  });

  it('creates the first admin once, with a one-time password that must be changed', async () => {
    const auth = await openAuthStore({ db, idleMinutes: 15, now });
    const pw = await auth.ensureFirstAdmin();
    expect(pw).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(await auth.ensureFirstAdmin()).toBeUndefined();
    const r = await auth.login('admin', pw!);
    expect(r.ok && r.session.mustChange).toBe(true);
    expect(await auth.changePassword('admin', pw!, 'short')).toBe('new password: at least 12 characters');
    expect(await auth.changePassword('admin', pw!, 'my admin password')).toBe('new password: must not contain the account name');
    const other = await auth.login('admin', pw!);
    if (!r.ok || !other.ok) throw new Error('login failed');
    expect(await auth.changePassword('admin', pw!, 'a good long passphrase', r.token)).toBeUndefined();
    expect((await auth.account('admin'))!.mustChange).toBe(false);
    expect(await auth.session(r.token)).toBeDefined();
    expect(await auth.session(other.token)).toBeUndefined(); // the other session ended with the change
  });

  it('locks after 5 failures for 15 minutes, then lets the right password in', async () => {
    const auth = await openAuthStore({ db, idleMinutes: 15, now });
    expect(await auth.createAccount('officer', 'security', 'officer pass 2026')).toBe('password: must not contain the account name');
    expect(await auth.createAccount('officer', 'security', 'correct horse 2026')).toBeUndefined();
    for (let i = 0; i < 4; i++) expect(await auth.login('officer', 'nope nope nope')).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(await auth.login('officer', 'nope nope nope')).toEqual({ ok: false, reason: 'locked', lockedUntil: clock + LOCKOUT_MS });
    expect((await auth.login('officer', 'correct horse 2026')).ok).toBe(false);
    clock += LOCKOUT_MS - 1000;
    expect((await auth.login('officer', 'correct horse 2026')).ok).toBe(false);
    clock += 2000;
    expect((await auth.login('officer', 'correct horse 2026')).ok).toBe(true);
  });

  it('locks an unknown name exactly like an account, and every attempt costs one scrypt either way', async () => {
    const auth = await openAuthStore({ db, idleMinutes: 15, now });
    await auth.createAccount('clerk', 'monitor', 'correct horse 2026');
    const scrypts = vi.mocked(verifyPassword);
    const answers: Record<string, unknown[]> = { clerk: [], 'no-such-clerk': [] };
    const costs: Record<string, number[]> = { clerk: [], 'no-such-clerk': [] };
    for (let i = 0; i < 7; i++) {
      for (const name of ['clerk', 'no-such-clerk']) {
        const before = scrypts.mock.calls.length;
        answers[name]!.push(await auth.login(name, `wrong guess ${i}`));
        costs[name]!.push(scrypts.mock.calls.length - before);
      }
    }
    expect(answers['no-such-clerk']).toEqual(answers.clerk);
    expect(answers.clerk!.slice(4)).toEqual([1, 2, 3].map(() => ({ ok: false, reason: 'locked', lockedUntil: clock + LOCKOUT_MS })));
    expect(costs).toEqual({ clerk: [1, 1, 1, 1, 1, 1, 1], 'no-such-clerk': [1, 1, 1, 1, 1, 1, 1] });
    // The block ends for both at the same time, and the count starts again.
    clock += LOCKOUT_MS + 1;
    expect(await auth.login('no-such-clerk', 'x')).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(await auth.login('clerk', 'x')).toEqual({ ok: false, reason: 'bad-credentials' });
  });

  it("keeps each account's display language: Japanese unless chosen otherwise, a wrong one refused", async () => {
    const auth = await openAuthStore({ db, idleMinutes: 15, now });
    expect(await auth.createAccount('kanri', 'admin', 'first password 2026')).toBeUndefined();
    expect(await auth.createAccount('eigo', 'admin', 'first password 2026', 'en')).toBeUndefined();
    expect(await auth.createAccount('other', 'admin', 'first password 2026', 'fr' as never)).toBe('language: unknown language');
    expect((await auth.account('kanri'))!.language).toBe('ja');
    const l = await auth.login('eigo', 'first password 2026');
    expect(l.ok && l.session.language).toBe('en');
    expect(await auth.setLanguage('kanri', 'en')).toBe(true);
    expect(await auth.setLanguage('nobody', 'en')).toBe(false);
    expect((await auth.account('kanri'))!.language).toBe('en');
  });

  it('expires idle sessions and sessions of disabled accounts', async () => {
    const auth = await openAuthStore({ db, idleMinutes: 15, now });
    await auth.createAccount('watch', 'monitor', 'monitoring screen 1');
    const r = await auth.login('watch', 'monitoring screen 1');
    if (!r.ok) throw new Error('login failed');
    clock += 14 * 60_000;
    expect(await auth.session(r.token)).toBeDefined();
    clock += 14 * 60_000; // activity above moved lastSeen
    expect(await auth.session(r.token)).toBeDefined();
    clock += 16 * 60_000;
    expect(await auth.session(r.token)).toBeUndefined();
    const r2 = await auth.login('watch', 'monitoring screen 1');
    if (!r2.ok) throw new Error('login failed');
    await auth.setDisabled('watch', true);
    expect(await auth.session(r2.token)).toBeUndefined();
    expect(await auth.login('watch', 'monitoring screen 1')).toEqual({ ok: false, reason: 'disabled' });
  });

  it('API tokens are shown once, stored hashed, and die with revocation', async () => {
    const auth = await openAuthStore({ db, idleMinutes: 15, now });
    await auth.createAccount('robot', 'monitor', 'automation only 1');
    const t = await auth.createApiToken('robot', 'nagios');
    expect(await auth.apiToken(t.token)).toEqual({ user: 'robot', role: 'monitor', id: t.id });
    expect(JSON.stringify(await auth.listApiTokens())).not.toContain(t.token.split('.')[1]);
    expect(await auth.apiToken(t.token.slice(0, -1) + (t.token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    await auth.revokeApiToken(t.id);
    expect(await auth.apiToken(t.token)).toBeUndefined();
  });
});

describe('admin app HTTP protections', () => {
  let auth: AuthStore;
  let app: ReturnType<typeof createAdminApp>;
  const events: AuditEvent[] = [];

  beforeEach(async () => {
    auth = await openAuthStore({ db, idleMinutes: 15 });
    const versions = await openConfigVersions({ db, initialText: "municipalities: ['242012']\n" });
    // Audit here is a plain list: these tests check what the app records, not the chain (see ui-browser).
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
    app = createAdminApp({ services, auth, logger: createLogger({ level: 'silent' }), idleMinutes: 15 });
    await auth.createAccount('boss', 'admin', 'first chief password 1');
    await auth.changePassword('boss', 'first chief password 1', 'second chief password 2');
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
    expect(r.status).toBe(303);
    const set = r.headers.getSetCookie().find((c) => c.startsWith(SESSION_COOKIE))!;
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/Secure/);
    expect(set).toMatch(/SameSite=Strict/);
    const cookie = set.split(';')[0]!;
    const page = await app.request('https://ui.test/systems', { headers: { cookie } });
    return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]! };
  }

  it('sends the security headers, with a CSP without inline script', async () => {
    const r = await app.request('https://ui.test/login');
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(await r.text()).not.toMatch(/<script>|style="/);
  });

  it('API calls with a session cookie need the X-CSRF-Token header; without login they get 401', async () => {
    const { cookie, csrf } = await session();
    expect((await app.request('https://ui.test/api/v1/systems')).status).toBe(401);
    expect((await app.request('https://ui.test/api/v1/systems', { headers: { cookie } })).status).toBe(200);
    const body = JSON.stringify({ id: 'term-09', role: 'terminal' });
    const no = await app.request('https://ui.test/api/v1/systems', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body,
    });
    expect(no.status).toBe(403);
    const yes = await app.request('https://ui.test/api/v1/systems', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body,
    });
    expect(yes.status).toBe(200);
    expect(((await yes.json()) as { version: { version: number } }).version.version).toBe(2);
    const bad = await app.request('https://ui.test/api/v1/config', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ text: "municipalities: ['242013']\n" }),
    });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { details: unknown }).details).toEqual([
      { path: 'municipalities[0]', problem: 'check digit does not match (全国地方公共団体コード)' },
    ]);
    expect(events.filter((e) => e.outcome === 'refused').map((e) => e.action)).toEqual(['request.csrf', 'config.apply']);
  });

  it('grants each of the four roles exactly its duties, on the API and the pages alike; every refusal audited', async () => {
    const roles = ['admin', 'security', 'auditor', 'monitor'] as const;
    const who: Record<string, { bearer: string; cookie: string; csrf: string }> = {};
    for (const role of roles) {
      const name = `op-${role}`;
      await auth.createAccount(name, role, 'first password of 2026');
      await auth.changePassword(name, 'first password of 2026', 'second password of 2026');
      const l = await auth.login(name, 'second password of 2026');
      if (!l.ok) throw new Error('login failed');
      who[role] = {
        bearer: (await auth.createApiToken(name, 'matrix')).token,
        cookie: `${SESSION_COOKIE}=${l.token}`,
        csrf: l.session.csrf,
      };
    }
    const api = async (role: string, method: 'GET' | 'POST', path: string, body?: unknown) =>
      (
        await app.request(`https://ui.test/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${who[role]!.bearer}`, 'content-type': 'application/json' },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        })
      ).status;
    const page = async (role: string, method: 'GET' | 'POST', path: string, form: Record<string, string> = {}) =>
      (
        await app.request(`https://ui.test${path}`, {
          method,
          headers: { cookie: who[role]!.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          ...(method === 'POST' ? { body: new URLSearchParams({ _csrf: who[role]!.csrf, ...form }) } : {}),
        })
      ).status;
    // [request, roles allowed]: an allowed role gets anything but 401/403 (a part absent here answers 501/404).
    const matrix: [string, (role: string) => Promise<number>, string[]][] = [
      ['GET /api/v1/status', (r) => api(r, 'GET', '/status'), [...roles]],
      ['GET /api/v1/config', (r) => api(r, 'GET', '/config'), [...roles]],
      ['POST /api/v1/config/validate', (r) => api(r, 'POST', '/config/validate', { text: "municipalities: ['242012']\n" }), [...roles]],
      ['POST /api/v1/systems', (r) => api(r, 'POST', '/systems', { id: `t-${r}`, role: 'terminal' }), ['admin']],
      ['POST /api/v1/config/rollback', (r) => api(r, 'POST', '/config/rollback', { version: 1 }), ['admin']],
      ['GET /api/v1/config/backup', (r) => api(r, 'GET', '/config/backup'), ['admin']],
      ['POST /api/v1/queues/juki-net/purge', (r) => api(r, 'POST', '/queues/juki-net/purge', { confirm: true }), ['admin']],
      ['POST /api/v1/consistency', (r) => api(r, 'POST', '/consistency'), ['admin']],
      ['GET /api/v1/audit', (r) => api(r, 'GET', '/audit'), ['admin', 'security', 'auditor']],
      ['GET /api/v1/keys', (r) => api(r, 'GET', '/keys'), ['admin', 'security']],
      ['GET /audit', (r) => page(r, 'GET', '/audit'), ['admin', 'security', 'auditor']],
      ['GET /keys', (r) => page(r, 'GET', '/keys'), ['admin', 'security']],
      ['POST /keys/generate', (r) => page(r, 'POST', '/keys/generate', { label: 'k2' }), ['security']],
      ['POST /keys/anchors', (r) => page(r, 'POST', '/keys/anchors', { pem: 'x' }), ['security']],
      ['GET /accounts', (r) => page(r, 'GET', '/accounts'), ['admin']],
      ['POST /systems/rr-01/disable', (r) => page(r, 'POST', '/systems/rr-01/disable'), ['admin']],
      ['POST /config', (r) => page(r, 'POST', '/config', { action: 'validate', text: 'x: 1' }), ['admin']],
    ];
    const got: Record<string, string[]> = {};
    for (const [name, call] of matrix) {
      got[name] = [];
      for (const role of roles) {
        const status = await call(role);
        expect(status, `${name} as ${role}`).not.toBe(401);
        if (status !== 403) got[name].push(role);
      }
    }
    expect(got).toEqual(Object.fromEntries(matrix.map(([name, , allowed]) => [name, allowed])));
    const refusals = matrix.reduce((n, [, , allowed]) => n + roles.length - allowed.length, 0);
    const refused = events.filter((e) => e.outcome === 'refused' && e.actor.startsWith('op-'));
    const byRole = refused.filter((e) => e.detail?.startsWith('role '));
    expect(byRole).toHaveLength(refusals);
    expect(
      byRole.every((e) => e.detail === `role ${e.role} lacks ${/lacks (\S+)/.exec(e.detail!)![1]}` && e.actor === `op-${e.role}`),
    ).toBe(true);
    // Past the role check: the administrator's disable was refused by validation (no rr-01 here), with
    // the reason; the officer's key actions found no key management in this build, recorded as well.
    expect(refused.filter((e) => !e.detail?.startsWith('role ')).map((e) => [e.actor, e.action, e.target, e.detail])).toEqual([
      ['op-security', 'request.unfinished', 'POST /keys/generate', 'HTTP 404: key management: not available in this build'],
      ['op-security', 'request.unfinished', 'POST /keys/anchors', 'HTTP 404: key management: not available in this build'],
      ['op-admin', 'system.disable', 'rr-01', 'systems: no system "rr-01"'],
    ]);
  });

  it('a change attempt that fails (bad request, absent part, an error in a service) is audited too', async () => {
    const versions = await openConfigVersions({ db, initialText: "municipalities: ['242012']\n" });
    const failing: ApplianceServices = {
      config: versions,
      status: {},
      audit: {
        append: async (e) => {
          events.push(e);
        },
      },
      systems: {
        ...createSystemsService(versions),
        disable: async () => {
          throw new Error('IO error: no space left on device');
        },
      },
    };
    const broken = createAdminApp({ services: failing, auth, logger: createLogger({ level: 'silent' }), idleMinutes: 15 });
    const { token } = await auth.createApiToken('boss', 'automation');
    const post = async (path: string, body: unknown) =>
      (
        await broken.request(`https://ui.test/api/v1${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).status;
    expect(await post('/systems', { name: 'no id' })).toBe(400);
    expect(await post('/queues/juki-net/purge', { confirm: true })).toBe(501);
    expect(await post('/systems/rr-01/disable', {})).toBe(500);
    expect(
      events.filter((e) => e.action === 'request.unfinished' && e.actor === 'boss').map((e) => [e.actor, e.outcome, e.target, e.detail]),
    ).toEqual([
      ['boss', 'refused', 'POST /api/v1/systems', expect.stringContaining('HTTP 400: {"code":"invalid_request"')],
      ['boss', 'failed', 'POST /api/v1/queues/juki-net/purge', expect.stringContaining('not available in this build')],
      ['boss', 'failed', 'POST /api/v1/systems/rr-01/disable', 'IO error: no space left on device'],
    ]);
  });

  it('logging out ends the session', async () => {
    const { cookie, csrf } = await session();
    const r = await app.request('https://ui.test/logout', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(r.status).toBe(303);
    const after = await app.request('https://ui.test/', { headers: { cookie } });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/login');
  });
});
