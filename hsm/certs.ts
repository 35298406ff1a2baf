// X.509 around a token key: self-signed development certificates and PKCS#10 requests whose
// signature the token makes (the private key is never exported), plus PEM helpers.
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import './reflect-polyfill.js';
import * as x509 from '@peculiar/x509';
type CryptoKey = webcrypto.CryptoKey;
type Crypto = webcrypto.Crypto;
type BufferSource = webcrypto.BufferSource;
type AlgorithmIdentifier = webcrypto.AlgorithmIdentifier;
import type { TokenKey } from './token.js';
import type { JwsAlg } from './types.js';

/** WebCrypto parameters @peculiar/x509 maps to the X.509 signature algorithm of each JWS alg. */
export function webAlgorithmOf(alg: JwsAlg): { key: Record<string, unknown>; signing: Record<string, unknown> } {
  if (alg === 'ES256') return { key: { name: 'ECDSA', namedCurve: 'P-256' }, signing: { name: 'ECDSA', hash: 'SHA-256' } };
  if (alg === 'PS256')
    return { key: { name: 'RSA-PSS', hash: { name: 'SHA-256' } }, signing: { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 } };
  return { key: { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } }, signing: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } };
}

/**
 * A WebCrypto whose `sign` goes to the token: @peculiar/x509 builds the TBS bytes, the token signs
 * them. The JOSE signature format equals WebCrypto's (r||s for ECDSA), so no conversion is needed.
 */
function tokenCrypto(token: TokenKey): { crypto: Crypto; privateKey: CryptoKey; publicKey: CryptoKey } {
  const subtle = webcrypto.subtle;
  // why: stand-ins for the token's key pair: only the proxied subtle below receives them, never WebCrypto itself.
  const privateKey = {
    algorithm: webAlgorithmOf(token.alg).key,
    type: 'private',
    extractable: false,
    usages: ['sign'],
  } as unknown as CryptoKey;
  const publicKey = {
    algorithm: webAlgorithmOf(token.alg).key,
    type: 'public',
    extractable: true,
    usages: ['verify'],
    spki: token.spkiDer,
  } as unknown as CryptoKey;
  const proxied = new Proxy(subtle, {
    get(target, prop) {
      if (prop === 'sign') {
        return async (_alg: unknown, key: CryptoKey, data: BufferSource) => {
          if (key !== privateKey) return subtle.sign(_alg as AlgorithmIdentifier, key, data);
          const bytes = Buffer.from(
            ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data),
          );
          const sig = await token.sign(bytes);
          return sig.buffer.slice(sig.byteOffset, sig.byteOffset + sig.byteLength);
        };
      }
      if (prop === 'exportKey') {
        return async (format: string, key: CryptoKey) => {
          if (key === publicKey && format === 'spki')
            return token.spkiDer.buffer.slice(token.spkiDer.byteOffset, token.spkiDer.byteOffset + token.spkiDer.byteLength);
          return subtle.exportKey(format as 'spki', key);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  // why: a Crypto whose subtle is the proxy above; @peculiar/x509 uses no other member.
  const crypto = {
    subtle: proxied,
    getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
    randomUUID: webcrypto.randomUUID.bind(webcrypto),
  } as unknown as Crypto;
  return { crypto, privateKey, publicKey };
}

/** Self-signed certificate for development (kid source when no CA-issued certificate exists yet). */
export async function selfSignedCertificate(token: TokenKey, subject: string, days = 825): Promise<Buffer> {
  const { crypto, privateKey } = tokenCrypto(token);
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject,
      issuer: subject,
      publicKey: token.spkiDer,
      signingKey: privateKey,
      signingAlgorithm: webAlgorithmOf(token.alg).signing,
      notBefore,
      notAfter: new Date(notBefore.getTime() + days * 86400_000),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    },
    crypto,
  );
  return Buffer.from(cert.rawData);
}

/** PKCS#10 certificate signing request, signed by the token key (proof of possession). */
export async function certificateRequest(token: TokenKey, subject: string): Promise<string> {
  const { crypto, privateKey, publicKey } = tokenCrypto(token);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: subject,
      keys: { privateKey, publicKey },
      signingAlgorithm: webAlgorithmOf(token.alg).signing,
      extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
    },
    crypto,
  );
  return csr.toString('pem');
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** DER blocks of one PEM type (default CERTIFICATE) in a text; ignores anything else. */
export function pemBlocks(text: string, type = 'CERTIFICATE'): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) if (m[1] === type) out.push(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

export function toPem(der: Uint8Array, type = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${type}-----\n${b64}\n-----END ${type}-----\n`;
}

/** True when the certificate carries exactly this public key. */
export function certificateMatchesKey(certDer: Uint8Array, spkiDer: Uint8Array): boolean {
  const cert = new NodeX509(Buffer.from(certDer));
  const certSpki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return Buffer.compare(certSpki, Buffer.from(spkiDer)) === 0;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  serial: string;
  kid: string;
  selfSigned: boolean;
}

export function describeCertificate(der: Uint8Array, kid: string): CertificateInfo {
  const c = new NodeX509(Buffer.from(der));
  return {
    subject: c.subject.replace(/\n/g, ', '),
    issuer: c.issuer.replace(/\n/g, ', '),
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    serial: c.serialNumber,
    kid,
    selfSigned: c.subject === c.issuer && c.verify(c.publicKey),
  };
}
