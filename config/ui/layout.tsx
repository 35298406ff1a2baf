// Shared page frame and small components. No inline script or style (CSP), every asset same-origin.
import type { Child } from 'hono/jsx';
import { can, UI_ROLES, type UiRole } from './auth/roles.js';
import { NOT_AVAILABLE } from './services.js';
import type { Principal } from './context.js';

const NAV: { href: string; label: string; show: (role: string) => boolean }[] = [
  { href: '/', label: 'Dashboard', show: () => true },
  { href: '/systems', label: 'Local systems', show: () => true },
  { href: '/links', label: 'Upstream links', show: () => true },
  { href: '/keys', label: 'HSM & certificates', show: (r) => can(r, 'keys.view') },
  { href: '/queues', label: 'Queues', show: () => true },
  { href: '/consistency', label: 'Consistency check', show: () => true },
  { href: '/jobs', label: 'Jobs', show: () => true },
  { href: '/audit', label: 'Audit log', show: (r) => can(r, 'audit.view') },
  { href: '/config', label: 'Configuration', show: () => true },
  { href: '/accounts', label: 'Accounts', show: (r) => can(r, 'accounts.manage') },
];

export function Layout(props: { title: string; who?: Principal; active?: string; flash?: Flash; refreshMs?: number; children?: Child }) {
  const who = props.who;
  return (
    <html lang="ja">
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
          <span class="brand">juki-gw 管理画面</span>
          {who ? (
            <span class="who">
              {who.user} ({UI_ROLES[who.role as UiRole] ?? who.role}) · <a href="/password">password</a> ·{' '}
              <form class="inline" method="post" action="/logout"><input type="hidden" name="_csrf" value={who.csrf} /><button class="link" type="submit">log out</button></form>
            </span>
          ) : null}
        </header>
        {who && !who.mustChange ? (
          <nav>{NAV.filter((n) => n.show(who.role)).map((n) => <a href={n.href} class={props.active === n.href ? 'active' : ''}>{n.label}</a>)}</nav>
        ) : null}
        <main>
          {props.flash ? <div class={props.flash.error ? 'flash error' : 'flash'} role="status">{props.flash.text}</div> : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}

export interface Flash { text: string; error?: boolean }

export const NotAvailable = (props: { what: string }) => <p class="na" data-na={props.what}>{props.what}: {NOT_AVAILABLE}</p>;

export const Csrf = (props: { who: Principal }) => <input type="hidden" name="_csrf" value={props.who.csrf} />;

export function FieldError(props: { errors?: Record<string, string>; field: string }) {
  const e = props.errors?.[props.field];
  return e ? <div class="field-error" data-field-error={props.field}>{e}</div> : null;
}

export function ago(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function bytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}
