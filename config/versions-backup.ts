// Signed configuration backup: the config text inside an envelope signed by the appliance Signer
// (JWS, flattened), with the signing certificate beside it. Import accepts only documents whose
// certificate is one we trust (by default: this appliance's own signing certificate).
import { createHash, createPublicKey, verify as cryptoVerify, X509Certificate, constants } from 'node:crypto';
import { nowIso, uuidv7 } from '../platform/envelope.js';
import type { FlattenedJws, Signer } from '../hsm/types.js';
import type { ConfigVersion } from './versionTypes.js';

export const BACKUP_FORMAT = 'juki-gw-config-backup/1';

// A type alias, not an interface: the body is signed as a plain Record<string, unknown>.
export type BackupBody = { version: number; createdAt: string; author: string; comment: string; sha256: string; text: string };
interface BackupDocument {
  format: string;
  jws: FlattenedJws;
  certificate: string;
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

export async function signBackup(signer: Signer, v: ConfigVersion): Promise<string> {
  const body: BackupBody = {
    version: v.version,
    createdAt: v.createdAt,
    author: v.author,
    comment: v.comment,
    sha256: v.sha256,
    text: v.text,
  };
  const jws = await signer.signEnvelope({
    v: 1,
    id: uuidv7(),
    type: 'config.backup',
    from: 'appliance',
    to: 'appliance',
    at: nowIso(),
    corr: null,
    body,
  });
  const doc: BackupDocument = { format: BACKUP_FORMAT, jws, certificate: Buffer.from(signer.certificateDer).toString('base64') };
  return JSON.stringify(doc, null, 2) + '\n';
}

export type BackupCheck = { ok: true; body: BackupBody } | { ok: false; message: string };

/** Never throws: every defect of the document becomes a precise message. */
export function verifyBackup(document: string, trusted: Uint8Array[]): BackupCheck {
  let doc: BackupDocument;
  try {
    doc = JSON.parse(document) as BackupDocument;
  } catch {
    return { ok: false, message: 'not a JSON document' };
  }
  if (doc?.format !== BACKUP_FORMAT) return { ok: false, message: `not a ${BACKUP_FORMAT} document` };
  if (
    typeof doc.certificate !== 'string' ||
    typeof doc.jws?.protected !== 'string' ||
    typeof doc.jws.payload !== 'string' ||
    typeof doc.jws.signature !== 'string'
  ) {
    return { ok: false, message: 'jws or certificate missing' };
  }
  const der = Buffer.from(doc.certificate, 'base64');
  if (!trusted.some((t) => Buffer.from(t).equals(der)))
    return { ok: false, message: 'signed by a certificate this appliance does not trust' };
  let header: { alg?: string; 'x5t#S256'?: string };
  try {
    header = JSON.parse(Buffer.from(doc.jws.protected, 'base64url').toString('utf8')) as typeof header;
  } catch {
    return { ok: false, message: 'protected header unreadable' };
  }
  if (header['x5t#S256'] !== sha256(der).toString('base64url'))
    return { ok: false, message: 'certificate thumbprint does not match the header' };
  let ok = false;
  try {
    const key = createPublicKey(new X509Certificate(der).publicKey.export({ type: 'spki', format: 'pem' }));
    const input = Buffer.from(`${doc.jws.protected}.${doc.jws.payload}`, 'ascii');
    const sig = Buffer.from(doc.jws.signature, 'base64url');
    if (header.alg === 'ES256') ok = cryptoVerify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
    else if (header.alg === 'PS256')
      ok = cryptoVerify('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    else if (header.alg === 'RS256') ok = cryptoVerify('sha256', input, key, sig);
    else return { ok: false, message: `unsupported alg ${String(header.alg)}` };
  } catch (e) {
    return { ok: false, message: `signature check failed: ${(e as Error).message}` };
  }
  if (!ok) return { ok: false, message: 'signature does not verify (document altered or not ours)' };
  let env: { type?: string; body?: BackupBody };
  try {
    env = JSON.parse(Buffer.from(doc.jws.payload, 'base64url').toString('utf8')) as typeof env;
  } catch {
    return { ok: false, message: 'payload unreadable' };
  }
  const body = env.body;
  if (env.type !== 'config.backup' || typeof body?.text !== 'string')
    return { ok: false, message: 'payload is not a configuration backup' };
  if (sha256(body.text).toString('hex') !== body.sha256) return { ok: false, message: 'configuration text does not match its digest' };
  return { ok: true, body };
}
