// Identity store (本人確認情報) of the CS role, in the appliance LevelDB under SUBLEVELS.identity.
// This class opens the store and applies changes; the work is split by job:
//   identityStoreLayout.ts  the sublevels, meta keys and value formats on disk (layout 3), named
//   identityStoreOpening.ts the keys and the layout checked (and migrated) before anything is read
//   identityRecords.ts      a resident's record, its history and the change log
//   identityIndexes.ts      search keys and the per-municipality listing, written with each change
//   identityReaders.ts      look-ups and the 4-item search that answer the flows
//   identityListing.ts      a municipality's records as of a 更新順番号 (consistency check, full transfer)
// Every key names a resident by the pseudonym P of the 住民票コード (identityStoreKeys.ts CodeCipher:
// the code encrypted under the code key, so the key holder reads a code back from a key).
// Layout 1 (住民票コード in clear in keys) is migrated on open (identityStoreMigration.ts); layout 2
// (a development build: HMAC pseudonyms) is refused.
//
// 更新順番号: one counter per installation, shared by all its municipality codes (a Yokohama
// installation serves 18 ward codes), so it is monotonic per code as well, with gaps where another
// code (or a change that failed validation) took a number. The highest committed number is the last
// key of the change log, read at open, so batches committing out of order never make a restart reuse one.
//
// Privacy: index keys are HMAC-SHA-256 (128 bits, base64url) under a per-installation index key and P
// is AES-256 of the code under a separate code key, both injected by the key component; name and
// address keys are the domain's folded search keys, hashed. No 住民票コード, name, 個人番号, date of
// birth or address appears in clear in any LevelDB key; the bucket prefix is 24 bits of the unkeyed
// SHA-256 of the code (≈600 codes share one). Values holding personal data (records, history, name
// indexes) go through the injectable ValueCodec (JSON by default; encryption at rest swaps in a
// sealing codec); the listing values hold only a sequence number and the record hash.
//
// "As of" reads: history keeps every version with its 更新順番号, so the store can show any
// municipality code exactly as it was at a sequence number H while updates continue; consistency
// checks use that instead of a LevelDB snapshot, which would not survive a restart.
import { type Batch, type Db } from '../../platform/store/db.js';
import { recordHash } from '../../domain/consistency.js';
import { IdentityIndexes } from './identityIndexes.js';
import { IdentityListing, type ListingRange } from './identityListing.js';
import { IdentityReaders } from './identityReaders.js';
import { RecordReadAhead } from './identityReadAhead.js';
import { IdentityRecords } from './identityRecords.js';
import { IdentityStoreError } from './identityStoreErrors.js';
import { bucketPrefix, type CodeCipher } from './identityStoreKeys.js';
import { META, openSublevels, prefixesOf, utf8, type IdentitySublevels } from './identityStoreLayout.js';
import { settleKeysAndLayout } from './identityStoreOpening.js';
import {
  jsonCodec,
  type IdentityChange,
  type IdentityRecord,
  type SearchQuery,
  type SearchResult,
  type ValueCodec,
} from './identityStoreTypes.js';
import { validateIdentityChange, type ValidationOptions } from './identityStoreValidation.js';

export { bucketPrefix } from './identityStoreKeys.js';
export { IdentityStoreError, IdentityStoreOpenError } from './identityStoreErrors.js';
export type { ListingRange } from './identityListing.js';

export interface IdentityStoreOptions {
  /** Value encoding for sublevels holding personal data (default JSON). */
  codec?: ValueCodec;
  /** Per-installation HMAC key for index keys. Without it a random key is generated and kept in `meta`. */
  indexKey?: Uint8Array;
  /**
   * Per-installation key of the 住民票コード pseudonyms in every key. Without it a random key is
   * generated and kept in `meta`. The store refuses to open under another key than it was written with.
   */
  codeKey?: Uint8Array;
  /** Record hash kept in the listing index (default: domain/consistency.ts recordHash). */
  recordDigest?: (r: IdentityRecord) => string;
  validation?: ValidationOptions;
  /** A search stops counting after this many candidate entries (total is then a lower bound). */
  searchScanCap?: number;
  /** (code, P) pairs of one code range held at once in a full-transfer pass (default 20 000). */
  codeRangeWindow?: number;
  /** Progress of a layout migration at open (entries rewritten so far, per sublevel). */
  onMigrate?: (p: { sublevel: string; entries: number }) => void;
}

/** 'flow': add 記載 / correct 修正 / delete 消除 transition rules apply. 'load': stored as given (import, full transfer). */
export type ApplyMode = 'flow' | 'load';

/** What open() found and decided, handed to the store in one piece. */
interface OpenedStore {
  db: Db;
  codec: ValueCodec;
  cipher: CodeCipher;
  validation: ValidationOptions | undefined;
  /** Highest 更新順番号 committed. */
  lastSeq: number;
  records: IdentityRecords;
  /** The records of the intake's pass, read in one go (identityReadAhead.ts). */
  ahead: RecordReadAhead;
  indexes: IdentityIndexes;
  readers: IdentityReaders;
  listing: IdentityListing;
}

export class IdentityStore {
  private seq: number;

  private constructor(private readonly s: OpenedStore) {
    this.seq = s.lastSeq;
  }

  static async open(db: Db, opts: IdentityStoreOptions = {}): Promise<IdentityStore> {
    const subs = openSublevels(db);
    const { indexKey, codeKey, cipher } = await settleKeysAndLayout(db, subs, opts);
    const codec = opts.codec ?? jsonCodec;
    const at = prefixesOf(subs);
    const records = new IdentityRecords({ subs, at, codec });
    const digestOf = opts.recordDigest ?? ((r: IdentityRecord) => recordHash(r));
    const indexes = new IdentityIndexes({
      db,
      subs,
      at,
      codec,
      indexKey,
      indexKeyStored: !opts.indexKey,
      codeKey,
      digestOf,
      compositeComplete: await compositeIndexComplete(subs),
    });
    return new IdentityStore({
      db,
      codec,
      cipher,
      validation: opts.validation,
      lastSeq: await records.lastSeq(),
      records,
      ahead: new RecordReadAhead(records),
      indexes,
      readers: new IdentityReaders({ subs, codec, records, indexes, searchScanCap: opts.searchScanCap }),
      listing: new IdentityListing({ subs, cipher, records, indexes, digestOf, codeRangeWindow: opts.codeRangeWindow }),
    });
  }

  /** Highest 更新順番号 assigned so far (per installation, across all its municipality codes). */
  lastSeq(): number {
    return this.seq;
  }

  /** The key-side name of a 住民票コード (its pseudonym P). */
  pseudonym(residentCode: string): string {
    return this.s.cipher.pseudonym(residentCode);
  }

  /** Reads the current records of these people in one go, for their next change (a pass of the intake). */
  readAhead(residentCodes: readonly string[]): void {
    this.s.ahead.start(residentCodes.map((c) => this.pseudonym(c)));
  }

  /**
   * Adds the change to the caller's batch and returns the new version. The 更新順番号 is taken
   * synchronously, before any await, so numbers follow call order. Callers serialise changes per
   * person (flows do, per resident code) because the previous version is read, not locked.
   * Throws IdentityStoreError (invalid_request / not_found / conflict); the batch is then untouched.
   */
  async apply(
    batch: Batch,
    change: IdentityChange,
    opts: { mode?: ApplyMode; fresh?: boolean } = {},
  ): Promise<{ record: IdentityRecord; seq: number; previous?: IdentityRecord }> {
    const seq = ++this.seq;
    const problems = validateIdentityChange(change, this.s.validation);
    if (problems.length) throw new IdentityStoreError('invalid_request', 'invalid identity record', problems);
    const p = this.pseudonym(change.residentCode);
    // `fresh`: the caller guarantees neither the code nor the 個人番号 exists yet (bulk load of a
    // generated population into an empty store), which saves two reads per record.
    const ahead = this.s.ahead.take(p);
    const old = opts.fresh ? undefined : await (ahead ?? this.s.records.current(p));
    // No two current records share a 個人番号 (every apply but a `fresh` load checks it), so when this
    // person's current record already holds the number nobody else does: the index scan, the costliest
    // read of an update, is needed only for a new record or a new number.
    const keepsItsNumber = old?.status === 'current' && old.myNumber === change.myNumber;
    const holder = opts.fresh || keepsItsNumber ? undefined : await this.s.readers.holderOfMyNumber(change.myNumber, p);
    if (holder)
      throw new IdentityStoreError('conflict', '個人番号 is already held by another current record', [
        { path: 'myNumber', problem: 'already in use' },
      ]);
    let status: IdentityRecord['status'];
    if ((opts.mode ?? 'flow') === 'load') status = change.status ?? (change.changeReason === 'delete' ? 'deleted' : 'current');
    else {
      const reason = change.changeReason;
      if (reason === 'add' && old)
        throw new IdentityStoreError('conflict', '住民票コード is already registered', [{ path: 'residentCode', problem: 'exists' }]);
      if (reason !== 'add' && !old)
        throw new IdentityStoreError('not_found', 'no record for this 住民票コード', [{ path: 'residentCode', problem: 'unknown' }]);
      if (reason !== 'add' && old!.status === 'deleted')
        throw new IdentityStoreError('conflict', 'the record is deleted (除票)', [{ path: 'residentCode', problem: 'deleted' }]);
      status = reason === 'delete' ? 'deleted' : 'current';
    }
    const record: IdentityRecord = { ...stripUndefined(change), status, updateSeq: seq };
    this.s.records.write(batch, p, record, old);
    this.s.indexes.update(batch, p, record, old);
    return { record, seq, ...(old ? { previous: old } : {}) };
  }

  /**
   * Rebuilds the 個人番号, name and address indexes from the stored records, optionally under a new
   * index key (key rotation, or search keys changed in the domain). A maintenance operation: no
   * apply() may run meanwhile. A generated (meta-kept) key is replaced in meta as well.
   */
  rebuildSearchIndexes(
    opts: { indexKey?: Uint8Array; batchSize?: number; onProgress?: (records: number) => void } = {},
  ): Promise<{ records: number }> {
    return this.s.indexes.rebuild(opts);
  }

  async get(residentCode: string): Promise<IdentityRecord | undefined> {
    return this.s.records.current(this.pseudonym(residentCode));
  }

  /** Every version, oldest first, the current one last (deleted records included). */
  async history(residentCode: string): Promise<IdentityRecord[]> {
    return this.s.records.history(this.pseudonym(residentCode));
  }

  /** The version in force at 更新順番号 `atSeq` (undefined if the person had no record yet). */
  async versionAt(residentCode: string, atSeq: number): Promise<IdentityRecord | undefined> {
    return this.s.records.versionAt(this.pseudonym(residentCode), atSeq);
  }

  /** Changes after `afterSeq`, in order: (seq, residentCode). */
  changesSince(afterSeq: number): AsyncGenerator<{ seq: number; residentCode: string }> {
    return this.s.records.changesSince(afterSeq);
  }

  /** The record holding this 個人番号: a current one if any, else the latest deleted one. */
  byMyNumber(myNumber: string): Promise<IdentityRecord | undefined> {
    return this.s.readers.byMyNumber(myNumber);
  }

  /** Records at exactly this normalised address (世帯 look-ups). */
  byAddress(address: string, opts: { includeDeleted?: boolean } = {}): Promise<IdentityRecord[]> {
    return this.s.readers.byAddress(address, opts);
  }

  /** 4-item search (IdentityReaders.search): every hit up to `limit`, else `truncated` and a count. */
  search(q: SearchQuery, opts: { limit: number }): Promise<SearchResult> {
    return this.s.readers.search(q, opts);
  }

  /** A record's position in the bucket-ordered listing ("prefix!P"). */
  listingCursor(residentCode: string): string {
    return `${bucketPrefix(residentCode)}!${this.pseudonym(residentCode)}`;
  }

  /**
   * (住民票コード, record digest) of one municipality code as of 更新順番号 `atSeq`, in listing order
   * (bucket prefix = first 24 bits of SHA-256(住民票コード), hex; within a bucket by pseudonym, not by
   * code: callers sort a bucket themselves; cursor = "prefix!P"). Reads only the listing index,
   * except for records changed after `atSeq`, whose earlier version comes from history.
   */
  iterateDigests(
    lgCode: string,
    atSeq: number,
    range: ListingRange = {},
  ): AsyncGenerator<{ residentCode: string; prefix: string; digest: string; cursor: string }> {
    return this.s.listing.digests(lgCode, atSeq, range);
  }

  /**
   * The same as iterateDigests through a callback, reading the listing in blocks (nextv): the hot
   * path of a consistency check, which touches every record of a municipality code once per side.
   */
  scanDigests(
    lgCode: string,
    atSeq: number,
    range: ListingRange,
    onEntry: (residentCode: string, prefix: string, digest: string) => void,
  ): Promise<void> {
    return this.s.listing.scan(lgCode, atSeq, range, onEntry);
  }

  /** Full records of one municipality code as of `atSeq` (default: now), in listing order. */
  iterateSnapshot(lgCode: string, atSeq = this.seq, range: ListingRange = {}): AsyncGenerator<IdentityRecord> {
    return this.s.listing.snapshot(lgCode, atSeq, range);
  }

  /**
   * Records of one municipality code as of `atSeq`, in 住民票コード order (full-transfer pages are in
   * code order), after the code `after` if given: code range by code range, each sorted in memory.
   */
  iterateByCode(lgCode: string, atSeq = this.seq, after?: string): AsyncGenerator<IdentityRecord> {
    return this.s.listing.byCode(lgCode, atSeq, after);
  }

  get database(): Db {
    return this.s.db;
  }

  /** The value codec (sealing in the appliance), for components keeping codes next to this store. */
  get valueCodec(): ValueCodec {
    return this.s.codec;
  }
}

/**
 * Whether the composite name index covers every record. A store without any name entry yet writes
 * it with every record from the start; an older one searches the name index until a rebuild.
 */
async function compositeIndexComplete(subs: IdentitySublevels): Promise<boolean> {
  if ((await subs.meta.get(META.compositeComplete)) !== undefined) return true;
  for await (const _ of subs.byName.keys({ limit: 1 })) return false;
  await subs.meta.put(META.compositeComplete, utf8('1'));
  return true;
}

function stripUndefined<T extends object>(o: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
