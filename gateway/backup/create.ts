// Backup: snapshot → manifest with SHA-256 of every part → signed by the appliance's Signer (JWS) →
// encrypted (plaintext only when asked for). The certificate travels with the manifest; restore pins it with --trust.
import type { TokenSigner } from '../../hsm/signer.js';
import { BackupRefused, encodeArchive, manifestFor, type Part } from './archive.js';
import { sealContainer, type EncryptTo } from './container.js';
import { snapshotDataDir, type RecordSource, type SnapshotProgress } from './snapshot.js';

export interface SignedManifest {
  jws: { protected: string; payload: string; signature: string };
  certificate: string;
}

export async function signParts(
  parts: Part[],
  signer: Pick<TokenSigner, 'kid' | 'certificateDer' | 'signBytes'>,
  now = new Date(),
  clusterApplied?: number,
): Promise<Buffer> {
  const manifest = manifestFor(parts, signer.kid, now, clusterApplied);
  const jws = await signer.signBytes(Buffer.from(JSON.stringify(manifest), 'utf8'));
  const signed: SignedManifest = { jws, certificate: Buffer.from(signer.certificateDer).toString('base64') };
  return encodeArchive(Buffer.from(JSON.stringify(signed), 'utf8'), parts);
}

type BackupSigner = Pick<TokenSigner, 'kid' | 'certificateDer' | 'signBytes'>;

export interface CreateBackupOptions {
  dataDir: string;
  /** The signer, or how to open one after the snapshot (closed again here), so opening it adds nothing to what is backed up. */
  signer: BackupSigner | { open(): Promise<BackupSigner & { close(): Promise<void> }> };
  /** The running appliance's db (read through a snapshot iterator); omitted for an offline data dir. */
  db?: RecordSource;
  /** Passphrase or recipient: a backup is encrypted unless `plaintext` is asked for explicitly. */
  encryptTo?: EncryptTo;
  plaintext?: boolean;
  /** Bytes of the database read so far, of about `total`. */
  onProgress?: SnapshotProgress;
}

export interface CreatedBackup {
  file: Buffer;
  parts: number;
  bytes: number;
  kid: string;
  leftOut: string[];
  /** Taken on a cluster node: the log position the backup reflects (a node restored from it reads on after it). */
  clusterApplied?: number;
}

export const NO_KEY_MESSAGE =
  'backups are encrypted: give --passphrase-file FILE, JUKIGW_BACKUP_PASSPHRASE or --encrypt-to CERT.pem ' +
  '(a recipient certificate or public key); --plaintext writes an unencrypted backup (dangerous)';

export const PLAINTEXT_WARNING =
  'this backup is NOT encrypted: whoever holds the file can read the dev-CA and admin UI TLS private keys, ' +
  "the development passwords, a software signing key or key-encryption key if the appliance uses one, and — with the token's PIN — " +
  'everything the token protects. Keep it on encrypted media only; prefer --passphrase-file or --encrypt-to.';

export async function createBackup(opts: CreateBackupOptions): Promise<CreatedBackup> {
  if (!opts.encryptTo && !opts.plaintext) throw new BackupRefused(NO_KEY_MESSAGE);
  if (opts.encryptTo && opts.plaintext)
    throw new BackupRefused('--plaintext writes an unencrypted backup: not with --encrypt-to or a passphrase');
  const { parts, leftOut, clusterApplied } = await snapshotDataDir(opts.dataDir, opts.db, opts.onProgress);
  const opened = 'open' in opts.signer ? await opts.signer.open() : undefined;
  const signer = opened ?? (opts.signer as BackupSigner);
  try {
    const archive = await signParts(parts, signer, new Date(), clusterApplied);
    return {
      file: sealContainer(archive, opts.encryptTo),
      parts: parts.length,
      bytes: parts.reduce((s, p) => s + p.data.length, 0),
      kid: signer.kid,
      leftOut,
      ...(clusterApplied === undefined ? {} : { clusterApplied }),
    };
  } finally {
    await opened?.close();
  }
}
