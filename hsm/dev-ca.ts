// Small development CA (開発用認証局) for `juki-gw pki`: issues the broker's server certificate, client
// certificates for local systems and simulators, signing certificates from CSRs, and CRLs.
// Its key is a software key in a 0600 file: a development tool, not a production CA.
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import './reflect-polyfill.js';
import * as x509 from '@peculiar/x509';
import { pemBlocks, toPem } from './certs.js';

// why: node:crypto's webcrypto and the DOM Crypto type @peculiar/x509 declares are the same API in different typings.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface DevCa {
  dir: string;
  cert: x509.X509Certificate;
  key: CryptoKey;
  certPem: string;
}

export type CertificateKind = 'server' | 'client' | 'signing' | 'ca';

export interface IssueRequest {
  kind: CertificateKind;
  /** Common name: a system ID for client certificates, a host name for servers, a node for signing. */
  commonName: string;
  /** DNS names and IP addresses for server certificates (CN is added as a DNS name when not an IP). */
  altNames?: string[];
  days?: number;
  /** Backdate/expire for tests and rehearsals of expiry. */
  notBefore?: Date;
  notAfter?: Date;
}

export interface IssuedKeyPair {
  certPem: string;
  keyPem: string;
  certDer: Buffer;
}

const files = (dir: string) => ({ cert: join(dir, 'ca.pem'), key: join(dir, 'ca-key.pem'), serials: join(dir, 'revoked.json') });

export async function createDevCa(dir: string, commonName = 'juki-gw development CA', days = 3650): Promise<DevCa> {
  const f = files(dir);
  if (existsSync(f.cert) || existsSync(f.key)) throw new Error(`a CA already exists in ${dir}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}, O=juki-gw development`,
    keys,
    signingAlgorithm: SIGN,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * 86400_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  writeFileSync(f.key, toPem(pkcs8, 'PRIVATE KEY'), { mode: 0o600, flag: 'wx' });
  writeFileSync(f.cert, cert.toString('pem') + '\n', { mode: 0o644 });
  return { dir, cert, key: keys.privateKey, certPem: readFileSync(f.cert, 'utf8') };
}

export async function loadDevCa(dir: string): Promise<DevCa> {
  const f = files(dir);
  if (!existsSync(f.cert) || !existsSync(f.key)) throw new Error(`no CA in ${dir} (juki-gw pki init --dir ${dir})`);
  const certPem = readFileSync(f.cert, 'utf8');
  const der = pemBlocks(readFileSync(f.key, 'utf8'), 'PRIVATE KEY')[0];
  if (!der) throw new Error(`${f.key}: no PRIVATE KEY block`);
  const key = await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
  return { dir, cert: new x509.X509Certificate(certPem), key, certPem };
}

function extensionsFor(req: IssueRequest): x509.Extension[] {
  const ext: x509.Extension[] = [new x509.BasicConstraintsExtension(req.kind === 'ca', req.kind === 'ca' ? 0 : undefined, true)];
  if (req.kind === 'ca') {
    ext.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true));
  } else if (req.kind === 'signing') {
    ext.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true));
  } else {
    ext.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true));
    ext.push(
      new x509.ExtendedKeyUsageExtension([req.kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    );
  }
  if (req.kind === 'server') {
    const names = new Set(req.altNames ?? []);
    if (!isIP(req.commonName)) names.add(req.commonName);
    ext.push(
      new x509.SubjectAlternativeNameExtension([...names].map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n }))),
    );
  }
  return ext;
}

/** Certifies a public key (SPKI DER) — e.g. from a CSR made by the token. */
export async function issueForPublicKey(ca: DevCa, spkiDer: Uint8Array, req: IssueRequest): Promise<Buffer> {
  const notBefore = req.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = req.notAfter ?? new Date(notBefore.getTime() + (req.days ?? 397) * 86400_000);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${req.commonName}`,
    issuer: ca.cert.subject,
    publicKey: Buffer.from(spkiDer),
    signingKey: ca.key,
    signingAlgorithm: SIGN,
    notBefore,
    notAfter,
    extensions: [...extensionsFor(req), await x509.AuthorityKeyIdentifierExtension.create(ca.cert)],
  });
  return Buffer.from(cert.rawData);
}

/** Issues a certificate with a fresh EC P-256 key pair (for TLS peers and simulators). */
export async function issueWithNewKey(ca: DevCa, req: IssueRequest): Promise<IssuedKeyPair> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  const certDer = await issueForPublicKey(ca, spki, req);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { certDer, certPem: toPem(certDer), keyPem: toPem(pkcs8, 'PRIVATE KEY') };
}

/** Verifies the CSR's proof of possession, then certifies its key with the requested kind. */
export async function signCsr(ca: DevCa, csrPem: string, req: Omit<IssueRequest, 'commonName'> & { commonName?: string }): Promise<Buffer> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  if (!(await csr.verify())) throw new Error('the CSR signature does not verify (proof of possession failed)');
  const cn = req.commonName ?? /CN=([^,]+)/.exec(csr.subject)?.[1];
  if (!cn) throw new Error('the CSR has no CN; give one');
  return issueForPublicKey(ca, Buffer.from(csr.publicKey.rawData), { ...req, commonName: cn });
}

/** Records a revocation and returns the CA's new CRL (PEM). */
export async function revoke(ca: DevCa, certPem: string): Promise<string> {
  const serial = new x509.X509Certificate(certPem).serialNumber;
  const f = files(ca.dir).serials;
  const serials: string[] = existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as string[]) : [];
  if (!serials.includes(serial)) serials.push(serial);
  writeFileSync(f, JSON.stringify(serials), { mode: 0o600 });
  return crl(ca);
}

export async function crl(ca: DevCa, days = 7): Promise<string> {
  const f = files(ca.dir).serials;
  const serials: string[] = existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as string[]) : [];
  const list = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subject,
    thisUpdate: new Date(Date.now() - 60_000),
    nextUpdate: new Date(Date.now() + days * 86400_000),
    entries: serials.map((s) => ({ serialNumber: s, revocationDate: new Date() })),
    signingKey: ca.key,
    signingAlgorithm: SIGN,
  });
  return toPem(Buffer.from(list.rawData), 'X509 CRL');
}
