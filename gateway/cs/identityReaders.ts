// The look-ups that answer the flows: by 個人番号, by address (世帯), and the 4-item search (name or
// kana plus a date of birth or an address). They read the search indexes first and only then the
// records they matched.
import { IdentityStoreError } from './identityStoreErrors.js';
import type { IdentityIndexes } from './identityIndexes.js';
import { addressKey, birthDateMatches, queryCompositeKey, queryKanaKey, queryNameKey } from './identityStoreKeys.js';
import { nameIndexEntry, type IdentitySublevels } from './identityStoreLayout.js';
import type { IdentityRecords } from './identityRecords.js';
import type { IdentityRecord, SearchQuery, SearchResult, ValueCodec } from './identityStoreTypes.js';

/** Candidate entries a search counts before it stops (its total is then a lower bound). */
const SEARCH_SCAN_CAP = 20_000;

export class IdentityReaders {
  constructor(
    private readonly o: {
      subs: IdentitySublevels;
      codec: ValueCodec;
      records: IdentityRecords;
      indexes: IdentityIndexes;
      searchScanCap?: number | undefined;
    },
  ) {}

  /** The record holding this 個人番号: a current one if any, else the latest deleted one. */
  async byMyNumber(myNumber: string): Promise<IdentityRecord | undefined> {
    let found: IdentityRecord | undefined;
    for await (const p of this.o.indexes.holders('byMyNumber', this.o.indexes.myNumberHash(myNumber))) {
      const r = await this.o.records.current(p);
      if (r && (r.status === 'current' || !found || r.updateSeq > found.updateSeq)) found = r;
      if (found?.status === 'current') break;
    }
    return found;
  }

  /** Pseudonym of the current record holding this 個人番号, other than `except`. */
  async holderOfMyNumber(myNumber: string, except: string): Promise<string | undefined> {
    if (typeof myNumber !== 'string') return undefined;
    for await (const p of this.o.indexes.holders('byMyNumber', this.o.indexes.myNumberHash(myNumber))) {
      if (p !== except && (await this.o.records.current(p))?.status === 'current') return p;
    }
    return undefined;
  }

  /** Records at exactly this normalised address (世帯 look-ups). */
  async byAddress(address: string, opts: { includeDeleted?: boolean } = {}): Promise<IdentityRecord[]> {
    const out: IdentityRecord[] = [];
    for await (const p of this.o.indexes.holders('byAddress', this.o.indexes.addressHash(addressKey(address)))) {
      const r = await this.o.records.current(p);
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
    const { indexes, subs, codec } = this.o;
    const name = q.name?.trim() ? queryNameKey(q.name) : undefined;
    const kana = q.kana?.trim() ? queryKanaKey(q.kana) : undefined;
    if (!name && !kana)
      throw new IdentityStoreError('invalid_request', 'a search needs a name or a kana reading', [{ path: 'name', problem: 'required' }]);
    if (!q.birthDate && !q.address)
      throw new IdentityStoreError('invalid_request', 'a search needs a date of birth or an address besides the name', [
        { path: 'birthDate', problem: 'birthDate or address required' },
      ]);
    const kanaFilter = name && kana ? indexes.hash(kana).slice(0, 8) : undefined;
    const addr = q.address ? addressKey(q.address) : undefined;
    // Every match shares the composite key of the query's birth year (or address area) with the
    // name, so that range holds them all; the filters below stay the same either way.
    const composite = indexes.compositeComplete ? queryCompositeKey((name ?? kana)!, q.birthDate, addr) : undefined;
    const [index, h] = composite ? [subs.byNameAndYearOrArea, indexes.hash(composite)] : [subs.byName, indexes.hash((name ?? kana)!)];
    const cap = this.o.searchScanCap ?? SEARCH_SCAN_CAP;
    const matches: string[] = [];
    let scanned = 0,
      capped = false;
    const it = index.iterator({ gt: `${h}!`, lt: `${h}!~` });
    try {
      scan: for (;;) {
        const block = await it.nextv(1000);
        if (block.length === 0) break;
        for (const [k, v] of block) {
          if (++scanned > cap) {
            capped = true;
            break scan;
          }
          const entry = nameIndexEntry.fromDisk(codec.decode(v));
          if (entry.status === 'deleted' && !q.includeDeleted) continue;
          if (q.birthDate && !birthDateMatches(entry.birthDate, q.birthDate)) continue;
          if (addr && !entry.addressKey.startsWith(addr)) continue;
          if (q.sex && entry.sex !== q.sex) continue;
          if (q.lgCode && entry.lgCode !== q.lgCode) continue;
          if (kanaFilter && !entry.kanaHashes.includes(kanaFilter)) continue;
          matches.push(k.slice(h.length + 1));
        }
      }
    } finally {
      await it.close();
    }
    const truncated = capped || matches.length > opts.limit;
    // Over the cap the caller answers too_many_hits and discloses nothing, so nothing is read.
    const hits = truncated
      ? []
      : (await Promise.all(matches.map((p) => this.o.records.current(p)))).filter((r): r is IdentityRecord => r !== undefined);
    return { hits, total: matches.length, truncated };
  }
}
