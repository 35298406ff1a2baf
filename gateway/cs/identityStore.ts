// Identity store (本人確認情報) of the CS role, in the appliance LevelDB under SUBLEVELS.identity.
//
// Layout 3 (nested sublevels of `identity`; P = pseudonym of the 住民票コード, identityStoreKeys.ts
// CodeCipher: the code encrypted under the code key, so the key holder reads a code back from a key):
//   rec   P                        → current version (codec)
//   hist  P!seq                    → every superseded version (codec); history = hist + rec.
//                                    Deleted records (除票) stay in rec with status "deleted".
//   seq   seq                      → P: one entry per change (更新順番号 log)
//   lg    lgCode!bucketPrefix!P    → "seq hash" (or "seq -" once the record moved to another code):
//                                    bucket-ordered listing for the consistency check
//   lc    lgCode!rangeTag!P        → '': the code ranges of the full transfer (rangeTag = keyed tag of
//                                    the code's first 3 digits); each range is sorted by code in memory.
//                                    Entries of codes a record left stay and are checked as of the seq
//   mn    H(個人番号)!P             → ''
//   nm    H(name key)!P            → codec({ b, a, s, l, st, kh }): filters applied while searching
//   nx    H(name key, birth year)!P and H(name key, first ADDRESS_LEVEL characters of the address
//         key)!P                   → the same value as nm: composite keys that narrow a search with a
//                                    date of birth or a long enough address to that year or address
//                                    area instead of every holder of a common name
//   ad    H(address key)!P         → ''
//   meta  layout, codeKeyCheck; indexKey and codeKey only when none is injected; `nx` = '1' once nx
//         covers every record (a store created before nx searches through nm until
//         rebuildSearchIndexes()); import checkpoints live in `import` (importer.ts)
// Layout 1 (住民票コード in clear in keys) is migrated on open (identityStoreMigration.ts); layout 2
// (a development build: HMAC pseudonyms) is refused.
//
// 更新順番号: one counter per installation, shared by all its municipality codes (a Yokohama
// installation serves 18 ward codes), so it is monotonic per code as well, with gaps where another
// code (or a change that failed validation) took a number. The highest committed number is the last
// key of `seq`, read at open, so batches committing out of order never make a restart reuse one.
//
// Privacy: H is HMAC-SHA-256 (128 bits, base64url) under a per-installation index key and P is AES-256
// of the code under a separate code key, both injected by the key component; name and address keys are the
// domain's folded search keys, hashed. No 住民票コード, name, 個人番号, date of birth or address
// appears in clear in any LevelDB key; the bucket prefix is 24 bits of the unkeyed SHA-256 of the
// code (≈600 codes share one). Values holding personal data (rec, hist, nm, nx) go through the
// injectable ValueCodec (JSON by default; encryption at rest swaps in a sealing codec); the listing
// values hold only a sequence number and the record hash.
//
// "As of" reads: history keeps every version with its 更新順番号, so the store can show any
// municipality code exactly as it was at a sequence number H while updates continue; consistency
// checks use that instead of a LevelDB snapshot, which would not survive a restart.
import { randomBytes } from 'node:crypto';
import type { AbstractSublevel } from 'abstract-level';
import type { ErrorDetail } from '../../platform/envelope.js';
import { SUBLEVELS, seqKey, type Batch, type Db } from '../../platform/store/db.js';
import { recordHash } from '../../domain/consistency.js';
import {
  addressKey, birthDateMatches, bucketPrefix, CODE_RANGES, CodeCipher, codeRangeOf, codeRangeTag, compositeKeys, indexHash, isKanaKey, queryCompositeKey, queryKanaKey,
  queryNameKey, recordNameKeys,
} from './identityStoreKeys.js';
import { migrateLayout, LAYOUT, layoutOf } from './identityStoreMigration.js';
import { jsonCodec, type IdentityChange, type IdentityRecord, type SearchQuery, type SearchResult, type ValueCodec } from './identityStoreTypes.js';
import { validateIdentityChange, type ValidationOptions } from './identityStoreValidation.js';

export { bucketPrefix } from './identityStoreKeys.js';

export class IdentityStoreError extends Error {
  constructor(readonly code: 'invalid_request' | 'not_found' | 'conflict', message: string, readonly details: ErrorDetail[] = []) {
    super(message);
  }
}

/** The store cannot be opened as it is (wrong code key, unknown layout): nothing was changed. */
export class IdentityStoreOpenError extends Error {}

export interface IdentityStoreOptions {
  /** Value encoding for sublevels holding personal data (default JSON). */
  codec?: ValueCodec;
  /** Per-installation HMAC key for index keys. Without it a random key is generated and kept in `meta`. */
  indexKey?: Uint8Array;
  /**
   * Per-installation HMAC key of the 住民票コード pseudonyms in every key. Without it a random key is
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

/** Part of a municipality's listing: by bucket prefix, or after / up to a cursor ("prefix!P"). */
export interface ListingRange { fromPrefix?: string; toPrefix?: string; after?: string; upTo?: string }

/** 'flow': add 記載 / correct 修正 / delete 消除 transition rules apply. 'load': stored as given (import, full transfer). */
export type ApplyMode = 'flow' | 'load';

export type SubName = 'rec' | 'hist' | 'seq' | 'lg' | 'lc' | 'mn' | 'nm' | 'nx' | 'ad' | 'meta';
export type Sub = AbstractSublevel<any, string | Uint8Array, string, Uint8Array>; // eslint-disable-line @typescript-eslint/no-explicit-any -- nested sublevel of the appliance db
interface NameIndexValue { b: string; a: string; s: string; l: string; st: 'current' | 'deleted'; kh: string[] }
const EMPTY = new Uint8Array(0);
const enc = (s: string) => Buffer.from(s, 'utf8');
const dec = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
/** (code, P) pairs of one code range held at once while sorting it; a denser range takes several passes. */
const RANGE_WINDOW = 20_000;
type CodeEntry = [code: string, p: string];
/** Records read concurrently while a range is listed in code order. */
const READ_AHEAD = 32;
const byCode = (a: CodeEntry, b: CodeEntry) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export class IdentityStore {
  /**
   * Key prefixes of the sublevels: writes go into the caller's root batch as prefix + key, the same
   * bytes a delegated `{ sublevel }` put stores, at a fraction of its cost (bulk loads do ~9 per record).
   */
  private readonly at: Record<SubName, string>;
  private rangeTags: string[] | undefined;
  private readonly cipher: CodeCipher;

  private constructor(
    private readonly db: Db,
    private readonly subs: Record<SubName, Sub>,
    private readonly codec: ValueCodec,
    private indexKey: Uint8Array,
    private readonly indexKeyStored: boolean,
    private readonly codeKey: Uint8Array,
    private readonly digestOf: (r: IdentityRecord) => string,
    private readonly opts: IdentityStoreOptions,
    private seq: number,
    /** nx holds every record's composite keys (false for a store created before nx, until a rebuild). */
    private compositeComplete: boolean,
  ) {
    this.at = Object.fromEntries(Object.entries(subs).map(([n, sub]) => [n, sub.prefix])) as Record<SubName, string>;
    this.cipher = new CodeCipher(codeKey);
  }

  static async open(db: Db, opts: IdentityStoreOptions = {}): Promise<IdentityStore> {
    const root = db.sublevel<string, Uint8Array>(SUBLEVELS.identity, { valueEncoding: 'view' });
    const sub = (n: string): Sub => root.sublevel<string, Uint8Array>(n, { valueEncoding: 'view' });
    const subs = { rec: sub('rec'), hist: sub('hist'), seq: sub('seq'), lg: sub('lg'), lc: sub('lc'), mn: sub('mn'), nm: sub('nm'), nx: sub('nx'), ad: sub('ad'), meta: sub('meta') };
    const keyFromMeta = async (name: string): Promise<Uint8Array> => {
      const stored = await subs.meta.get(name);
      if (stored) return stored;
      const fresh = randomBytes(32);
      await subs.meta.put(name, fresh);
      return fresh;
    };
    const indexKey = opts.indexKey ?? await keyFromMeta('indexKey');
    const storedCodeKey = opts.codeKey ? undefined : await subs.meta.get('codeKey');
    const codeKey = opts.codeKey ?? storedCodeKey ?? randomBytes(32);
    const layout = await layoutOf(subs);
    if (layout > LAYOUT) throw new IdentityStoreOpenError(`the identity store has layout ${layout}, newer than this version reads (${LAYOUT}): run the version that wrote it`);
    if (layout === 2) throw new IdentityStoreOpenError('the identity store has layout 2, written by a development build whose keys cannot be read back: import the register extract into a fresh data dir');
    // The code key must be the one the keys were written with: under another key every look-up
    // would silently find nothing.
    const check = new CodeCipher(codeKey).pseudonym('code-key-check');
    const storedCheck = await subs.meta.get('codeKeyCheck');
    if (storedCheck && dec(storedCheck) !== check) {
      throw new IdentityStoreOpenError('the identity store was written under another 住民票コード key (keyring secret "identity-code"): open it with the keyring it was written with');
    }
    if (!storedCheck) await subs.meta.put('codeKeyCheck', enc(check));
    if (!opts.codeKey && !storedCodeKey) await subs.meta.put('codeKey', codeKey);
    const codec = opts.codec ?? jsonCodec;
    if (layout < LAYOUT) await migrateLayout(db, subs, { codeKey, ...(opts.onMigrate ? { onProgress: opts.onMigrate } : {}) });
    // The highest committed 更新順番号 is the last key of the seq log, so concurrent batches that
    // commit out of order can never make a restart reuse a number.
    let last = 0;
    for await (const k of subs.seq.keys({ reverse: true, limit: 1 })) last = Number(k);
    // A store without any name entry yet writes nx with every record from the start.
    let composite = (await subs.meta.get('nx')) !== undefined;
    if (!composite) {
      let empty = true;
      for await (const _ of subs.nm.keys({ limit: 1 })) empty = false;
      if (empty) { await subs.meta.put('nx', enc('1')); composite = true; }
    }
    return new IdentityStore(db, subs, codec, indexKey, !opts.indexKey, codeKey, opts.recordDigest ?? ((r) => recordHash(r)), opts, last, composite);
  }

  /** Highest 更新順番号 assigned so far (per installation, across all its municipality codes). */
  lastSeq(): number {
    return this.seq;
  }

  /** The key-side name of a 住民票コード (its pseudonym P). */
  pseudonym(residentCode: string): string {
    return this.cipher.pseudonym(residentCode);
  }

  private rangeTag(range: number): string {
    this.rangeTags ??= Array.from({ length: CODE_RANGES }, (_, r) => codeRangeTag(this.codeKey, r));
    return this.rangeTags[range]!;
  }

  /**
   * Adds the change to the caller's batch and returns the new version. The 更新順番号 is taken
   * synchronously, before any await, so numbers follow call order. Callers serialise changes per
   * person (flows do, per resident code) because the previous version is read, not locked.
   * Throws IdentityStoreError (invalid_request / not_found / conflict); the batch is then untouched.
   */
  async apply(batch: Batch, change: IdentityChange, opts: { mode?: ApplyMode; fresh?: boolean } = {}): Promise<{ record: IdentityRecord; seq: number; previous?: IdentityRecord }> {
    const seq = ++this.seq;
    const problems = validateIdentityChange(change, this.opts.validation);
    if (problems.length) throw new IdentityStoreError('invalid_request', 'invalid identity record', problems);
    const rc = change.residentCode;
    const p = this.pseudonym(rc);
    // `fresh`: the caller guarantees neither the code nor the 個人番号 exists yet (bulk load of a
    // generated population into an empty store), which saves two reads per record.
    const [old, holder] = opts.fresh ? [undefined, undefined]
      : await Promise.all([this.getByPseudonym(p), this.holderOfMyNumber(change.myNumber, p)]);
    if (holder) throw new IdentityStoreError('conflict', '個人番号 is already held by another current record', [{ path: 'myNumber', problem: 'already in use' }]);
    let status: IdentityRecord['status'];
    if ((opts.mode ?? 'flow') === 'load') status = change.status ?? (change.changeReason === 'delete' ? 'deleted' : 'current');
    else {
      const reason = change.changeReason;
      if (reason === 'add' && old) throw new IdentityStoreError('conflict', '住民票コード is already registered', [{ path: 'residentCode', problem: 'exists' }]);
      if (reason !== 'add' && !old) throw new IdentityStoreError('not_found', 'no record for this 住民票コード', [{ path: 'residentCode', problem: 'unknown' }]);
      if (reason !== 'add' && old!.status === 'deleted') throw new IdentityStoreError('conflict', 'the record is deleted (除票)', [{ path: 'residentCode', problem: 'deleted' }]);
      status = reason === 'delete' ? 'deleted' : 'current';
    }
    const record: IdentityRecord = { ...stripUndefined(change), status, updateSeq: seq };
    const bucket = bucketPrefix(rc);
    if (old) {
      batch.put(this.at.hist + `${p}!${seqKey(old.updateSeq)}`, this.codec.encode(old));
      this.removeIndexes(batch, old, p);
      if (old.lgCode !== record.lgCode) batch.put(this.at.lg + `${old.lgCode}!${bucket}!${p}`, enc(`${seq} -`));
    }
    batch.put(this.at.rec + p, this.codec.encode(record));
    batch.put(this.at.seq + seqKey(seq), enc(p));
    batch.put(this.at.lg + `${record.lgCode}!${bucket}!${p}`, enc(`${seq} ${this.digestOf(record)}`));
    batch.put(this.at.lc + `${record.lgCode}!${this.rangeTag(codeRangeOf(rc))}!${p}`, EMPTY);
    this.putIndexes(batch, record, p);
    return { record, seq, ...(old ? { previous: old } : {}) };
  }

  /** The 個人番号, name and address index entries of one record. */
  private putIndexes(batch: Batch, record: IdentityRecord, p: string): void {
    batch.put(this.at.mn + `${this.h('m:' + record.myNumber)}!${p}`, EMPTY);
    const addr = addressKey(record.address);
    batch.put(this.at.ad + `${this.h('a:' + addr)}!${p}`, EMPTY);
    const nameKeys = recordNameKeys(record);
    const value: NameIndexValue = {
      b: record.birthDate, a: addr, s: record.sex, l: record.lgCode, st: record.status,
      kh: nameKeys.filter(isKanaKey).map((k) => this.h(k).slice(0, 8)),
    };
    const encoded = this.codec.encode(value);
    for (const k of nameKeys) batch.put(this.at.nm + `${this.h(k)}!${p}`, encoded);
    for (const k of compositeKeys(nameKeys, record.birthDate, addr)) batch.put(this.at.nx + `${this.h(k)}!${p}`, encoded);
  }

  /**
   * Rebuilds the 個人番号, name and address indexes from the stored records, optionally under a new
   * index key (key rotation, or search keys changed in the domain). A maintenance operation: no
   * apply() may run meanwhile. A generated (meta-kept) key is replaced in meta as well.
   */
  async rebuildSearchIndexes(opts: { indexKey?: Uint8Array; batchSize?: number; onProgress?: (records: number) => void } = {}): Promise<{ records: number }> {
    if (opts.indexKey) this.indexKey = opts.indexKey;
    for (const name of ['mn', 'nm', 'nx', 'ad'] as const) await this.clearInBatches(name);
    const it = this.subs.rec.iterator();
    let n = 0;
    let batch = this.db.batch();
    if (opts.indexKey && this.indexKeyStored) batch.put(this.at.meta + 'indexKey', opts.indexKey);
    try {
      for (;;) {
        const block = await it.nextv(1000);
        if (block.length === 0) break;
        for (const [k, v] of block) this.putIndexes(batch, this.codec.decode(v) as IdentityRecord, k);
        n += block.length;
        if (batch.length >= (opts.batchSize ?? 2000) * 4) {
          await batch.write();
          batch = this.db.batch();
          opts.onProgress?.(n);
        }
      }
      batch.put(this.at.meta + 'nx', enc('1'));
      await batch.write();
      this.compositeComplete = true;
    } finally {
      await it.close();
    }
    opts.onProgress?.(n);
    return { records: n };
  }

  /** Deletes a sublevel in bounded batches (clear() builds one batch as large as the index). */
  private async clearInBatches(name: SubName): Promise<void> {
    const it = this.subs[name].keys();
    try {
      for (;;) {
        const keys = await it.nextv(10_000);
        if (keys.length === 0) return;
        const b = this.db.batch();
        for (const k of keys) b.del(this.at[name] + k);
        await b.write();
      }
    } finally {
      await it.close();
    }
  }

  private removeIndexes(batch: Batch, old: IdentityRecord, p: string): void {
    batch.del(this.at.mn + `${this.h('m:' + old.myNumber)}!${p}`);
    const addr = addressKey(old.address);
    batch.del(this.at.ad + `${this.h('a:' + addr)}!${p}`);
    const nameKeys = recordNameKeys(old);
    for (const k of nameKeys) batch.del(this.at.nm + `${this.h(k)}!${p}`);
    for (const k of compositeKeys(nameKeys, old.birthDate, addr)) batch.del(this.at.nx + `${this.h(k)}!${p}`);
  }

  private h(value: string): string {
    return indexHash(this.indexKey, value);
  }

  async get(residentCode: string): Promise<IdentityRecord | undefined> {
    return this.getByPseudonym(this.pseudonym(residentCode));
  }

  private async getByPseudonym(p: string): Promise<IdentityRecord | undefined> {
    const v = await this.subs.rec.get(p);
    return v ? (this.codec.decode(v) as IdentityRecord) : undefined;
  }

  /** Every version, oldest first, the current one last (deleted records included). */
  async history(residentCode: string): Promise<IdentityRecord[]> {
    const p = this.pseudonym(residentCode);
    const out: IdentityRecord[] = [];
    for await (const v of this.subs.hist.values({ gt: `${p}!`, lt: `${p}!~` })) out.push(this.codec.decode(v) as IdentityRecord);
    const cur = await this.getByPseudonym(p);
    if (cur) out.push(cur);
    return out;
  }

  /** The version in force at 更新順番号 `atSeq` (undefined if the person had no record yet). */
  async versionAt(residentCode: string, atSeq: number): Promise<IdentityRecord | undefined> {
    return this.versionAtPseudonym(this.pseudonym(residentCode), atSeq);
  }

  private async versionAtPseudonym(p: string, atSeq: number): Promise<IdentityRecord | undefined> {
    const cur = await this.getByPseudonym(p);
    if (!cur || cur.updateSeq <= atSeq) return cur;
    for await (const v of this.subs.hist.values({ gte: `${p}!`, lte: `${p}!${seqKey(atSeq)}`, reverse: true, limit: 1 })) {
      return this.codec.decode(v) as IdentityRecord;
    }
    return undefined;
  }

  /** The record holding this 個人番号: a current one if any, else the latest deleted one. */
  async byMyNumber(myNumber: string): Promise<IdentityRecord | undefined> {
    let found: IdentityRecord | undefined;
    const h = this.h('m:' + myNumber);
    for await (const k of this.subs.mn.keys({ gt: `${h}!`, lt: `${h}!~` })) {
      const r = await this.getByPseudonym(k.slice(h.length + 1));
      if (r && (r.status === 'current' || !found || r.updateSeq > found.updateSeq)) found = r;
      if (found?.status === 'current') break;
    }
    return found;
  }

  /** Pseudonym of the current record holding this 個人番号, other than `except`. */
  private async holderOfMyNumber(myNumber: string, except: string): Promise<string | undefined> {
    if (typeof myNumber !== 'string') return undefined;
    const h = this.h('m:' + myNumber);
    for await (const k of this.subs.mn.keys({ gt: `${h}!`, lt: `${h}!~` })) {
      const p = k.slice(h.length + 1);
      if (p !== except && (await this.getByPseudonym(p))?.status === 'current') return p;
    }
    return undefined;
  }

  /** Records at exactly this normalised address (世帯 look-ups). */
  async byAddress(address: string, opts: { includeDeleted?: boolean } = {}): Promise<IdentityRecord[]> {
    const h = this.h('a:' + addressKey(address));
    const out: IdentityRecord[] = [];
    for await (const k of this.subs.ad.keys({ gt: `${h}!`, lt: `${h}!~` })) {
      const r = await this.getByPseudonym(k.slice(h.length + 1));
      if (r && (opts.includeDeleted || r.status === 'current')) out.push(r);
    }
    return out;
  }

  /**
   * 4-item search: a name (kanji or kana) plus a date of birth or an address; sex and lgCode narrow.
   * Returns every hit when there are at most `limit`; otherwise `truncated` is set, `hits` is empty
   * and `total` counts the matches (a lower bound past the scan cap): the caller answers too_many_hits.
   */
  async search(q: SearchQuery, opts: { limit: number }): Promise<SearchResult> {
    const name = q.name?.trim() ? queryNameKey(q.name) : undefined;
    const kana = q.kana?.trim() ? queryKanaKey(q.kana) : undefined;
    if (!name && !kana) throw new IdentityStoreError('invalid_request', 'a search needs a name or a kana reading', [{ path: 'name', problem: 'required' }]);
    if (!q.birthDate && !q.address) throw new IdentityStoreError('invalid_request', 'a search needs a date of birth or an address besides the name', [{ path: 'birthDate', problem: 'birthDate or address required' }]);
    const kanaFilter = name && kana ? this.h(kana).slice(0, 8) : undefined;
    const addr = q.address ? addressKey(q.address) : undefined;
    // Every match shares the composite key of the query's birth year (or address area) with the
    // name, so that range holds them all; the filters below stay the same either way.
    const composite = this.compositeComplete ? queryCompositeKey((name ?? kana)!, q.birthDate, addr) : undefined;
    const [index, h] = composite ? [this.subs.nx, this.h(composite)] : [this.subs.nm, this.h((name ?? kana)!)];
    const cap = this.opts.searchScanCap ?? 20_000;
    const matches: string[] = [];
    let scanned = 0, capped = false;
    const it = index.iterator({ gt: `${h}!`, lt: `${h}!~` });
    try {
      scan: for (;;) {
        const block = await it.nextv(1000);
        if (block.length === 0) break;
        for (const [k, v] of block) {
          if (++scanned > cap) { capped = true; break scan; }
          const e = this.codec.decode(v) as NameIndexValue;
          if (e.st === 'deleted' && !q.includeDeleted) continue;
          if (q.birthDate && !birthDateMatches(e.b, q.birthDate)) continue;
          if (addr && !e.a.startsWith(addr)) continue;
          if (q.sex && e.s !== q.sex) continue;
          if (q.lgCode && e.l !== q.lgCode) continue;
          if (kanaFilter && !e.kh.includes(kanaFilter)) continue;
          matches.push(k.slice(h.length + 1));
        }
      }
    } finally {
      await it.close();
    }
    const truncated = capped || matches.length > opts.limit;
    // Over the cap the caller answers too_many_hits and discloses nothing, so nothing is read.
    const hits = truncated ? [] : (await Promise.all(matches.map((p) => this.getByPseudonym(p)))).filter((r): r is IdentityRecord => r !== undefined);
    return { hits, total: matches.length, truncated };
  }

  /** A record's position in the bucket-ordered listing ("prefix!P"). */
  listingCursor(residentCode: string): string {
    return `${bucketPrefix(residentCode)}!${this.pseudonym(residentCode)}`;
  }

  private listingBounds(lgCode: string, range: ListingRange): { gt?: string; gte?: string; lt?: string; lte?: string } {
    const base = `${lgCode}!`;
    const opts: { gt?: string; gte?: string; lt?: string; lte?: string } = {};
    if (range.after !== undefined) opts.gt = base + range.after; else opts.gte = base + (range.fromPrefix ?? '');
    if (range.upTo !== undefined) opts.lte = base + range.upTo; else opts.lt = base + (range.toPrefix ?? '~');
    return opts;
  }

  /**
   * (住民票コード, record digest) of one municipality code as of 更新順番号 `atSeq`, in listing order
   * (bucket prefix = first 24 bits of SHA-256(住民票コード), hex; within a bucket by pseudonym, not by
   * code: callers sort a bucket themselves; cursor = "prefix!P"). Reads only the listing index,
   * except for records changed after `atSeq`, whose earlier version comes from history.
   */
  async *iterateDigests(lgCode: string, atSeq: number, range: ListingRange = {}): AsyncGenerator<{ residentCode: string; prefix: string; digest: string; cursor: string }> {
    const base = `${lgCode}!`;
    for await (const [k, v] of this.subs.lg.iterator(this.listingBounds(lgCode, range))) {
      const cursor = k.slice(base.length);
      const prefix = cursor.slice(0, 6);
      const p = cursor.slice(7);
      const rc = this.cipher.codeOf(p);
      if (rc === undefined) throw new IdentityStoreOpenError(`listing key of ${lgCode} does not decrypt under this store's 住民票コード key`);
      const text = dec(v);
      const sp = text.indexOf(' ');
      const digest = text.slice(sp + 1);
      if (Number(text.slice(0, sp)) <= atSeq) {
        if (digest !== '-') yield { residentCode: rc, prefix, digest, cursor };
        continue;
      }
      const then = await this.versionAtPseudonym(p, atSeq);
      if (then && then.lgCode === lgCode) yield { residentCode: rc, prefix, digest: this.digestOf(then), cursor };
    }
  }

  /**
   * The same as iterateDigests through a callback, reading the listing in blocks (nextv): the hot
   * path of a consistency check, which touches every record of a municipality code once per side.
   */
  async scanDigests(lgCode: string, atSeq: number, range: ListingRange, onEntry: (residentCode: string, prefix: string, digest: string) => void): Promise<void> {
    const base = `${lgCode}!`;
    const it = this.subs.lg.iterator(this.listingBounds(lgCode, range));
    try {
      for (;;) {
        const block = await it.nextv(1000);
        if (block.length === 0) return;
        // one decryption call for the whole block's codes
        const codes = this.cipher.codesOf(block.map(([k]) => k.slice(base.length + 7)));
        for (let i = 0; i < block.length; i++) {
          const [k, v] = block[i]!;
          const rc = codes[i];
          if (rc === undefined) throw new IdentityStoreOpenError(`listing key of ${lgCode} does not decrypt under this store's 住民票コード key`);
          const text = dec(v);
          const sp = text.indexOf(' ');
          const prefix = k.slice(base.length, base.length + 6);
          if (Number(text.slice(0, sp)) <= atSeq) {
            const digest = text.slice(sp + 1);
            if (digest !== '-') onEntry(rc, prefix, digest);
            continue;
          }
          const then = await this.versionAtPseudonym(k.slice(base.length + 7), atSeq);
          if (then && then.lgCode === lgCode) onEntry(rc, prefix, this.digestOf(then));
        }
      }
    } finally {
      await it.close();
    }
  }

  /** Full records of one municipality code as of `atSeq` (default: now), in listing order. */
  async *iterateSnapshot(lgCode: string, atSeq = this.seq, range: ListingRange = {}): AsyncGenerator<IdentityRecord> {
    for await (const d of this.iterateDigests(lgCode, atSeq, range)) {
      const r = await this.versionAtPseudonym(d.cursor.slice(7), atSeq);
      if (r) yield r;
    }
  }

  /**
   * Records of one municipality code as of `atSeq`, in 住民票コード order (full-transfer pages are in
   * code order), after the code `after` if given: code range by code range, each sorted in memory.
   */
  async *iterateByCode(lgCode: string, atSeq = this.seq, after?: string): AsyncGenerator<IdentityRecord> {
    const first = after === undefined ? 0 : Math.min(CODE_RANGES, Math.max(0, codeRangeOf(after.padEnd(11, '0')) || 0));
    for (let range = first; range < CODE_RANGES; range++) yield* this.rangeByCode(lgCode, range, atSeq, after);
  }

  /**
   * One code range in code order: its (code, P) pairs sorted in memory, at most `codeRangeWindow` of them
   * (a denser range takes more passes), then the records read as of `atSeq`, READ_AHEAD at a time.
   */
  private async *rangeByCode(lgCode: string, range: number, atSeq: number, after: string | undefined): AsyncGenerator<IdentityRecord> {
    const base = `${lgCode}!${this.rangeTag(range)}!`;
    const window = this.opts.codeRangeWindow ?? RANGE_WINDOW;
    let low = after;
    for (;;) {
      let held: CodeEntry[] = [];
      let more = false;
      const keep = () => { held.sort(byCode); held = held.slice(0, window); more = true; };
      const it = this.subs.lc.keys({ gt: base, lt: base + '~' });
      try {
        for (;;) {
          const keys = await it.nextv(1000);
          if (keys.length === 0) break;
          const ps = keys.map((k) => k.slice(base.length));
          const codes = this.cipher.codesOf(ps);
          for (let i = 0; i < ps.length; i++) {
            const code = codes[i];
            // a tag shared by two ranges is read in each; its codes are taken in their own range only
            if (code === undefined || codeRangeOf(code) !== range || (low !== undefined && code <= low)) continue;
            held.push([code, ps[i]!]);
            if (held.length >= 2 * window) keep();
          }
        }
      } finally {
        await it.close();
      }
      if (held.length > window) keep();
      else held.sort(byCode);
      // Records of a range lie anywhere in rec (keyed by pseudonym): read a few dozen at once.
      for (let i = 0; i < held.length; i += READ_AHEAD) {
        const records = await Promise.all(held.slice(i, i + READ_AHEAD).map(([, p]) => this.versionAtPseudonym(p, atSeq)));
        for (const r of records) if (r && r.lgCode === lgCode) yield r;
      }
      if (!more || held.length === 0) return;
      low = held[held.length - 1]![0];
    }
  }

  /** Changes after `afterSeq`, in order: (seq, residentCode). */
  async *changesSince(afterSeq: number): AsyncGenerator<{ seq: number; residentCode: string }> {
    for await (const [k, v] of this.subs.seq.iterator({ gt: seqKey(afterSeq) })) {
      const r = await this.getByPseudonym(dec(v));
      if (r) yield { seq: Number(k), residentCode: r.residentCode };
    }
  }

  get database(): Db {
    return this.db;
  }

  /** The value codec (sealing in the appliance), for components keeping codes next to this store. */
  get valueCodec(): ValueCodec {
    return this.codec;
  }
}

function stripUndefined<T extends object>(o: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
