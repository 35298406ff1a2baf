// One log entry = one storage commit, encoded compactly: a version byte, then per op a tag byte,
// u32 lengths and the raw bytes (a 1 KB value costs 1 KB plus a few bytes, not a JSON array of numbers).
// A commit larger than one etcd request carries is split into parts, consecutive entries of their own
// kind (`PART`: index and count after the kind byte); a replica applies them only once it has the last
// one, all in one batch, so the commit stays atomic (cluster/applier.ts).
import type { KeyRange, StoreOp } from '../platform/store/port.js';

export type EntryOp = StoreOp | { type: 'clear'; range: KeyRange };

/** A decoded entry: a whole commit, or part `index` of `count` of one. */
export interface LogEntry {
  ops: EntryOp[];
  part?: { index: number; count: number };
}

const VERSION = 1;
const PART = 2;
const PART_HEADER = 5;
const TAG = { put: 0, del: 1, clear: 2 } as const;

export class CommitTooLargeError extends Error {
  constructor(bytes: number, limit: number) {
    super(`one write of ${bytes} bytes exceeds what one etcd request carries (${limit} bytes for an entry); nothing written`);
    this.name = 'CommitTooLargeError';
  }
}

/** Encoded size of one op (tag byte, u32 lengths, bytes). */
function opBytes(op: EntryOp): number {
  const len = (t: string) => Buffer.byteLength(t, 'utf8') + 4;
  if (op.type === 'put') return 1 + len(op.key) + 4 + op.value.length;
  if (op.type === 'del') return 1 + len(op.key);
  return 1 + len(op.range.gte) + len(op.range.lt);
}

/**
 * The entries one commit becomes: one when it fits `maxEntryBytes`, else parts of at most that size,
 * split between ops. A single op larger than an entry cannot be carried and is refused.
 */
export function encodeCommit(ops: EntryOp[], maxEntryBytes: number): Uint8Array[] {
  const sizes = ops.map(opBytes);
  if (1 + sizes.reduce((a, b) => a + b, 0) <= maxEntryBytes) return [encodeEntry(ops)];
  const chunks: EntryOp[][] = [];
  let chunk: EntryOp[] = [];
  let size = PART_HEADER;
  ops.forEach((op, i) => {
    const n = sizes[i]!;
    if (PART_HEADER + n > maxEntryBytes) throw new CommitTooLargeError(n, maxEntryBytes);
    if (chunk.length > 0 && size + n > maxEntryBytes) {
      chunks.push(chunk);
      chunk = [];
      size = PART_HEADER;
    }
    chunk.push(op);
    size += n;
  });
  chunks.push(chunk);
  if (chunks.length > 0xffff)
    throw new CommitTooLargeError(
      sizes.reduce((a, b) => a + b, 0),
      maxEntryBytes * 0xffff,
    );
  return chunks.map((c, index) => encodeOps(c, [PART, index >> 8, index & 0xff, chunks.length >> 8, chunks.length & 0xff]));
}

/** A whole commit as one entry. */
export function encodeEntry(ops: EntryOp[]): Uint8Array {
  return encodeOps(ops, [VERSION]);
}

function encodeOps(ops: EntryOp[], header: number[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = header.length;
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
  out.set(header, 0);
  let at = header.length;
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

/** A whole commit's ops (an entry of the `VERSION` kind). */
export function decodeEntry(bytes: Uint8Array): EntryOp[] {
  const e = decodeLogEntry(bytes);
  if (e.part) throw new Error(`log entry: part ${e.part.index + 1} of ${e.part.count} of a commit, not a whole commit`);
  return e.ops;
}

export function decodeLogEntry(bytes: Uint8Array): LogEntry {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf[0] === PART) {
    if (buf.length < PART_HEADER) throw new Error('log entry: truncated part header');
    const index = buf.readUInt16BE(1);
    const count = buf.readUInt16BE(3);
    if (count < 2 || index >= count) throw new Error(`log entry: part ${index + 1} of ${count} is not a part`);
    return { ops: decodeOps(buf, PART_HEADER), part: { index, count } };
  }
  if (buf[0] !== VERSION) throw new Error(`log entry: unknown encoding version ${buf[0]}`);
  return { ops: decodeOps(buf, 1) };
}

function decodeOps(buf: Buffer, start: number): EntryOp[] {
  const ops: EntryOp[] = [];
  let at = start;
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
