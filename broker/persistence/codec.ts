// Compact record codec for packets and queue entries: a JSON header for the small fields and the
// payload bytes appended raw, so a 256-byte payload is not inflated by JSON/base64.
// Layout: u32 BE header length | header JSON (utf8) | payload bytes.
import type { LazyValue } from './writeTypes.js';

const PAYLOAD_NONE = 0;
const PAYLOAD_BYTES = 1;
const PAYLOAD_STRING = 2;

export type RecordObject = Record<string, unknown>;

/** Encode any packet-like object; keys holding `undefined` survive the round trip (aedes compares shapes). */
export function encodeRecord(obj: RecordObject): Uint8Array {
  const head: RecordObject = {};
  let undef: string[] | undefined;
  let payload: Uint8Array | undefined;
  let kind = PAYLOAD_NONE;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (key === 'payload' && v !== undefined && v !== null) {
      if (typeof v === 'string') {
        kind = PAYLOAD_STRING;
        payload = Buffer.from(v, 'utf8');
      } else if (v instanceof Uint8Array) {
        kind = PAYLOAD_BYTES;
        payload = v;
      } else {
        head[key] = v;
      }
      continue;
    }
    if (v === undefined) (undef ??= []).push(key);
    else head[key] = v;
  }
  head.$k = kind;
  if (undef) head.$u = undef;
  return withPayload(JSON.stringify(head), payload);
}

/**
 * The ingress record ({ topic, payload bytes, qos, retain, clientId, properties? }), the one
 * encoded for every accepted publish: same layout as encodeRecord, header written by hand.
 */
export function encodeIngressRecord(
  topic: string,
  payload: Uint8Array,
  qos: number,
  retain: boolean,
  clientId: string,
  properties?: unknown,
): Uint8Array {
  if (properties !== undefined) return withPayload(ingressHeader(topic, qos, retain, clientId, properties), payload);
  // A publisher mostly repeats its topic, qos and retain: its encoded header is reused.
  let h = headers.get(clientId);
  if (h === undefined || h.topic !== topic || h.qos !== qos || h.retain !== retain) {
    const json = ingressHeader(topic, qos, retain, clientId, undefined);
    const bytes = Buffer.allocUnsafeSlow(4 + Buffer.byteLength(json, 'utf8'));
    bytes.writeUInt32BE(bytes.length - 4, 0);
    bytes.write(json, 4, 'utf8');
    if (headers.size >= HEADER_CACHE_SIZE) headers.clear();
    headers.set(clientId, (h = { topic, qos, retain, bytes }));
  }
  const out = Buffer.allocUnsafe(h.bytes.length + payload.byteLength);
  out.set(h.bytes, 0);
  out.set(payload, h.bytes.length);
  return out;
}

function ingressHeader(topic: string, qos: number, retain: boolean, clientId: string, properties: unknown): string {
  const props = properties === undefined ? '' : `,"properties":${JSON.stringify(properties)}`;
  return `{"topic":${JSON.stringify(topic)},"qos":${JSON.stringify(qos)},"retain":${retain},"clientId":${JSON.stringify(clientId)}${props},"$k":${PAYLOAD_BYTES}}`;
}

interface CachedHeader {
  topic: string;
  qos: number;
  retain: boolean;
  bytes: Buffer;
}
/** Last ingress header per client id (bounded: cleared when full). */
const headers = new Map<string, CachedHeader>();
const HEADER_CACHE_SIZE = 4096;

/** u32 header length | header | payload, in one allocation (the header written straight into it). */
function withPayload(json: string, payload: Uint8Array | undefined): Uint8Array {
  const hlen = Buffer.byteLength(json, 'utf8');
  const plen = payload ? payload.byteLength : 0;
  const out = Buffer.allocUnsafe(4 + hlen + plen);
  out.writeUInt32BE(hlen, 0);
  out.write(json, 4, 'utf8');
  if (payload) out.set(payload, 4 + hlen);
  return out;
}

function reviveBuffers(_key: string, value: unknown): unknown {
  if (
    value &&
    typeof value === 'object' &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  ) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return value;
}

export function decodeRecord(bytes: Uint8Array): RecordObject {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4) throw new Error('corrupt record: shorter than its header length');
  const hlen = buf.readUInt32BE(0);
  if (4 + hlen > buf.length) throw new Error('corrupt record: header length beyond record');
  const text = buf.toString('utf8', 4, 4 + hlen);
  // Buffers only occur inside MQTT 5 properties; skip the reviver on the hot path.
  const head = (text.includes('"Buffer"') ? JSON.parse(text, reviveBuffers) : JSON.parse(text)) as RecordObject;
  const kind = head.$k;
  const undef = head.$u as string[] | undefined;
  delete head.$k;
  delete head.$u;
  if (kind === PAYLOAD_BYTES)
    head.payload = Buffer.from(buf.subarray(4 + hlen)); // copy: do not pin LevelDB's buffer
  else if (kind === PAYLOAD_STRING) head.payload = buf.toString('utf8', 4 + hlen);
  if (undef) for (const k of undef) head[k] = undefined;
  return head;
}

/** A JSON value as stored bytes (subscriptions, meta counters). */
export function jsonBytes(v: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(v), 'utf8');
}

export function parseJson(v: Uint8Array): any {
  return JSON.parse(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8'));
}

/** A stored packet, encoded once however many subscriber queues it is written to. */
export class LazyRecord implements LazyValue {
  #bytes: Uint8Array | undefined;
  constructor(private readonly record: RecordObject) {}
  bytes(): Uint8Array {
    return (this.#bytes ??= encodeRecord(this.record));
  }
}
