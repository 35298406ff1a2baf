// The backup file: magic, a JSON header (authenticated as GCM additional data), then the inner
// archive, either plain or sealed with AES-256-GCM under a key wrapped to a public key (RSA-OAEP-256
// or ECDH-ES + HKDF) or derived from a passphrase with scrypt.
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  constants,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  scryptSync,
  type KeyObject,
} from 'node:crypto';
import { BackupRefused } from './archive.js';

const MAGIC = Buffer.from('JUKIGW-BACKUP/1\n', 'ascii');
const HKDF_INFO = Buffer.from('juki-gw backup content key', 'utf8');
/** scrypt cost: ~100 ms and 32 MiB here; the parameters travel in the header. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1 } as const;
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

type KeySource =
  | { kind: 'scrypt'; salt: string; N: number; r: number; p: number }
  | { kind: 'rsa-oaep-256'; wrappedKey: string }
  | { kind: 'ecdh-es'; epk: string };

type Header = { encryption: 'none' } | { encryption: 'A256GCM'; key: KeySource; iv: string };

export type EncryptTo = { publicKeyPem: string } | { passphrase: Buffer };
export type DecryptWith = { privateKeyPem: string } | { passphrase: Buffer };

function ecdhKey(publicKey: KeyObject, privateKey: KeyObject, epkDer: Buffer): Buffer {
  const secret = diffieHellman({ publicKey, privateKey });
  return Buffer.from(hkdfSync('sha256', secret, epkDer, HKDF_INFO, 32));
}

function encryptionKey(to: EncryptTo): { key: Buffer; source: KeySource } {
  if ('passphrase' in to) {
    const salt = randomBytes(16);
    return {
      key: scryptSync(to.passphrase, salt, 32, { ...SCRYPT, maxmem: SCRYPT_MAXMEM }),
      source: { kind: 'scrypt', salt: salt.toString('base64'), ...SCRYPT },
    };
  }
  const pub = createPublicKey(to.publicKeyPem);
  const type = pub.asymmetricKeyType;
  if (type === 'rsa') {
    const key = randomBytes(32);
    const wrapped = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, key);
    return { key, source: { kind: 'rsa-oaep-256', wrappedKey: wrapped.toString('base64') } };
  }
  if (type === 'ec' || type === 'x25519' || type === 'x448') {
    const eph =
      type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: pub.asymmetricKeyDetails!.namedCurve! })
        : generateKeyPairSync(type as 'x25519');
    const epkDer = eph.publicKey.export({ format: 'der', type: 'spki' });
    return { key: ecdhKey(pub, eph.privateKey, epkDer), source: { kind: 'ecdh-es', epk: epkDer.toString('base64') } };
  }
  throw new BackupRefused(`cannot encrypt to a ${type} key: give an RSA, EC (P-256/P-384) or X25519 public key`);
}

export function sealContainer(archive: Buffer, to?: EncryptTo): Buffer {
  let header: Header;
  let payload: Buffer;
  if (!to) {
    header = { encryption: 'none' };
    payload = archive;
  } else {
    const { key, source } = encryptionKey(to);
    const iv = randomBytes(12);
    header = { encryption: 'A256GCM', key: source, iv: iv.toString('base64') };
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(JSON.stringify(header), 'utf8'));
    payload = Buffer.concat([c.update(archive), c.final(), c.getAuthTag()]);
  }
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(h.length);
  return Buffer.concat([MAGIC, len, h, payload]);
}

function parseHeader(file: Buffer): { header: Header; headerBytes: Buffer; payload: Buffer } {
  if (file.length < MAGIC.length + 4 || !file.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new BackupRefused('not a juki-gw backup (magic "JUKIGW-BACKUP/1" missing)');
  }
  const n = file.readUInt32BE(MAGIC.length);
  const start = MAGIC.length + 4;
  if (n > 64 * 1024 || start + n > file.length) throw new BackupRefused('backup header truncated or corrupt');
  const headerBytes = file.subarray(start, start + n);
  let header: Header;
  try {
    header = JSON.parse(headerBytes.toString('utf8')) as Header;
  } catch {
    throw new BackupRefused('backup header is not valid JSON');
  }
  if (header?.encryption !== 'none' && header?.encryption !== 'A256GCM')
    throw new BackupRefused('backup header names an unknown encryption');
  return { header, headerBytes, payload: file.subarray(start + n) };
}

export function isEncrypted(file: Buffer): boolean {
  return parseHeader(file).header.encryption !== 'none';
}

function decryptionKey(source: KeySource, with_: DecryptWith | undefined): Buffer {
  if (source.kind === 'scrypt') {
    if (!with_ || !('passphrase' in with_))
      throw new BackupRefused('the backup is encrypted with a passphrase: give --passphrase-file FILE or JUKIGW_BACKUP_PASSPHRASE');
    const { N, r, p } = source;
    if (![N, r, p].every(Number.isSafeInteger) || N > 1 << 20 || r > 16 || p > 4)
      throw new BackupRefused('backup header: scrypt parameters out of range');
    return scryptSync(with_.passphrase, Buffer.from(source.salt, 'base64'), 32, { N, r, p, maxmem: 256 * 1024 * 1024 });
  }
  if (!with_ || !('privateKeyPem' in with_))
    throw new BackupRefused('the backup is encrypted to a public key: give --decrypt-key PRIVATE.pem');
  const priv = createPrivateKey(with_.privateKeyPem);
  try {
    if (source.kind === 'rsa-oaep-256') {
      return privateDecrypt(
        { key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        Buffer.from(source.wrappedKey, 'base64'),
      );
    }
    const epkDer = Buffer.from(source.epk, 'base64');
    return ecdhKey(createPublicKey({ key: epkDer, format: 'der', type: 'spki' }), priv, epkDer);
  } catch {
    throw new BackupRefused('cannot unwrap the backup key with this private key (not the key the backup was encrypted to)');
  }
}

/** Returns the inner archive; refuses a wrong key/passphrase or any changed byte (GCM tag). */
export function openContainer(file: Buffer, with_?: DecryptWith): Buffer {
  const { header, headerBytes, payload } = parseHeader(file);
  if (header.encryption === 'none') return payload;
  const key = decryptionKey(header.key, with_);
  if (payload.length < 16) throw new BackupRefused('encrypted backup truncated');
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(header.iv, 'base64'));
    d.setAAD(headerBytes);
    d.setAuthTag(payload.subarray(payload.length - 16));
    return Buffer.concat([d.update(payload.subarray(0, payload.length - 16)), d.final()]);
  } catch {
    throw new BackupRefused('decryption failed: wrong key or passphrase, or the backup was altered (AES-GCM tag mismatch)');
  }
}
