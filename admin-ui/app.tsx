// The admin application: security headers, login, sessions, CSRF, then the pages and /api/v1.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { IMPORT_MAX_BYTES } from './api/jobs.js';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Logger } from '../platform/log/logger.js';
import type { AuthStore } from './auth/store.js';
import { audit, clientAddress, viewFor, type Principal, type UiDeps, type UiEnv } from './context.js';
import { DEFAULT_LANG, langFromAcceptLanguage } from './i18n/index.js';
import { createTimeFormatter, DEFAULT_TIME_ZONE } from './time.js';
import { Layout } from './layout.js';
import type { View } from './context.js';
import { LoginPage } from './pages/login.js';
import { registerPages } from './pages/index.js';
import { registerApi } from './api/index.js';
import type { ApplianceServices } from './services.js';
import { SCRIPT, STYLESHEET } from './static.js';

export const SESSION_COOKIE = '__Host-jgw_session';
const LOGIN_COOKIE = '__Host-jgw_login';

const CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const sameSecret = (a: string | undefined, b: string | undefined) =>
  !!a && !!b && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export function createAdminApp(opts: {
  services: ApplianceServices;
  auth: AuthStore;
  logger: Logger;
  idleMinutes: number;
  timeZone?: string;
}) {
  const deps: UiDeps = { ...opts, flashes: new Map(), time: createTimeFormatter(opts.timeZone ?? DEFAULT_TIME_ZONE) };
  const app = new Hono<UiEnv>();

  app.use('*', async (c, next) => {
    c.set('deps', deps);
    // Before login the browser's language decides; after it, the account's (set below).
    c.set('view', viewFor(deps, langFromAcceptLanguage(c.req.header('accept-language'))));
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Strict-Transport-Security', 'max-age=31536000');
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
    c.header('Cross-Origin-Resource-Policy', 'same-origin');
    if (!c.req.path.startsWith('/static/')) c.header('Cache-Control', 'no-store');
  });
  const smallBodies = bodyLimit({ maxSize: 2 * 1024 * 1024, onError: (c) => c.text('request body too large (2 MiB at most)', 413) });
  // A register extract is streamed to disk by POST /api/v1/import (admin-ui/api/jobs.ts).
  const extracts = bodyLimit({
    maxSize: IMPORT_MAX_BYTES,
    onError: (c) => c.text(`register extract too large (${IMPORT_MAX_BYTES} bytes at most)`, 413),
  });
  app.use('*', (c, next) => (c.req.path === '/api/v1/import' ? extracts(c, next) : smallBodies(c, next)));
  app.onError((err, c) => {
    opts.logger.error({ err: err.message, path: c.req.path }, 'admin ui request failed');
    c.set('failure', err.message);
    return c.text(c.get('view').t['error.internal'](err.message), 500);
  });

  app.get('/static/app.css', (c) =>
    c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=3600' }),
  );
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('/static/app.js', (c) =>
    c.body(SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'max-age=3600' }),
  );

  const cookieOpts = { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' } as const;

  const loginPage = (c: Context<UiEnv>, message?: string, status: 200 | 401 | 403 = 200) => {
    // Reuse the pending token: a second tab or a background request must not void an open form.
    const existing = getCookie(c, LOGIN_COOKIE);
    const token = existing && /^[A-Za-z0-9_-]{32}$/.test(existing) ? existing : randomBytes(24).toString('base64url');
    setCookie(c, LOGIN_COOKIE, token, { ...cookieOpts, maxAge: 600 });
    return c.html('<!doctype html>' + (<LoginPage v={c.get('view')} csrf={token} message={message} />).toString(), status);
  };
  app.get('/login', (c) => loginPage(c));
  app.post('/login', async (c) => {
    const body = await c.req.parseBody();
    const user = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const t = c.get('view').t;
    if (!sameSecret(getCookie(c, LOGIN_COOKIE), typeof body._csrf === 'string' ? body._csrf : undefined)) {
      await audit(c, { action: 'login', actor: user || '(none)', via: 'ui', outcome: 'refused', detail: 'missing or wrong CSRF token' });
      return loginPage(c, t['login.expired'], 403);
    }
    const r = await opts.auth.login(user, password);
    if (!r.ok) {
      await audit(c, { action: 'login', actor: user || '(none)', via: 'ui', outcome: 'refused', detail: r.reason });
      // Worded for the name, not the account: an unknown name locks the same way (no account enumeration).
      const msg =
        r.reason === 'locked'
          ? t['login.locked'](deps.time.time(r.lockedUntil))
          : r.reason === 'disabled'
            ? t['login.disabled']
            : t['login.wrong'];
      return loginPage(c, msg, 401);
    }
    await audit(c, { action: 'login', actor: r.session.user, role: r.session.role, via: 'ui', outcome: 'ok' });
    deleteCookie(c, LOGIN_COOKIE, cookieOpts);
    setCookie(c, SESSION_COOKIE, r.token, cookieOpts);
    return c.redirect(r.session.mustChange ? '/password' : '/', 303);
  });

  // Everything below requires a principal: a session cookie, or an API token on /api/v1.
  app.use('*', async (c, next) => {
    const isApi = c.req.path.startsWith('/api/');
    const authz = c.req.header('authorization');
    let who: Principal | undefined;
    if (isApi && authz?.startsWith('Bearer ')) {
      const t = await opts.auth.apiToken(authz.slice(7).trim());
      if (!t) {
        await audit(c, { action: 'api.auth', actor: '(token)', via: 'api', outcome: 'refused', detail: 'unknown or revoked API token' });
        return c.json({ code: 'unauthorized', message: 'unknown or revoked API token' }, 401);
      }
      who = { user: t.user, role: t.role, via: 'api', csrf: '', mustChange: false, lang: DEFAULT_LANG };
    } else {
      const token = getCookie(c, SESSION_COOKIE);
      const s = await opts.auth.session(token);
      if (!s) {
        if (isApi) return c.json({ code: 'unauthorized', message: 'log in or present an API token' }, 401);
        return c.redirect('/login', 303);
      }
      who = {
        user: s.user,
        role: s.role,
        via: isApi ? 'api' : 'ui',
        csrf: s.csrf,
        mustChange: s.mustChange,
        sessionToken: token,
        lang: s.language ?? DEFAULT_LANG,
      };
    }
    c.set('who', who);
    c.set('view', viewFor(deps, who.lang));
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && who.csrf !== '') {
      const sent = isApi
        ? c.req.header('x-csrf-token')
        : await c.req.parseBody().then(
            (b) => (typeof b._csrf === 'string' ? b._csrf : undefined),
            () => undefined,
          );
      if (!sameSecret(sent, who.csrf)) {
        await audit(c, {
          action: 'request.csrf',
          actor: who.user,
          role: who.role,
          via: who.via,
          outcome: 'refused',
          target: `${c.req.method} ${c.req.path}`,
          detail: 'missing or wrong CSRF token',
        });
        opts.logger.warn(
          { path: c.req.path, user: who.user, address: clientAddress(c) },
          'admin ui: request without a valid CSRF token refused',
        );
        return isApi
          ? c.json({ code: 'forbidden', message: 'missing or wrong X-CSRF-Token' }, 403)
          : c.html('<!doctype html>' + (<CsrfRefused v={c.get('view')} />).toString(), 403);
      }
    }
    // The own display language may be set before the forced password change (to read that page).
    if (who.mustChange && !['/password', '/password/language', '/logout'].includes(c.req.path)) {
      return isApi ? c.json({ code: 'forbidden', message: 'change the one-time password first' }, 403) : c.redirect('/password', 303);
    }
    await next();
    // A change attempt that failed or was refused without its own audit entry (bad request, a part
    // not in this build, an exception in a service) is recorded here, so none goes unrecorded.
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !c.get('audited') && c.res.status >= 400) {
      const failure = c.get('failure');
      const html = c.res.headers.get('content-type')?.startsWith('text/html');
      const detail = failure ?? `HTTP ${c.res.status}${html ? '' : `: ${(await c.res.clone().text()).slice(0, 300)}`}`;
      await audit(c, {
        action: 'request.unfinished',
        actor: who.user,
        role: who.role,
        via: who.via,
        outcome: c.res.status >= 500 ? 'failed' : 'refused',
        target: `${c.req.method} ${c.req.path}`,
        detail,
      });
    }
  });

  app.post('/logout', async (c) => {
    const w = c.get('who');
    if (w.sessionToken) await opts.auth.logout(w.sessionToken);
    deps.flashes.delete(w.csrf);
    await audit(c, { action: 'logout', actor: w.user, role: w.role, via: 'ui', outcome: 'ok' });
    deleteCookie(c, SESSION_COOKIE, cookieOpts);
    return c.redirect('/login', 303);
  });

  registerPages(app);
  registerApi(app);
  return app;
}

function CsrfRefused(props: { v: View }) {
  const t = props.v.t;
  return (
    <Layout v={props.v} title={t['csrf.title']}>
      <h1>{t['csrf.title']}</h1>
      <p class="bad" id="csrf-refused">
        {t['csrf.text']}
      </p>
    </Layout>
  );
}
