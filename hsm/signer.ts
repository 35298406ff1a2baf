// The Signer: envelope → flattened JWS with the token key and our certificate's kid.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { Envelope } from '../platform/envelope.js';
import { certificateMatchesKey, pemBlocks, selfSignedCertificate, toPem } from './certs.js';
import { TokenConfigError } from './errors.js';
import { b64u, flattenedJws, headerFor, kidOf, textB64u } from './jws.js';
import type { TokenKey } from './token.js';
import type { FlattenedJws, Signer, TokenStatus } from './types.js';

/** The subset of pino the HSM code logs through. */
export interface HsmLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: HsmLogger = { info() {}, warn() {}, error() {} };

export interface TokenSigner extends Signer {
  readonly token: TokenKey;
  /** Issuer chain of our certificate (DER, leaf's issuer first), when one was imported. */
  readonly chainDer: Buffer[];
  /** Signs arbitrary bytes as a JWS (audit checkpoints); same header as envelopes. */
  signBytes(payload: Uint8Array): Promise<FlattenedJws>;
}

export function signerFromToken(token: TokenKey, certificateDer: Buffer, chainDer: Buffer[] = []): TokenSigner {
  if (!certificateMatchesKey(certificateDer, token.spkiDer)) {
    throw new TokenConfigError("the signing certificate does not carry the token key's public key");
  }
  const header = headerFor(token.alg, certificateDer);
  const notAfter = new Date(new X509Certificate(certificateDer).validTo).getTime();
  // The protected header is the same for every message: encode it once.
  const protectedB64u = b64u(JSON.stringify(header));
  const protectedDot = `${protectedB64u}.`;
  // The signing input stays a string: the token hashes it directly, without a copy.
  const signPayload = (payloadB64u: string): Promise<FlattenedJws> =>
    token.signThen(protectedDot + payloadB64u, (sig) => flattenedJws(protectedB64u, payloadB64u, sig));
  return {
    token,
    kid: header.kid,
    certificateDer,
    chainDer,
    // Never throw synchronously: a serialization fault is a rejected promise like any other.
    signBytes(payload: Uint8Array) {
      try {
        return signPayload(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64url'));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    signEnvelope(envelope: Envelope) {
      try {
        return signPayload(textB64u(JSON.stringify(envelope)));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    status(): TokenStatus {
      const s = token.status();
      if (s.ready && notAfter < Date.now()) {
        const expired = new Date(notAfter).toISOString();
        const facts = s.facts?.state === 'ready' || s.facts?.state === 'software' ? { ...s.facts, certificateExpired: expired } : s.facts;
        return { ...s, ready: false, detail: `${s.detail}; signing certificate expired ${expired}`, ...(facts ? { facts } : {}) };
      }
      return s;
    },
    close: () => token.close(),
  };
}

export interface CertificateFiles {
  certFile: string;
  chainFile?: string | undefined;
}

/**
 * Our certificate: the configured/imported one, or (first start, development) a self-signed one
 * made by the token key and stored beside it.
 */
export async function loadOrCreateCertificate(
  token: TokenKey,
  files: CertificateFiles,
  subject: string,
  logger: HsmLogger,
  mayCreate: boolean,
): Promise<{ cert: Buffer; chain: Buffer[] }> {
  let cert: Buffer | undefined;
  if (existsSync(files.certFile)) {
    cert = pemBlocks(readFileSync(files.certFile, 'utf8'))[0];
    if (!cert) throw new TokenConfigError(`${files.certFile}: no PEM certificate found`);
  } else if (mayCreate) {
    cert = await selfSignedCertificate(token, subject);
    mkdirSync(dirname(files.certFile), { recursive: true, mode: 0o700 });
    writeFileSync(files.certFile, toPem(cert), { mode: 0o644 });
    logger.warn(
      { certFile: files.certFile, kid: kidOf(cert) },
      'created a self-signed development signing certificate; import a CA-issued one for production (juki-gw keys csr / keys import)',
    );
  } else {
    throw new TokenConfigError(`signing certificate ${files.certFile} not found (juki-gw keys csr, then keys import)`);
  }
  const chain = files.chainFile && existsSync(files.chainFile) ? pemBlocks(readFileSync(files.chainFile, 'utf8')) : [];
  return { cert, chain };
}
