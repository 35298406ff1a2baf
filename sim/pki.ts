// Simulated upstream PKI: one development CA (hsm/dev-ca.ts) that certifies every simulator's signing
// key and the appliance's token key, and a `peers/` directory of signing certificates that every
// verifier (simulators and appliance) loads. Files only; no key ever leaves its owner except the
// simulators' own software keys, which are simulated anyway.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateMatchesKey } from '../hsm/certs.js';
import { createDevCa, issueForPublicKey, issueWithNewKey, loadDevCa, type DevCa } from '../hsm/dev-ca.js';
import {
  createVerifier,
  kidOf,
  signerFromToken,
  softwareTokenFromKey,
  toPem,
  pemBlocks,
  type JwsVerifier,
  type TokenSigner,
} from '../hsm/index.js';

export const fileSafe = (node: string) => node.replace(/[^A-Za-z0-9.-]/g, '_');

export interface SimPki {
  dir: string;
  caPem: string;
  ca: DevCa;
}

export async function openSimPki(dir: string): Promise<SimPki> {
  const caDir = join(dir, 'ca');
  const ca = existsSync(join(caDir, 'ca.pem')) ? await loadDevCa(caDir) : await createDevCa(caDir, 'juki-gw simulated upstream CA');
  mkdirSync(join(dir, 'peers'), { recursive: true });
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  return { dir, caPem: ca.certPem, ca };
}

/** A simulator's signer: its own software key and a certificate from the simulated CA (made once). */
export async function simSigner(pki: SimPki, node: string): Promise<TokenSigner> {
  const keyFile = join(pki.dir, 'keys', `${fileSafe(node)}.key.pem`);
  const certFile = join(pki.dir, 'peers', `${fileSafe(node)}.pem`);
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    const issued = await issueWithNewKey(pki.ca, { kind: 'signing', commonName: node, days: 3650 });
    writeFileSync(keyFile, issued.keyPem, { mode: 0o600 });
    writeFileSync(certFile, issued.certPem);
  }
  const token = softwareTokenFromKey(createPrivateKey(readFileSync(keyFile)), 'ES256', keyFile);
  return signerFromToken(token, pemBlocks(readFileSync(certFile, 'utf8'))[0]!);
}

/**
 * Certifies the appliance's token key (the private key stays in the token) as `node`, publishes the
 * certificate in peers/, and returns a signer that presents it.
 */
export async function certifyAppliance(pki: SimPki, signer: TokenSigner, node: string): Promise<TokenSigner> {
  const file = join(pki.dir, 'peers', `${fileSafe(node)}.pem`);
  // Kept across starts while it is for the same key and valid for 30 more days: the kid an upstream
  // team was given stays the kid on the wire.
  const kept = existsSync(file) ? pemBlocks(readFileSync(file, 'utf8'))[0] : undefined;
  const reusable =
    kept &&
    certificateMatchesKey(kept, signer.token.spkiDer) &&
    new X509Certificate(kept).checkIssued(new X509Certificate(pki.caPem)) &&
    Date.parse(new X509Certificate(kept).validTo) > Date.now() + 30 * 86400_000;
  const der = reusable ? kept : await issueForPublicKey(pki.ca, signer.token.spkiDer, { kind: 'signing', commonName: node, days: 825 });
  if (!reusable) writeFileSync(file, toPem(der));
  return signerFromToken(signer.token, der, [Buffer.from(pki.ca.cert.rawData)]);
}

export function peerCertificates(pki: Pick<SimPki, 'dir'>): string[] {
  const dir = join(pki.dir, 'peers');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.pem'))
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** A verifier over the CA and the current peers/ directory, rebuilt when an unknown kid shows up. */
export function reloadingVerifier(pki: Pick<SimPki, 'dir' | 'caPem'>, replayWindowSeconds = 300): { verify: JwsVerifier['verify'] } {
  const build = () =>
    createVerifier({ trustAnchorsPem: pki.caPem, peerCertificatesPem: peerCertificates(pki), replayWindowSeconds, acceptX5c: false });
  let v = build();
  return {
    async verify(jws, options) {
      const r = await v.verify(jws, { ...options, dedupe: false });
      if (r.ok || r.code !== 'unknown_key') return r;
      v = build();
      return v.verify(jws, { ...options, dedupe: false });
    },
  };
}

export { kidOf };
