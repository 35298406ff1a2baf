// Narrow interfaces between the signer, the verifier and their users (X-Road style: the uplink
// never sees a key, only a Signer).
import type { Envelope } from '../platform/envelope.js';

export type JwsAlg = 'ES256' | 'PS256' | 'RS256';

/** RFC 7515 §7.2.2 flattened JSON serialization. */
export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

export interface JwsHeader {
  alg: JwsAlg;
  typ: 'jn+json';
  kid: string;
  'x5t#S256': string;
}

export type TokenWarningCode = 'softhsm-datadir' | 'software-key';

export interface TokenStatus {
  kind: 'pkcs11' | 'software';
  /** "software key — not for production" when kind is software. */
  warning?: string;
  /** Stable code of `warning` (its text may be reworded; the admin UI translates by this code). */
  warningCode?: TokenWarningCode;
  ready: boolean;
  /** The state in English (logs, the API). */
  detail: string;
  /** The same state in parts, for a reader's language (the admin UI). */
  facts?: TokenFacts;
}

/** Where a PKCS#11 token is: by its label (with the slot it was found in) or by the configured slot. */
export interface TokenPlace {
  label?: string;
  slot?: string;
}
export type TokenFacts =
  | { state: 'ready'; place: TokenPlace; key: string; sessions: number; certificateExpired?: string }
  | { state: 'lost'; place: TokenPlace; since: string; reason: string }
  | { state: 'pin-refused'; place: TokenPlace }
  | { state: 'closed' }
  | { state: 'software'; alg: string; certificateExpired?: string };

export interface Signer {
  /** Signs the envelope; rejects (never returns unsigned) when the token is unavailable. */
  signEnvelope(envelope: Envelope): Promise<FlattenedJws>;
  status(): TokenStatus;
  /** Our signing certificate (DER) and kid. */
  readonly kid: string;
  readonly certificateDer: Uint8Array;
  close(): Promise<void>;
}

export type VerifyFailureCode =
  | 'malformed'
  | 'unsupported_alg'
  | 'bad_typ'
  | 'unknown_key'
  | 'bad_signature'
  | 'untrusted_chain'
  | 'certificate_expired'
  | 'certificate_revoked'
  | 'stale'
  | 'future'
  | 'replayed'
  | 'bad_envelope';

export type VerifyResult =
  { ok: true; envelope: Envelope; kid: string; signerSubject: string } | { ok: false; code: VerifyFailureCode; message: string };

export interface Verifier {
  /** Verifies signature, chain, validity, CRL, typ, alg, replay window; `dedupe` also records the id. */
  verify(jws: unknown, options?: { dedupe?: boolean; now?: number }): Promise<VerifyResult>;
}
