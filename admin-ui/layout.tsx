// Shared page frame and small components. No inline script or style (CSP), every asset same-origin.
import type { Child } from 'hono/jsx';
import { can, isUiRole } from './auth/roles.js';
import type { Principal, View } from './context.js';
import type { LinkStatus } from './services.js';

const NAV: {
  href: '/' | '/systems' | '/links' | '/keys' | '/queues' | '/consistency' | '/jobs' | '/audit' | '/config' | '/accounts';
  show: (role: string) => boolean;
}[] = [
  { href: '/', show: () => true },
  { href: '/systems', show: () => true },
  { href: '/links', show: () => true },
  { href: '/keys', show: (r) => can(r, 'keys.view') },
  { href: '/queues', show: () => true },
  { href: '/consistency', show: () => true },
  { href: '/jobs', show: () => true },
  { href: '/audit', show: (r) => can(r, 'audit.view') },
  { href: '/config', show: () => true },
  { href: '/accounts', show: (r) => can(r, 'accounts.manage') },
];

/** A role's name in the page's language (the API keeps the role id). */
export const roleName = (v: View, role: string) => (isUiRole(role) ? v.t[`role.${role}`] : role);

export function Layout(props: {
  v: View;
  title: string;
  who?: Principal;
  active?: string;
  flash?: Flash | undefined;
  refreshMs?: number | undefined;
  children?: Child;
}) {
  const { who, v } = props;
  const t = v.t;
  return (
    <html lang={v.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {props.refreshMs ? <meta http-equiv="refresh" content={String(Math.ceil(props.refreshMs / 1000))} /> : null}
        <title>{props.title} — juki-gw</title>
        <link rel="stylesheet" href="/static/app.css" />
        <script src="/static/app.js" defer></script>
      </head>
      <body>
        <header>
          <span class="brand">{t.brand}</span>
          {who ? (
            <span class="who">
              {who.user} ({roleName(v, who.role)}) ·{' '}
              <a href="/password" id="account-link">
                {t['header.account']}
              </a>{' '}
              ·{' '}
              <form class="inline" method="post" action="/logout">
                <input type="hidden" name="_csrf" value={who.csrf} />
                <button class="link" type="submit" id="logout">
                  {t['header.logout']}
                </button>
              </form>
            </span>
          ) : null}
        </header>
        {who && !who.mustChange ? (
          <nav>
            {NAV.filter((n) => n.show(who.role)).map((n) => (
              <a href={n.href} class={props.active === n.href ? 'active' : ''}>
                {t[`nav.${n.href}`]}
              </a>
            ))}
          </nav>
        ) : null}
        {v.simulated && who ? (
          <div class="simulated" id="simulated-banner" role="alert" title={v.simulated}>
            {t['simulated.banner']}
          </div>
        ) : null}
        <main>
          {props.flash ? (
            <div class={props.flash.error ? 'flash error' : 'flash'} role="status">
              {props.flash.text}
            </div>
          ) : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}

export interface Flash {
  text: string;
  error?: boolean;
}

export const NotAvailable = (props: { v: View; what: string }) => (
  <p class="na" data-na={props.what}>
    {props.what}: {props.v.t.na}
  </p>
);

export const Csrf = (props: { who: Principal }) => <input type="hidden" name="_csrf" value={props.who.csrf} />;

/** The only row of an empty table: a bare header reads as a fault, so it says that there is nothing. */
export function NoneRow(props: { text: string; cols: number }) {
  return (
    <tr data-none="">
      <td colspan={props.cols} class="muted">
        {props.text}
      </td>
    </tr>
  );
}

export function FieldError(props: { errors?: Record<string, string> | undefined; field: string }) {
  const e = props.errors?.[props.field];
  return e ? (
    <div class="field-error" data-field-error={props.field}>
      {e}
    </div>
  ) : null;
}

/** A link's state in the reader's words and zone; the component's own error text is kept as it is. */
export function linkDetail(v: View, l: LinkStatus): string {
  if (!l.state || !l.since) return l.detail;
  return `${v.t['link.since'](v.t[`link.state.${l.state}`], v.time.time(l.since))}${l.lastError ? ` (${l.lastError})` : ''}`;
}

/** An age (how long a message has waited) in the reader's units. */
export function ago(v: View, ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 60_000) return v.t['age.s'](String(Math.round(ms / 1000)));
  if (ms < 3_600_000) return v.t['age.min'](String(Math.round(ms / 60_000)));
  return v.t['age.h']((ms / 3_600_000).toFixed(1));
}

export function bytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}
