// Reading one municipality code's records as of a 更新順番号, for the consistency check (digests in
// listing order: bucket prefix, then pseudonym) and the full transfer (records in 住民票コード order).
// Reads the listing index, and the history only for records changed after the requested number.
import { CODE_RANGES, codeRangeOf, type CodeCipher } from './identityStoreKeys.js';
import { IdentityStoreOpenError } from './identityStoreErrors.js';
import type { IdentityIndexes } from './identityIndexes.js';
import { listingValue, type IdentitySublevels } from './identityStoreLayout.js';
import type { IdentityRecords } from './identityRecords.js';
import type { IdentityRecord } from './identityStoreTypes.js';

/** Part of a municipality's listing: by bucket prefix, or after / up to a cursor ("prefix!P"). */
export interface ListingRange {
  fromPrefix?: string;
  toPrefix?: string;
  after?: string;
  upTo?: string;
}

/** (code, P) pairs of one code range held at once while sorting it; a denser range takes several passes. */
const RANGE_WINDOW = 20_000;
type CodeEntry = [code: string, p: string];
/** Records read concurrently while a range is listed in code order. */
const READ_AHEAD = 32;
const byCode = (a: CodeEntry, b: CodeEntry) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
/** A listing cursor is "prefix!P": 6 hex digits of bucket prefix, '!', the pseudonym. */
const PREFIX_LENGTH = 6;
const pseudonymAt = PREFIX_LENGTH + 1;

export interface ListingOptions {
  subs: IdentitySublevels;
  cipher: CodeCipher;
  records: IdentityRecords;
  indexes: IdentityIndexes;
  digestOf: (r: IdentityRecord) => string;
  /** (code, P) pairs of one code range held at once in a full-transfer pass (default 20 000). */
  codeRangeWindow?: number | undefined;
}

export class IdentityListing {
  constructor(private readonly o: ListingOptions) {}

  private bounds(lgCode: string, range: ListingRange): { gt?: string; gte?: string; lt?: string; lte?: string } {
    const base = `${lgCode}!`;
    const opts: { gt?: string; gte?: string; lt?: string; lte?: string } = {};
    if (range.after !== undefined) opts.gt = base + range.after;
    else opts.gte = base + (range.fromPrefix ?? '');
    if (range.upTo !== undefined) opts.lte = base + range.upTo;
    else opts.lt = base + (range.toPrefix ?? '~');
    return opts;
  }

  private undecryptable(lgCode: string): IdentityStoreOpenError {
    return new IdentityStoreOpenError(`listing key of ${lgCode} does not decrypt under this store's 住民票コード key`);
  }

  /** See IdentityStore.iterateDigests. */
  async *digests(
    lgCode: string,
    atSeq: number,
    range: ListingRange,
  ): AsyncGenerator<{ residentCode: string; prefix: string; digest: string; cursor: string }> {
    const base = `${lgCode}!`;
    for await (const [k, v] of this.o.subs.listing.iterator(this.bounds(lgCode, range))) {
      const cursor = k.slice(base.length);
      const prefix = cursor.slice(0, PREFIX_LENGTH);
      const p = cursor.slice(pseudonymAt);
      const rc = this.o.cipher.codeOf(p);
      if (rc === undefined) throw this.undecryptable(lgCode);
      const entry = listingValue.decode(v);
      if (entry.seq <= atSeq) {
        if (entry.digest !== null) yield { residentCode: rc, prefix, digest: entry.digest, cursor };
        continue;
      }
      const then = await this.o.records.versionAt(p, atSeq);
      if (then && then.lgCode === lgCode) yield { residentCode: rc, prefix, digest: this.o.digestOf(then), cursor };
    }
  }

  /** See IdentityStore.scanDigests: the listing read in blocks, one decryption call per block. */
  async scan(
    lgCode: string,
    atSeq: number,
    range: ListingRange,
    onEntry: (residentCode: string, prefix: string, digest: string) => void,
  ): Promise<void> {
    const base = `${lgCode}!`;
    const it = this.o.subs.listing.iterator(this.bounds(lgCode, range));
    try {
      for (;;) {
        const block = await it.nextv(1000);
        if (block.length === 0) return;
        const codes = this.o.cipher.codesOf(block.map(([k]) => k.slice(base.length + pseudonymAt)));
        for (let i = 0; i < block.length; i++) {
          const [k, v] = block[i]!;
          const rc = codes[i];
          if (rc === undefined) throw this.undecryptable(lgCode);
          const entry = listingValue.decode(v);
          const prefix = k.slice(base.length, base.length + PREFIX_LENGTH);
          if (entry.seq <= atSeq) {
            if (entry.digest !== null) onEntry(rc, prefix, entry.digest);
            continue;
          }
          const then = await this.o.records.versionAt(k.slice(base.length + pseudonymAt), atSeq);
          if (then && then.lgCode === lgCode) onEntry(rc, prefix, this.o.digestOf(then));
        }
      }
    } finally {
      await it.close();
    }
  }

  /** Full records of one municipality code as of `atSeq`, in listing order. */
  async *snapshot(lgCode: string, atSeq: number, range: ListingRange): AsyncGenerator<IdentityRecord> {
    for await (const d of this.digests(lgCode, atSeq, range)) {
      const r = await this.o.records.versionAt(d.cursor.slice(pseudonymAt), atSeq);
      if (r) yield r;
    }
  }

  /** See IdentityStore.iterateByCode: code range by code range, each sorted in memory. */
  async *byCode(lgCode: string, atSeq: number, after?: string): AsyncGenerator<IdentityRecord> {
    const first = after === undefined ? 0 : Math.min(CODE_RANGES, Math.max(0, codeRangeOf(after.padEnd(11, '0')) || 0));
    for (let range = first; range < CODE_RANGES; range++) yield* this.rangeByCode(lgCode, range, atSeq, after);
  }

  /**
   * One code range in code order: its (code, P) pairs sorted in memory, at most `codeRangeWindow` of them
   * (a denser range takes more passes), then the records read as of `atSeq`, READ_AHEAD at a time.
   */
  private async *rangeByCode(lgCode: string, range: number, atSeq: number, after: string | undefined): AsyncGenerator<IdentityRecord> {
    const base = `${lgCode}!${this.o.indexes.rangeTag(range)}!`;
    const window = this.o.codeRangeWindow ?? RANGE_WINDOW;
    let low = after;
    for (;;) {
      let held: CodeEntry[] = [];
      let more = false;
      const keep = () => {
        held.sort(byCode);
        held = held.slice(0, window);
        more = true;
      };
      const it = this.o.subs.codeRanges.keys({ gt: base, lt: base + '~' });
      try {
        for (;;) {
          const keys = await it.nextv(1000);
          if (keys.length === 0) break;
          const ps = keys.map((k) => k.slice(base.length));
          const codes = this.o.cipher.codesOf(ps);
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
      // Records of a range lie anywhere in the records sublevel (keyed by pseudonym): read a few dozen at once.
      for (let i = 0; i < held.length; i += READ_AHEAD) {
        const records = await Promise.all(held.slice(i, i + READ_AHEAD).map(([, p]) => this.o.records.versionAt(p, atSeq)));
        for (const r of records) if (r && r.lgCode === lgCode) yield r;
      }
      if (!more || held.length === 0) return;
      low = held[held.length - 1]![0];
    }
  }
}
