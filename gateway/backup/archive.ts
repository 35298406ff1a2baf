// The signed inner archive of a backup: a manifest (JSON, signed as a JWS by the appliance's
// Signer) followed by the parts it names, each checked against its SHA-256 before anything is written.
import { createHash } from 'node:crypto';

export const BACKUP_FORMAT = 'juki-gw-backup';
export const BACKUP_VERSION = 1;

/** `file`: a data-dir file by relative path; `db`: every LevelDB record (key/value framing below). */
export type PartKind = 'file' | 'db';

export interface ManifestPart {
  name: string;
  kind: PartKind;
  mode: number;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_VERSION;
  createdAt: string;
  /** Key id (SHA-256 of the certificate) of the signer; the certificate travels beside the manifest. */
  signerKid: string;
  parts: ManifestPart[];
  /** Taken on a cluster node: the replicated log position its database part reflects (`!cluster!applied`). */
  cluster?: { applied: number };
}

export interface Part {
  name: string;
  kind: PartKind;
  mode: number;
  data: Buffer;
}

export class BackupRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupRefused';
  }
}

const SAFE_SEGMENT = /^[A-Za-z0-9._@+=-]+$/;
/** A part path restore may write: relative, no "." or "..", nothing under db/, plain characters. */
export function checkPartName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 512) throw new BackupRefused('manifest: a part has no valid name');
  const segs = name.split('/');
  if (segs.some((s) => s === '.' || s === '..' || !SAFE_SEGMENT.test(s)) || segs[0] === 'db') {
    throw new BackupRefused(`unsafe part path "${name}" (absolute, "..", db/ or unusual characters)`);
  }
  return name;
}

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export function manifestFor(parts: Part[], signerKid: string, now = new Date(), clusterApplied?: number): Manifest {
  return {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    createdAt: now.toISOString(),
    signerKid,
    parts: parts.map((p) => ({ name: p.name, kind: p.kind, mode: p.mode, size: p.data.length, sha256: sha256Hex(p.data) })),
    ...(clusterApplied === undefined ? {} : { cluster: { applied: clusterApplied } }),
  };
}

/**
 * Inner archive: u32 length + signed-manifest JSON ({jws, certificate}), then each part's bytes in
 * manifest order (sizes come from the manifest, so nothing unsigned decides where a part ends).
 */
export function encodeArchive(signedManifest: Buffer, parts: Part[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(signedManifest.length);
  return Buffer.concat([head, signedManifest, ...parts.map((p) => p.data)]);
}

/** Splits the archive; the manifest is NOT trusted yet (the caller verifies its signature first). */
export function splitArchive(archive: Buffer): { signedManifest: Buffer; body: Buffer } {
  if (archive.length < 4) throw new BackupRefused('archive truncated: no manifest length');
  const n = archive.readUInt32BE(0);
  if (n === 0 || 4 + n > archive.length) throw new BackupRefused(`archive truncated or corrupt: manifest length ${n} exceeds the file`);
  return { signedManifest: archive.subarray(4, 4 + n), body: archive.subarray(4 + n) };
}

/** Slices the parts the (verified) manifest names and checks every hash; throws on the first mismatch. */
export function partsOf(manifest: Manifest, body: Buffer): Part[] {
  const total = manifest.parts.reduce((s, p) => s + p.size, 0);
  if (total !== body.length)
    throw new BackupRefused(`archive size mismatch: the manifest names ${total} bytes of parts, the archive holds ${body.length}`);
  const parts: Part[] = [];
  let at = 0;
  for (const p of manifest.parts) {
    const data = body.subarray(at, at + p.size);
    at += p.size;
    const actual = sha256Hex(data);
    if (actual !== p.sha256)
      throw new BackupRefused(`part "${p.name}" is corrupt: SHA-256 ${actual} differs from the signed manifest (${p.sha256})`);
    parts.push({ name: p.name, kind: p.kind, mode: p.mode, data });
  }
  return parts;
}

/** LevelDB records as length-prefixed key/value pairs (raw bytes: sublevel prefixes included). */
export function encodeRecords(records: Iterable<[Uint8Array, Uint8Array]>): Buffer {
  const chunks: Buffer[] = [];
  for (const [k, v] of records) {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(k.length, 0);
    h.writeUInt32BE(v.length, 4);
    chunks.push(h, Buffer.from(k), Buffer.from(v));
  }
  return Buffer.concat(chunks);
}

export function* decodeRecords(data: Buffer): Generator<[Buffer, Buffer]> {
  let at = 0;
  while (at < data.length) {
    if (at + 8 > data.length) throw new BackupRefused('database part truncated');
    const kl = data.readUInt32BE(at);
    const vl = data.readUInt32BE(at + 4);
    at += 8;
    if (at + kl + vl > data.length) throw new BackupRefused('database part truncated');
    yield [data.subarray(at, at + kl), data.subarray(at + kl, at + kl + vl)];
    at += kl + vl;
  }
}
