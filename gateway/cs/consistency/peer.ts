// The server side of a consistency check (what the prefectural / national server does in 6-②③),
// over an identity store: used by tests, the benchmark and simulators. Each check freezes the
// server's own 更新順番号 at `snapshot`, so every later phase compares the same state.
import { diffEntries, diffFields, type HashedField } from '../../../domain/consistency.js';
import type { IdentityStore } from '../identityStore.js';
import type { IdentityRecord } from '../identityStoreTypes.js';
import { bucketDigestRange, entriesOf } from './buckets.js';
import type { ConsistencyTransport, PhaseRequest, PhaseResponse } from './protocol.js';

export class ConsistencyPeerError extends Error {
  constructor(
    readonly code: 'invalid_request' | 'not_found',
    message: string,
  ) {
    super(message);
  }
}

interface PeerCheck {
  lgCode: string;
  serverSeq: number;
  bits: number;
  recordCount: number;
  /** incremental mode: every bucket digest as of serverSeq, computed once at snapshot. */
  digests: string[];
  /** full mode: per page, the last code it covered and the codes only the server holds in its range. */
  pages: Map<number, { lastCode: string | undefined; onlyAtServer: string[] }>;
}

type Differences = Array<{ residentCode: string; fields: HashedField[] }>;

export class StoreConsistencyPeer {
  private readonly checks = new Map<string, PeerCheck>();

  constructor(private readonly store: IdentityStore) {}

  get transport(): ConsistencyTransport {
    return (req) => this.handle(req);
  }

  async handle(req: PhaseRequest): Promise<PhaseResponse> {
    const base = { checkId: req.checkId, lgCode: req.lgCode };
    if (req.phase === 'snapshot') {
      let check = this.checks.get(req.checkId);
      if (!check) {
        const serverSeq = this.store.lastSeq();
        let recordCount = 0;
        let digests: string[] = [];
        if (req.mode === 'incremental') {
          ({ digests, count: recordCount } = await bucketDigestRange(
            this.store,
            req.lgCode,
            serverSeq,
            req.bucketBits,
            0,
            2 ** req.bucketBits,
          ));
        } else {
          await this.store.scanDigests(req.lgCode, serverSeq, {}, () => {
            recordCount++;
          });
        }
        check = { lgCode: req.lgCode, serverSeq, bits: req.bucketBits, recordCount, digests, pages: new Map() };
        this.checks.set(req.checkId, check); // a resumed check re-announces itself and keeps its frozen state
      }
      return { phase: 'snapshot', ...base, serverSeq: check.serverSeq, serverRecordCount: check.recordCount };
    }
    const check = this.checks.get(req.checkId);
    if (!check) throw new ConsistencyPeerError('not_found', `unknown checkId ${req.checkId}: start with the snapshot phase`);
    if (check.lgCode !== req.lgCode) throw new ConsistencyPeerError('invalid_request', 'lgCode differs from the snapshot');
    switch (req.phase) {
      case 'buckets': {
        if (req.bucketBits !== check.bits) throw new ConsistencyPeerError('invalid_request', 'bucketBits differs from the snapshot');
        if (req.offset + req.digests.length > 2 ** check.bits)
          throw new ConsistencyPeerError('invalid_request', 'digests run past the last bucket');
        if (check.digests.length !== 2 ** check.bits)
          throw new ConsistencyPeerError('invalid_request', 'bucket digests belong to an incremental check');
        const differing: number[] = [];
        req.digests.forEach((d, i) => {
          if (d !== check.digests[req.offset + i]) differing.push(req.offset + i);
        });
        return { phase: 'buckets', ...base, offset: req.offset, differing };
      }
      case 'entries': {
        if (req.bucket >= 2 ** check.bits) throw new ConsistencyPeerError('invalid_request', 'bucket out of range');
        const mine = await entriesOf(this.store, check.lgCode, check.serverSeq, check.bits, req.bucket);
        const d = diffEntries(
          mine,
          req.entries.map((e) => ({ code: e.residentCode, hash: e.hash })),
        );
        return {
          phase: 'entries',
          ...base,
          bucket: req.bucket,
          onlyAtServer: d.missingRemotely,
          onlyAtCs: d.missingLocally,
          differing: d.differing,
        };
      }
      case 'records': {
        const differences: Differences = [];
        const onlyAtCs: string[] = [];
        for (const r of req.records) {
          const mine = await this.versionIn(check, r.residentCode);
          if (!mine) onlyAtCs.push(r.residentCode);
          else {
            const fields = diffFields(r, mine);
            if (fields.length) differences.push({ residentCode: r.residentCode, fields });
          }
        }
        return { phase: 'records', ...base, differences, onlyAtCs };
      }
      case 'full':
        return { phase: 'full', ...base, page: req.page, ...(await this.fullPage(check, req)) };
      default:
        throw new ConsistencyPeerError('invalid_request', 'unknown phase');
    }
  }

  private async versionIn(check: PeerCheck, code: string): Promise<IdentityRecord | undefined> {
    const r = await this.store.versionAt(code, check.serverSeq);
    return r && r.lgCode === check.lgCode ? r : undefined;
  }

  /** Merge-join of one page (code order) with the server's records in the same code range. */
  private async fullPage(check: PeerCheck, req: Extract<PhaseRequest, { phase: 'full' }>) {
    const prev = req.page === 0 ? { lastCode: undefined } : check.pages.get(req.page - 1);
    if (!prev) throw new ConsistencyPeerError('invalid_request', `page ${req.page - 1} was never received: send pages in order`);
    const records = req.records;
    for (let i = 1; i < records.length; i++) {
      if (records[i]!.residentCode <= records[i - 1]!.residentCode)
        throw new ConsistencyPeerError('invalid_request', 'records of a page must be in ascending code order');
    }
    const upTo = req.last ? undefined : records[records.length - 1]?.residentCode;
    const differences: Differences = [];
    const onlyAtCs: string[] = [];
    const onlyHere: string[] = [];
    let i = 0;
    const theirs = (code: string) => {
      while (i < records.length && records[i]!.residentCode < code) onlyAtCs.push(records[i++]!.residentCode);
      return i < records.length && records[i]!.residentCode === code ? records[i++] : undefined;
    };
    if (req.last || upTo !== undefined) {
      for await (const mine of this.store.iterateByCode(check.lgCode, check.serverSeq, prev.lastCode)) {
        if (upTo !== undefined && mine.residentCode > upTo) break;
        const r = theirs(mine.residentCode);
        if (!r) onlyHere.push(mine.residentCode);
        else {
          const fields = diffFields(r, mine);
          if (fields.length) differences.push({ residentCode: r.residentCode, fields });
        }
      }
    }
    while (i < records.length) onlyAtCs.push(records[i++]!.residentCode);
    check.pages.set(req.page, { lastCode: upTo ?? prev.lastCode, onlyAtServer: onlyHere });
    if (!req.last) return { differences, onlyAtCs };
    const onlyAtServer: string[] = [];
    for (let p = 0; p <= req.page; p++) onlyAtServer.push(...(check.pages.get(p)?.onlyAtServer ?? []));
    return { differences, onlyAtCs, onlyAtServer };
  }
}
