// Bucket-level views of one municipality code as of a 更新順番号, streamed from the identity store's
// bucket-ordered listing (flat memory: one bucket at a time). Within a bucket the listing is in
// pseudonym order, so each bucket is sorted by code here (bucketDigest sorts its own input).
import { bucketDigest, type CodeHash } from '../../../domain/consistency.js';
import type { IdentityStore } from '../identityStore.js';
import { bucketOfPrefix, LISTING_PREFIX_BITS } from '../identityStoreKeys.js';

export const EMPTY_BUCKET = bucketDigest([]);

/** Listing-key bound of the first code of `bucket` at `bits` bits ('~' past the last bucket). */
export function bucketBound(bucket: number, bits: number): string {
  if (bucket >= 2 ** bits) return '~';
  return (bucket * 2 ** (LISTING_PREFIX_BITS - bits)).toString(16).padStart(LISTING_PREFIX_BITS / 4, '0');
}

const byCode = (x: CodeHash, y: CodeHash) => (x.code < y.code ? -1 : x.code > y.code ? 1 : 0);

/** (code, hash) entries of each bucket in [from, to) in code order, empty buckets included. */
export async function* bucketEntries(
  store: IdentityStore,
  lgCode: string,
  atSeq: number,
  bits: number,
  from: number,
  to: number,
): AsyncGenerator<{ bucket: number; entries: CodeHash[] }> {
  let current = from;
  let entries: CodeHash[] = [];
  for await (const d of store.iterateDigests(lgCode, atSeq, { fromPrefix: bucketBound(from, bits), toPrefix: bucketBound(to, bits) })) {
    const b = bucketOfPrefix(d.prefix, bits);
    while (current < b) {
      yield { bucket: current++, entries: entries.sort(byCode) };
      entries = [];
    }
    entries.push({ code: d.residentCode, hash: d.digest });
  }
  while (current < to) {
    yield { bucket: current++, entries: entries.sort(byCode) };
    entries = [];
  }
}

export async function entriesOf(store: IdentityStore, lgCode: string, atSeq: number, bits: number, bucket: number): Promise<CodeHash[]> {
  for await (const e of bucketEntries(store, lgCode, atSeq, bits, bucket, bucket + 1)) return e.entries;
  return [];
}

/** Digests of buckets [from, to) and the number of records they hold (one streaming pass). */
export async function bucketDigestRange(
  store: IdentityStore,
  lgCode: string,
  atSeq: number,
  bits: number,
  from: number,
  to: number,
): Promise<{ digests: string[]; count: number }> {
  const digests: string[] = [];
  let count = 0;
  let current = from;
  let entries: CodeHash[] = [];
  const close = () => {
    digests.push(entries.length ? bucketDigest(entries) : EMPTY_BUCKET);
    entries = [];
    current++;
  };
  await store.scanDigests(lgCode, atSeq, { fromPrefix: bucketBound(from, bits), toPrefix: bucketBound(to, bits) }, (code, prefix, hash) => {
    const b = bucketOfPrefix(prefix, bits);
    while (current < b) close();
    entries.push({ code, hash });
    count++;
  });
  while (current < to) close();
  return { digests, count };
}

/** Rough record count of a municipality code from 1/256 of the listing, to size the buckets. */
export async function estimateCount(store: IdentityStore, lgCode: string, atSeq: number): Promise<number> {
  let n = 0;
  for await (const _ of store.iterateDigests(lgCode, atSeq, { fromPrefix: '00', toPrefix: '01' })) n++;
  if (n >= 64) return n * 256;
  n = 0;
  for await (const _ of store.iterateDigests(lgCode, atSeq)) n++;
  return n;
}

/** Bits so that a bucket holds ≈256 records (at most 16, the message schema's limit). */
export function bucketBitsFor(count: number): number {
  return Math.min(16, Math.max(1, Math.ceil(Math.log2(Math.max(1, count) / 256))));
}
