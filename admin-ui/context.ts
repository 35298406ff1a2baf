// Request context shared by pages and API routes: who is acting, the services, audit and flash.
import type { Context } from 'hono';
import { render } from './render.js';
import { Forbidden } from './pages/forbidden.js';
import type { Logger } from '../platform/log/logger.js';
import type { AuthStore } from './auth/store.js';
import { can, type Permission } from './auth/roles.js';
import type { Actor, ApplianceServices, ApplyResult, AuditEvent } from './services.js';
import type { Flash } from './layout.js';
import { catalogue, type Catalogue, type Lang } from './i18n/index.js';
import type { TimeFormatter } from './time.js';

export interface Principal {
  user: string;
  role: string;
  via: 'ui' | 'api';
  csrf: string;
  mustChange: boolean;
  sessionToken?: string;
  lang: Lang;
}

/** How pages speak to this request: its language, the appliance's time zone, the simulated-upstreams warning. */
export interface View {
  lang: Lang;
  t: Catalogue;
  time: TimeFormatter;
  simulated?: string | undefined;
}

export interface UiDeps {
  services: ApplianceServices;
  auth: AuthStore;
  logger: Logger;
  /** Flash messages for the next page of a session (post → redirect → get), in memory. */
  flashes: Map<string, Flash>;
  idleMinutes: number;
  /** Every time on every page, in this zone (ui.timeZone). */
  time: TimeFormatter;
}

/** `audited`: this request wrote its audit entry, or needs none (a check, not a change); `failure`: the error that ended it. */
export type UiEnv = { Variables: { who: Principal; deps: UiDeps; view: View; audited?: boolean; failure?: string } };
export type UiContext = Context<UiEnv>;

export function viewFor(deps: UiDeps, lang: Lang): View {
  return { lang, t: catalogue(lang), time: deps.time, simulated: deps.services.simulatedUpstreams };
}

export function clientAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}

export function actorOf(c: UiContext): Actor {
  const w = c.get('who');
  return { user: w.user, role: w.role, via: w.via, address: clientAddress(c) };
}

/** Every change and every refused attempt goes to the audit log; an audit failure fails the request. */
export async function audit(c: Context, event: Omit<AuditEvent, 'address'>): Promise<void> {
  const deps = c.get('deps') as UiDeps;
  await deps.services.audit.append({ ...event, address: clientAddress(c) });
  c.set('audited', true);
}

export async function auditAs(
  c: UiContext,
  action: string,
  outcome: AuditEvent['outcome'],
  target?: string,
  detail?: string,
): Promise<void> {
  const w = c.get('who');
  await audit(c, {
    action,
    actor: w.user,
    role: w.role,
    via: w.via,
    outcome,
    ...(target !== undefined ? { target } : {}),
    ...(detail !== undefined ? { detail } : {}),
  });
}

/** The audit detail of a configuration change: the version it made, or why it was refused. */
export function applyDetail(r: ApplyResult): string {
  return r.ok
    ? `version ${r.version.version}${r.unchanged ? ' (unchanged)' : ''}`
    : r.problems
        .map((p) => `${p.path}: ${p.message}`)
        .join('; ')
        .slice(0, 500);
}

const MAX_PENDING_FLASHES = 1000;

export function setFlash(c: UiContext, flash: Flash): void {
  const m = c.get('deps').flashes;
  // Sessions that never come back leave their message behind; keep the map bounded (oldest first out).
  if (m.size >= MAX_PENDING_FLASHES) m.delete(m.keys().next().value!);
  m.set(c.get('who').csrf, flash);
}

export function takeFlash(c: UiContext): Flash | undefined {
  const m = c.get('deps').flashes;
  const k = c.get('who').csrf;
  const f = m.get(k);
  m.delete(k);
  return f;
}

/** Refuses (403, audited) when the acting role lacks the permission; returns a response or undefined. */
export async function refuseUnless(c: UiContext, p: Permission, action: string): Promise<Response | undefined> {
  const w = c.get('who');
  if (can(w.role, p)) return undefined;
  await auditAs(c, action, 'refused', undefined, `role ${w.role} lacks ${p}`);
  if (w.via === 'api') return c.json({ code: 'forbidden', message: `role ${w.role} may not ${p}` }, 403);
  return render(c, Forbidden({ v: c.get('view'), who: w, permission: p }), 403);
}

export async function formField(c: UiContext, name: string): Promise<string> {
  return formText(await c.req.parseBody(), name);
}

/** A text field of a parsed form; a file sent in its place reads as empty (then refused as missing), never as "[object File]". */
export function formText(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  return typeof v === 'string' ? v : '';
}
