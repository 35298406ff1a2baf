// Identity store (本人確認情報) of the CS role, in the appliance LevelDB under SUBLEVELS.identity.
//
// Layout (nested sublevels of `identity`):
//   rec   residentCode                       → current version (codec)
//   hist  residentCode!seq                   → every superseded version (codec); history = hist + rec.
//                                              Deleted records (除票) stay in rec with status "deleted".
//   seq   seq                                → residentCode: one entry per change (更新順番号 log)
//   lg    lgCode!bucketPrefix!residentCode   → "seq hash" (or "seq -" once the record moved to another
//                                              code): bucket-ordered listing for the consistency check
//   lc    lgCode!residentCode                → '': the same in 住民票コード order (full transfer); entries
//                                              of codes a record left stay and are checked as of the seq
//   mn    H(個人番号)!residentCode            → ''
//   nm    H(name key)!residentCode           → codec({ b, a, s, l, st, kh }): filters applied while searching
//   nx    H(name key, birth year)!residentCode and H(name key, first ADDRESS_LEVEL characters of the
//         address key)!residentCode          → the same value as nm: composite keys that narrow a search
//                                              with a date of birth or a long enough address to that year
//                                              or address area instead of every holder of a common name
//   ad    H(address key)!residentCode        → ''
//   meta  indexKey (only when none is injected); `nx` = '1' once nx covers every record (a store
//         created before nx searches through nm until rebuildSearchIndexes()); import checkpoints
//         live in `import` (importer.ts)
//
// 更新順番号: one counter per installation, shared by all its municipality codes (a Yokohama
// installation serves 18 ward codes), so it is monotonic per code as well, with gaps where another
// code (or a change that failed validation) took a number. The highest committed number is the last
// key of `seq`, read at open, so batches committing out of order never make a restart reuse one.
//
// Privacy: H is HMAC-SHA-256 (128 bits, base64url) under a per-installation index key, injected by
// the key component; name and address keys are the domain's folded search keys, hashed. No name,
// 個人番号, date of birth or address appears in clear in any LevelDB key. 住民票コード is the primary
// key and so is in clear in keys. Values holding personal data (rec, hist, nm) go through the
// injectable ValueCodec (JSON by default; encryption at rest swaps in an encrypting codec). The
// listing values hold only a sequence number and the record hash.
//
// "As of" reads: history keeps every version with its 更新順番号, so the store can show any
// municipality code exactly as it was at a sequence number H while updates continue; consistency
// checks use that instead of a LevelDB snapshot, which would not survive a restart.
import { createHash, randomBytes } from 'node:crypto';
import type { AbstractSublevel } from 'abstract-level';
import type { ErrorDetail } from '../envelope.js';
import { SUBLEVELS, seqKey, type Batch, type Db } from '../store/db.js';
import { recordHash } from '../domain/consistency.js';
import { addressKey, birthDateMatches, compositeKeys, indexHash, isKanaKey, queryCompositeKey, queryKanaKey, queryNameKey, recordNameKeys } from './identityStoreKeys.js';
import { jsonCodec, type IdentityChange, type IdentityRecord, type SearchQuery, type SearchResult, type ValueCodec } from './identityStoreTypes.js';
import { validateIdentityChange, type ValidationOptions } from './identityStoreValidation.js';

export class IdentityStoreError extends Error {
  constructor(readonly code: 'invalid_request' | 'not_found' | 'conflict', message: string, readonly details: ErrorDetail[] = []) {
    super(message);
  }
}

export interface IdentityStoreOptions {
  /** Value encoding for sublevels holding personal data (default JSON). */
  codec?: ValueCodec;
  /** Per-installation HMAC key for index keys. Without it a random key is generated and kept in `meta`. */
  indexKey?: Uint8Array;
  /** Record hash kept in the listing index (default: gateway/domain/consistency.ts recordHash). */
  recordDigest?: (r: IdentityRecord) => string;
  validation?: ValidationOptions;
  /** A search stops counting after this many candidate entries (total is then a lower bound). */
  searchScanCap?: number;
}

/** Part of a municipality's listing: by bucket prefix, or after / up to a cursor ("prefix!code"). */
export interface ListingRange { fromPrefix?: string; toPrefix?: string; after?: string; upTo?: string }

/** 'flow': add 記載 / correct 修正 / delete 消除 transition rules apply. 'load': stored as given (import, full transfer). */
export type ApplyMode = 'flow' | 'load';

type SubName = 'rec' | 'hist' | 'seq' | 'lg' | 'lc' | 'mn' | 'nm' | 'nx' | 'ad' | 'meta';
type Sub = AbstractSublevel<any, string | Uint8Array, string, Uint8Array>; // eslint-disable-line @typescript-eslint/no-explicit-any -- nested sublevel of the appliance db
interface NameIndexValue { b: string; a: string; s: string; l: string; st: 'current' | 'deleted'; kh: string[] }
const EMPTY = new Uint8Array(0);
const enc = (s: string) => Buffer.from(s, 'utf8');
const dec = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

export class IdentityStore {
  /**
   * Key prefixes of the sublevels: writes go into the caller's root batch as prefix + key, the same
   * bytes a delegated `{ sublevel }` put stores, at a fraction of its cost (bulk loads do ~9 per record).
   */
  private readonly at: Record<SubName, string>;

  private constructor(
    private readonly db: Db,
    private readonly subs: Record<SubName, Sub>,
    private readonly codec: ValueCodec,
    private indexKey: Uint8Array,
    private readonly indexKeyStored: boolean,
    private readonly digestOf: (r: IdentityRecord) => string,
    private readonly opts: IdentityStoreOptions,
    private seq: number,
    /** nx holds every record's composite keys (false for a store created before nx, until a rebuild). */
    private compositeComplete: boolean,
  ) {
    this.at = Object.fromEntries(Object.entries(subs).map(([n, sub]) => [n, sub.prefix])) as Record<SubName, string>;
  }

  static async open(db: Db, opts: IdentityStoreOptions = {}): Promise<IdentityStore> {
    const root = db.sublevel<string, Uint8Array>(SUBLEVELS.identity, { valueEncoding: 'view' });
    const sub = (n: string): Sub => root.sublevel<string, Uint8Array>(n, { valueEncoding: 'view' });
    const subs = { rec: sub('rec'), hist: sub('hist'), seq: sub('seq'), lg: sub('lg'), lc: sub('lc'), mn: sub('mn'), nm: sub('nm'), nx: sub('nx'), ad: sub('ad'), meta: sub('meta') };
    let indexKey = opts.indexKey;
    const indexKeyStored = !indexKey;
    if (!indexKey) {
      const stored = await subs.meta.get('indexKey');
      if (stored) indexKey = stored;
      else {
        indexKey = randomBytes(32);
        await subs.meta.put('indexKey', indexKey);
      }
    }
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
    return new IdentityStore(db, subs, opts.codec ?? jsonCodec, indexKey, indexKeyStored, opts.recordDigest ?? ((r) => recordHash(r as unknown as Record<string, unknown>)), opts, last, composite);
  }

  /** Highest 更新順番号 assigned so far (per installation, across all its municipality codes). */
  lastSeq(): number {
    return this.seq;
  }

  /**
   * Adds the change to the caller's batch and returns the new version. The 更新順番号 is taken
   * synchronously, before any await, so numbers follow call order. Callers serialise changes per
   * person (flows do, per resident code) because the previous version is read, not locked.
   * Throws IdentityStoreError (invalid_request / not_found / conflict); the batch is then untouched.
   */
  async apply(batch: Batch, change: IdentityChange, opts: { mode?: ApplyMode; fresh?: boolean } = {}): Promise<{ record: IdentityRecord; seq: number }> {
    const seq = ++this.seq;
    const problems = validateIdentityChange(change as unknown as Record<string, unknown>, this.opts.validation);
    if (problems.length) throw new IdentityStoreError('invalid_request', 'invalid identity record', problems);
    const rc = change.residentCode;
    // `fresh`: the caller guarantees neither the code nor the 個人番号 exists yet (bulk load of a
    // generated population into an empty store), which saves two reads per record.
    const [old, holder] = opts.fresh ? [undefined, undefined]
      : await Promise.all([this.get(rc), this.residentCodeOfMyNumber(change.myNumber, rc)]);
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
    if (old) {
      batch.put(this.at.hist + `${rc}!${seqKey(old.updateSeq)}`, this.codec.encode(old));
      this.removeIndexes(batch, old);
      if (old.lgCode !== record.lgCode) batch.put(this.at.lg + `${old.lgCode}!${bucketPrefix(rc)}!${rc}`, enc(`${seq} -`));
    }
    batch.put(this.at.rec + rc, this.codec.encode(record));
    batch.put(this.at.seq + seqKey(seq), enc(rc));
    batch.put(this.at.lg + `${record.lgCode}!${bucketPrefix(rc)}!${rc}`, enc(`${seq} ${this.digestOf(record)}`));
    batch.put(this.at.lc + `${record.lgCode}!${rc}`, EMPTY);
    this.putIndexes(batch, record);
    return { record, seq };
  }

  /** The 個人番号, name and address index entries of one record. */
  private putIndexes(batch: Batch, record: IdentityRecord): void {
    const rc = record.residentCode;
    batch.put(this.at.mn + `${this.h('m:' + record.myNumber)}!${rc}`, EMPTY);
    const addr = addressKey(record.address);
    batch.put(this.at.ad + `${this.h('a:' + addr)}!${rc}`, EMPTY);
    const nameKeys = recordNameKeys(record);
    const value: NameIndexValue = {
      b: record.birthDate, a: addr, s: record.sex, l: record.lgCode, st: record.status,
      kh: nameKeys.filter(isKanaKey).map((k) => this.h(k).slice(0, 8)),
    };
    const encoded = this.codec.encode(value);
    for (const k of nameKeys) batch.put(this.at.nm + `${this.h(k)}!${rc}`, encoded);
    for (const k of compositeKeys(nameKeys, record.birthDate, addr)) batch.put(this.at.nx + `${this.h(k)}!${rc}`, encoded);
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
        for (const [, v] of block) this.putIndexes(batch, this.codec.decode(v) as IdentityRecord);
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

  private removeIndexes(batch: Batch, old: IdentityRecord): void {
    const rc = old.residentCode;
    batch.del(this.at.mn + `${this.h('m:' + old.myNumber)}!${rc}`);
    const addr = addressKey(old.address);
    batch.del(this.at.ad + `${this.h('a:' + addr)}!${rc}`);
    const nameKeys = recordNameKeys(old);
    for (const k of nameKeys) batch.del(this.at.nm + `${this.h(k)}!${rc}`);
    for (const k of compositeKeys(nameKeys, old.birthDate, addr)) batch.del(this.at.nx + `${this.h(k)}!${rc}`);
  }

  private h(value: string): string {
    return indexHash(this.indexKey, value);
  }

  async get(residentCode: string): Promise<IdentityRecord | undefined> {
    const v = await this.subs.rec.get(residentCode);
    return v ? (this.codec.decode(v) as IdentityRecord) : undefined;
  }

  /** Every version, oldest first, the current one last (deleted records included). */
  async history(residentCode: string): Promise<IdentityRecord[]> {
    const out: IdentityRecord[] = [];
    for await (const v of this.subs.hist.values({ gt: `${residentCode}!`, lt: `${residentCode}!~` })) out.push(this.codec.decode(v) as IdentityRecord);
    const cur = await this.get(residentCode);
    if (cur) out.push(cur);
    return out;
  }

  /** The version in force at 更新順番号 `atSeq` (undefined if the person had no record yet). */
  async versionAt(residentCode: string, atSeq: number): Promise<IdentityRecord | undefined> {
    const cur = await this.get(residentCode);
    if (!cur || cur.updateSeq <= atSeq) return cur;
    for await (const v of this.subs.hist.values({ gte: `${residentCode}!`, lte: `${residentCode}!${seqKey(atSeq)}`, reverse: true, limit: 1 })) {
      return this.codec.decode(v) as IdentityRecord;
    }
    return undefined;
  }

  /** The record holding this 個人番号: a current one if any, else the latest deleted one. */
  async byMyNumber(myNumber: string): Promise<IdentityRecord | undefined> {
    let found: IdentityRecord | undefined;
    const p = this.h('m:' + myNumber);
    for await (const k of this.subs.mn.keys({ gt: `${p}!`, lt: `${p}!~` })) {
      const r = await this.get(k.slice(p.length + 1));
      if (r && (r.status === 'current' || !found || r.updateSeq > found.updateSeq)) found = r;
      if (found?.status === 'current') break;
    }
    return found;
  }

  private async residentCodeOfMyNumber(myNumber: string, except: string): Promise<string | undefined> {
    if (typeof myNumber !== 'string') return undefined;
    const p = this.h('m:' + myNumber);
    for await (const k of this.subs.mn.keys({ gt: `${p}!`, lt: `${p}!~` })) {
      const rc = k.slice(p.length + 1);
      if (rc !== except && (await this.get(rc))?.status === 'current') return rc;
    }
    return undefined;
  }

  /** Records at exactly this normalised address (世帯 look-ups). */
  async byAddress(address: string, opts: { includeDeleted?: boolean } = {}): Promise<IdentityRecord[]> {
    const p = this.h('a:' + addressKey(address));
    const out: IdentityRecord[] = [];
    for await (const k of this.subs.ad.keys({ gt: `${p}!`, lt: `${p}!~` })) {
      const r = await this.get(k.slice(p.length + 1));
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
    const [index, p] = composite ? [this.subs.nx, this.h(composite)] : [this.subs.nm, this.h((name ?? kana)!)];
    const cap = this.opts.searchScanCap ?? 20_000;
    const matches: string[] = [];
    let scanned = 0, capped = false;
    const it = index.iterator({ gt: `${p}!`, lt: `${p}!~` });
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
          matches.push(k.slice(p.length + 1));
        }
      }
    } finally {
      await it.close();
    }
    const truncated = capped || matches.length > opts.limit;
    // Over the cap the caller answers too_many_hits and discloses nothing, so nothing is read.
    const hits = truncated ? [] : (await Promise.all(matches.map((rc) => this.get(rc)))).filter((r): r is IdentityRecord => r !== undefined);
    return { hits, total: matches.length, truncated };
  }

  /**
   * (住民票コード, record digest) of one municipality code as of 更新順番号 `atSeq`, in listing order
   * (bucket prefix = first 32 bits of SHA-256(住民票コード), hex; cursor = "prefix!code"). Reads only
   * the listing index, except for records changed after `atSeq`, whose earlier version comes from history.
   */
  async *iterateDigests(lgCode: string, atSeq: number, range: ListingRange = {}): AsyncGenerator<{ residentCode: string; prefix: string; digest: string; cursor: string }> {
    const base = `${lgCode}!`;
    const opts: { gt?: string; gte?: string; lt?: string; lte?: string } = {};
    if (range.after !== undefined) opts.gt = base + range.after; else opts.gte = base + (range.fromPrefix ?? '');
    if (range.upTo !== undefined) opts.lte = base + range.upTo; else opts.lt = base + (range.toPrefix ?? '~');
    for await (const [k, v] of this.subs.lg.iterator(opts)) {
      const cursor = k.slice(base.length);
      const prefix = cursor.slice(0, 8);
      const rc = cursor.slice(9);
      const text = dec(v);
      const sp = text.indexOf(' ');
      const digest = text.slice(sp + 1);
      if (Number(text.slice(0, sp)) <= atSeq) {
        if (digest !== '-') yield { residentCode: rc, prefix, digest, cursor };
        continue;
      }
      const then = await this.versionAt(rc, atSeq);
      if (then && then.lgCode === lgCode) yield { residentCode: rc, prefix, digest: this.digestOf(then), cursor };
    }
  }

  /**
   * The same as iterateDigests through a callback, reading the listing in blocks (nextv): the hot
   * path of a consistency check, which touches every record of a municipality code once per side.
   */
  async scanDigests(lgCode: string, atSeq: number, range: ListingRange, onEntry: (residentCode: string, prefix: string, digest: string) => void): Promise<void> {
    const base = `${lgCode}!`;
    const opts: { gt?: string; gte?: string; lt?: string; lte?: string } = {};
    if (range.after !== undefined) opts.gt = base + range.after; else opts.gte = base + (range.fromPrefix ?? '');
    if (range.upTo !== undefined) opts.lte = base + range.upTo; else opts.lt = base + (range.toPrefix ?? '~');
    const it = this.subs.lg.iterator(opts);
    try {
      for (;;) {
        const block = await it.nextv(1000);
        if (block.length === 0) return;
        for (const [k, v] of block) {
          const text = dec(v);
          const sp = text.indexOf(' ');
          const rc = k.slice(base.length + 9);
          const prefix = k.slice(base.length, base.length + 8);
          if (Number(text.slice(0, sp)) <= atSeq) {
            const digest = text.slice(sp + 1);
            if (digest !== '-') onEntry(rc, prefix, digest);
            continue;
          }
          const then = await this.versionAt(rc, atSeq);
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
      const r = await this.versionAt(d.residentCode, atSeq);
      if (r) yield r;
    }
  }

  /**
   * Records of one municipality code as of `atSeq`, in 住民票コード order (full-transfer pages are in
   * code order), after the code `after` if given.
   */
  async *iterateByCode(lgCode: string, atSeq = this.seq, after?: string): AsyncGenerator<IdentityRecord> {
    const base = `${lgCode}!`;
    for await (const k of this.subs.lc.keys({ gt: base + (after ?? ''), lt: base + '~' })) {
      const r = await this.versionAt(k.slice(base.length), atSeq);
      if (r && r.lgCode === lgCode) yield r;
    }
  }

  /** Changes after `afterSeq`, in order: (seq, residentCode). */
  async *changesSince(afterSeq: number): AsyncGenerator<{ seq: number; residentCode: string }> {
    for await (const [k, v] of this.subs.seq.iterator({ gt: seqKey(afterSeq) })) yield { seq: Number(k), residentCode: dec(v) };
  }

  get database(): Db {
    return this.db;
  }
}

/** A record's position in the bucket-ordered listing ("prefix!code"). */
export function listingCursor(residentCode: string): string {
  return `${bucketPrefix(residentCode)}!${residentCode}`;
}

/** First 32 bits of SHA-256(住民票コード) in hex: orders the listing by bucket (domain bucketOf). */
export function bucketPrefix(residentCode: string): string {
  return createHash('sha256').update(residentCode, 'utf8').digest('hex').slice(0, 8);
}

function stripUndefined<T extends object>(o: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
