// Consistency check engine (seed flow 6), the CS side. Snapshot at 更新順番号 H, then either
//   digest mode: bucket digests → (code, hash) lists of differing buckets → records of differing codes, or
//   full mode:   every record of the municipality code (first load, disaster recovery, baseline).
// Progress is committed page by page together with the differences found, so a session resumes
// where it stopped; both sides answer as of their announced sequence numbers, so a resumed session
// sees exactly the state the first attempt saw while updates continue.
import { diffEntries, diffFields, type CodeHash } from '../../domain/consistency.js';
import { nowIso, uuidv7 } from '../../envelope.js';
import type { Db } from '../../store/db.js';
import { listingCursor, type IdentityStore } from '../identityStore.js';
import type { IdentityRecord } from '../identityStoreTypes.js';
import { bucketBitsFor, bucketDigestRange, bucketEntries, estimateCount } from './buckets.js';
import type { ConsistencyMode, ConsistencyTransport, Difference, PhaseRequest, PhaseResponse } from './protocol.js';
import { SessionStore, type SessionState } from './sessionStore.js';

export interface ConsistencyProgress {
  id: string;
  mode: ConsistencyMode;
  /** Buckets (digest mode) or records (full mode) done so far, out of total (estimate in full mode). */
  done: number;
  total: number;
  differences: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface CheckerOptions {
  /** Buckets compared per round trip (and per committed step). */
  bucketsPerPage?: number;
  /** Records per page in full mode. */
  fullPageSize?: number;
  onProgress?: (p: ConsistencyProgress) => void;
}

export interface StartOptions {
  lgCode: string;
  mode?: ConsistencyMode;
  peer: string;
  transport: ConsistencyTransport;
  /** Bucket bits; default sized from the local record count (≈256 records per bucket). */
  bits?: number;
}

const byteLength = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');
const RECORDS_PER_REQUEST = 5000;
const BUCKETS_PER_ENTRIES_REQUEST = 256;

export class ConsistencyChecker {
  readonly sessions: SessionStore;
  private estimates = new Map<string, number>();

  constructor(private readonly db: Db, private readonly store: IdentityStore, private readonly opts: CheckerOptions = {}) {
    this.sessions = new SessionStore(db);
  }

  /** Opens a session at the current 更新順番号 and runs it to the end (or until the transport fails). */
  async start(o: StartOptions): Promise<SessionState> {
    const localSeq = this.store.lastSeq();
    const state: SessionState = {
      id: uuidv7(), lgCode: o.lgCode, mode: o.mode ?? 'digest', peer: o.peer, localSeq, peerSeq: 0,
      bits: o.bits ?? bucketBitsFor(await estimateCount(this.store, o.lgCode, localSeq)),
      nextBucket: 0, cursor: '', done: false, startedAt: nowIso(), updatedAt: nowIso(),
      requests: 0, bytesSent: 0, bytesReceived: 0, bucketsDiffering: 0, recordsCompared: 0, differences: 0,
    };
    const begin = await this.call(state, o.transport, { phase: 'begin', lgCode: o.lgCode });
    if (begin.phase !== 'begin') throw new Error('peer answered begin with ' + begin.phase);
    state.peerSeq = begin.atSeq;
    await this.commit(state, []);
    return this.run(state, o.transport);
  }

  /** Continues a stored session from its last committed step. */
  async resume(id: string, transport: ConsistencyTransport): Promise<SessionState> {
    const state = await this.sessions.get(id);
    if (!state) throw new Error(`no consistency session ${id}`);
    return state.done ? state : this.run(state, transport);
  }

  private async run(state: SessionState, transport: ConsistencyTransport): Promise<SessionState> {
    if (state.mode === 'digest') await this.runDigest(state, transport);
    else await this.runFull(state, transport);
    state.done = true;
    state.finishedAt = nowIso();
    await this.commit(state, []);
    return state;
  }

  private async runDigest(state: SessionState, transport: ConsistencyTransport): Promise<void> {
    const total = 2 ** state.bits;
    const page = this.opts.bucketsPerPage ?? 2048;
    while (state.nextBucket < total) {
      const from = state.nextBucket;
      const to = Math.min(total, from + page);
      const [local, remote] = await Promise.all([
        bucketDigestRange(this.store, state.lgCode, state.localSeq, state.bits, from, to),
        this.call(state, transport, { phase: 'buckets', lgCode: state.lgCode, atSeq: state.peerSeq, bits: state.bits, from, to }),
      ]);
      if (remote.phase !== 'buckets' || remote.digests.length !== to - from) throw new Error('peer sent a malformed bucket page');
      const differing: number[] = [];
      for (let i = 0; i < local.length; i++) if (local[i] !== remote.digests[i]) differing.push(from + i);
      const diffs: Difference[] = [];
      for (let i = 0; i < differing.length; i += BUCKETS_PER_ENTRIES_REQUEST) {
        diffs.push(...await this.compareBuckets(state, transport, differing.slice(i, i + BUCKETS_PER_ENTRIES_REQUEST)));
      }
      state.bucketsDiffering += differing.length;
      state.nextBucket = to;
      await this.commit(state, diffs);
      this.progress(state, to, total);
    }
  }

  private async compareBuckets(state: SessionState, transport: ConsistencyTransport, buckets: number[]): Promise<Difference[]> {
    const res = await this.call(state, transport, { phase: 'entries', lgCode: state.lgCode, atSeq: state.peerSeq, bits: state.bits, buckets });
    if (res.phase !== 'entries') throw new Error('peer answered entries with ' + res.phase);
    const remoteBy = new Map(res.buckets.map((b) => [b.bucket, b.entries.map(([code, hash]): CodeHash => ({ code, hash }))]));
    const out: Difference[] = [];
    const toFetch: string[] = [];
    for (const b of buckets) {
      let local: CodeHash[] = [];
      for await (const e of bucketEntries(this.store, state.lgCode, state.localSeq, state.bits, b, b + 1)) local = e.entries;
      const d = diffEntries(local, remoteBy.get(b) ?? []);
      for (const code of d.missingRemotely) {
        const r = await this.store.versionAt(code, state.localSeq);
        out.push({ residentCode: code, kind: 'local_only', ...(r ? { localSeq: r.updateSeq } : {}) });
      }
      toFetch.push(...d.missingLocally, ...d.differing);
    }
    for (let i = 0; i < toFetch.length; i += RECORDS_PER_REQUEST) {
      const codes = toFetch.slice(i, i + RECORDS_PER_REQUEST);
      const rec = await this.call(state, transport, { phase: 'records', lgCode: state.lgCode, atSeq: state.peerSeq, codes });
      if (rec.phase !== 'records' || rec.records.length !== codes.length) throw new Error('peer sent a malformed record list');
      for (let j = 0; j < codes.length; j++) {
        const mine = await this.store.versionAt(codes[j]!, state.localSeq);
        out.push(this.classify(codes[j]!, mine && mine.lgCode === state.lgCode ? mine : undefined, rec.records[j] ?? undefined));
      }
    }
    return out;
  }

  private classify(code: string, mine: IdentityRecord | undefined, theirs: IdentityRecord | undefined): Difference {
    const seqs = { ...(mine ? { localSeq: mine.updateSeq } : {}), ...(theirs ? { peerSeq: theirs.updateSeq } : {}) };
    if (!theirs) return { residentCode: code, kind: 'local_only', ...seqs };
    if (!mine) return { residentCode: code, kind: 'peer_only', ...seqs };
    return { residentCode: code, kind: 'differing', fields: diffFields(mine as never, theirs as never), ...seqs };
  }

  private async runFull(state: SessionState, transport: ConsistencyTransport): Promise<void> {
    const limit = this.opts.fullPageSize ?? 2000;
    const total = await this.estimate(state);
    for (;;) {
      const res = await this.call(state, transport, {
        phase: 'full', lgCode: state.lgCode, atSeq: state.peerSeq, limit, ...(state.cursor ? { after: state.cursor } : {}),
      });
      if (res.phase !== 'full') throw new Error('peer answered full with ' + res.phase);
      const range = { ...(state.cursor ? { after: state.cursor } : {}), ...(res.next ? { upTo: res.next } : {}) };
      const diffs: Difference[] = [];
      let j = 0;
      const theirs = res.records;
      for await (const mine of this.store.iterateSnapshot(state.lgCode, state.localSeq, range)) {
        const key = listingCursor(mine.residentCode);
        while (j < theirs.length && listingCursor(theirs[j]!.residentCode) < key) diffs.push(this.classify(theirs[j]!.residentCode, undefined, theirs[j++]));
        if (j < theirs.length && theirs[j]!.residentCode === mine.residentCode) {
          const d = this.classify(mine.residentCode, mine, theirs[j++]);
          if (d.fields?.length) diffs.push(d);
        } else diffs.push(this.classify(mine.residentCode, mine, undefined));
        state.recordsCompared++;
      }
      while (j < theirs.length) diffs.push(this.classify(theirs[j]!.residentCode, undefined, theirs[j++]));
      state.cursor = res.next ?? state.cursor;
      await this.commit(state, diffs);
      this.progress(state, state.recordsCompared, Math.max(total, state.recordsCompared));
      if (!res.next) return;
    }
  }

  private async estimate(state: SessionState): Promise<number> {
    const key = `${state.lgCode}@${state.localSeq}`;
    if (!this.estimates.has(key)) this.estimates.set(key, await estimateCount(this.store, state.lgCode, state.localSeq));
    return this.estimates.get(key)!;
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
    state.differences += diffs.length;
    const b = this.db.batch();
    for (const d of diffs) this.sessions.putDifference(b, state.id, d);
    this.sessions.putState(b, state);
    await b.write();
  }

  private progress(state: SessionState, done: number, total: number): void {
    this.opts.onProgress?.({
      id: state.id, mode: state.mode, done, total, differences: state.differences,
      bytesSent: state.bytesSent, bytesReceived: state.bytesReceived,
    });
  }
}
