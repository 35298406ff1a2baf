// Backup: snapshot → manifest with SHA-256 of every part → signed by the appliance's Signer (JWS) →
// optionally encrypted. The certificate travels with the manifest; restore pins it with --trust.
import type { TokenSigner } from '../../hsm/signer.js';
import { encodeArchive, manifestFor, type Part } from './archive.js';
import { sealContainer, type EncryptTo } from './container.js';
import { snapshotDataDir, type RecordSource } from './snapshot.js';

export interface SignedManifest { jws: { protected: string; payload: string; signature: string }; certificate: string }

export async function signParts(parts: Part[], signer: Pick<TokenSigner, 'kid' | 'certificateDer' | 'signBytes'>, now = new Date()): Promise<Buffer> {
  const manifest = manifestFor(parts, signer.kid, now);
  const jws = await signer.signBytes(Buffer.from(JSON.stringify(manifest), 'utf8'));
  const signed: SignedManifest = { jws, certificate: Buffer.from(signer.certificateDer).toString('base64') };
  return encodeArchive(Buffer.from(JSON.stringify(signed), 'utf8'), parts);
}

export interface CreateBackupOptions {
  dataDir: string;
  signer: Pick<TokenSigner, 'kid' | 'certificateDer' | 'signBytes'>;
  /** The running appliance's db (read through a snapshot iterator); omitted for an offline data dir. */
  db?: RecordSource;
  encryptTo?: EncryptTo;
}

export async function createBackup(opts: CreateBackupOptions): Promise<{ file: Buffer; parts: number; bytes: number }> {
  const parts = await snapshotDataDir(opts.dataDir, opts.db);
  const archive = await signParts(parts, opts.signer);
  return { file: sealContainer(archive, opts.encryptTo), parts: parts.length, bytes: parts.reduce((s, p) => s + p.data.length, 0) };
}
