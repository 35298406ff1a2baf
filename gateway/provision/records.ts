// 情報提供等記録: who queried (or answered) which information of which body, when, and the result.
// Never the payload: the addressee number only as a keyed hash, no answer data. Kept for the
// configured retention (7 years by default), exportable as JSON lines for the operator.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { SUBLEVELS, seqKey, type Batch, type Db } from '../../platform/store/db.js';
import { nowIso, uuidv7 } from '../../platform/envelope.js';

export interface ProvisionRecord {
  /** When (JST, ISO 8601). */
  at: string;
  /** 照会 (our query sent) or 回答 (the answer or the failure that ended it). */
  kind: 'query' | 'answer';
  /** Id of the local request the record belongs to. */
  requestId: string;
  /** Who: the local system (number-linkage server) that asked. */
  systemId: string;
  /** Message type (info.query). */
  type: string;
  /** 特定個人情報名コード, 事務手続コード. */
  infoType: string;
  procedure: string;
  /** Which body: the organisation queried, and our municipality. */
  targetOrg: string;
  lgCode: string;
  /** Keyed hash of the 宛名番号 (never the number). */
  addresseeKey: string;
  /** sent | found | notFound | an error code. */
  result: string;
}

export interface ProvisionQuery {
  from?: Date;
  to?: Date;
  limit?: number;
}

export interface ProvisionRecords {
  /** Adds the record to the caller's batch (atomic with the change it describes). */
  add(batch: Batch, record: Omit<ProvisionRecord, 'at'> & { at?: string }): void;
  list(q?: ProvisionQuery): Promise<ProvisionRecord[]>;
  /** The records of one local request written in [fromMs, toMs) (its query and answers). */
  ofRequest(systemId: string, requestId: string, fromMs: number, toMs: number): Promise<ProvisionRecord[]>;
  /** JSON lines, oldest first, to `out`; returns the number of records written. */
  exportJsonLines(out: string, q?: ProvisionQuery): Promise<number>;
  /** Deletes records older than the retention period; returns how many. */
  purgeExpired(now?: Date): Promise<number>;
  count(): Promise<number>;
}

const keyAt = (ms: number) => seqKey(ms, 15);

export function openProvisionRecords(db: Db, opts: { retentionYears: number }): ProvisionRecords {
  const sub = db.sublevel<string, ProvisionRecord>(SUBLEVELS.provision, { valueEncoding: 'json' });
  const range = (q: ProvisionQuery = {}) => ({
    ...(q.from ? { gte: keyAt(q.from.getTime()) } : {}),
    ...(q.to ? { lt: keyAt(q.to.getTime()) } : {}),
    ...(q.limit ? { limit: q.limit } : {}),
  });
  const cutoff = (now: Date) => {
    const d = new Date(now);
    d.setUTCFullYear(d.getUTCFullYear() - opts.retentionYears);
    return d;
  };
  // Records of the same millisecond keep the order they were added in (a query before its answer).
  let added = 0;
  return {
    add(batch, record) {
      const ms = record.at ? Date.parse(record.at) : Date.now();
      batch.put(`${keyAt(ms)}!${seqKey(added++ % 1e9, 9)}!${uuidv7(ms)}`, { ...record, at: record.at ?? nowIso(ms) }, { sublevel: sub });
    },
    async list(q) {
      const out: ProvisionRecord[] = [];
      for await (const v of sub.values(range(q))) out.push(v);
      return out;
    },
    async ofRequest(systemId, requestId, fromMs, toMs) {
      const out: ProvisionRecord[] = [];
      for await (const v of sub.values(range({ from: new Date(fromMs), to: new Date(toMs) }))) {
        if (v.systemId === systemId && v.requestId === requestId) out.push(v);
      }
      return out;
    },
    async exportJsonLines(path, q) {
      const ws = createWriteStream(path, { flags: 'wx', mode: 0o600 });
      await once(ws, 'open'); // rejects on EEXIST: an earlier export is never overwritten
      let n = 0;
      try {
        for await (const v of sub.values(range(q))) {
          if (!ws.write(JSON.stringify(v) + '\n')) await once(ws, 'drain');
          n++;
        }
      } finally {
        ws.end();
        await once(ws, 'close');
      }
      return n;
    },
    async purgeExpired(now = new Date()) {
      let n = 0;
      let batch = db.batch();
      for await (const k of sub.keys({ lt: keyAt(cutoff(now).getTime()) })) {
        batch.del(k, { sublevel: sub });
        if (++n % 1000 === 0) {
          await batch.write();
          batch = db.batch();
        }
      }
      await batch.write();
      return n;
    },
    async count() {
      let n = 0;
      for await (const _ of sub.keys()) n++;
      return n;
    },
  };
}
