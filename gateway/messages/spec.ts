import type { z } from 'zod';

/**
 * interactive: request → reply awaited by the caller; durable: stored, acknowledged, retried;
 * push: the appliance delivers to a local system; relay: passed through to/from the number-linkage
 * segment's upstream (ims:, nws); ack: the caller only gets an accept acknowledgement.
 */
export type MessageKind = 'interactive' | 'durable' | 'push' | 'relay' | 'ack';

export interface MessageSpec {
  request: z.ZodType;
  /** Body of `{type}.result`, when the type has a reply. */
  result?: z.ZodType;
  kind: MessageKind;
  /** Version of this body schema; bumped on any incompatible change (the envelope keeps `v`). */
  schemaVersion: number;
  description: string;
}
