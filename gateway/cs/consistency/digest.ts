// Record and bucket digests for the consistency check (DOMAIN.md "Consistency check").
// [local] until gateway/domain/consistency.ts lands; both sides of a check must use the same version.
import { createHash } from 'node:crypto';
import type { IdentityRecord } from '../identityStoreTypes.js';

export const DIGEST_VERSION = 'cs-digest-1';

/** Fixed field order, exact stored values; absent optional fields hash as empty. */
const FIELDS = ['residentCode', 'myNumber', 'lgCode', 'name', 'kana', 'birthDate', 'sex', 'address', 'postcode',
  'formerSurname', 'formerSurnameKana', 'alias', 'aliasKana', 'status', 'previousResidentCode', 'seq'] as const;

export function recordDigest(r: IdentityRecord): string {
  const h = createHash('sha256');
  for (const f of FIELDS) h.update(String(r[f] ?? '')).update('\u0000');
  h.update(r.change.reason).update('\u0000').update(r.change.date);
  return h.digest('hex').slice(0, 32);
}

/** Fields that differ between two versions of one person (for the stored difference list). */
export function differingFields(a: IdentityRecord, b: IdentityRecord): string[] {
  const out: string[] = FIELDS.filter((f) => String(a[f] ?? '') !== String(b[f] ?? ''));
  if (a.change.reason !== b.change.reason || a.change.date !== b.change.date) out.push('change');
  return out;
}

/** First 32 bits of SHA-256(住民票コード), hex: the bucket space both sides agree on. */
export function bucketPrefix(residentCode: string): string {
  return createHash('sha256').update(residentCode).digest('hex').slice(0, 8);
}

/** A bucket's number at `bits` bits of the prefix. */
export function bucketOf(residentCode: string, bits: number): number {
  return parseInt(bucketPrefix(residentCode), 16) >>> (32 - bits);
}

/** Streaming digest of one bucket over (code, record digest) pairs in bucket-key order. */
export class BucketHasher {
  private h = createHash('sha256');
  count = 0;
  add(residentCode: string, digest: string): void {
    this.h.update(residentCode).update(':').update(digest).update('\n');
    this.count++;
  }
  /** 128 bits; an empty bucket is the empty string so it costs nothing on the wire. */
  digest(): string {
    return this.count === 0 ? '' : this.h.digest('hex').slice(0, 32);
  }
}
