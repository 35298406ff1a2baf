// Partition key of an outbound message: ordering is guaranteed per person (住民票コード), else per
// message type. The key is stored hashed so the queue index never holds a personal identifier in clear.
import { createHash } from 'node:crypto';
import type { Envelope } from '../../platform/envelope.js';

const RESIDENT_CODE_FIELDS = ['residentCode', 'juminhyoCode'] as const;

/** The person's 住民票コード if the body names one at the top level or under `person`/`record`. */
export function residentCodeOf(body: Record<string, unknown>): string | undefined {
  for (const holder of [body, body.person, body.record, body.identity]) {
    if (!holder || typeof holder !== 'object') continue;
    for (const f of RESIDENT_CODE_FIELDS) {
      const v = (holder as Record<string, unknown>)[f];
      if (typeof v === 'string' && /^[0-9]{11}$/.test(v)) return v;
    }
  }
  return undefined;
}

export function partitionOf(envelope: Envelope, explicitKey?: string): string {
  const raw = explicitKey ?? residentCodeOf(envelope.body) ?? `type:${envelope.type}`;
  return createHash('sha256').update(raw).digest('base64url').slice(0, 22);
}
