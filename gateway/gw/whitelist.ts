// GW whitelist (住基ネットGW): the only message types and body fields the number-linkage segment may
// pass towards the CS and the intermediate server. Explicit on purpose: a new contract field reaches
// the CS only after someone adds it here. Pure: no I/O.
import type { ErrorBody, ErrorDetail } from '../../platform/envelope.js';
import { isMessageType, unknownTypeError } from '../messages/registry.js';

export const GW_WHITELIST: Readonly<Record<string, readonly string[]>> = {
  'code.request': ['lgCode', 'serialNo', 'myNumber'],
  'addressee.update': ['lgCode', 'addresseeNo', 'operation', 'myNumber', 'name', 'nameKana', 'birthDate', 'sex', 'address'],
  'serial.request': ['lgCode', 'addresseeNo'],
  'copy.update': ['lgCode', 'addresseeNo', 'infoType', 'operation', 'data'],
  'info.query': ['lgCode', 'addresseeNo', 'infoType', 'targetOrg', 'procedure'],
};

/** Field names that carry personal data or identifiers somewhere in the contract. */
const PERSONAL_FIELDS = new Set([
  'myNumber',
  'residentCode',
  'previousResidentCode',
  'code',
  'serialNo',
  'name',
  'nameKana',
  'kana',
  'formerSurname',
  'alias',
  'birthDate',
  'sex',
  'address',
  'postcode',
  'record',
  'records',
  'hits',
  'data',
  'addresseeNo',
]);

/** An identifier-shaped digit run (住民票コード 11, 個人番号 12 digits, or longer). */
const IDENTIFIER_DIGITS = /\d{11,}/;

export type ScreenResult = { ok: true; body: Record<string, unknown>; stripped: string[] } | { ok: false; error: ErrorBody };

/**
 * Screens one body from the number-linkage segment. Unknown harmless scalar fields are stripped
 * (a newer number-linkage server may send them) and named in `stripped`. A field outside the
 * whitelist that could carry personal data — a personal field name, a structured value or an
 * identifier-shaped number — is smuggling: the whole request is refused and nothing is forwarded.
 */
export function screenBody(type: string, body: unknown): ScreenResult {
  const allowed = GW_WHITELIST[type];
  if (!allowed && !isMessageType(type)) {
    // Malformed whoever sends it (the intake answers the same to every role).
    return { ok: false, error: unknownTypeError(type) };
  }
  if (!allowed) {
    return {
      ok: false,
      error: {
        code: 'forbidden',
        message: `message type ${type.slice(0, 64)} may not come from the number-linkage segment`,
        details: [{ path: 'type', problem: `type.notWhitelisted: the GW passes only ${Object.keys(GW_WHITELIST).join(', ')}` }],
      },
    };
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
  const kept: Record<string, unknown> = {};
  const stripped: string[] = [];
  const smuggled: ErrorDetail[] = [];
  for (const [k, v] of Object.entries(body)) {
    if (allowed.includes(k)) {
      kept[k] = v;
      continue;
    }
    const path = `body.${k.slice(0, 64)}`;
    if (PERSONAL_FIELDS.has(k)) smuggled.push({ path, problem: `field.smuggled: "${k}" is personal data not allowed in ${type}` });
    else if (v !== null && typeof v === 'object')
      smuggled.push({ path, problem: 'field.smuggled: structured value in a field outside the whitelist' });
    else if (typeof v === 'string' && IDENTIFIER_DIGITS.test(v))
      smuggled.push({ path, problem: 'field.smuggled: identifier-shaped number in a field outside the whitelist' });
    else stripped.push(k.slice(0, 64));
  }
  if (smuggled.length) {
    return {
      ok: false,
      error: {
        code: 'invalid_request',
        message: `${type} carries fields the GW does not pass; nothing was forwarded`,
        details: smuggled.slice(0, 100),
      },
    };
  }
  return { ok: true, body: kept, stripped };
}
