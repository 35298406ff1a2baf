// juki-gw backup: signed (optionally encrypted) snapshot of a stopped appliance's data dir, and a
// restore that verifies the signature and every part before writing anything.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { formatProblems, loadConfig } from '../../config/load.js';
import { parseCommandArgs } from '../args.js';

export const summary = 'backup create|restore|verify: signed, optionally encrypted backup of the data dir';

export const USAGE = `juki-gw backup <create|restore|verify> [options]
  create --data-dir D --out FILE [--encrypt-to PUBKEY.pem | --passphrase-file F] [--config FILE]
                 snapshot a stopped appliance's data dir; the manifest is signed with its signing key
  restore --in FILE --data-dir D [--trust CERT]... [--decrypt-key KEY.pem | --passphrase-file F] [--force]
                 verify signature and every hash first; a non-empty D needs --force (moved aside)
  verify --in FILE [--trust CERT]... [--decrypt-key KEY.pem | --passphrase-file F]
                 the checks restore makes, without writing`;

const OPTIONS = {
  'data-dir': { type: 'string' }, out: { type: 'string' }, in: { type: 'string' }, config: { type: 'string' },
  'encrypt-to': { type: 'string' }, 'passphrase-file': { type: 'string' }, 'decrypt-key': { type: 'string' },
  trust: { type: 'string', multiple: true }, force: { type: 'boolean' },
} as const;

const fail = (msg: string, code = 1) => { process.stderr.write(`backup: ${msg}\n`); return code; };

/** The passphrase file's first line (a trailing newline from an editor is not part of it). */
function passphrase(file: string): Buffer {
  const text = readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '';
  if (text.length < 12) throw new Error(`${file}: passphrase shorter than 12 characters`);
  return Buffer.from(text, 'utf8');
}

function trustCerts(files: string[] | undefined): X509Certificate[] {
  return (files ?? []).flatMap((f) => {
    const raw = readFileSync(f);
    if (!raw.includes('-----BEGIN')) return [new X509Certificate(raw)];
    const blocks = raw.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (!blocks.length) throw new Error(`${f}: no certificate found`);
    return blocks.map((b) => new X509Certificate(b));
  });
}

async function create(v: Record<string, string | boolean | string[] | undefined>): Promise<number> {
  const dataDir = v['data-dir'] as string | undefined;
  const out = v.out as string | undefined;
  if (!dataDir || !out) return fail(`create needs --data-dir and --out\nusage: ${USAGE}`, 2);
  if (v['encrypt-to'] && v['passphrase-file']) return fail('give --encrypt-to or --passphrase-file, not both', 2);
  if (!existsSync(dataDir)) return fail(`${dataDir}: no such data dir`);
  const loaded = loadConfig(v.config as string | undefined);
  if (!loaded.ok) return fail(formatProblems(loaded.problems));
  const encryptTo = v['encrypt-to'] ? { publicKeyPem: readFileSync(v['encrypt-to'] as string, 'utf8') }
    : v['passphrase-file'] ? { passphrase: passphrase(v['passphrase-file'] as string) } : undefined;
  const { createLogger } = await import('../../gateway/log/logger.js');
  const { createSigner } = await import('../../hsm/index.js');
  const { snapshotDataDir } = await import('../../gateway/backup/snapshot.js');
  const { signParts } = await import('../../gateway/backup/create.js');
  const { sealContainer } = await import('../../gateway/backup/container.js');
  // Snapshot first: opening the signer must not add files to what is being backed up.
  const parts = await snapshotDataDir(dataDir);
  const signer = await createSigner(loaded.config.hsm, { dataDir, logger: createLogger({ level: 'warn', destination: 2 }) });
  try {
    const file = sealContainer(await signParts(parts, signer), encryptTo);
    writeFileSync(out, file, { mode: 0o600 });
    const bytes = parts.reduce((s, p) => s + p.data.length, 0);
    process.stdout.write(`backup written to ${out}: ${parts.length} parts, ${bytes} bytes, signed by kid ${signer.kid}` +
      `${encryptTo ? ', encrypted (AES-256-GCM)' : ''}\n`);
    return 0;
  } finally {
    await signer.close();
  }
}

async function verifyOrRestore(sub: string, v: Record<string, string | boolean | string[] | undefined>): Promise<number> {
  const input = v.in as string | undefined;
  if (!input) return fail(`${sub} needs --in\nusage: ${USAGE}`, 2);
  if (sub === 'restore' && !v['data-dir']) return fail(`restore needs --data-dir\nusage: ${USAGE}`, 2);
  const { verifyBackup, restoreBackup } = await import('../../gateway/backup/restore.js');
  const decryptWith = v['decrypt-key'] ? { privateKeyPem: readFileSync(v['decrypt-key'] as string, 'utf8') }
    : v['passphrase-file'] ? { passphrase: passphrase(v['passphrase-file'] as string) } : undefined;
  const verified = verifyBackup(readFileSync(input), { decryptWith, trust: trustCerts(v.trust as string[] | undefined) });
  const who = `signed by "${verified.signerSubject}" (${verified.pinned ? 'pinned by --trust' : 'NOT pinned: give --trust CERT'})`;
  if (!verified.pinned) process.stderr.write(`backup: warning: signer not pinned; anyone can sign a backup with their own key (give --trust CERT)\n`);
  if (sub === 'verify') {
    process.stdout.write(`backup ok: ${verified.manifest.parts.length} parts of ${verified.manifest.createdAt}, every hash matches; ${who}\n`);
    return 0;
  }
  const r = await restoreBackup(verified, v['data-dir'] as string, { force: v.force === true });
  process.stdout.write(`restored ${r.records} database records and ${r.files} files into ${v['data-dir']}; ${who}` +
    `${r.movedAside ? `; previous contents moved to ${r.movedAside}` : ''}\n`);
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (!parsed) return 2;
  const [sub] = parsed.positionals;
  if (!sub || !['create', 'restore', 'verify'].includes(sub)) return fail(`usage: ${USAGE}`, 2);
  try {
    return sub === 'create' ? await create(parsed.values) : await verifyOrRestore(sub, parsed.values);
  } catch (e) {
    const name = (e as Error).name;
    return fail(`${name === 'BackupRefused' ? 'refused: ' : ''}${(e as Error).message}`);
  }
}
