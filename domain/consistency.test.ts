import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BucketAccumulator,
  bucketDigest,
  bucketDigests,
  bucketOf,
  diffBuckets,
  diffEntries,
  diffFields,
  RECORD_HASH_FIELDS,
  recordHash,
  type CodeHash,
} from './consistency.js';
import { residentCodeCheckDigit } from './identifiers.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function code(n: number): string {
  const body = String(n).padStart(10, '0');
  return body + residentCodeCheckDigit(body);
}

const record = {
  residentCode: code(1),
  myNumber: '123456789018',
  name: '津 太郎',
  nameKana: 'ツ タロウ',
  birthDate: '1980-04-01',
  sex: '1',
  address: '三重県津市西丸之内23-1',
  postcode: '514-8611',
  lgCode: '242012',
  changeReason: 'add',
  changeDate: '2020-01-01',
  status: 'current',
  updateSeq: 7,
};

describe('record hash', () => {
  it('is SHA-256 of the JSON array of values in the fixed field order, absent = null', () => {
    const values = RECORD_HASH_FIELDS.map((f) => (record as Record<string, unknown>)[f] ?? null);
    expect(values.filter((v) => v === null)).toHaveLength(5);
    expect(recordHash(record)).toBe(sha(JSON.stringify(values)));
  });
  it('ignores key order and unknown fields, but not any stored difference', () => {
    const reversed = Object.fromEntries(Object.entries(record).reverse());
    expect(recordHash(reversed)).toBe(recordHash(record));
    expect(recordHash({ ...record, extra: 1 })).toBe(recordHash(record));
    for (const f of RECORD_HASH_FIELDS) {
      const changed = { ...record, [f]: f === 'updateSeq' ? 8 : `${String((record as Record<string, unknown>)[f] ?? '')}x` };
      expect(recordHash(changed), f).not.toBe(recordHash(record));
      expect(diffFields(record, changed)).toEqual([f]);
    }
    expect(recordHash({ ...record, name: '津\u3000太郎' })).not.toBe(recordHash(record));
    expect(recordHash({ ...record, updateSeq: '7' })).not.toBe(recordHash(record));
    expect(recordHash({ ...record, alias: null })).toBe(recordHash(record));
  });
});

describe('buckets', () => {
  it('bucket = leading bits of SHA-256(code), for every supported width', () => {
    const c = code(42);
    const d = createHash('sha256').update(c).digest();
    for (let bits = 1; bits <= 24; bits++) {
      const expected = parseInt(
        [...d.subarray(0, 4)]
          .map((b) => b.toString(2).padStart(8, '0'))
          .join('')
          .slice(0, bits),
        2,
      );
      expect(bucketOf(c, bits)).toBe(expected);
    }
    expect(() => bucketOf(c, 0)).toThrow(RangeError);
    expect(() => bucketOf(c, 25)).toThrow(RangeError);
  });
  it('spreads codes evenly over 4096 buckets', () => {
    const counts = new Uint32Array(4096);
    for (let n = 0; n < 81_920; n++) counts[bucketOf(code(n))]!++; // mean 20 per bucket
    expect(Math.max(...counts)).toBeLessThan(50);
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });
  it('streaming accumulator equals the sorting digest, bucket by bucket', () => {
    const entries: CodeHash[] = [];
    for (let n = 0; n < 3000; n++) entries.push({ code: code(n * 7), hash: sha(String(n)) });
    const bits = 8;
    const acc = new BucketAccumulator(bits);
    for (const e of entries) acc.add(e.code, e.hash);
    const streamed = acc.digests();
    expect(streamed).toHaveLength(256);
    const shuffled = [...entries].reverse();
    expect(bucketDigests(shuffled, bits)).toEqual(streamed);
    let total = 0;
    for (let b = 0; b < 256; b++) {
      const inBucket = shuffled.filter((e) => bucketOf(e.code, bits) === b);
      expect(streamed[b]).toBe(bucketDigest(inBucket));
      expect(streamed[b]).toBe(
        sha(
          inBucket
            .map((e) => `${e.code}:${e.hash}\n`)
            .sort()
            .join(''),
        ),
      );
      expect(acc.countOf(b)).toBe(inBucket.length);
      total += inBucket.length;
    }
    expect(total).toBe(acc.size);
    expect(bucketDigest([])).toBe(sha(''));
  });
  it('refuses out-of-order feeding', () => {
    const acc = new BucketAccumulator(4);
    acc.add(code(2), 'a');
    expect(() => acc.add(code(1), 'b')).toThrow('strictly ascending');
    expect(() => acc.add(code(2), 'b')).toThrow('strictly ascending');
  });
  it('diffBuckets lists differing indices and refuses mismatched widths', () => {
    expect(diffBuckets(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual([1]);
    expect(diffBuckets([], [])).toEqual([]);
    expect(() => diffBuckets(['a'], ['a', 'b'])).toThrow('bucket counts differ: 1 vs 2');
  });
});

describe('diffEntries and the whole protocol on random data', () => {
  it('small cases', () => {
    expect(diffEntries([], [])).toEqual({ missingLocally: [], missingRemotely: [], differing: [] });
    expect(
      diffEntries(
        [
          { code: 'b', hash: '1' },
          { code: 'a', hash: '1' },
        ],
        [
          { code: 'c', hash: '1' },
          { code: 'b', hash: '2' },
        ],
      ),
    ).toEqual({ missingLocally: ['c'], missingRemotely: ['a'], differing: ['b'] });
    expect(() =>
      diffEntries(
        [
          { code: 'a', hash: '1' },
          { code: 'a', hash: '2' },
        ],
        [],
      ),
    ).toThrow('duplicate code in local list');
  });
  it('finds exactly the planted differences through buckets → entries (200 random trials)', () => {
    const rnd = prng(20261124);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rnd() * 400);
      const local = new Map<string, string>();
      const remote = new Map<string, string>();
      const expected = { missingLocally: [] as string[], missingRemotely: [] as string[], differing: [] as string[] };
      for (let k = 0; k < n; k++) {
        const c = code(Math.floor(rnd() * 1e9));
        if (local.has(c) || remote.has(c)) continue;
        const h = sha(`${trial}:${k}`);
        const roll = rnd();
        if (roll < 0.03) {
          local.set(c, h);
          expected.missingRemotely.push(c);
        } else if (roll < 0.06) {
          remote.set(c, h);
          expected.missingLocally.push(c);
        } else if (roll < 0.09) {
          local.set(c, h);
          remote.set(c, sha(h));
          expected.differing.push(c);
        } else {
          local.set(c, h);
          remote.set(c, h);
        }
      }
      const bits = 1 + Math.floor(rnd() * 10);
      const toList = (m: Map<string, string>) => [...m].map(([c, h]) => ({ code: c, hash: h }));
      const buckets = diffBuckets(bucketDigests(toList(local), bits), bucketDigests(toList(remote), bits));
      const inDiffering = (m: Map<string, string>) => toList(m).filter((e) => buckets.includes(bucketOf(e.code, bits)));
      const got = diffEntries(inDiffering(local), inDiffering(remote));
      for (const k of Object.keys(expected) as (keyof typeof expected)[]) expected[k].sort();
      expect(got).toEqual(expected);
      expect(diffEntries(toList(local), toList(remote))).toEqual(expected);
      const planted = new Set(
        [...expected.missingLocally, ...expected.missingRemotely, ...expected.differing].map((c) => bucketOf(c, bits)),
      );
      expect(new Set(buckets)).toEqual(planted);
    }
  });
});
