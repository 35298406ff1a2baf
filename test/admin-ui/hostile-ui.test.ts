// Attacks on the real admin UI (startAdminUi over HTTPS, real stores): CSRF-less POSTs, session
// fixation, brute force, path traversal, and XSS payloads in every field the UI echoes back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:https';
import { SESSION_COOKIE } from '../../admin-ui/app.js';
import { startUiFixture, type UiFixture } from './ui-fixture.js';

interface Res {
  status: number;
  location?: string;
  cookies: Record<string, string>;
  body: string;
}

/** One HTTPS request to the fixture's self-signed listener (a raw path: no client-side normalisation). */
function http(
  f: UiFixture,
  method: string,
  path: string,
  opts: { cookies?: Record<string, string>; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {},
): Promise<Res> {
  const u = new URL(f.url);
  const body = opts.form ? new URLSearchParams(opts.form).toString() : opts.json !== undefined ? JSON.stringify(opts.json) : undefined;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.cookies && Object.keys(opts.cookies).length)
    headers.cookie = Object.entries(opts.cookies)
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  if (opts.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const cookies: Record<string, string> = {};
        for (const c of res.headers['set-cookie'] ?? []) {
          const [kv] = c.split(';');
          const i = kv!.indexOf('=');
          cookies[kv!.slice(0, i)] = kv!.slice(i + 1);
        }
        resolve({
          status: res.statusCode!,
          ...(res.headers.location ? { location: res.headers.location } : {}),
          cookies,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

/** `lang`: the browser's Accept-Language, which decides the login page's language (Japanese by default). */
async function login(
  f: UiFixture,
  user: string,
  password: string,
  preset: Record<string, string> = {},
  lang = 'en',
): Promise<{ res: Res; cookies: Record<string, string> }> {
  const headers = { 'accept-language': lang };
  const page = await http(f, 'GET', '/login', { cookies: preset, headers });
  const cookies = { ...preset, ...page.cookies };
  const res = await http(f, 'POST', '/login', { cookies, headers, form: { _csrf: csrfOf(page.body)!, username: user, password } });
  return { res, cookies: { ...cookies, ...res.cookies } };
}

const XSS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  '</textarea><script>alert(2)</script>',
];
const htmlEscaped = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
/** The payload must never come back as markup; the escaped form shows it was echoed, harmlessly. */
function expectEscaped(html: string, payload: string): void {
  expect(html).not.toContain(payload);
  expect(html).not.toMatch(/<script>alert|<img src=x|<svg onload/);
}

let f: UiFixture;
let admin: Record<string, string>;
let csrf: string;
const PASSWORD = 'hostile-test chief password 7';
beforeAll(async () => {
  f = await startUiFixture();
  const first = await login(f, 'admin', f.firstPassword);
  expect(first.res.location).toBe('/password');
  const pw = await http(f, 'GET', '/password', { cookies: first.cookies });
  const changed = await http(f, 'POST', '/password', {
    cookies: first.cookies,
    form: { _csrf: csrfOf(pw.body)!, current: f.firstPassword, next: PASSWORD, repeat: PASSWORD },
  });
  expect(changed.status).toBe(303);
  const again = await login(f, 'admin', PASSWORD);
  expect(again.res.status).toBe(303);
  admin = again.cookies;
  csrf = csrfOf((await http(f, 'GET', '/systems', { cookies: admin })).body)!;
}, 120_000);
afterAll(async () => {
  await f?.close();
});

describe('CSRF', () => {
  it('refuses state-changing form and API requests without the token, and changes nothing', async () => {
    const before = (await f.versions.versions()).length;
    const form = await http(f, 'POST', '/systems', { cookies: admin, form: { id: 'term-77', role: 'terminal', description: 'x' } });
    expect(form.status).toBe(403);
    expect(form.body).toContain('id="csrf-refused"');
    const wrong = await http(f, 'POST', '/config', {
      cookies: admin,
      form: { _csrf: 'A'.repeat(32), text: "municipalities: ['242012']\n" },
    });
    expect(wrong.status).toBe(403);
    const api = await http(f, 'POST', '/api/v1/systems', { cookies: admin, json: { id: 'term-78', role: 'terminal' } });
    expect(api.status).toBe(403);
    const loginNoToken = await http(f, 'POST', '/login', { form: { username: 'admin', password: PASSWORD } });
    expect(loginNoToken.status).toBe(403);
    expect(loginNoToken.cookies[SESSION_COOKIE]).toBeUndefined();
    expect((await f.versions.versions()).length).toBe(before);
    const refusals = (await f.auditRecords()).filter(
      (a) => a.outcome === 'refused' && (a.action === 'request.csrf' || a.action === 'login'),
    );
    expect(refusals.length).toBeGreaterThanOrEqual(4);
  });
});

describe('session fixation', () => {
  it('a session cookie planted before login is not adopted, and does not authenticate', async () => {
    const planted = 'attacker-chosen-session-value-0123456789abcdef';
    const { res, cookies } = await login(f, 'admin', PASSWORD, { [SESSION_COOKIE]: planted });
    expect(res.status).toBe(303);
    expect(res.cookies[SESSION_COOKIE]).toBeDefined();
    expect(res.cookies[SESSION_COOKIE]).not.toBe(planted);
    expect((await http(f, 'GET', '/', { cookies })).status).toBe(200);
    const withPlanted = await http(f, 'GET', '/', { cookies: { [SESSION_COOKIE]: planted } });
    expect(withPlanted.status).toBe(303);
    expect(withPlanted.location).toBe('/login');
  });
  it('the pre-login CSRF cookie is not a session', async () => {
    const page = await http(f, 'GET', '/login');
    const [name, value] = Object.entries(page.cookies)[0]!;
    const r = await http(f, 'GET', '/systems', { cookies: { [SESSION_COOKIE]: value, [name]: value } });
    expect(r.status).toBe(303);
  });
});

describe('brute force', () => {
  it('locks the account after repeated failures; the right password is then refused too', async () => {
    // A second account, so the administrator used by the other tests stays usable.
    const victimPassword = 'initial secret of the test 42';
    const made = await http(f, 'POST', '/accounts', {
      cookies: admin,
      form: { _csrf: csrf, name: 'victim', role: 'auditor', password: victimPassword },
    });
    expect(made.status).toBe(303);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await login(f, 'victim', `guess ${i}`)).res.status);
    expect(statuses.slice(0, 5).every((s) => s === 401)).toBe(true);
    const right = await login(f, 'victim', victimPassword);
    expect(right.res.status).toBe(401);
    expect(right.res.body).toMatch(
      /Too many failed attempts: logging in with this user name is blocked until 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d JST \(\+09:00\)\./,
    );
    expect(right.res.cookies[SESSION_COOKIE]).toBeUndefined();
    // An unknown user gets the same answer as a wrong password (no account enumeration).
    const unknown = await login(f, 'nobody-here', 'x');
    expect(unknown.res.status).toBe(401);
    expect(unknown.res.body).toContain('Wrong user name or password.');
  });

  it.each(['en', 'ja'])(
    'answers an unknown user name after 6 failures exactly as a locked account (%s): same status, page and message',
    async (lang) => {
      const real = `locked-${lang}`;
      const made = await http(f, 'POST', '/accounts', {
        cookies: admin,
        form: { _csrf: csrf, name: real, role: 'monitor', password: 'an initial secret 2026 x' },
      });
      expect(made.status).toBe(303);
      const ghost = `no-such-${lang}`;
      const answers: Record<string, Res[]> = { [real]: [], [ghost]: [] };
      for (let i = 0; i < 7; i++) for (const name of [real, ghost]) answers[name]!.push((await login(f, name, `guess ${i}`, {}, lang)).res);
      // Everything but the form token and the moment the block ends (each name's own) is the same.
      const stamp = /20\d\d-\d\d-\d\d \d\d:\d\d:\d\d JST \(\+09:00\)/g;
      const same = (r: Res) => ({
        status: r.status,
        cookies: Object.keys(r.cookies).sort(),
        body: r.body.replace(/name="_csrf" value="[^"]+"/, 'name="_csrf" value=""').replace(stamp, 'T'),
      });
      for (let i = 0; i < 7; i++) expect(same(answers[ghost]![i]!), `attempt ${i + 1}`).toEqual(same(answers[real]![i]!));
      const last = answers[ghost]!.at(-1)!;
      expect(last.status).toBe(401);
      expect(last.body).toContain(`<html lang="${lang}">`);
      expect(last.body).toMatch(lang === 'en' ? /blocked until 20\d\d-/ : /まで停止されています/);
      expect(answers[ghost]![3]!.body).toContain(
        lang === 'en' ? 'Wrong user name or password.' : 'ユーザー名またはパスワードが正しくありません。',
      );
    },
  );
});

describe('path traversal', () => {
  it.each([
    '/static/../../../../etc/passwd',
    '/static/..%2f..%2f..%2fetc%2fpasswd',
    '/static/%2e%2e/%2e%2e/package.json',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/static/..\\..\\package.json',
    '/static/app.js/../../../../etc/passwd',
    '/static/%252e%252e/package.json',
    '/static/app.css%00.js',
    '/queues/..%2f..%2fetc%2fpasswd',
  ])('%s serves no file outside the app', async (path) => {
    for (const cookies of [{}, admin]) {
      const r = await http(f, 'GET', path, { cookies });
      expect(r.body).not.toMatch(/root:x:0:0|"name": "juki-gw"|BEGIN (EC |RSA )?PRIVATE KEY/);
      expect([200, 303, 400, 404]).toContain(r.status);
      if (r.status === 200) expect(r.body).not.toContain('root:');
    }
  });
});

describe('XSS in echoed fields', () => {
  it.each(XSS)('system description and id %s', async (payload) => {
    const ok = await http(f, 'POST', '/systems', {
      cookies: admin,
      form: { _csrf: csrf, id: 'term-50', role: 'terminal', description: payload, enabled: '1' },
    });
    expect([303, 422]).toContain(ok.status);
    const list = (await http(f, 'GET', '/systems', { cookies: admin })).body;
    expectEscaped(list, payload);
    if (ok.status === 303) expect(list).toContain(htmlEscaped(payload));
    const bad = await http(f, 'POST', '/systems', {
      cookies: admin,
      form: { _csrf: csrf, id: payload, role: payload, description: payload },
    });
    expect(bad.status).toBe(422);
    expectEscaped(bad.body, payload);
    const api = await http(f, 'GET', '/api/v1/systems', { cookies: admin });
    expect(api.status).toBe(200);
    // The API returns the data as stored (JSON-escaped), never HTML: the payload comes back verbatim.
    const systems = JSON.parse(api.body) as Array<{ id: string; description: string }>;
    expect(Array.isArray(systems)).toBe(true);
    if (ok.status === 303) expect(systems.find((x) => x.id === 'term-50')?.description).toBe(payload);
  });
  it.each(XSS)('configuration text and its error messages %s', async (payload) => {
    const r = await http(f, 'POST', '/config', {
      cookies: admin,
      form: { _csrf: csrf, action: 'validate', text: `municipalities: ['242012']\n"${payload.replace(/"/g, '\\"')}": 1\n${payload}\n` },
    });
    expect(r.status).toBe(422);
    expectEscaped(r.body, payload);
  });
  it.each(XSS)('search boxes and query parameters %s', async (payload) => {
    const q = encodeURIComponent(payload);
    for (const path of [
      `/audit?actor=${q}&action=${q}&outcome=${q}&since=${q}`,
      `/config/diff?from=${q}&to=${q}`,
      `/queues/${q}`,
      `/config/versions/${q}`,
    ]) {
      const r = await http(f, 'GET', path, { cookies: admin });
      expect(r.status).toBeLessThan(500);
      expectEscaped(r.body, payload);
    }
  });
  it.each(XSS)('login user name %s', async (payload) => {
    const r = await login(f, payload, 'x');
    expect(r.res.status).toBe(401);
    expect(r.res.body).toContain('Wrong user name or password.');
    expectEscaped(r.res.body, payload);
  });
  it('the refused attempts above left the configuration without the payloads', async () => {
    const text = (await f.versions.current()).text;
    for (const p of XSS) expect(text.includes(`id: ${p}`)).toBe(false);
  });
});
