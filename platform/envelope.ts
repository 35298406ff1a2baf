// The contract's envelope (CONTRACT.md "Envelope"), its error reply, and ids. Pure: no I/O.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isNodeAddress } from '../domain/identifiers.js';

export const ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'too_many_hits',
  'timeout',
  'upstream_unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

// Type aliases, not interfaces: an error body must be assignable to an envelope's Record<string, unknown> body.
export type ErrorDetail = { path: string; problem: string };
export type ErrorBody = { code: ErrorCode; message: string; details: ErrorDetail[] };

const isoWithOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export const envelopeSchema = z
  .object({
    v: z.literal(1),
    id: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._:-]+$/, 'expected a UUID-like id'),
    type: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)*$/, 'expected a dotted message type'),
    from: z.string().max(80),
    to: z.string().max(80),
    at: z.string().regex(isoWithOffset, 'expected an ISO 8601 timestamp with offset'),
    corr: z.string().min(1).max(64).nullable(),
    body: z.record(z.string(), z.unknown()),
  })
  .strict();
export type Envelope<B = Record<string, unknown>> = Omit<z.infer<typeof envelopeSchema>, 'body'> & { body: B };

/** What a local system may send: from/to/at are optional (filled by the appliance). */
export const localEnvelopeSchema = envelopeSchema.extend({
  from: z.string().max(80).optional(),
  to: z.string().max(80).optional(),
  at: z.string().regex(isoWithOffset, 'expected an ISO 8601 timestamp with offset').optional(),
  corr: z.string().min(1).max(64).nullable().optional(),
});
export type LocalEnvelope = z.infer<typeof localEnvelopeSchema>;

/** Upstream envelopes carry node addresses in from/to. */
export const upstreamEnvelopeSchema = envelopeSchema.superRefine((e, ctx) => {
  if (!isNodeAddress(e.from)) ctx.addIssue({ code: 'custom', path: ['from'], message: 'expected a node address' });
  if (!isNodeAddress(e.to)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'expected a node address' });
});

/** UUID v7: time-ordered, so ids sort by creation time in LevelDB. */
export function uuidv7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Local time in JST with offset, as Japanese operators read logs. */
export function nowIso(now = Date.now()): string {
  const jst = new Date(now + 9 * 3600_000).toISOString().replace('Z', '+09:00');
  return jst;
}

export function errorReply(
  request: Pick<Envelope, 'id' | 'from' | 'to'> | { id: string; from?: string; to?: string },
  from: string,
  code: ErrorCode,
  message: string,
  details: ErrorDetail[],
): Envelope<ErrorBody> {
  return {
    v: 1,
    id: uuidv7(),
    type: 'error',
    from,
    to: request.from ?? '',
    at: nowIso(),
    corr: request.id === '' ? null : request.id,
    body: { code, message, details },
  };
}

export function resultReply<B extends Record<string, unknown>>(
  request: Envelope | LocalEnvelope,
  from: string,
  to: string,
  body: B,
): Envelope<B> {
  return { v: 1, id: uuidv7(), type: `${request.type}.result`, from, to, at: nowIso(), corr: request.id, body };
}

/** zod issues → contract error details (`body.birthDate`). */
export function detailsOf(error: z.ZodError, prefix = ''): ErrorDetail[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter((s) => s !== '').join('.') || '(envelope)',
    problem: i.message,
  }));
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** Bytes → envelope, never throwing: broken UTF-8, broken JSON and schema faults become invalid_request. */
export function parseEnvelope<T>(bytes: Uint8Array, schema: z.ZodType<T>, maxBytes: number): ParseResult<T> {
  if (bytes.byteLength > maxBytes) {
    return {
      ok: false,
      error: {
        code: 'invalid_request',
        message: `payload of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes}`,
        details: [{ path: '(payload)', problem: 'too large' }],
      },
    };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return {
      ok: false,
      error: { code: 'invalid_request', message: 'payload is not valid UTF-8', details: [{ path: '(payload)', problem: 'invalid UTF-8' }] },
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      error: {
        code: 'invalid_request',
        message: 'payload is not valid JSON',
        details: [{ path: '(payload)', problem: (e as Error).message }],
      },
    };
  }
  // JSON.parse keeps "__proto__" as an own key, but copying validators drop it silently: refuse it.
  const proto = text.includes('"__proto__"') ? protoKeyPath(json) : undefined;
  if (proto !== undefined)
    return {
      ok: false,
      error: { code: 'invalid_request', message: 'key "__proto__" is not allowed', details: [{ path: proto, problem: 'reserved key' }] },
    };
  const r = schema.safeParse(json);
  if (!r.success)
    return { ok: false, error: { code: 'invalid_request', message: 'envelope does not match the contract', details: detailsOf(r.error) } };
  return { ok: true, value: r.data };
}

/** Path of the first own "__proto__" key (iterative: parsed JSON may be nested deeper than the stack). */
function protoKeyPath(root: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[root, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (!Array.isArray(v) && Object.hasOwn(v, '__proto__')) return path ? `${path}.__proto__` : '__proto__';
    for (const [k, child] of Object.entries(v)) stack.push([child, path ? `${path}.${k}` : k]);
  }
  return undefined;
}
