// Phases of a consistency check (seed flow 6, `consistency.check` / `.result` bodies) as exchanged
// with the prefectural or national server. The CS drives; the peer answers from its own holdings
// frozen at the 更新順番号 it named in `begin`, so every answer is reproducible and a session can
// resume after either side restarts.
import type { IdentityRecord } from '../identityStoreTypes.js';

export const CONSISTENCY_PROTOCOL_VERSION = 1;

export type PhaseRequest =
  | { phase: 'begin'; lgCode: string }
  | { phase: 'buckets'; lgCode: string; atSeq: number; bits: number; from: number; to: number }
  | { phase: 'entries'; lgCode: string; atSeq: number; bits: number; buckets: number[] }
  | { phase: 'records'; lgCode: string; atSeq: number; codes: string[] }
  | { phase: 'full'; lgCode: string; atSeq: number; after?: string; limit: number };

export type PhaseResponse =
  | { phase: 'begin'; atSeq: number }
  /** Bucket digests of buckets from..to-1 (gateway/domain/consistency.ts bucketDigest). */
  | { phase: 'buckets'; digests: string[] }
  /** (住民票コード, record hash) pairs of each requested bucket. */
  | { phase: 'entries'; buckets: Array<{ bucket: number; entries: Array<[string, string]> }> }
  /** The peer's version of each requested code, null where it holds none. */
  | { phase: 'records'; records: Array<IdentityRecord | null> }
  /** A page of records in listing order; `next` is the cursor of the last one, absent at the end. */
  | { phase: 'full'; records: IdentityRecord[]; next?: string };

/** How the session reaches the peer: the uplink in production, an in-process peer in tests/bench. */
export type ConsistencyTransport = (request: PhaseRequest) => Promise<PhaseResponse>;

export type ConsistencyMode = 'digest' | 'full';

/** One entry of the stored difference list (no personal values: codes and field names only). */
export interface Difference {
  residentCode: string;
  /** local_only: the peer lacks it; peer_only: we lack it; differing: both hold different versions. */
  kind: 'local_only' | 'peer_only' | 'differing';
  fields?: string[];
  localSeq?: number;
  peerSeq?: number;
}
