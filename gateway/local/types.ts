import type { ErrorCode, ErrorDetail, Envelope } from '../../platform/envelope.js';
import type { UnitOfWork } from '../../platform/store/unitOfWork.js';

/** A local system's request, authenticated and checked against the contract, handed to a flow. */
export interface LocalRequest {
  seq: number;
  systemId: string;
  role: string;
  /** from/to/at filled by the appliance; `from` is the authenticated system id. */
  envelope: Envelope;
  receivedAt: number;
}

export interface RequestContext {
  /** A unit of work that already acknowledges this request (removes it from the durable queue). */
  begin(): UnitOfWork;
  /** Adds the `{type}.result` reply to res/{systemId}. */
  reply(uow: UnitOfWork, body: Record<string, unknown>): void;
  /** Adds an `error` reply; refusals are also audited by the caller of fail. */
  fail(uow: UnitOfWork, code: ErrorCode, message: string, details: ErrorDetail[]): void;
  /**
   * Adds keys this request's change touches beyond those its type declares for group commit (e.g.
   * the 個人番号 a record had before): a later request reading them waits for this one's write.
   */
  claim?(keys: string[]): void;
}

/** One module per flow exports a handler. Handlers never wait for upstream inside the call. */
export type FlowHandler = (req: LocalRequest, ctx: RequestContext) => Promise<void>;

export interface AuditEvent {
  actor: { kind: 'system' | 'operator' | 'admin' | 'appliance'; id: string };
  action: string;
  outcome: 'ok' | 'refused' | 'error';
  code?: string;
  terminalId?: string;
  operatorId?: string;
  dutyCode?: string;
  keys?: string[];
  hitCount?: number;
  detail?: string;
}

/** Records an audit event inside the caller's unit of work (atomic with the change it describes). */
export type AuditSink = (uow: UnitOfWork | undefined, event: AuditEvent) => void | Promise<void>;
