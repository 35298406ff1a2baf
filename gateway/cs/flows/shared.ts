// What every CS flow module is given (built once in gateway/cs/role.ts), and the small helpers they
// share: audit events with hashed keys, the served-municipality check, upstream envelopes.
import type { ApplianceConfig } from '../../../config/schema/index.js';
import type { AuditLog } from '../../audit/index.js';
import type { KeyHasher } from '../../crypto/index.js';
import { nowIso, uuidv7, type Envelope, type ErrorCode, type ErrorDetail } from '../../../platform/envelope.js';
import type { Interactive } from '../../local/interactive.js';
import type { LocalOutbox } from '../../local/localOutbox.js';
import type { AuditEvent, LocalRequest, RequestContext } from '../../local/types.js';
import type { Logger } from '../../../platform/log/logger.js';
import type { MessageRegistry, MessageType, RequestBody } from '../../messages/index.js';
import { parseRequest } from '../../messages/index.js';
import type { Batch, Db } from '../../../platform/store/db.js';
import type { UnitOfWork } from '../../../platform/store/unitOfWork.js';
import type { Uplink } from '../../uplink/index.js';
import type { IdentityStore } from '../identityStore.js';
import type { MoveOutCertificates } from '../moveoutCertificates.js';

/** Writes audit events into a unit of work (atomic with the change) and hashes identifiers for `keys`. */
export interface CsAuditor {
  record(uow: UnitOfWork | { batch: Batch } | undefined, event: AuditEvent): Promise<void>;
  /** Keyed hash `kind:…` of an identifier: the only form personal keys take in the audit log. */
  key(kind: string, value: string): string;
}

export interface CsFlowDeps {
  config: () => ApplianceConfig;
  db: Db;
  logger: Logger;
  messages: MessageRegistry;
  store: IdentityStore;
  uplink: Uplink;
  interactive: Interactive;
  localOutbox: LocalOutbox;
  moveouts: MoveOutCertificates;
  audit: CsAuditor;
}

export type { AuditLog, KeyHasher };

export function served(deps: CsFlowDeps): string[] {
  return deps.config().municipalities;
}

/** lg:{code} of the served municipality a message speaks for (the first served code by default). */
export function selfNode(deps: CsFlowDeps, lgCode?: string): string {
  const codes = served(deps);
  return `lg:${lgCode && codes.includes(lgCode) ? lgCode : codes[0]}`;
}

/** The problem when `lgCode` is not a municipality this installation serves. */
export function notServed(deps: CsFlowDeps, lgCode: string, path: string): ErrorDetail[] | undefined {
  return served(deps).includes(lgCode)
    ? undefined
    : [{ path, problem: `lgCode.notServed: ${lgCode} is not a municipality served by this installation (${served(deps).join(', ')})` }];
}

export function upstreamEnvelope(
  from: string,
  to: string,
  type: string,
  body: Record<string, unknown>,
  corr: string | null = null,
): Envelope {
  return { v: 1, id: uuidv7(), type, from, to, at: nowIso(), corr, body };
}

/** The validated, normalised body (和暦 → ISO); the intake has already refused invalid ones. */
export function bodyOf<T extends MessageType>(deps: CsFlowDeps, req: LocalRequest, type: T): RequestBody<T> {
  const r = parseRequest(type, req.envelope.body, deps.messages);
  if (!r.ok) throw new Error(`body of ${type} failed validation after intake`);
  return r.value;
}

/** Who acts, as the audit log records it: the operator when the request names one. */
export function whoOf(req: LocalRequest): Pick<AuditEvent, 'actor' | 'terminalId' | 'operatorId' | 'dutyCode'> {
  const b = req.envelope.body;
  const s = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    actor: { kind: 'system', id: req.systemId },
    ...(s(b.terminalId) ? { terminalId: s(b.terminalId) } : {}),
    ...(s(b.operatorId) ? { operatorId: s(b.operatorId) } : {}),
    ...(s(b.dutyCode) ? { dutyCode: s(b.dutyCode) } : {}),
  };
}

/** Refusal decided by a flow: error reply, audit, request acknowledged; nothing else changes. */
export async function refuse(
  deps: CsFlowDeps,
  req: LocalRequest,
  ctx: RequestContext,
  code: ErrorCode,
  message: string,
  details: ErrorDetail[],
): Promise<void> {
  const uow = ctx.begin();
  ctx.fail(uow, code, message, details);
  await deps.audit.record(uow, { ...whoOf(req), action: req.envelope.type, outcome: 'refused', code, detail: message });
  await uow.commit();
}

/** Wakes the uplink outbox once the unit of work is on disk (its rescan would find it anyway). */
export function notifyOutboxAfter(deps: CsFlowDeps, uow: UnitOfWork): void {
  uow.afterCommit(() => {
    void deps.uplink.outbox.notify().catch(() => undefined);
  });
}

/**
 * Commits a unit of work holding upstream messages. If the write fails, the outbox forgets them, so
 * the person's later messages are not held back behind ones that will never exist.
 */
export async function commitQueued(deps: CsFlowDeps, uow: UnitOfWork): Promise<void> {
  try {
    await uow.commit();
  } catch (e) {
    deps.uplink.outbox.abandon(uow.batch);
    throw e;
  }
}

/** Drops a unit of work that may hold upstream messages. */
export async function abandonQueued(deps: CsFlowDeps, uow: UnitOfWork): Promise<void> {
  deps.uplink.outbox.abandon(uow.batch);
  await uow.abandon();
}

/**
 * A write scope over an inbound upstream batch (the inbox writes it after the handler returns):
 * hooks run once that write succeeded, by wrapping the chained batch's write.
 */
export function scopeOfBatch(batch: Batch): { batch: Batch; afterCommit(hook: () => void): void } {
  const hooks: Array<() => void> = [];
  const write = batch.write.bind(batch);
  batch.write = (async (...args: Parameters<Batch['write']>) => {
    await write(...args);
    for (const h of hooks) h();
  }) as Batch['write'];
  return {
    batch,
    afterCommit: (h) => {
      hooks.push(h);
    },
  };
}

/** Role whose systems receive the CS's pushes (to/{id}/moveout.cert, to/{id}/movein.notice). */
export const REGISTER_ROLE = 'resident-register';

/**
 * The local systems that receive pushes: every enabled system with the resident-register role.
 * Systems carry no municipality code in the configuration, so an installation serving several wards
 * gets each push on every register system; the body names the municipality (lgCode fields).
 */
export function registerSystems(deps: CsFlowDeps): string[] {
  return deps
    .config()
    .systems.filter((s) => s.enabled && s.role === REGISTER_ROLE)
    .map((s) => s.id);
}

/** A push envelope to a local system (from the CS node of the municipality concerned). */
export function pushEnvelope(
  from: string,
  systemId: string,
  type: string,
  body: Record<string, unknown>,
  corr: string | null = null,
): Envelope {
  return { v: 1, id: uuidv7(), type, from, to: systemId, at: nowIso(), corr, body };
}

/** Hashed 住民票コード of the records an upstream answer carried (what came back, for the audit log). */
export function returnedKeys(deps: CsFlowDeps, records: unknown): string[] {
  if (!Array.isArray(records)) return [];
  return records
    .slice(0, 100)
    .flatMap((r) =>
      r && typeof (r as { residentCode?: unknown }).residentCode === 'string'
        ? [deps.audit.key('rc', (r as { residentCode: string }).residentCode)]
        : [],
    );
}
