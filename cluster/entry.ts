// One log entry = one storage commit, encoded compactly: a version byte, then per op a tag byte,
// u32 lengths and the raw bytes (a 1 KB value costs 1 KB plus a few bytes, not a JSON array of numbers).
import type { KeyRange, StoreOp } from '../platform/store/port.js';

export type EntryOp = StoreOp | { type: 'clear'; range: KeyRange };

const VERSION = 1;
const TAG = { put: 0, del: 1, clear: 2 } as const;

export function encodeEntry(ops: EntryOp[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 1;
  const field = (b: Uint8Array) => {
    parts.push(b);
    size += 4 + b.length;
  };
  const enc = new TextEncoder();
  const tags: number[] = [];
  for (const op of ops) {
    tags.push(TAG[op.type]);
    if (op.type === 'put') {
      field(enc.encode(op.key));
      field(op.value);
    } else if (op.type === 'del') field(enc.encode(op.key));
    else {
      field(enc.encode(op.range.gte));
      field(enc.encode(op.range.lt));
    }
    size += 1;
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = VERSION;
  let at = 1;
  let p = 0;
  for (const tag of tags) {
    out[at++] = tag;
    for (let n = tag === TAG.del ? 1 : 2; n > 0; n--) {
      const b = parts[p++]!;
      out.writeUInt32BE(b.length, at);
      out.set(b, at + 4);
      at += 4 + b.length;
    }
  }
  return out;
}

export function decodeEntry(bytes: Uint8Array): EntryOp[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf[0] !== VERSION) throw new Error(`log entry: unknown encoding version ${buf[0]}`);
  const ops: EntryOp[] = [];
  let at = 1;
  const field = (): Buffer => {
    if (at + 4 > buf.length) throw new Error(`log entry: truncated at byte ${at}`);
    const len = buf.readUInt32BE(at);
    if (at + 4 + len > buf.length) throw new Error(`log entry: field of ${len} bytes runs past the end at byte ${at}`);
    const b = buf.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    return b;
  };
  while (at < buf.length) {
    const tag = buf[at++];
    if (tag === TAG.put) ops.push({ type: 'put', key: field().toString('utf8'), value: new Uint8Array(field()) });
    else if (tag === TAG.del) ops.push({ type: 'del', key: field().toString('utf8') });
    else if (tag === TAG.clear) ops.push({ type: 'clear', range: { gte: field().toString('utf8'), lt: field().toString('utf8') } });
    else throw new Error(`log entry: unknown op tag ${tag} at byte ${at - 1}`);
  }
  return ops;
}
