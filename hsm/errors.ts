// Typed failures of the signing side. Callers branch on the class, never on message text.

/** The token (or its session) is gone for now: keep the message queued and retry later. */
export class TokenUnavailableError extends Error {
  override readonly name = 'TokenUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The PIN was refused. Never retried automatically: each try burns the token's retry counter. */
export class WrongPinError extends Error {
  override readonly name = 'WrongPinError';
}

/** Configuration or key material does not fit (missing key, certificate of another key, ...). */
export class TokenConfigError extends Error {
  override readonly name = 'TokenConfigError';
}
