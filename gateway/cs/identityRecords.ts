// A resident's record (本人確認情報) and its history, keyed by the pseudonym P of the 住民票コード:
// the current version, every superseded one with its 更新順番号, and the log of changes in order.
import { seqKey, type Batch } from '../../platform/store/db.js';
import { text, utf8, type IdentitySublevels, type SublevelPrefixes } from './identityStoreLayout.js';
import type { IdentityRecord, ValueCodec } from './identityStoreTypes.js';

export class IdentityRecords {
  constructor(private readonly o: { subs: IdentitySublevels; at: SublevelPrefixes; codec: ValueCodec }) {}

  /** The highest 更新順番号 committed: the last key of the change log, whatever order batches committed in. */
  async lastSeq(): Promise<number> {
    let last = 0;
    for await (const k of this.o.subs.changeLog.keys({ reverse: true, limit: 1 })) last = Number(k);
    return last;
  }

  /** Adds the new version to the batch; the one it replaces goes to history. */
  write(batch: Batch, p: string, record: IdentityRecord, previous: IdentityRecord | undefined): void {
    const { at, codec } = this.o;
    if (previous) batch.put(at.history + `${p}!${seqKey(previous.updateSeq)}`, codec.encode(previous));
    batch.put(at.records + p, codec.encode(record));
    batch.put(at.changeLog + seqKey(record.updateSeq), utf8(p));
  }

  async current(p: string): Promise<IdentityRecord | undefined> {
    const v = await this.o.subs.records.get(p);
    return v ? (this.o.codec.decode(v) as IdentityRecord) : undefined;
  }

  /** The current records of several pseudonyms in one read, in their order. */
  async currentMany(ps: readonly string[]): Promise<Array<IdentityRecord | undefined>> {
    const vs = await this.o.subs.records.getMany([...ps]);
    return vs.map((v) => (v ? (this.o.codec.decode(v) as IdentityRecord) : undefined));
  }

  /** Every version, oldest first, the current one last (deleted records included). */
  async history(p: string): Promise<IdentityRecord[]> {
    const out: IdentityRecord[] = [];
    for await (const v of this.o.subs.history.values({ gt: `${p}!`, lt: `${p}!~` })) out.push(this.o.codec.decode(v) as IdentityRecord);
    const cur = await this.current(p);
    if (cur) out.push(cur);
    return out;
  }

  /** The version in force at 更新順番号 `atSeq` (undefined if the person had no record yet). */
  async versionAt(p: string, atSeq: number): Promise<IdentityRecord | undefined> {
    const cur = await this.current(p);
    if (!cur || cur.updateSeq <= atSeq) return cur;
    for await (const v of this.o.subs.history.values({ gte: `${p}!`, lte: `${p}!${seqKey(atSeq)}`, reverse: true, limit: 1 })) {
      return this.o.codec.decode(v) as IdentityRecord;
    }
    return undefined;
  }

  /** Changes after `afterSeq`, in order: (seq, residentCode). */
  async *changesSince(afterSeq: number): AsyncGenerator<{ seq: number; residentCode: string }> {
    for await (const [k, v] of this.o.subs.changeLog.iterator({ gt: seqKey(afterSeq) })) {
      const r = await this.current(text(v));
      if (r) yield { seq: Number(k), residentCode: r.residentCode };
    }
  }
}
