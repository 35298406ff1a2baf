// Durable state of consistency sessions and their difference lists, in SUBLEVELS.consistency:
//   session  id      → SessionState (codec: its cursor is a 住民票コード)
//   diff     id!P    → Difference (codec: a code and field names, no other personal values)
//   meta     layout  → "2" once entries of layout 1 (clear JSON, diff keys id!住民票コード) were rewritten
// P is the identity store's pseudonym of the code, so no code appears in clear in a key; the values
// go through the identity store's codec (sealed in the appliance).
import type { AbstractSublevel } from 'abstract-level';
import { SUBLEVELS, type Batch, type Db } from '../../../platform/store/db.js';
import { isClearCode } from '../identityStoreKeys.js';
import { jsonCodec, type ValueCodec } from '../identityStoreTypes.js';
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
  /**
   * Why a run stopped short of `done`: failed (the peer or the transport refused, resumable) or
   * interrupted (the process stopped while it ran, marked by the next one). Absent while it runs.
   */
  stopped?: { state: 'failed' | 'interrupted'; reason: string; at: string };
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

type Sub = AbstractSublevel<any, string | Uint8Array, string, Uint8Array>; // eslint-disable-line @typescript-eslint/no-explicit-any -- nested sublevel

export interface SessionStoreOptions {
  /** Value encoding (default JSON); the checker passes the identity store's. */
  codec?: ValueCodec;
  /** Key-side name of a 住民票コード (the checker passes the identity store's pseudonym). */
  keyOf?: (residentCode: string) => string;
}

const LAYOUT = '2';

export class SessionStore {
  private readonly sessions: Sub;
  private readonly diffs: Sub;
  private readonly meta: Sub;
  private readonly codec: ValueCodec;
  private readonly keyOf: (residentCode: string) => string;
  private migrated: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    opts: SessionStoreOptions = {},
  ) {
    const root = db.sublevel<string, Uint8Array>(SUBLEVELS.consistency, { valueEncoding: 'view' });
    this.sessions = root.sublevel<string, Uint8Array>('session', { valueEncoding: 'view' });
    this.diffs = root.sublevel<string, Uint8Array>('diff', { valueEncoding: 'view' });
    this.meta = root.sublevel<string, Uint8Array>('meta', { valueEncoding: 'view' });
    this.codec = opts.codec ?? jsonCodec;
    this.keyOf = opts.keyOf ?? ((c) => c);
  }

  /** Rewrites layout-1 entries once (bounded batches; an interrupted pass resumes). Every reader awaits it. */
  ready(): Promise<void> {
    this.migrated ??= this.migrate().catch((e: unknown) => {
      this.migrated = undefined;
      throw e;
    });
    return this.migrated;
  }

  private async migrate(): Promise<void> {
    const layout = await this.meta.get('layout');
    if (layout && Buffer.from(layout).toString('utf8') === LAYOUT) return;
    for (const [sub, isDiff] of [
      [this.sessions, false],
      [this.diffs, true],
    ] as const) {
      const it = sub.iterator();
      try {
        for (;;) {
          const block = await it.nextv(1000);
          if (block.length === 0) break;
          const b = this.db.batch();
          for (const [k, v] of block) {
            const at = k.lastIndexOf('!');
            const clearKey = isDiff && isClearCode(k.slice(at + 1));
            const clearValue = this.legacyValue(v);
            if (!clearKey && clearValue === undefined) continue;
            const key = clearKey ? `${k.slice(0, at)}!${this.keyOf(k.slice(at + 1))}` : k;
            if (key !== k) b.del(sub.prefix + k);
            b.put(sub.prefix + key, clearValue === undefined ? v : this.codec.encode(clearValue));
          }
          if (b.length) await b.write();
          else await b.close();
        }
      } finally {
        await it.close();
      }
    }
    await this.meta.put('layout', Buffer.from(LAYOUT, 'utf8'));
  }

  /** A layout-1 value (clear JSON) under a codec that does not read it, else undefined. */
  private legacyValue(v: Uint8Array): unknown {
    try {
      this.codec.decode(v);
      return undefined;
    } catch {
      if (v[0] !== 0x7b) throw new Error('consistency session store: a value neither the codec nor layout 1 reads');
      return JSON.parse(Buffer.from(v).toString('utf8'));
    }
  }

  putState(batch: Batch, s: SessionState): void {
    batch.put(this.sessions.prefix + s.id, this.codec.encode(s));
  }

  putDifference(batch: Batch, id: string, d: Difference): void {
    batch.put(this.diffs.prefix + `${id}!${this.keyOf(d.residentCode)}`, this.codec.encode(d));
  }

  async hasDifference(id: string, residentCode: string): Promise<boolean> {
    await this.ready();
    return (await this.diffs.get(`${id}!${this.keyOf(residentCode)}`)) !== undefined;
  }

  async get(id: string): Promise<SessionState | undefined> {
    await this.ready();
    const v = await this.sessions.get(id);
    return v ? (this.codec.decode(v) as SessionState) : undefined;
  }

  async list(): Promise<SessionState[]> {
    await this.ready();
    const out: SessionState[] = [];
    for await (const v of this.sessions.values()) out.push(this.codec.decode(v) as SessionState);
    return out;
  }

  /** Differences of a session, in pseudonym order (callers sort by code when they show them). */
  async *differences(id: string): AsyncGenerator<Difference> {
    await this.ready();
    for await (const v of this.diffs.values({ gt: `${id}!`, lt: `${id}!~` })) yield this.codec.decode(v) as Difference;
  }
}
