// Audit event schema (操作ログ). Personal identifiers only ever appear as keyed hashes (see
// gateway/crypto/blindIndex.ts), so the audit log itself never holds personal data in clear.
import { z } from 'zod';
import { HASHED_KEY } from '../crypto/blindIndex.js';

const isoWithOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const shortText = z.string().min(1).max(128);

export const ACTOR_KINDS = ['system', 'operator', 'admin', 'appliance'] as const;
export const OUTCOMES = ['ok', 'refused', 'error'] as const;

export const auditEventSchema = z
  .object({
    at: z.string().regex(isoWithOffset, 'expected an ISO 8601 timestamp with offset'),
    actor: z.object({ kind: z.enum(ACTOR_KINDS), id: shortText }).strict(),
    /** 端末 ID of the terminal the operator used. */
    terminalId: shortText.optional(),
    /** 業務コード: the duty the access was made for. */
    dutyCode: z.string().min(1).max(32).optional(),
    /** Message type (identity.search) or admin action (admin.role.update). */
    action: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[a-z][a-zA-Z0-9]*([._-][a-zA-Z0-9]+)*$/, 'expected a dotted action name'),
    outcome: z.enum(OUTCOMES),
    /** Contract error code on refusal or error. */
    code: z.string().min(1).max(64).optional(),
    /** Keyed hashes of the identifiers touched (kind:base64url HMAC), never clear values. */
    keys: z
      .array(z.string().regex(HASHED_KEY, 'expected a keyed hash kind:<43 base64url chars>, never a clear identifier'))
      .max(1000)
      .default([]),
    hitCount: z.number().int().min(0).optional(),
    /** Small non-personal facts (message id, reason). Scalars only. */
    detail: z.record(z.string().max(64), z.union([z.string().max(512), z.number(), z.boolean(), z.null()])).optional(),
  })
  .strict();

export type AuditEvent = z.infer<typeof auditEventSchema>;
/** What callers pass: `at` defaults to now, `keys` to none. */
export type AuditEventInput = Omit<z.input<typeof auditEventSchema>, 'at'> & { at?: string };

export class AuditEventError extends Error {
  constructor(readonly problems: Array<{ path: string; message: string }>) {
    super(`invalid audit event: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'AuditEventError';
  }
}

export function parseAuditEvent(input: AuditEventInput, now: () => string): AuditEvent {
  const r = auditEventSchema.safeParse({ ...input, at: input.at ?? now() });
  if (!r.success) throw new AuditEventError(r.error.issues.map((i) => ({ path: i.path.join('.') || '(event)', message: i.message })));
  return r.data;
}
