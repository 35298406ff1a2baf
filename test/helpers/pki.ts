// Minimal test PKI for broker mTLS tests: a CA, a server certificate for 127.0.0.1/localhost, client
// certificates by CN, an expired one, a revoked one (with a CRL), and one from an unknown CA.
// node-forge builds the certificates; keys come from Node's native RSA generator (forge's pure-JS one
// costs about a second per key); forge has no CRL writer, so the CRL is assembled from ASN.1 here.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

const DAY = 86_400_000;
const { pki, asn1 } = forge;

export interface PemPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  serial: string;
}
export interface TestPki {
  caFile: string;
  caPem: string;
  crlFile: string;
  server: PemPair;
  clients: Record<string, PemPair>;
  /** CN given in `expired`: valid chain, notAfter in the past. */
  expired: PemPair;
  /** CN given in `revoked`: listed in the CRL. */
  revoked: PemPair;
  /** Signed by a CA the broker does not trust (same CA name, other key); CN = the first client CN. */
  rogue: PemPair;
  /** Rewrites crlFile revoking exactly these serials (for CRL reload tests). */
  writeCrl(serials: string[]): void;
}

interface Issuer {
  key: forge.pki.rsa.PrivateKey;
  cert: forge.pki.Certificate;
}

// DER INTEGERs are minimal: a first byte of 0x10 keeps them positive and free of leading zeros.
let serialCounter = 0x10001000;
const nextSerial = () => (serialCounter++).toString(16);

function newKeys() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const priv = pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string);
  return { priv, pub: pki.setRsaPublicKey(priv.n, priv.e) };
}

function makeCa(name: string): Issuer {
  const { priv, pub } = newKeys();
  const cert = pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = nextSerial();
  cert.validity.notBefore = new Date(Date.now() - DAY);
  cert.validity.notAfter = new Date(Date.now() + 30 * DAY);
  cert.setSubject([{ name: 'commonName', value: name }]);
  cert.setIssuer([{ name: 'commonName', value: name }]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(priv, forge.md.sha256.create());
  return { key: priv, cert };
}

function issue(
  dir: string,
  file: string,
  ca: Issuer,
  cn: string,
  opts: { server?: boolean; notBefore?: Date; notAfter?: Date } = {},
): PemPair {
  const { priv, pub } = newKeys();
  const cert = pki.createCertificate();
  const serial = nextSerial();
  cert.publicKey = pub;
  cert.serialNumber = serial;
  cert.validity.notBefore = opts.notBefore ?? new Date(Date.now() - DAY);
  cert.validity.notAfter = opts.notAfter ?? new Date(Date.now() + 30 * DAY);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: opts.server === true, clientAuth: opts.server !== true },
    ...(opts.server
      ? [
          {
            name: 'subjectAltName',
            altNames: [
              { type: 7, ip: '127.0.0.1' },
              { type: 2, value: 'localhost' },
            ],
          },
        ]
      : []),
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  const pair = {
    cert: pki.certificateToPem(cert),
    key: pki.privateKeyToPem(priv),
    certFile: join(dir, `${file}.crt`),
    keyFile: join(dir, `${file}.key`),
    serial,
  };
  writeFileSync(pair.certFile, pair.cert);
  writeFileSync(pair.keyFile, pair.key, { mode: 0o600 });
  return pair;
}

/** X.509 v2 CRL (RFC 5280 §5.1) signed sha256WithRSAEncryption. */
function makeCrl(ca: Issuer, revokedSerials: string[]): string {
  const utc = (d: Date) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(d));
  const sigAlg = () =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.sha256WithRSAEncryption!).getBytes()),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
    ]);
  const int = (hex: string) =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, forge.util.hexToBytes(hex.length % 2 ? `0${hex}` : hex));
  const tbs = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, String.fromCharCode(1)), // v2
    sigAlg(),
    pki.distinguishedNameToAsn1(ca.cert.subject),
    utc(new Date(Date.now() - DAY)),
    utc(new Date(Date.now() + 7 * DAY)),
    asn1.create(
      asn1.Class.UNIVERSAL,
      asn1.Type.SEQUENCE,
      true,
      revokedSerials.map((s) =>
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [int(s), utc(new Date(Date.now() - 3_600_000))]),
      ),
    ),
  ]);
  const md = forge.md.sha256.create();
  md.update(asn1.toDer(tbs).getBytes());
  const signature = ca.key.sign(md);
  const crl = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    sigAlg(),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(0) + signature),
  ]);
  return forge.pem.encode({ type: 'X509 CRL', body: asn1.toDer(crl).getBytes() });
}

export async function createTestPki(dir: string, opts: { clients: string[]; expired: string; revoked: string }): Promise<TestPki> {
  const ca = makeCa('juki-gw test CA');
  const rogueCa = makeCa('juki-gw test CA');
  const caPem = pki.certificateToPem(ca.cert);
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, caPem);
  const server = issue(dir, 'server', ca, 'localhost', { server: true });
  const clients: Record<string, PemPair> = {};
  for (const cn of opts.clients) clients[cn] = issue(dir, `client-${cn}`, ca, cn);
  const expired = issue(dir, 'expired', ca, opts.expired, {
    notBefore: new Date(Date.now() - 10 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  const revoked = issue(dir, 'revoked', ca, opts.revoked);
  const rogue = issue(dir, 'rogue', rogueCa, opts.clients[0] ?? 'rogue');
  const crlFile = join(dir, 'ca.crl');
  const writeCrl = (serials: string[]) => writeFileSync(crlFile, makeCrl(ca, serials));
  writeCrl([revoked.serial]);
  return { caFile, caPem, crlFile, server, clients, expired, revoked, rogue, writeCrl };
}
