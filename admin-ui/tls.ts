// The admin UI speaks HTTPS only. Without configured material (ui.tls), a self-signed ECDSA
// certificate is created once under dataDir/ui-tls and its SHA-256 fingerprint is logged so the
// administrator can check it in the browser.
import { createHash, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../hsm/reflect-polyfill.js';
import * as x509 from '@peculiar/x509';

export interface TlsMaterial {
  cert: string;
  key: string;
}

export async function selfSignedUiCertificate(hosts: string[], days = 825): Promise<TlsMaterial> {
  // why: node:crypto's webcrypto and the DOM Crypto type @peculiar/x509 declares are the same API in different typings.
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: 'CN=juki-gw admin UI',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * 86_400_000),
    // why: a node:crypto CryptoKeyPair where @peculiar/x509 declares the DOM one (same objects at run time).
    keys: keys as never,
    signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension(
        hosts.map((h) => (/^[0-9.]+$|:/.test(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h })),
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem') + '\n', key };
}

export async function uiTlsMaterial(opts: {
  tls?: { cert: string; key: string } | undefined;
  dataDir: string;
  host: string;
}): Promise<TlsMaterial & { generated: boolean }> {
  if (opts.tls) return { cert: readFileSync(opts.tls.cert, 'utf8'), key: readFileSync(opts.tls.key, 'utf8'), generated: false };
  const dir = join(opts.dataDir, 'ui-tls');
  const certFile = join(dir, 'ui.pem'),
    keyFile = join(dir, 'ui.key');
  if (existsSync(certFile) && existsSync(keyFile))
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), generated: false };
  const m = await selfSignedUiCertificate([...new Set([opts.host, 'localhost', '127.0.0.1'])]);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, m.key, { mode: 0o600 });
  writeFileSync(certFile, m.cert, { mode: 0o644 });
  return { ...m, generated: true };
}

export function fingerprint(certPem: string): string {
  const der = Buffer.from(certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return createHash('sha256').update(der).digest('hex').match(/../g)!.join(':').toUpperCase();
}
