// Restore: decrypt, verify the manifest's signature (and the signer against --trust), check every
// part's SHA-256 and every path, and only then write — into a fresh sibling folder that replaces the
// target in one rename, so a refused or interrupted restore leaves the target as it was.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fromB64u, kidOf, publicKeyFromSpki, signingInput, verifyJoseSignature, SUPPORTED_ALGS } from '../../hsm/jws.js';
import type { JwsAlg } from '../../hsm/types.js';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  BackupRefused,
  checkPartName,
  decodeRecords,
  partsOf,
  splitArchive,
  type Manifest,
  type Part,
} from './archive.js';
import { openContainer, type DecryptWith } from './container.js';
import { DB_PART } from './snapshot.js';
import { openApplianceDb } from '../../platform/store/db.js';

export interface VerifiedBackup {
  manifest: Manifest;
  parts: Part[];
  signerSubject: string;
  /** True when the signer matched a --trust certificate (or was issued by one). */
  pinned: boolean;
}

function checkManifest(m: unknown): Manifest {
  const man = m as Manifest;
  if (!man || man.format !== BACKUP_FORMAT || man.version !== BACKUP_VERSION || !Array.isArray(man.parts)) {
    throw new BackupRefused(`manifest: not a ${BACKUP_FORMAT} version ${BACKUP_VERSION} manifest`);
  }
  const seen = new Set<string>();
  let dbParts = 0;
  for (const p of man.parts) {
    if (p.kind === 'db') {
      if (p.name !== DB_PART) throw new BackupRefused('manifest: unexpected database part name');
      dbParts++;
    } else if (p.kind === 'file') checkPartName(p.name);
    else throw new BackupRefused(`manifest: unknown part kind ${JSON.stringify(p.kind)}`);
    if (seen.has(p.name)) throw new BackupRefused(`manifest: part "${p.name}" appears twice`);
    seen.add(p.name);
    if (
      !Number.isSafeInteger(p.size) ||
      p.size < 0 ||
      !Number.isInteger(p.mode) ||
      p.mode < 0 ||
      p.mode > 0o777 ||
      !/^[0-9a-f]{64}$/.test(p.sha256)
    ) {
      throw new BackupRefused(`manifest: part "${p.name}" has an invalid size, mode or hash`);
    }
  }
  if (dbParts !== 1) throw new BackupRefused('manifest: exactly one database part expected');
  if (man.cluster !== undefined && !(Number.isSafeInteger(man.cluster?.applied) && man.cluster.applied >= 0))
    throw new BackupRefused('manifest: cluster.applied is not a log position (a whole number, 0 or more)');
  return man;
}

function trusted(cert: X509Certificate, trust: X509Certificate[]): boolean {
  return trust.some((t) => t.fingerprint256 === cert.fingerprint256 || (cert.checkIssued(t) && cert.verify(t.publicKey)));
}

/** Everything restore checks, without writing. Throws BackupRefused with the reason. */
export function verifyBackup(file: Buffer, opts: { decryptWith?: DecryptWith; trust?: X509Certificate[] } = {}): VerifiedBackup {
  const archive = openContainer(file, opts.decryptWith);
  const { signedManifest, body } = splitArchive(archive);
  let signed: { jws?: { protected?: unknown; payload?: unknown; signature?: unknown }; certificate?: unknown };
  try {
    signed = JSON.parse(signedManifest.toString('utf8')) as typeof signed;
  } catch {
    throw new BackupRefused('signed manifest is not valid JSON (corrupt)');
  }
  const jws = signed?.jws;
  if (
    !jws ||
    typeof jws.protected !== 'string' ||
    typeof jws.payload !== 'string' ||
    typeof jws.signature !== 'string' ||
    typeof signed.certificate !== 'string'
  ) {
    throw new BackupRefused('signed manifest: JWS or certificate missing');
  }
  // Canonical only: Node's decoder skips unknown characters, so a changed byte (an "=" of the
  // padding, an inserted one) would decode to the same certificate and go unnoticed.
  const certDer = Buffer.from(signed.certificate, 'base64');
  if (certDer.toString('base64') !== signed.certificate)
    throw new BackupRefused('signed manifest: the signer certificate is not canonical base64 (corrupt)');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certDer);
  } catch {
    throw new BackupRefused('signed manifest: the signer certificate does not parse');
  }
  const headerBytes = fromB64u(jws.protected);
  const payload = fromB64u(jws.payload);
  const sig = fromB64u(jws.signature);
  let header: { alg?: JwsAlg; kid?: string };
  try {
    header = JSON.parse(headerBytes?.toString('utf8') ?? '') as typeof header;
  } catch {
    throw new BackupRefused('signed manifest: JWS header corrupt');
  }
  if (!payload || !sig || !header.alg || !SUPPORTED_ALGS.includes(header.alg))
    throw new BackupRefused('signed manifest: JWS malformed or unsupported algorithm');
  if (header.kid !== kidOf(cert.raw)) throw new BackupRefused('signed manifest: the JWS kid does not name the enclosed certificate');
  const key = publicKeyFromSpki(cert.publicKey.export({ format: 'der', type: 'spki' }));
  if (!verifyJoseSignature(header.alg, key, signingInput(jws.protected, jws.payload), sig)) {
    throw new BackupRefused('manifest signature invalid: the manifest was altered or not signed by the enclosed certificate');
  }
  const pinned = (opts.trust?.length ?? 0) > 0;
  if (pinned && !trusted(cert, opts.trust!)) {
    throw new BackupRefused(
      `backup signed by "${cert.subject.replace(/\n/g, ', ')}" (kid ${header.kid}), which no --trust certificate names or issued`,
    );
  }
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new BackupRefused('manifest payload is not JSON');
  }
  const manifest = checkManifest(manifestJson);
  if (manifest.signerKid !== header.kid) throw new BackupRefused('manifest: signerKid differs from the JWS kid');
  const parts = partsOf(manifest, body);
  // Walk the records once so a truncated database part is refused before anything is written.
  for (const _ of decodeRecords(parts.find((p) => p.kind === 'db')!.data)) {
    /* framing check only */
  }
  return { manifest, parts, signerSubject: cert.subject.replace(/\n/g, ', '), pinned };
}

export async function writeDb(dir: string, records: Buffer): Promise<number> {
  // "restored" must survive a power cut: LevelDB does not fsync a log it rolls over from, so every batch is synced.
  const db = await openApplianceDb(dir, { sync: true });
  const raw = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
  let n = 0;
  try {
    let batch = db.batch();
    for (const [k, v] of decodeRecords(records)) {
      // The records are raw bytes; the store is typed string → Uint8Array.
      // why: abstract-level's put takes a per-operation (buffer) encoding only through an untyped options bag.
      batch.put(k as never, v, raw as never);
      if (++n % 5000 === 0) {
        await batch.write();
        batch = db.batch();
      }
    }
    await batch.write();
  } finally {
    await db.close();
  }
  return n;
}

/** The data-dir SoftHSM configuration names its token folder by absolute path: point it at the new place. */
const SOFTHSM_CONF = 'hsm/softhsm/softhsm2.conf';
function relocated(p: Part, target: string): Buffer {
  if (p.name !== SOFTHSM_CONF) return p.data;
  const tokens = join(target, 'hsm', 'softhsm', 'tokens');
  return Buffer.from(p.data.toString('utf8').replace(/^directories\.tokendir\s*=.*$/m, `directories.tokendir = ${tokens}`), 'utf8');
}

export interface RestoreResult {
  files: number;
  records: number;
  movedAside?: string;
  /** The data-dir SoftHSM token came back without its PINs: where the operator puts the user PIN. */
  pinFileNeeded?: string;
}

/** Writes a verified backup to dataDir; refuses a non-empty dataDir unless force (then moves it aside). */
export async function restoreBackup(backup: VerifiedBackup, dataDir: string, opts: { force?: boolean } = {}): Promise<RestoreResult> {
  const target = resolve(dataDir);
  const occupied = existsSync(target) && readdirSync(target).length > 0;
  if (occupied && !opts.force)
    throw new BackupRefused(
      `${target} is not empty: restore into an empty folder, or give --force (the old contents are moved aside, not deleted)`,
    );
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `.${basename(target)}.restore-${process.pid}-${Date.now()}`);
  mkdirSync(staging, { mode: 0o700 });
  let records = 0;
  let files = 0;
  try {
    for (const p of backup.parts) {
      if (p.kind === 'db') {
        records = await writeDb(join(staging, 'db'), p.data);
        continue;
      }
      const out = join(staging, ...p.name.split('/'));
      mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
      writeFileSync(out, relocated(p, target), { mode: p.mode });
      files++;
    }
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  let movedAside: string | undefined;
  if (existsSync(target)) {
    if (occupied) {
      movedAside = `${target}.pre-restore-${Date.now()}`;
      renameSync(target, movedAside);
    } else rmSync(target, { recursive: true, force: true });
  }
  renameSync(staging, target);
  const token = backup.parts.some((p) => p.name.startsWith('hsm/softhsm/tokens/'));
  return {
    files,
    records,
    ...(movedAside ? { movedAside } : {}),
    ...(token ? { pinFileNeeded: join(target, 'hsm', 'softhsm', 'user.pin') } : {}),
  };
}
