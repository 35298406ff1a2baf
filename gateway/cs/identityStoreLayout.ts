// The identity store's layout on disk (layout 3), named in code. The short names and field names are
// what is stored: every key starts with its sublevel's name and every resident has a name-index
// entry per name key, so they stay short; renaming any of them would need a data migration. Code
// uses the names on the left; only this file knows the bytes.
import type { AbstractSublevel } from 'abstract-level';
import { SUBLEVELS, type Db } from '../../platform/store/db.js';

export type Sub = AbstractSublevel<any, string | Uint8Array, string, Uint8Array>; // eslint-disable-line @typescript-eslint/no-explicit-any -- nested sublevel of the appliance db

/** Nested sublevels of `identity` (P = pseudonym of the 住民票コード, H = keyed hash; identityStoreKeys.ts). */
export const SUBLEVEL = {
  /** 本人確認情報, current version: P → record (value codec). Deleted records (除票) stay, status "deleted". */
  records: 'rec',
  /** Every superseded version: P!seq → record (value codec); history = history + records. */
  history: 'hist',
  /** 更新順番号 log: seq → P, one entry per change. */
  changeLog: 'seq',
  /** Listing for the consistency check: lgCode!bucketPrefix!P → ListingValue. */
  listing: 'lg',
  /** Code ranges of the full transfer: lgCode!rangeTag!P → ''. */
  codeRanges: 'lc',
  /** 個人番号 index: H(個人番号)!P → ''. */
  byMyNumber: 'mn',
  /** Name index: H(name key)!P → NameIndexEntry. */
  byName: 'nm',
  /** Composite name index: H(name key + birth year, or + address area)!P → NameIndexEntry. */
  byNameAndYearOrArea: 'nx',
  /** Address index: H(address key)!P → ''. */
  byAddress: 'ad',
  /** Layout version, key check and generated keys (META). */
  meta: 'meta',
} as const;

export type SublevelName = keyof typeof SUBLEVEL;
export type IdentitySublevels = Record<SublevelName, Sub>;
/** Key prefix of each sublevel: writes go into the caller's root batch as prefix + key. */
export type SublevelPrefixes = Record<SublevelName, string>;

/** Keys in `meta`. */
export const META = {
  layout: 'layout',
  /** The pseudonym of a fixed text under the code key: opening under another key is refused. */
  codeKeyCheck: 'codeKeyCheck',
  /** Generated keys, kept only when none is injected. */
  indexKey: 'indexKey',
  codeKey: 'codeKey',
  /** '1' once the composite name index covers every record. */
  compositeComplete: 'nx',
} as const;

export function openSublevels(db: Db): IdentitySublevels {
  const root = db.sublevel<string, Uint8Array>(SUBLEVELS.identity, { valueEncoding: 'view' });
  const subs = {} as IdentitySublevels;
  for (const [name, onDisk] of Object.entries(SUBLEVEL) as Array<[SublevelName, string]>) {
    subs[name] = root.sublevel<string, Uint8Array>(onDisk, { valueEncoding: 'view' });
  }
  return subs;
}

export const prefixesOf = (subs: IdentitySublevels): SublevelPrefixes =>
  Object.fromEntries(Object.entries(subs).map(([n, sub]) => [n, sub.prefix])) as SublevelPrefixes;

export const EMPTY = new Uint8Array(0);
export const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
export const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

/** What a name index entry holds: the filters a search applies before it reads any record. */
export interface NameIndexEntry {
  birthDate: string;
  /** The record's address key (prefecture dropped), matched by prefix. */
  addressKey: string;
  sex: string;
  lgCode: string;
  status: 'current' | 'deleted';
  /** First 8 characters of the hashes of the record's kana name keys. */
  kanaHashes: string[];
}

/** On disk: { b, a, s, l, st, kh } in this order, through the store's value codec. */
interface NameIndexEntryOnDisk {
  b: string;
  a: string;
  s: string;
  l: string;
  st: 'current' | 'deleted';
  kh: string[];
}

export const nameIndexEntry = {
  toDisk: (e: NameIndexEntry): NameIndexEntryOnDisk => ({
    b: e.birthDate,
    a: e.addressKey,
    s: e.sex,
    l: e.lgCode,
    st: e.status,
    kh: e.kanaHashes,
  }),
  fromDisk: (d: unknown): NameIndexEntry => {
    const v = d as NameIndexEntryOnDisk;
    return { birthDate: v.b, addressKey: v.a, sex: v.s, lgCode: v.l, status: v.st, kanaHashes: v.kh };
  },
};

/**
 * A listing entry: "seq hash" — the 更新順番号 of the record's last change and its record digest —,
 * or "seq -" once the record moved to another municipality code (its digest is then null).
 */
export const listingValue = {
  encode: (seq: number, digest: string | null): Uint8Array => utf8(`${seq} ${digest ?? '-'}`),
  decode(value: Uint8Array): { seq: number; digest: string | null } {
    const t = text(value);
    const sp = t.indexOf(' ');
    const digest = t.slice(sp + 1);
    return { seq: Number(t.slice(0, sp)), digest: digest === '-' ? null : digest };
  },
};
