// Registry of every contract message type (CONTRACT.md "Message types") with its body schemas, and
// `validateBody`, which turns any body fault into the contract's error body (never throws).
import { z } from 'zod';
import { isoDateInJapan } from '../../domain/dates.js';
import { knownMunicipalityPredicate } from '../../domain/routing.js';
import { ERROR_CODES, type ErrorBody, type ErrorDetail } from '../../platform/envelope.js';
import { cardMessages } from './card.js';
import { consistencyMessages } from './consistency.js';
import { fieldKit, type SchemaOptions } from './fields.js';
import { identityMessages } from './identity.js';
import { jlisMessages } from './jlis.js';
import { moveOutMessages } from './moveout.js';
import { numberLinkageMessages } from './numberLinkage.js';
import type { MessageSpec } from './spec.js';

export const MESSAGE_TYPE_NAMES = [
  'identity.update',
  'identity.notify',
  'identity.verify',
  'moveout.cert.request',
  'moveout.cert.store',
  'moveout.cert',
  'movein.notice',
  'card.continue',
  'identity.search',
  'jlis.inquiry',
  'consistency.check',
  'consistency.result',
  'card.delivery',
  'card.event',
  'addressee.update',
  'serial.request',
  'code.request',
  'code.deliver',
  'copy.update',
  'info.query',
] as const;
export type MessageType = (typeof MESSAGE_TYPE_NAMES)[number];

type Families = ReturnType<typeof identityMessages> &
  ReturnType<typeof moveOutMessages> &
  ReturnType<typeof cardMessages> &
  ReturnType<typeof jlisMessages> &
  ReturnType<typeof consistencyMessages> &
  ReturnType<typeof numberLinkageMessages>;
/** Every type with its concrete schemas (so bodies have static types), each a MessageSpec. */
export type MessageRegistry = Readonly<Pick<Families, MessageType>>;

/** Validated request body of a type (dates already ISO). */
export type RequestBody<T extends MessageType> = z.output<MessageRegistry[T]['request']>;
/** Validated `{type}.result` body, for the types that have one. */
export type ResultBody<T extends MessageType> = MessageRegistry[T] extends { result: infer S extends z.ZodType } ? z.output<S> : never;

/** Builds the registry for an installation (the 住民票コード switch and the clock come from outside). */
export function createMessageRegistry(opts: Partial<SchemaOptions> = {}): MessageRegistry {
  const k = fieldKit({
    checkResidentCodeDigit: opts.checkResidentCodeDigit ?? true,
    today: opts.today ?? (() => isoDateInJapan(Date.now())),
    knownLgCode: opts.knownLgCode ?? knownMunicipalityPredicate(),
  });
  const all: Families = {
    ...identityMessages(k),
    ...moveOutMessages(k),
    ...cardMessages(k),
    ...jlisMessages(k),
    ...consistencyMessages(k),
    ...numberLinkageMessages(k),
  };
  const missing = MESSAGE_TYPE_NAMES.filter((t) => !(t in all));
  const extra = Object.keys(all).filter((t) => !(MESSAGE_TYPE_NAMES as readonly string[]).includes(t));
  if (missing.length || extra.length)
    throw new Error(`message registry out of step: missing ${missing.join(',')} extra ${extra.join(',')}`);
  // why: Object.fromEntries loses the name-to-schema pairing; the check above proved each name present once.
  return Object.fromEntries(MESSAGE_TYPE_NAMES.map((t) => [t, all[t]])) as unknown as MessageRegistry;
}

/** The default registry: 住民票コード check on, today from the system clock in JST, the embedded code tables. */
export const MESSAGE_TYPES: MessageRegistry = createMessageRegistry();

/** Body of a `type: "error"` reply (CONTRACT.md "Replies and errors"). */
export const errorBodySchema = z
  .strictObject({
    code: z.enum(ERROR_CODES).describe('contract error code'),
    message: z.string().max(1000).describe('human-readable summary (no personal data)'),
    details: z
      .array(
        z.strictObject({
          path: z.string().max(200).describe('field path, e.g. body.birthDate'),
          problem: z.string().max(500).describe('rule id and explanation, e.g. "date.future: …"'),
        }),
      )
      .max(100)
      .describe('one entry per rejected field'),
  })
  .describe('error reply body');

/** The spec of a type, seen through the common MessageSpec interface. */
export function specOf(type: MessageType, registry: MessageRegistry = MESSAGE_TYPES): MessageSpec {
  return registry[type];
}

export function isMessageType(type: string): type is MessageType {
  return (MESSAGE_TYPE_NAMES as readonly string[]).includes(type);
}

/** The schema for a request type, `{type}.result`, or `error`; undefined if there is none. */
export function bodySchemaOf(type: string, registry: MessageRegistry = MESSAGE_TYPES): z.ZodType | undefined {
  if (type === 'error') return errorBodySchema;
  if (isMessageType(type)) return specOf(type, registry).request;
  if (type.endsWith('.result')) {
    const base = type.slice(0, -'.result'.length);
    if (isMessageType(base)) return specOf(base, registry).result;
  }
  return undefined;
}

const RULE_ID = /^[A-Za-z][\w.]*: /;
/** An error reply lists at most this many details (errorBodySchema allows 100). */
export const MAX_DETAILS = 100;

/** zod issues → details: unknown fields named one by one, every problem led by a rule id. */
function bodyDetails(error: z.ZodError): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  for (const i of error.issues) {
    const path = ['body', ...i.path.map(String)].join('.');
    if (i.code === 'unrecognized_keys') {
      for (const key of i.keys) out.push({ path: `${path}.${key}`, problem: 'field.unknown: not a field of this message' });
    } else {
      out.push({ path, problem: RULE_ID.test(i.message) ? i.message : `schema.${i.code}: ${i.message}` });
    }
  }
  if (out.length > MAX_DETAILS) {
    const more = out.length - (MAX_DETAILS - 1);
    out.splice(MAX_DETAILS - 1, out.length, { path: 'body', problem: `details.truncated: ${more} more problems not listed` });
  }
  return out;
}

export type BodyResult<T = unknown> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** The answer to a type the contract does not know, for every role (intake, GW screen, body check). */
export function unknownTypeError(type: string): {
  code: 'invalid_request';
  message: string;
  details: Array<{ path: string; problem: string }>;
} {
  return {
    code: 'invalid_request',
    message: `unknown message type "${type.slice(0, 64)}"`,
    details: [{ path: 'type', problem: 'type.unknown: not a message type of the contract' }],
  };
}

/**
 * Validates (and normalises: 和暦 → ISO) a message body. Faults become `invalid_request` with one
 * detail per field, paths prefixed `body.`; an unknown type is reported on `type`.
 */
export function validateBody(type: string, body: unknown, registry: MessageRegistry = MESSAGE_TYPES): BodyResult {
  const schema = bodySchemaOf(type, registry);
  if (!schema) {
    return { ok: false, error: unknownTypeError(type) };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      ok: false,
      error: {
        code: 'invalid_request',
        message: `body of ${type} must be a JSON object`,
        details: [{ path: 'body', problem: 'body.type: expected a JSON object' }],
      },
    };
  }
  const r = schema.safeParse(body);
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    error: { code: 'invalid_request', message: `body of ${type} does not match its schema`, details: bodyDetails(r.error) },
  };
}

/** validateBody with the body's static type, for a request of a known type. */
export function parseRequest<T extends MessageType>(
  type: T,
  body: unknown,
  registry: MessageRegistry = MESSAGE_TYPES,
): BodyResult<RequestBody<T>> {
  return validateBody(type, body, registry) as BodyResult<RequestBody<T>>;
}

/** validateBody of `{type}.result` with its static type. */
export function parseResult<T extends MessageType>(
  type: T,
  body: unknown,
  registry: MessageRegistry = MESSAGE_TYPES,
): BodyResult<ResultBody<T>> {
  return validateBody(`${type}.result`, body, registry) as BodyResult<ResultBody<T>>;
}
