// JWS flattened JSON serialization (RFC 7515 §7.2.2) as the contract fixes it. Pure: no key access.
import { createHash, createPublicKey, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import type { FlattenedJws, JwsAlg, JwsHeader } from './types.js';

export const JWS_TYP = 'jn+json';
export const SUPPORTED_ALGS: readonly JwsAlg[] = ['ES256', 'PS256', 'RS256'];

export function b64u(data: Uint8Array | string): string {
  return Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

const B64U = /^[A-Za-z0-9_-]*$/;
/** Strict base64url: Node's decoder silently skips foreign characters, which would hide tampering. */
export function fromB64u(s: string): Buffer | undefined {
  if (!B64U.test(s) || s.length % 4 === 1) return undefined;
  const b = Buffer.from(s, 'base64url');
  return b.toString('base64url') === s ? b : undefined;
}

/** kid and x5t#S256: base64url SHA-256 of the certificate's DER. */
export function kidOf(certDer: Uint8Array): string {
  return createHash('sha256').update(certDer).digest('base64url');
}

export function headerFor(alg: JwsAlg, certDer: Uint8Array): JwsHeader {
  const kid = kidOf(certDer);
  return { alg, typ: JWS_TYP, kid, 'x5t#S256': kid };
}

/** ASCII(b64u(header) || '.' || b64u(payload)): the bytes the signature covers. */
export function signingInput(protectedB64u: string, payloadB64u: string): Buffer {
  return Buffer.from(`${protectedB64u}.${payloadB64u}`, 'ascii');
}

// Reused for every payload: the UTF-8 bytes are only an intermediate step to base64url.
const scratch = Buffer.allocUnsafe(64 * 1024);

/** base64url of the text's UTF-8 bytes (a JWS payload) without a Buffer per call. */
export function textB64u(text: string): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so a text this short surely fits.
  if (text.length * 3 > scratch.length) return Buffer.from(text, 'utf8').toString('base64url');
  return scratch.toString('base64url', 0, scratch.write(text, 0, 'utf8'));
}

/** The flattened JWS once the token has signed `${protectedB64u}.${payloadB64u}`. */
export function flattenedJws(protectedB64u: string, payloadB64u: string, signature: Buffer): FlattenedJws {
  return { protected: protectedB64u, payload: payloadB64u, signature: signature.toString('base64url') };
}

/** Checks a JOSE-format signature with node:crypto. Algorithm/key-type mismatches verify false. */
export function verifyJoseSignature(alg: JwsAlg, key: KeyObject, input: Uint8Array, signature: Uint8Array): boolean {
  try {
    const type = key.asymmetricKeyType;
    if (alg === 'ES256') {
      if (type !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1' || signature.length !== 64) return false;
      return cryptoVerify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    if (type !== 'rsa' && type !== 'rsa-pss') return false;
    if (alg === 'PS256') {
      return cryptoVerify('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
    }
    return cryptoVerify('sha256', input, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
}

export function publicKeyFromSpki(spkiDer: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
}
