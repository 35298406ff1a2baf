// What a signer needs from a key store: a key that signs and never leaves. The PKCS#11 token and the
// software token both provide it; JWS and X.509 code sit above it.
import type { JwsAlg, TokenStatus } from './types.js';

export interface TokenKey {
  readonly kind: 'pkcs11' | 'software';
  readonly alg: JwsAlg;
  /** SubjectPublicKeyInfo DER of the signing key. */
  readonly spkiDer: Buffer;
  /**
   * JOSE-format signature over `data` (r||s for ES256); a string is signed as its ASCII/UTF-8 bytes
   * (a JWS signing input is ASCII). Rejects with TokenUnavailableError when the token is gone.
   */
  sign(data: Buffer | string): Promise<Buffer>;
  /**
   * sign(data), then `finish(signature)` as part of the same step: the caller's result (the JWS) is
   * ready when the promise settles, without a promise hop of its own. `finish` may throw (rejects).
   */
  signThen<T>(data: Buffer | string, finish: (signature: Buffer) => T): Promise<T>;
  status(): TokenStatus;
  close(): Promise<void>;
}

export const SOFTWARE_WARNING = 'software key — not for production';
