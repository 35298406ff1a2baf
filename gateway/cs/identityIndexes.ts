// The identity store's indexes: the search keys (個人番号, name, name + birth year or address area,
// address), hashed under the per-installation index key, and the listing of each municipality code
// (by bucket prefix, and by code range) that the consistency check and the full transfer read.
import type { Batch, Db } from '../../platform/store/db.js';
import {
  addressKey,
  bucketPrefix,
  CODE_RANGES,
  codeRangeOf,
  codeRangeTag,
  compositeKeys,
  indexHash,
  isKanaKey,
  recordNameKeys,
} from './identityStoreKeys.js';
import {
  EMPTY,
  listingValue,
  META,
  nameIndexEntry,
  utf8,
  type IdentitySublevels,
  type SublevelName,
  type SublevelPrefixes,
} from './identityStoreLayout.js';
import type { IdentityRecord, ValueCodec } from './identityStoreTypes.js';

/** Namespaces of the hashed values, so a 個人番号 and an address never hash alike. */
const MY_NUMBER = 'm:';
const ADDRESS = 'a:';
const SEARCH_INDEXES = ['byMyNumber', 'byName', 'byNameAndYearOrArea', 'byAddress'] as const satisfies readonly SublevelName[];

export interface IndexOptions {
  db: Db;
  subs: IdentitySublevels;
  at: SublevelPrefixes;
  codec: ValueCodec;
  indexKey: Uint8Array;
  /** The index key was generated and is kept in meta (so a new one replaces it there). */
  indexKeyStored: boolean;
  codeKey: Uint8Array;
  digestOf: (r: IdentityRecord) => string;
  /** The composite name index holds every record (false for a store created before it, until a rebuild). */
  compositeComplete: boolean;
}

export class IdentityIndexes {
  #indexKey: Uint8Array;
  #compositeComplete: boolean;
  #rangeTags: string[] | undefined;

  constructor(private readonly o: IndexOptions) {
    this.#indexKey = o.indexKey;
    this.#compositeComplete = o.compositeComplete;
  }

  get compositeComplete(): boolean {
    return this.#compositeComplete;
  }

  hash(value: string): string {
    return indexHash(this.#indexKey, value);
  }

  myNumberHash(myNumber: string): string {
    return this.hash(MY_NUMBER + myNumber);
  }
  addressHash(addrKey: string): string {
    return this.hash(ADDRESS + addrKey);
  }

  /** Keyed tag of a code range in the code-range keys. */
  rangeTag(range: number): string {
    this.#rangeTags ??= Array.from({ length: CODE_RANGES }, (_, r) => codeRangeTag(this.o.codeKey, r));
    return this.#rangeTags[range]!;
  }

  /**
   * Adds to the batch the entries of the record's new version and removes those of the version it
   * replaces: search keys, and its place in its municipality's listing (the old code's listing
   * entry says "moved" when the record changed code).
   */
  update(batch: Batch, p: string, record: IdentityRecord, previous: IdentityRecord | undefined): void {
    const { at } = this.o;
    const bucket = bucketPrefix(record.residentCode);
    if (previous) {
      this.removeSearchKeys(batch, previous, p);
      if (previous.lgCode !== record.lgCode)
        batch.put(at.listing + `${previous.lgCode}!${bucket}!${p}`, listingValue.encode(record.updateSeq, null));
    }
    batch.put(at.listing + `${record.lgCode}!${bucket}!${p}`, listingValue.encode(record.updateSeq, this.o.digestOf(record)));
    batch.put(at.codeRanges + `${record.lgCode}!${this.rangeTag(codeRangeOf(record.residentCode))}!${p}`, EMPTY);
    this.putSearchKeys(batch, record, p);
  }

  private putSearchKeys(batch: Batch, record: IdentityRecord, p: string): void {
    const { at } = this.o;
    batch.put(at.byMyNumber + `${this.myNumberHash(record.myNumber)}!${p}`, EMPTY);
    const addr = addressKey(record.address);
    batch.put(at.byAddress + `${this.addressHash(addr)}!${p}`, EMPTY);
    const nameKeys = recordNameKeys(record);
    const encoded = this.o.codec.encode(
      nameIndexEntry.toDisk({
        birthDate: record.birthDate,
        addressKey: addr,
        sex: record.sex,
        lgCode: record.lgCode,
        status: record.status,
        kanaHashes: nameKeys.filter(isKanaKey).map((k) => this.hash(k).slice(0, 8)),
      }),
    );
    for (const k of nameKeys) batch.put(at.byName + `${this.hash(k)}!${p}`, encoded);
    for (const k of compositeKeys(nameKeys, record.birthDate, addr)) batch.put(at.byNameAndYearOrArea + `${this.hash(k)}!${p}`, encoded);
  }

  private removeSearchKeys(batch: Batch, old: IdentityRecord, p: string): void {
    const { at } = this.o;
    batch.del(at.byMyNumber + `${this.myNumberHash(old.myNumber)}!${p}`);
    const addr = addressKey(old.address);
    batch.del(at.byAddress + `${this.addressHash(addr)}!${p}`);
    const nameKeys = recordNameKeys(old);
    for (const k of nameKeys) batch.del(at.byName + `${this.hash(k)}!${p}`);
    for (const k of compositeKeys(nameKeys, old.birthDate, addr)) batch.del(at.byNameAndYearOrArea + `${this.hash(k)}!${p}`);
  }

  /** Pseudonyms of the records under one hashed key of a search index, in key order. */
  async *holders(index: 'byMyNumber' | 'byAddress', h: string): AsyncGenerator<string> {
    for await (const k of this.o.subs[index].keys({ gt: `${h}!`, lt: `${h}!~` })) yield k.slice(h.length + 1);
  }

  /**
   * Rebuilds the search indexes from the stored records, optionally under a new index key (key
   * rotation, or search keys changed in the domain). A maintenance operation: no apply() may run
   * meanwhile. A generated (meta-kept) key is replaced in meta as well.
   */
  async rebuild(
    opts: { indexKey?: Uint8Array; batchSize?: number; onProgress?: (records: number) => void } = {},
  ): Promise<{ records: number }> {
    const { db, subs, at, codec } = this.o;
    if (opts.indexKey) this.#indexKey = opts.indexKey;
    for (const name of SEARCH_INDEXES) await this.clearInBatches(name);
    const it = subs.records.iterator();
    let n = 0;
    let batch = db.batch();
    if (opts.indexKey && this.o.indexKeyStored) batch.put(at.meta + META.indexKey, opts.indexKey);
    try {
      for (;;) {
        const block = await it.nextv(1000);
        if (block.length === 0) break;
        for (const [k, v] of block) this.putSearchKeys(batch, codec.decode(v) as IdentityRecord, k);
        n += block.length;
        if (batch.length >= (opts.batchSize ?? 2000) * 4) {
          await batch.write();
          batch = db.batch();
          opts.onProgress?.(n);
        }
      }
      batch.put(at.meta + META.compositeComplete, utf8('1'));
      await batch.write();
      this.#compositeComplete = true;
    } finally {
      await it.close();
    }
    opts.onProgress?.(n);
    return { records: n };
  }

  /** Deletes a sublevel in bounded batches (clear() builds one batch as large as the index). */
  private async clearInBatches(name: SublevelName): Promise<void> {
    const it = this.o.subs[name].keys();
    try {
      for (;;) {
        const keys = await it.nextv(10_000);
        if (keys.length === 0) return;
        const b = this.o.db.batch();
        for (const k of keys) b.del(this.o.at[name] + k);
        await b.write();
      }
    } finally {
      await it.close();
    }
  }
}
