// Reads LevelDB files the way a forensic scan must: table files (.ldb/.sst) with every block
// decompressed (Snappy would otherwise hide a repeated substring behind a back-reference), and
// write-ahead logs (.log) with their records reassembled (a 32 KiB block boundary inserts a header).
import { readFileSync } from 'node:fs';

function varint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [result, pos];
    shift += 7;
  }
}

export function snappyDecompress(src: Buffer): Buffer {
  let [len, p] = varint(src, 0);
  const out = Buffer.alloc(len);
  let o = 0;
  while (p < src.length) {
    const tag = src[p++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >> 2;
      if (n >= 60) {
        const bytes = n - 59;
        n = src.readUIntLE(p, bytes);
        p += bytes;
      }
      n += 1;
      src.copy(out, o, p, p + n);
      p += n;
      o += n;
      continue;
    }
    let n: number;
    let off: number;
    if (kind === 1) {
      n = 4 + ((tag >> 2) & 7);
      off = ((tag >> 5) << 8) | src[p++]!;
    } else if (kind === 2) {
      n = (tag >> 2) + 1;
      off = src.readUInt16LE(p);
      p += 2;
    } else {
      n = (tag >> 2) + 1;
      off = src.readUInt32LE(p);
      p += 4;
    }
    for (let i = 0; i < n; i++, o++) out[o] = out[o - off]!;
  }
  len = o;
  return out.subarray(0, len);
}

function blockAt(file: Buffer, offset: number, size: number): Buffer {
  const raw = file.subarray(offset, offset + size);
  return file[offset + size] === 1 ? snappyDecompress(raw) : raw;
}

/** Every block of a table file, decompressed, concatenated (data blocks, index, meta). */
export function tableContents(file: Buffer): Buffer {
  const footer = file.subarray(file.length - 48);
  let [, p] = varint(footer, 0); // metaindex offset
  [, p] = varint(footer, p); // metaindex size
  const [indexOffset, afterOffset] = varint(footer, p);
  const [indexSize] = varint(footer, afterOffset);
  const index = blockAt(file, indexOffset, indexSize);
  const restarts = index.readUInt32LE(index.length - 4);
  const end = index.length - 4 * (restarts + 1);
  const parts: Buffer[] = [index];
  let q = 0;
  while (q < end) {
    let nonShared: number;
    let valueLen: number;
    [, q] = varint(index, q);
    [nonShared, q] = varint(index, q);
    [valueLen, q] = varint(index, q);
    q += nonShared;
    const [off, q2] = varint(index, q);
    const [size] = varint(index, q2);
    q += valueLen;
    parts.push(blockAt(file, off, size));
  }
  return Buffer.concat(parts);
}

/** The payload of every write-ahead log record, fragments joined. */
export function logContents(file: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let block = 0; block < file.length; block += 32768) {
    let p = block;
    const end = Math.min(block + 32768, file.length);
    while (p + 7 <= end) {
      const len = file.readUInt16LE(p + 4);
      const type = file[p + 6];
      if (type === 0 && len === 0) break; // zero padding at the block's end
      parts.push(file.subarray(p + 7, p + 7 + len));
      p += 7 + len;
    }
  }
  return Buffer.concat(parts);
}

/** What a scan must search in `path`: the raw bytes plus the decoded LevelDB content. */
export function scannableBytes(path: string): Buffer {
  const raw = readFileSync(path);
  try {
    if (/\.(ldb|sst)$/.test(path)) return Buffer.concat([raw, tableContents(raw)]);
    if (/\.log$/.test(path) && !/LOG/.test(path)) return Buffer.concat([raw, logContents(raw)]);
  } catch (e) {
    throw new Error(`could not decode ${path}: ${(e as Error).message}`);
  }
  return raw;
}
