// The answering side of a consistency check, over an identity store: what a prefectural or
// national simulator (or a second appliance) runs. Stateless: every request names the 更新順番号
// the peer announced in `begin`, and the store can show itself as of any such number.
import { listingCursor, type IdentityStore } from '../identityStore.js';
import type { IdentityRecord } from '../identityStoreTypes.js';
import { bucketDigestRange, bucketEntries } from './buckets.js';
import type { ConsistencyTransport, PhaseRequest, PhaseResponse } from './protocol.js';

export class ConsistencyPeerError extends Error {
  readonly code = 'invalid_request';
}

const MAX_BUCKETS_PER_REQUEST = 1 << 16;
const MAX_CODES_PER_REQUEST = 10_000;
const MAX_FULL_PAGE = 10_000;

function check(cond: boolean, message: string): void {
  if (!cond) throw new ConsistencyPeerError(message);
}

/** A transport answering from `store` (in-process peer for tests, bench and simulators). */
export function storePeer(store: IdentityStore): ConsistencyTransport {
  return (req) => answer(store, req);
}

export async function answer(store: IdentityStore, req: PhaseRequest): Promise<PhaseResponse> {
  check(typeof req === 'object' && req !== null && typeof req.lgCode === 'string', 'expected a phase request with lgCode');
  if (req.phase === 'begin') return { phase: 'begin', atSeq: store.lastSeq() };
  check(Number.isInteger(req.atSeq) && req.atSeq >= 0 && req.atSeq <= store.lastSeq(), 'atSeq is not a sequence number this peer has reached');
  switch (req.phase) {
    case 'buckets': {
      check(Number.isInteger(req.bits) && req.bits >= 1 && req.bits <= 24, 'bits must be 1..24');
      check(Number.isInteger(req.from) && Number.isInteger(req.to) && req.from >= 0 && req.from < req.to && req.to <= 2 ** req.bits
        && req.to - req.from <= MAX_BUCKETS_PER_REQUEST, 'bad bucket range');
      return { phase: 'buckets', digests: await bucketDigestRange(store, req.lgCode, req.atSeq, req.bits, req.from, req.to) };
    }
    case 'entries': {
      check(Number.isInteger(req.bits) && req.bits >= 1 && req.bits <= 24, 'bits must be 1..24');
      check(Array.isArray(req.buckets) && req.buckets.length <= 4096 && req.buckets.every((b) => Number.isInteger(b) && b >= 0 && b < 2 ** req.bits), 'bad bucket list');
      const out: Array<{ bucket: number; entries: Array<[string, string]> }> = [];
      for (const b of req.buckets) {
        for await (const { bucket, entries } of bucketEntries(store, req.lgCode, req.atSeq, req.bits, b, b + 1)) {
          out.push({ bucket, entries: entries.map((e) => [e.code, e.hash]) });
        }
      }
      return { phase: 'entries', buckets: out };
    }
    case 'records': {
      check(Array.isArray(req.codes) && req.codes.length <= MAX_CODES_PER_REQUEST && req.codes.every((c) => typeof c === 'string'), 'bad code list');
      const records: Array<IdentityRecord | null> = [];
      for (const c of req.codes) {
        const r = await store.versionAt(c, req.atSeq);
        records.push(r && r.lgCode === req.lgCode ? r : null);
      }
      return { phase: 'records', records };
    }
    case 'full': {
      check(Number.isInteger(req.limit) && req.limit >= 1 && req.limit <= MAX_FULL_PAGE, `limit must be 1..${MAX_FULL_PAGE}`);
      const records: IdentityRecord[] = [];
      const range = req.after === undefined ? {} : { after: req.after };
      for await (const r of store.iterateSnapshot(req.lgCode, req.atSeq, range)) {
        records.push(r);
        if (records.length === req.limit) break;
      }
      const last = records[records.length - 1];
      return records.length === req.limit && last ? { phase: 'full', records, next: listingCursor(last.residentCode) } : { phase: 'full', records };
    }
    default:
      throw new ConsistencyPeerError(`unknown phase ${(req as { phase?: unknown }).phase as string}`);
  }
}
