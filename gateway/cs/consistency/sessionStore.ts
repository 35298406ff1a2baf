// Durable state of consistency sessions and their difference lists, in SUBLEVELS.consistency:
//   session  id            → SessionState (JSON)
//   diff     id!住民票コード → Difference (JSON: codes and field names only, no personal values)
import type { AbstractSublevel } from 'abstract-level';
import { SUBLEVELS, type Batch, type Db } from '../../store/db.js';
import type { ConsistencyMode, Difference } from './protocol.js';

export interface SessionState {
  id: string;
  lgCode: string;
  mode: ConsistencyMode;
  /** Who was compared with, e.g. "pref:240001" (label only). */
  peer: string;
  /** 更新順番号 of the CS snapshot (H, snapshotSeq) and the server's, as it reported it. */
  localSeq: number;
  serverSeq: number | undefined;
  recordCount: number;
  /** incremental: bucket bits and the next bucket to send; full: next page and last code sent. */
  bits: number;
  nextBucket: number;
  page: number;
  cursor: string;
  done: boolean;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  requests: number;
  bytesSent: number;
  bytesReceived: number;
  bucketsDiffering: number;
  recordsSent: number;
  differences: number;
}

type Sub = AbstractSublevel<any, string | Uint8Array, string, string>; // eslint-disable-line @typescript-eslint/no-explicit-any -- nested sublevel

export class SessionStore {
  private readonly sessions: Sub;
  private readonly diffs: Sub;

  constructor(db: Db) {
    const root = db.sublevel<string, string>(SUBLEVELS.consistency, { valueEncoding: 'utf8' });
    this.sessions = root.sublevel<string, string>('session', { valueEncoding: 'utf8' });
    this.diffs = root.sublevel<string, string>('diff', { valueEncoding: 'utf8' });
  }

  putState(batch: Batch, s: SessionState): void {
    batch.put(s.id, JSON.stringify(s) as never, { sublevel: this.sessions });
  }

  putDifference(batch: Batch, id: string, d: Difference): void {
    batch.put(`${id}!${d.residentCode}`, JSON.stringify(d) as never, { sublevel: this.diffs });
  }

  async hasDifference(id: string, residentCode: string): Promise<boolean> {
    return (await this.diffs.get(`${id}!${residentCode}`)) !== undefined;
  }

  async get(id: string): Promise<SessionState | undefined> {
    const v = await this.sessions.get(id);
    return v ? (JSON.parse(v) as SessionState) : undefined;
  }

  async list(): Promise<SessionState[]> {
    const out: SessionState[] = [];
    for await (const v of this.sessions.values()) out.push(JSON.parse(v) as SessionState);
    return out;
  }

  async *differences(id: string): AsyncGenerator<Difference> {
    for await (const v of this.diffs.values({ gt: `${id}!`, lt: `${id}!~` })) yield JSON.parse(v) as Difference;
  }
}
