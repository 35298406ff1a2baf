// Consistency check (seed 6) [assumed method], pure part: record hashes, buckets, bucket digests and
// the differences between two sides. Both sides must compute these identically, so the field order
// and encodings here are part of the consistency.check schema (version 1).
import { createHash, type Hash } from 'node:crypto';

/**
 * Fixed field order of the record hash. Absent fields hash as null; values are hashed exactly as
 * stored (no normalisation), so any stored difference is a difference.
 */
export const RECORD_HASH_FIELDS = [
  'residentCode',
  'myNumber',
  'name',
  'nameKana',
  'birthDate',
  'sex',
  'address',
  'postcode',
  'lgCode',
  'formerSurname',
  'formerSurnameKana',
  'alias',
  'aliasKana',
  'changeReason',
  'changeDate',
  'status',
  'previousResidentCode',
  'updateSeq',
] as const;
export type HashedField = (typeof RECORD_HASH_FIELDS)[number];

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** SHA-256 (hex) of the JSON array of the record's values in RECORD_HASH_FIELDS order. */
export function recordHash(record: Readonly<Record<string, unknown>>): string {
  return sha256(JSON.stringify(RECORD_HASH_FIELDS.map((f) => record[f] ?? null)));
}

/** Fields (in hash order) whose stored values differ between two versions of a record. */
export function diffFields(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): HashedField[] {
  return RECORD_HASH_FIELDS.filter((f) => JSON.stringify(a[f] ?? null) !== JSON.stringify(b[f] ?? null));
}

export const DEFAULT_BUCKET_BITS = 12; // 4096 buckets: ≈900 records per bucket for Yokohama's 3.7 M

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 24) throw new RangeError('bucket bits must be an integer 1..24');
}

/** Bucket of a 住民票コード: the first `bits` bits of SHA-256(code), spreading codes evenly. */
export function bucketOf(residentCode: string, bits = DEFAULT_BUCKET_BITS): number {
  checkBits(bits);
  const d = createHash('sha256').update(residentCode, 'utf8').digest();
  return d.readUInt32BE(0) >>> (32 - bits);
}

export interface CodeHash {
  code: string;
  hash: string;
}

const line = (e: CodeHash): string => `${e.code}:${e.hash}\n`;

/** Digest of one bucket: SHA-256 over `code:hash\n` lines sorted by code. Empty bucket = SHA-256(""). */
export function bucketDigest(entries: Iterable<CodeHash>): string {
  const sorted = [...entries].sort((x, y) => (x.code < y.code ? -1 : x.code > y.code ? 1 : 0));
  const h = createHash('sha256');
  for (const e of sorted) h.update(line(e), 'utf8');
  return h.digest('hex');
}

/**
 * Streaming bucket digests in flat memory: feed entries in ascending code order (as a LevelDB scan
 * keyed by 住民票コード yields them); each bucket hashes incrementally. Same result as bucketDigest.
 */
export class BucketAccumulator {
  readonly bits: number;
  private readonly hashes: (Hash | undefined)[];
  private readonly counts: Uint32Array;
  private last: string | undefined;
  private total = 0;

  constructor(bits = DEFAULT_BUCKET_BITS) {
    checkBits(bits);
    this.bits = bits;
    this.hashes = new Array<Hash | undefined>(2 ** bits);
    this.counts = new Uint32Array(2 ** bits);
  }

  add(code: string, hash: string): void {
    if (this.last !== undefined && code <= this.last) throw new RangeError('entries must arrive in strictly ascending code order');
    this.last = code;
    const b = bucketOf(code, this.bits);
    (this.hashes[b] ??= createHash('sha256')).update(line({ code, hash }), 'utf8');
    this.counts[b]!++;
    this.total++;
  }

  get size(): number {
    return this.total;
  }

  /** Records per bucket (progress and sanity display). */
  countOf(bucket: number): number {
    return this.counts[bucket] ?? 0;
  }

  /** Finishes every bucket; the accumulator cannot be fed afterwards. */
  digests(): string[] {
    const empty = sha256('');
    return Array.from(this.hashes, (h) => (h ? h.digest('hex') : empty));
  }
}

/** All bucket digests of a list in any order (small sets, tests, the simulators). */
export function bucketDigests(entries: Iterable<CodeHash>, bits = DEFAULT_BUCKET_BITS): string[] {
  const sorted = [...entries].sort((x, y) => (x.code < y.code ? -1 : x.code > y.code ? 1 : 0));
  const acc = new BucketAccumulator(bits);
  for (const e of sorted) acc.add(e.code, e.hash);
  return acc.digests();
}

/** Indices of buckets whose digests differ. Both sides must use the same number of buckets. */
export function diffBuckets(local: readonly string[], remote: readonly string[]): number[] {
  if (local.length !== remote.length) throw new RangeError(`bucket counts differ: ${local.length} vs ${remote.length}`);
  const out: number[] = [];
  for (let i = 0; i < local.length; i++) if (local[i] !== remote[i]) out.push(i);
  return out;
}

export interface EntryDiff {
  /** Codes the remote side holds and the local side lacks. */
  missingLocally: string[];
  /** Codes the local side holds and the remote side lacks. */
  missingRemotely: string[];
  /** Codes both hold with different record hashes. */
  differing: string[];
}

function sortedUnique(list: readonly CodeHash[], side: string): CodeHash[] {
  const s = [...list].sort((x, y) => (x.code < y.code ? -1 : x.code > y.code ? 1 : 0));
  for (let i = 1; i < s.length; i++) if (s[i]!.code === s[i - 1]!.code) throw new RangeError(`duplicate code in ${side} list`);
  return s;
}

/** Merge-join of two (code, hash) lists; results sorted by code. */
export function diffEntries(localList: readonly CodeHash[], remoteList: readonly CodeHash[]): EntryDiff {
  const l = sortedUnique(localList, 'local');
  const r = sortedUnique(remoteList, 'remote');
  const out: EntryDiff = { missingLocally: [], missingRemotely: [], differing: [] };
  let i = 0;
  let j = 0;
  while (i < l.length || j < r.length) {
    const a = l[i];
    const b = r[j];
    if (b === undefined || (a !== undefined && a.code < b.code)) {
      out.missingRemotely.push(a!.code);
      i++;
    } else if (a === undefined || b.code < a.code) {
      out.missingLocally.push(b.code);
      j++;
    } else {
      if (a.hash !== b.hash) out.differing.push(a.code);
      i++;
      j++;
    }
  }
  return out;
}
