// An oversized local request (req/{type} over limits.maxPayloadBytes) is answered, not dropped: the
// contract gives every request a result or an error. The broker acknowledges it without storing or
// delivering it and replies `invalid_request` on res/{systemId}. Pure: no I/O, no aedes types.
import { envelopeSchema, errorReply, type Envelope, type ErrorBody } from '../platform/envelope.js';

/**
 * How far past maxPayloadBytes a packet is still read so that it can be answered. Beyond it the
 * connection is closed before the packet is buffered (broker/wire.ts): reading it would let one
 * client pin memory without bound.
 */
export const OVERSIZE_ANSWER_FACTOR = 4;

/** Bytes of the payload's start searched for the request's id (the envelope puts it early). */
const ID_SCAN_BYTES = 4096;
/** The envelope's own id rule, so the reply's corr is never an id the intake would refuse. */
const envelopeId = envelopeSchema.shape.id;

/** The publishes that get an answer instead of a disconnect: QoS 1 on req/{type} from a known system. */
export function answersOversize(topic: string, qos: number, systemId: string | null): systemId is string {
  if (qos !== 1 || systemId === null) return false;
  const levels = topic.split('/');
  return levels.length === 2 && levels[0] === 'req' && levels[1] !== '';
}

/**
 * The top-level `"id"` string of a JSON object, found in the first few KiB without parsing the
 * rest (the payload may be megabytes). Nested objects and arrays are skipped, so an `id` inside
 * `body` is never taken for the envelope's. Null when it is not there, not a string, not an
 * envelope id, or past the scanned prefix.
 */
export function leadingEnvelopeId(payload: Uint8Array): string | null {
  const s = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.length, ID_SCAN_BYTES)).toString('latin1');
  let i = 0;
  const ws = () => {
    while (i < s.length && ' \t\r\n'.includes(s[i]!)) i++;
  };
  /** A JSON string starting at s[i] === '"'; null when cut off. Escapes are kept raw (never an id). */
  const str = (): string | null => {
    const start = ++i;
    while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
    if (i >= s.length) return null;
    return s.slice(start, i++);
  };
  /** Skips one value; false when it runs past the prefix. */
  const skip = (): boolean => {
    ws();
    if (s[i] === '"') return str() !== null;
    if (s[i] === '{' || s[i] === '[') {
      let depth = 0;
      while (i < s.length) {
        const c = s[i]!;
        if (c === '"') {
          if (str() === null) return false;
          continue;
        }
        if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') depth--;
        i++;
        if (depth === 0) return true;
      }
      return false;
    }
    while (i < s.length && !',}]'.includes(s[i]!)) i++;
    return i < s.length;
  };
  ws();
  if (s[i] !== '{') return null;
  i++;
  for (;;) {
    ws();
    if (s[i] !== '"') return null;
    const key = str();
    if (key === null) return null;
    ws();
    if (s[i] !== ':') return null;
    i++;
    ws();
    if (key === 'id') {
      if (s[i] !== '"') return null;
      const v = str();
      return v !== null && envelopeId.safeParse(v).success ? v : null;
    }
    if (!skip()) return null;
    ws();
    if (s[i] !== ',') return null;
    i++;
  }
}

/** The contract's error reply to an oversized request (built like the intake's refusals). */
export function oversizeReply(payload: Uint8Array, systemId: string, self: string, maxPayloadBytes: number): Envelope<ErrorBody> {
  const bytes = payload.length;
  return errorReply(
    { id: leadingEnvelopeId(payload) ?? '', from: systemId },
    self,
    'invalid_request',
    `payload of ${bytes} bytes exceeds maxPayloadBytes ${maxPayloadBytes}; the request was not accepted`,
    [{ path: 'payload', problem: `${bytes} bytes; at most ${maxPayloadBytes} bytes are accepted` }],
  );
}
