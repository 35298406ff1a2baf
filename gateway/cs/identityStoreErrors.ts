// The identity store's refusals: a change or a query it cannot take (with the fields at fault), and a
// store it cannot open as it is.
import type { ErrorDetail } from '../../platform/envelope.js';

export class IdentityStoreError extends Error {
  constructor(
    readonly code: 'invalid_request' | 'not_found' | 'conflict',
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }
}

/** The store cannot be opened as it is (wrong code key, unknown layout): nothing was changed. */
export class IdentityStoreOpenError extends Error {}
