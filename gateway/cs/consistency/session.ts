// Consistency check engine (seed flow 6), the CS side, speaking the consistency.check phases:
//   incremental: snapshot → bucket digests → (code, hash) lists of differing buckets → records of differing codes
//   full:        snapshot → every record in code order (first load, disaster recovery, the baseline)
// The snapshot is the CS state at 更新順番号 H: the store answers "as of H" from its history, so
// updates continue meanwhile and a resumed session sees exactly what the first attempt saw.
// Progress is committed step by step together with the differences found (resumable).
import { MAX_DIGESTS_PER_MESSAGE, MAX_ENTRIES_PER_MESSAGE, MAX_RECORDS_PER_MESSAGE } from '../../messages/consistency.js';
import { nowIso, uuidv7 } from '../../../platform/envelope.js';
import type { Db } from '../../../platform/store/db.js';
import type { IdentityStore } from '../identityStore.js';
import type { IdentityRecord } from '../identityStoreTypes.js';
import { bucketBitsFor, bucketDigestRange, entriesOf, estimateCount } from './buckets.js';
import type { ConsistencyMode, ConsistencyTransport, Difference, PhaseRequest, PhaseResponse } from './protocol.js';
import { SessionStore, type SessionState } from './sessionStore.js';

export interface ConsistencyProgress {
  id: string;
  mode: ConsistencyMode;
  /** Buckets (incremental) or records (full) done, out of total. */
  done: number;
  total: number;
  differences: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface CheckerOptions {
  /** Bucket digests per buckets message (≤ 4096, the schema's limit) and per committed step. */
  bucketsPerPage?: number;
  /** Records per full-transfer page (≤ 500). */
  fullPageSize?: number;
  onProgress?: (p: ConsistencyProgress) => void;
}

export interface StartOptions {
  lgCode: string;
  mode?: ConsistencyMode;
  /** Who is compared with, e.g. "pref:240001" (stored with the session). */
  peer: string;
  transport: ConsistencyTransport;
  /** Bucket bits; default sized from the record count (≈256 records per bucket). */
  bits?: number;
  /** Session id (default a fresh UUIDv7): a caller that follows the run knows it before the first commit. */
  id?: string;
}

const byteLength = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');

export class ConsistencyChecker {
  readonly sessions: SessionStore;
  /** Sessions this process is running; any other one not done nor stopped was left by an earlier process. */
  private readonly active = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly store: IdentityStore,
    private readonly opts: CheckerOptions = {},
  ) {
    // Keys by the store's pseudonyms and values through its codec: a difference list names codes.
    this.sessions = new SessionStore(db, { codec: store.valueCodec, keyOf: (code) => store.pseudonym(code) });
  }

  /** Opens a check at the current 更新順番号 and runs it to the end (or until the transport fails). */
  async start(o: StartOptions): Promise<SessionState> {
    if (o.bits !== undefined && (!Number.isInteger(o.bits) || o.bits < 1 || o.bits > 16))
      throw new RangeError('bucket bits must be an integer 1..16');
    const localSeq = this.store.lastSeq();
    const state: SessionState = {
      id: o.id ?? uuidv7(),
      lgCode: o.lgCode,
      mode: o.mode ?? 'incremental',
      peer: o.peer,
      localSeq,
      serverSeq: undefined,
      bits: o.bits ?? bucketBitsFor(await estimateCount(this.store, o.lgCode, localSeq)),
      recordCount: 0,
      nextBucket: 0,
      page: 0,
      cursor: '',
      done: false,
      startedAt: nowIso(),
      updatedAt: nowIso(),
      requests: 0,
      bytesSent: 0,
      bytesReceived: 0,
      bucketsDiffering: 0,
      recordsSent: 0,
      differences: 0,
    };
    this.active.add(state.id);
    try {
      await this.commit(state, []);
    } catch (e) {
      this.active.delete(state.id);
      throw e;
    }
    return this.run(state, o.transport);
  }

  /** Continues a stored session from its last committed step. */
  async resume(id: string, transport: ConsistencyTransport): Promise<SessionState> {
    const state = await this.sessions.get(id);
    if (!state) throw new Error(`no consistency session ${id}`);
    if (state.done) return state;
    if (this.active.has(id)) throw new Error(`consistency session ${id} is already running`);
    delete state.stopped;
    this.active.add(id);
    return this.run(state, transport);
  }

  /** Marks a session that no process runs any more (it ran in an earlier one) as interrupted; undefined if it runs or ended. */
  async interrupt(id: string, reason: string): Promise<SessionState | undefined> {
    if (this.active.has(id)) return undefined;
    const state = await this.sessions.get(id);
    if (!state || state.done || state.stopped) return undefined;
    state.stopped = { state: 'interrupted', reason, at: nowIso() };
    await this.commit(state, []);
    return state;
  }

  /** Rough size of a municipality's snapshot, for callers choosing bucket bits up front. */
  estimate(lgCode: string): Promise<number> {
    return estimateCount(this.store, lgCode, this.store.lastSeq());
  }

  /** Runs to the end; a failure is committed with its reason (the session stays resumable) and rethrown. */
  private async run(state: SessionState, transport: ConsistencyTransport): Promise<SessionState> {
    try {
      return await this.runSteps(state, transport);
    } catch (e) {
      state.stopped = { state: 'failed', reason: (e as Error).message.slice(0, 500), at: nowIso() };
      await this.commit(state, []);
      throw e;
    } finally {
      this.active.delete(state.id);
    }
  }

  private async runSteps(state: SessionState, transport: ConsistencyTransport): Promise<SessionState> {
    // One streaming pass gives every bucket digest (2^bits × 64 hex characters, ≤ 4 MB) and the exact
    // record count the snapshot announces; a resumed session recomputes the same values as of H.
    let digests: string[] = [];
    if (state.mode === 'incremental') {
      const all = await bucketDigestRange(this.store, state.lgCode, state.localSeq, state.bits, 0, 2 ** state.bits);
      digests = all.digests;
      state.recordCount = all.count;
    } else {
      let n = 0;
      await this.store.scanDigests(state.lgCode, state.localSeq, {}, () => {
        n++;
      });
      state.recordCount = n;
    }
    // (Re-)announcing the snapshot is idempotent for the server and tells it about a resumed check.
    const snap = await this.call(state, transport, {
      phase: 'snapshot',
      checkId: state.id,
      lgCode: state.lgCode,
      snapshotSeq: state.localSeq,
      mode: state.mode,
      bucketBits: state.bits,
      recordCount: state.recordCount,
    });
    if (snap.phase !== 'snapshot') throw new Error('server answered snapshot with ' + snap.phase);
    state.serverSeq = snap.serverSeq;
    if (state.mode === 'incremental') await this.runIncremental(state, transport, digests);
    else await this.runFull(state, transport);
    state.done = true;
    state.finishedAt = nowIso();
    await this.commit(state, []);
    return state;
  }

  private base(state: SessionState) {
    return { checkId: state.id, lgCode: state.lgCode, snapshotSeq: state.localSeq };
  }

  private async runIncremental(state: SessionState, transport: ConsistencyTransport, all: string[]): Promise<void> {
    const total = 2 ** state.bits;
    const page = Math.min(MAX_DIGESTS_PER_MESSAGE, this.opts.bucketsPerPage ?? MAX_DIGESTS_PER_MESSAGE);
    while (state.nextBucket < total) {
      const offset = state.nextBucket;
      const to = Math.min(total, offset + page);
      const digests = all.slice(offset, to);
      const res = await this.call(state, transport, { phase: 'buckets', ...this.base(state), bucketBits: state.bits, offset, digests });
      if (res.phase !== 'buckets') throw new Error('server answered buckets with ' + res.phase);
      const diffs: Difference[] = [];
      const differingCodes: string[] = [];
      for (const bucket of res.differing) {
        if (bucket < offset || bucket >= to) throw new Error(`server named bucket ${bucket} outside ${offset}..${to - 1}`);
        const entries = await entriesOf(this.store, state.lgCode, state.localSeq, state.bits, bucket);
        if (entries.length > MAX_ENTRIES_PER_MESSAGE)
          throw new Error(`bucket ${bucket} holds ${entries.length} records: use more bucket bits`);
        const er = await this.call(state, transport, {
          phase: 'entries',
          ...this.base(state),
          bucket,
          entries: entries.map((e) => ({ residentCode: e.code, hash: e.hash })),
        });
        if (er.phase !== 'entries') throw new Error('server answered entries with ' + er.phase);
        for (const c of er.onlyAtServer) diffs.push({ residentCode: c, kind: 'server_only' });
        for (const c of er.onlyAtCs) diffs.push({ residentCode: c, kind: 'cs_only' });
        differingCodes.push(...er.differing);
      }
      for (let i = 0; i < differingCodes.length; i += MAX_RECORDS_PER_MESSAGE) {
        const records: IdentityRecord[] = [];
        for (const c of differingCodes.slice(i, i + MAX_RECORDS_PER_MESSAGE)) {
          const r = await this.store.versionAt(c, state.localSeq);
          if (r) records.push(r);
        }
        if (records.length) diffs.push(...(await this.sendRecords(state, transport, records)));
      }
      state.bucketsDiffering += res.differing.length;
      state.nextBucket = to;
      await this.commit(state, diffs);
      this.progress(state, to, total);
    }
  }

  private async sendRecords(state: SessionState, transport: ConsistencyTransport, records: IdentityRecord[]): Promise<Difference[]> {
    state.recordsSent += records.length;
    const res = await this.call(state, transport, { phase: 'records', ...this.base(state), records });
    if (res.phase !== 'records') throw new Error('server answered records with ' + res.phase);
    return [
      ...res.differences.map((d): Difference => ({ residentCode: d.residentCode, kind: 'differing', fields: d.fields })),
      ...res.onlyAtCs.map((c): Difference => ({ residentCode: c, kind: 'cs_only' })),
    ];
  }

  private async runFull(state: SessionState, transport: ConsistencyTransport): Promise<void> {
    const size = Math.min(MAX_RECORDS_PER_MESSAGE, this.opts.fullPageSize ?? MAX_RECORDS_PER_MESSAGE);
    const it = this.store.iterateByCode(state.lgCode, state.localSeq, state.cursor || undefined)[Symbol.asyncIterator]();
    let next = await it.next();
    for (;;) {
      const records: IdentityRecord[] = [];
      while (!next.done && records.length < size) {
        records.push(next.value);
        next = await it.next();
      }
      const last = next.done === true;
      state.recordsSent += records.length;
      const res = await this.call(state, transport, { phase: 'full', ...this.base(state), page: state.page, records, last });
      if (res.phase !== 'full') throw new Error('server answered full with ' + res.phase);
      const diffs: Difference[] = [
        ...res.differences.map((d): Difference => ({ residentCode: d.residentCode, kind: 'differing', fields: d.fields })),
        ...res.onlyAtCs.map((c): Difference => ({ residentCode: c, kind: 'cs_only' })),
        ...(res.onlyAtServer ?? []).map((c): Difference => ({ residentCode: c, kind: 'server_only' })),
      ];
      state.page++;
      state.cursor = records[records.length - 1]?.residentCode ?? state.cursor;
      await this.commit(state, diffs);
      this.progress(state, state.recordsSent, Math.max(state.recordCount, state.recordsSent));
      if (last) return;
    }
  }

  private async call(state: SessionState, transport: ConsistencyTransport, req: PhaseRequest): Promise<PhaseResponse> {
    state.requests++;
    state.bytesSent += byteLength(req);
    const res = await transport(req);
    state.bytesReceived += byteLength(res);
    return res;
  }

  private async commit(state: SessionState, diffs: Difference[]): Promise<void> {
    state.updatedAt = nowIso();
    await this.sessions.ready();
    const b = this.db.batch();
    // A difference met again on a resumed step overwrites its own entry; count only new ones.
    for (const d of diffs) {
      if (!(await this.sessions.hasDifference(state.id, d.residentCode))) state.differences++;
      this.sessions.putDifference(b, state.id, d);
    }
    this.sessions.putState(b, state);
    await b.write();
  }

  private progress(state: SessionState, done: number, total: number): void {
    this.opts.onProgress?.({
      id: state.id,
      mode: state.mode,
      done,
      total,
      differences: state.differences,
      bytesSent: state.bytesSent,
      bytesReceived: state.bytesReceived,
    });
  }
}
