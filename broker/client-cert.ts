// Registering a client certificate for a local system (証明書の登録): the checks an uploaded certificate
// must pass before its fingerprint is pinned in the configuration, and the fingerprint itself — the
// same digest the broker compares at CONNECT, so the UI, the CLI and the broker cannot disagree.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isLoopback } from '../config/schema/common.js';
import type { ApplianceConfig } from '../config/schema/index.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** SHA-256 of the certificate's DER, lowercase hex: the value of `certificateSha256`. */
export function certificateFingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

export type ClientCertCheck = { ok: true; fingerprintSha256: string; notAfter: string; subject: string } | { ok: false; message: string };

function pemCertificates(text: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const m of text.match(PEM_CERT) ?? []) {
    try {
      out.push(new X509Certificate(m));
    } catch {
      /* a broken entry of a CA bundle is not a trust anchor */
    }
  }
  return out;
}

/** The segment a system connects through: the number-linkage server only on its own listeners. */
const segmentOf = (role: string) => (role === 'number-linkage' ? 'number-linkage' : 'local');

/**
 * Checks `pem` as the client certificate of system `systemId` under `config`: one X.509 certificate,
 * CN = system id, usable for TLS client authentication, valid now, issued by a CA that a non-loopback
 * TLS listener of the system's segment trusts. The first failing check is returned, worded for the
 * administrator.
 */
export function checkClientCertificate(
  config: ApplianceConfig,
  systemId: string,
  pem: string,
  opts: { now?: Date; readFile?: (path: string) => string } = {},
): ClientCertCheck {
  const fail = (message: string): ClientCertCheck => ({ ok: false, message });
  const sys = config.systems.find((s) => s.id === systemId);
  if (!sys) return fail(`no system "${systemId}"`);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    return fail('contains a private key: upload only the certificate (the private key stays with the system)');
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return fail('not a PEM certificate (expected -----BEGIN CERTIFICATE-----)');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(blocks[0]!);
  } catch (e) {
    return fail(`not a valid X.509 certificate: ${(e as Error).message}`);
  }
  if (cert.ca) return fail('is a CA certificate, not a client certificate');
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  if (cn !== systemId)
    return fail(
      cn === undefined ? `has no CN; the CN must be the system id ${systemId}` : `CN is "${cn}", but must be the system id "${systemId}"`,
    );
  // Node exposes extendedKeyUsage as `keyUsage`; absent means unrestricted.
  const eku = cert.keyUsage;
  if (eku !== undefined && eku.length > 0 && !eku.includes(CLIENT_AUTH)) {
    return fail('is not a client certificate (extendedKeyUsage lacks clientAuth)');
  }
  const now = opts.now ?? new Date();
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() < now.getTime()) return fail(`expired on ${notAfter.toISOString()}`);
  if (notBefore.getTime() > now.getTime()) return fail(`not valid before ${notBefore.toISOString()}`);

  const segment = segmentOf(sys.role);
  const listeners = config.listeners.filter((l) => l.type === 'tls' && l.tls && l.segment === segment && !isLoopback(l.host));
  if (listeners.length === 0) return fail(`no non-loopback TLS listener serves the ${segment} segment, so no CA to check against`);
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const unreadable: string[] = [];
  for (const l of listeners) {
    let bundle: string;
    try {
      bundle = read(l.tls!.ca);
    } catch (e) {
      unreadable.push(`${l.name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      continue;
    }
    for (const ca of pemCertificates(bundle)) {
      if (cert.checkIssued(ca) && cert.verify(ca.publicKey)) {
        return { ok: true, fingerprintSha256: certificateFingerprint(cert.raw), notAfter: notAfter.toISOString(), subject: cert.subject };
      }
    }
  }
  const names = listeners.map((l) => l.name).join(', ');
  return fail(
    `not issued by the CA of the ${segment} TLS listener(s) ${names}${unreadable.length ? ` (CA file unreadable: ${unreadable.join('; ')})` : ''}`,
  );
}
