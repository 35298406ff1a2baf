// Index keys of the identity store: the domain's search keys (domain/searchKeys.ts), hashed
// under the per-installation index key, and the 住民票コード pseudonyms and listing prefixes, so
// nothing personal appears in clear in a LevelDB key.
import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import { addressKey as domainAddressKey, kanaNameKey, nameKeys, nameQueryKey, NAME_KEY_PREFIX } from '../../domain/searchKeys.js';
import type { IdentityRecord } from './identityStoreTypes.js';

const PREFECTURE = /^(北海道|東京都|京都府|大阪府|[\u4E00-\u9FFF]{2,3}県)(?=.)/;

/**
 * The domain's address key without the leading prefecture, so a counter search that starts at the
 * city (津市栄町2-3) still prefix-matches 三重県津市栄町二丁目3番4号.
 */
export function addressKey(address: string): string {
  return domainAddressKey(address.normalize('NFKC').trim().replace(PREFECTURE, ''));
}

/** Name keys of a record: main name, 旧氏 + given name, 通称; kanji and kana forms. */
export function recordNameKeys(
  r: Pick<IdentityRecord, 'name' | 'nameKana' | 'formerSurname' | 'formerSurnameKana' | 'alias' | 'aliasKana'>,
): string[] {
  return nameKeys(r);
}

export const queryNameKey = (name: string): string => nameQueryKey({ name })!;
export const queryKanaKey = (kana: string): string => NAME_KEY_PREFIX.kana + kanaNameKey(kana);
export const isKanaKey = (key: string): boolean => key.startsWith(NAME_KEY_PREFIX.kana);

/**
 * Characters of the address key (prefecture dropped) that a composite name + address key covers:
 * 横浜市中区山下町… → 横浜市中区山下; a ward for 横浜市神奈川区…. A query address at least this long
 * is looked up under it; a shorter one scans every holder of the name, as before.
 */
export const ADDRESS_LEVEL = 7;

const yearOf = (birthDate: string): string => birthDate.split('-')[0]!;
const addressArea = (addr: string): string | undefined => {
  const chars = [...addr];
  return chars.length >= ADDRESS_LEVEL ? chars.slice(0, ADDRESS_LEVEL).join('') : undefined;
};

/**
 * Composite keys of a record (before hashing): each name key with the birth year, and with the
 * address area when the address is long enough. A search matches only records of its query year
 * (birthDateMatches compares years exactly) and whose address starts with the query's, so the
 * composite key of the query holds every record the name scan would have matched.
 */
export function compositeKeys(nameKeys: string[], birthDate: string, addrKey: string): string[] {
  const area = addressArea(addrKey);
  const out: string[] = [];
  for (const k of nameKeys) {
    out.push(`${k}\u0000y:${yearOf(birthDate)}`);
    if (area !== undefined) out.push(`${k}\u0000a:${area}`);
  }
  return out;
}

/** The composite key a search with this name key looks up, or undefined (scan the name key). */
export function queryCompositeKey(nameKey: string, birthDate: string | undefined, addrKey: string | undefined): string | undefined {
  if (birthDate) return `${nameKey}\u0000y:${yearOf(birthDate)}`;
  const area = addrKey === undefined ? undefined : addressArea(addrKey);
  return area === undefined ? undefined : `${nameKey}\u0000a:${area}`;
}

/** 128 bits of HMAC-SHA-256 under the index key, base64url (22 characters). */
export function indexHash(indexKey: Uint8Array, value: string): string {
  return createHmac('sha256', indexKey).update(value).digest('base64url').slice(0, 22);
}

/**
 * Date-of-birth match where unknown parts (00, or a missing month/day in the query) match anything:
 * a record 1990-00-00 matches a query 1990-04-01 and vice versa.
 */
export function birthDateMatches(recorded: string, query: string): boolean {
  const [ry, rm = '00', rd = '00'] = recorded.split('-');
  const [qy, qm = '00', qd = '00'] = query.split('-');
  if (ry !== qy) return false;
  if (rm !== '00' && qm !== '00' && rm !== qm) return false;
  return rm === '00' || qm === '00' || rd === '00' || qd === '00' || rd === qd;
}

/**
 * Pseudonyms of 住民票コード in every key of the identity store: the code (ASCII, zero-padded to one
 * 16-byte block) encrypted with AES-256 under the per-installation code key, base64url (22
 * characters, never 11 digits, so an old-layout key is told apart). Deterministic like a keyed hash,
 * but the key holder turns a listing key back into its code, so listings need no code in their
 * values; a whole block of keys is decrypted in one call.
 */
export class CodeCipher {
  private readonly encrypt: ReturnType<typeof createCipheriv>;
  private readonly decrypt: ReturnType<typeof createDecipheriv>;

  constructor(codeKey: Uint8Array) {
    if (codeKey.length !== 32) throw new Error('the 住民票コード key must be 32 bytes');
    this.encrypt = createCipheriv('aes-256-ecb', codeKey, null).setAutoPadding(false);
    this.decrypt = createDecipheriv('aes-256-ecb', codeKey, null).setAutoPadding(false);
  }

  pseudonym(residentCode: string): string {
    const block = Buffer.alloc(BLOCK);
    // Only 11-digit codes are ever stored; anything longer gets a name no stored key can have.
    if (block.write(residentCode, 'latin1') !== residentCode.length || residentCode.length >= BLOCK) return '~';
    return this.encrypt.update(block).toString('base64url');
  }

  /** The codes of pseudonyms (undefined where a key does not decrypt to a code: not one of ours). */
  codesOf(pseudonyms: readonly string[]): Array<string | undefined> {
    const all = Buffer.alloc(pseudonyms.length * BLOCK);
    pseudonyms.forEach((p, i) => {
      if (p.length === PSEUDONYM_LENGTH) all.write(p, i * BLOCK, BLOCK, 'base64url');
    });
    const plain = this.decrypt.update(all);
    return pseudonyms.map((_, i) => {
      const end = plain.indexOf(0, i * BLOCK);
      const stop = end < 0 || end > (i + 1) * BLOCK ? (i + 1) * BLOCK : end;
      for (let j = stop; j < (i + 1) * BLOCK; j++) if (plain[j] !== 0) return undefined;
      const code = plain.toString('latin1', i * BLOCK, stop);
      return isClearCode(code) ? code : undefined;
    });
  }

  codeOf(pseudonym: string): string | undefined {
    return this.codesOf([pseudonym])[0];
  }
}
const BLOCK = 16;
const PSEUDONYM_LENGTH = 22;

/** Pseudonym of one code under a key (migration, tests); stores keep one CodeCipher. */
export function codePseudonym(codeKey: Uint8Array, residentCode: string): string {
  return new CodeCipher(codeKey).pseudonym(residentCode);
}

/** Bits of the unkeyed SHA-256(code) kept in listing keys: the most a consistency bucket can use. */
export const LISTING_PREFIX_BITS = 24;

/**
 * Bucket prefix of a 住民票コード: the first 24 bits of SHA-256(code), 6 hex digits, the same bits
 * the domain's bucketOf takes. Unkeyed (both sides of a check must agree on buckets), so it is
 * kept short: about 600 codes of the 10^10 share each prefix, nothing to brute-force back.
 */
export function bucketPrefix(residentCode: string): string {
  return createHash('sha256').update(residentCode, 'utf8').digest('hex').slice(0, 6);
}

/** Bucket (at `bits` ≤ 24) of a listing prefix. */
export function bucketOfPrefix(prefix: string, bits: number): number {
  return parseInt(prefix, 16) >>> (LISTING_PREFIX_BITS - bits);
}

/**
 * Code ranges of the full-transfer listing: the first 3 of the 11 digits, so a range of a
 * municipality holds at most some thousand codes (≈200 for a Yokohama ward), sorted in memory, and a
 * full pass opens a thousand iterators, not more. Their keys are keyed tags, so a key reveals
 * neither the range nor the order of codes.
 */
export const CODE_RANGE_DIGITS = 3;
export const CODE_RANGES = 10 ** CODE_RANGE_DIGITS;
export const codeRangeOf = (residentCode: string): number => Number(residentCode.slice(0, CODE_RANGE_DIGITS));

export function codeRangeTag(codeKey: Uint8Array, range: number): string {
  return createHmac('sha256', codeKey).update('range\0').update(String(range)).digest('base64url').slice(0, 16);
}

/** Old (layout 1) keys carried the code itself: 11 digits. */
export const isClearCode = (s: string): boolean => /^[0-9]{11}$/.test(s);
