// Phases of a consistency check (seed flow 6) as the `consistency.check` bodies and their results
// (gateway/messages/consistency.ts) define them. The CS drives and sends what it holds; the
// prefectural or national server compares with its own holdings and answers what differs.
import type { z } from 'zod';
import type { consistencySchemas } from '../../messages/consistency.js';

type Schemas = ReturnType<typeof consistencySchemas>;
export type PhaseRequest = z.output<Schemas['request']>;
export type PhaseResponse = z.output<Schemas['result']>;

/** How the CS reaches the server: the uplink in production, an in-process peer in tests and bench. */
export type ConsistencyTransport = (request: PhaseRequest) => Promise<PhaseResponse>;

/** incremental: bucket digests → entries → records; full: every record (first load, recovery). */
export type ConsistencyMode = 'incremental' | 'full';

/** One entry of the stored difference list (codes and field names only, no personal values). */
export interface Difference {
  residentCode: string;
  /** cs_only: the server lacks it; server_only: the CS lacks it; differing: both hold different versions. */
  kind: 'cs_only' | 'server_only' | 'differing';
  fields?: string[];
}
