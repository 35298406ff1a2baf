// juki-gw backup: signed, encrypted snapshot of the data dir (never its PIN files), and a
// restore that verifies the signature and every part before writing anything.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { commandConfig, dataDirLine } from '../commandConfig.js';
import { parseCommandArgs } from '../args.js';
import type { EncryptTo } from '../../gateway/backup/container.js';
import type { VerifiedBackup } from '../../gateway/backup/restore.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type { Job } from '../../admin-ui/adapters/jobs.js';
import { applianceHolds, followJob, ONLINE_OPTIONS, onlineUsage, refusal, runningAppliance } from '../online.js';
import { progressPrinter } from '../progress.js';
import { showTimeOf } from '../time.js';

export const summary = 'backup create|restore|verify: signed, encrypted backup of the data dir (PIN files left out)';

export const USAGE = `juki-gw backup <create|restore|verify> [options]
  create [--data-dir D] --out FILE (--encrypt-to CERT.pem | --passphrase-file F | --plaintext) [--config FILE]
                 (no --data-dir: the configured one; no --config: the embedded default, ./data or JUKIGW_dataDir)
                 snapshot the data dir, signed with the appliance's signing key and encrypted: to a
                 recipient certificate (or public key), or with a passphrase (--passphrase-file, or
                 JUKIGW_BACKUP_PASSPHRASE); PIN files are never included. --plaintext: unencrypted (dangerous)
  restore --in FILE --data-dir D [--trust CERT]... [--decrypt-key KEY.pem | --passphrase-file F] [--force]
                 (the passphrase may also come from JUKIGW_BACKUP_PASSPHRASE; docs/backup.md: new machine)
                 verify signature and every hash first; a non-empty D needs --force (moved aside)
  restore --cluster --in FILE --data-dir D --trust CERT... [--decrypt-key KEY.pem | --passphrase-file F]
                 cluster mode: a node behind the log's compaction, or a new node, takes the store of a
                 backup made on the active node (and its KEK file if D has none); everything else in D
                 stays the node's own; it reads the log on from the backup's position (docs/cluster.md)
  verify --in FILE [--trust CERT]... [--decrypt-key KEY.pem | --passphrase-file F] [--config FILE]
                 the checks restore makes, without writing (times in the configured ui.timeZone)
${onlineUsage('create goes (no stop: the snapshot is read from its open database)')}`;

const OPTIONS = {
  'data-dir': { type: 'string' },
  out: { type: 'string' },
  in: { type: 'string' },
  config: { type: 'string' },
  'encrypt-to': { type: 'string' },
  'passphrase-file': { type: 'string' },
  'decrypt-key': { type: 'string' },
  trust: { type: 'string', multiple: true },
  force: { type: 'boolean' },
  plaintext: { type: 'boolean' },
  cluster: { type: 'boolean' },
  ...ONLINE_OPTIONS,
} as const;

const fail = (msg: string, code = 1) => {
  process.stderr.write(`backup: ${msg}\n`);
  return code;
};

const PASSPHRASE_ENV = 'JUKIGW_BACKUP_PASSPHRASE';

/** The passphrase file's first line (a trailing newline from an editor is not part of it), else the environment. */
function passphrase(file: string | undefined): Buffer | undefined {
  const [text, from] = file ? [readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '', file] : [process.env[PASSPHRASE_ENV], PASSPHRASE_ENV];
  if (text === undefined || text === '') return undefined;
  if (text.length < 12) throw new Error(`${from}: passphrase shorter than 12 characters`);
  return Buffer.from(text, 'utf8');
}

/** --encrypt-to, else --passphrase-file, else the environment's passphrase; undefined: none given. */
function encryptionOf(v: Record<string, string | boolean | string[] | undefined>): { to: EncryptTo; label: string } | undefined {
  const recipient = v['encrypt-to'] as string | undefined;
  if (recipient) {
    const pem = readFileSync(recipient, 'utf8');
    return {
      to: { publicKeyPem: pem },
      label: pem.includes('BEGIN CERTIFICATE') ? 'to the recipient certificate' : 'to the recipient public key',
    };
  }
  const pass = passphrase(v['passphrase-file'] as string | undefined);
  return pass ? { to: { passphrase: pass }, label: 'passphrase' } : undefined;
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
  const out = v.out as string | undefined;
  if (!out) return fail(`create needs --out\nusage: ${USAGE}`, 2);
  if (v['encrypt-to'] && v['passphrase-file']) return fail('give --encrypt-to or --passphrase-file, not both', 2);
  const { createBackup, NO_KEY_MESSAGE, PLAINTEXT_WARNING } = await import('../../gateway/backup/create.js');
  if (v.plaintext && (v['encrypt-to'] || v['passphrase-file']))
    return fail('--plaintext writes an unencrypted backup: not with --encrypt-to or --passphrase-file', 2);
  const encryption = v.plaintext ? undefined : encryptionOf(v);
  if (!encryption && !v.plaintext) return fail(NO_KEY_MESSAGE, 2);
  const loaded = commandConfig(v.config as string | undefined);
  if (!loaded.ok) return fail(loaded.message);
  const dataDir = (v['data-dir'] as string | undefined) ?? loaded.config.dataDir;
  if (v['data-dir'] === undefined) process.stderr.write(dataDirLine('backup create', dataDir, loaded.source));
  if (!existsSync(dataDir)) return fail(`${dataDir}: no such data dir`);
  if (v.plaintext) process.stderr.write(`backup: warning: ${PLAINTEXT_WARNING}\n`);
  if (await applianceHolds(dataDir)) return createOnline(loaded.config, dataDir, out, encryption, v);
  const { plainLogger } = await import('../plainLog.js');
  const { createSigner } = await import('../../hsm/index.js');
  const logger = plainLogger('backup create');
  const bar = progressPrinter('backup');
  const made = await createBackup({
    dataDir,
    ...(encryption ? { encryptTo: encryption.to } : { plaintext: true }),
    signer: { open: () => createSigner(loaded.config.hsm, { dataDir, logger }) },
    onProgress: (done, total) => bar({ done, total }),
  });
  bar.end();
  writeFileSync(out, made.file, { mode: 0o600 });
  process.stdout.write(
    `backup written to ${out}: ${made.parts} parts, ${made.bytes} bytes, signed by kid ${made.kid}, ` +
      `${encryption ? `encrypted (AES-256-GCM, ${encryption.label})` : 'NOT encrypted'}` +
      `${made.leftOut.length ? `; left out: ${made.leftOut.join(', ')} (PIN files never go into a backup)` : ''}\n`,
  );
  return 0;
}

/** The running appliance makes the backup from its open database (a snapshot); the file comes back over the API. */
async function createOnline(
  config: ApplianceConfig,
  dataDir: string,
  out: string,
  encryption: { to: EncryptTo; label: string } | undefined,
  v: Record<string, string | boolean | string[] | undefined>,
): Promise<number> {
  const online = runningAppliance({ ...config, dataDir }, v);
  if ('error' in online) return fail(online.error);
  const api = online.api;
  const to = encryption?.to;
  const body = !to
    ? { plaintext: true }
    : 'passphrase' in to
      ? { passphrase: to.passphrase.toString('utf8') }
      : { recipientPem: to.publicKeyPem };
  const need = "a backup needs an admin account's token";
  const started = await api.call('POST', '/backup', body);
  if (started.status !== 202) return fail(refusal(started.status, started.json, need));
  const job = await followJob(api, started.json.job as Job, 'backup');
  if (job.state !== 'done') return fail(job.summary ?? 'the backup failed');
  const file = await api.download(`/jobs/${job.id}/backup`);
  if (file.status !== 200) return fail(refusal(file.status, file.json, need));
  writeFileSync(out, file.body, { mode: 0o600 });
  process.stdout.write(`backup written to ${out}: ${job.summary ?? ''} (made by the running appliance at ${api.url})\n`);
  return 0;
}

async function verifyOrRestore(sub: string, v: Record<string, string | boolean | string[] | undefined>): Promise<number> {
  const input = v.in as string | undefined;
  if (!input) return fail(`${sub} needs --in\nusage: ${USAGE}`, 2);
  if (sub === 'restore' && !v['data-dir']) return fail(`restore needs --data-dir\nusage: ${USAGE}`, 2);
  if (v.cluster && sub !== 'restore') return fail(`--cluster goes with restore only\nusage: ${USAGE}`, 2);
  if (v.cluster && v.force) return fail('--cluster replaces only the store (the old one is moved aside): --force does not apply', 2);
  // A node takes the whole store it will serve from this file: only a signer the operator names will do.
  if (v.cluster && !(v.trust as string[] | undefined)?.length)
    return fail("restore --cluster needs --trust CERT: the active node's signing certificate (or the CA that issued it)", 2);
  if (v.cluster && (await applianceHolds(v['data-dir'] as string)))
    return fail(`an appliance is running on ${String(v['data-dir'])}: stop this node first (systemctl stop juki-gw)`);
  const { verifyBackup, restoreBackup } = await import('../../gateway/backup/restore.js');
  const decryptWith = v['decrypt-key']
    ? { privateKeyPem: readFileSync(v['decrypt-key'] as string, 'utf8') }
    : (() => {
        const p = passphrase(v['passphrase-file'] as string | undefined);
        return p ? { passphrase: p } : undefined;
      })();
  const verified = verifyBackup(readFileSync(input), { decryptWith, trust: trustCerts(v.trust as string[] | undefined) });
  const who = `signed by "${verified.signerSubject}" (${verified.pinned ? 'pinned by --trust' : 'NOT pinned: give --trust CERT'})`;
  if (!verified.pinned)
    process.stderr.write(`backup: warning: signer not pinned; anyone can sign a backup with their own key (give --trust CERT)\n`);
  if (sub === 'verify') {
    const time = showTimeOf(v.config as string | undefined);
    if ('error' in time) return fail(time.error);
    process.stdout.write(
      `backup ok: ${verified.manifest.parts.length} parts of ${time(verified.manifest.createdAt)}, every hash matches; ${who}` +
        `${verified.manifest.cluster ? `; cluster log position ${verified.manifest.cluster.applied}` : ''}\n`,
    );
    return 0;
  }
  if (v.cluster) return restoreCluster(verified, v['data-dir'] as string, who);
  const r = await restoreBackup(verified, v['data-dir'] as string, { force: v.force === true });
  process.stdout.write(
    `restored ${r.records} database records and ${r.files} files into ${String(v['data-dir'])}; ${who}` +
      `${r.movedAside ? `; previous contents moved to ${r.movedAside}` : ''}\n`,
  );
  if (r.pinFileNeeded) {
    process.stdout.write(
      `the SoftHSM token was restored without its PIN: write its user PIN to ${r.pinFileNeeded} (mode 0600) before starting the appliance (docs/backup.md)\n`,
    );
  }
  return 0;
}

async function restoreCluster(verified: VerifiedBackup, dataDir: string, who: string): Promise<number> {
  const { restoreClusterStore } = await import('../../gateway/backup/clusterRestore.js');
  const r = await restoreClusterStore(verified, dataDir);
  process.stdout.write(
    `restored the store (${r.records} database records, log position ${r.applied}) into ${dataDir}/db; ${who}` +
      `${r.kekWritten ? '; the KEK file came from the backup (this node had none)' : ''}` +
      `${r.movedAside ? `; the node's previous store moved to ${r.movedAside} (delete it once the node follows)` : ''}\n` +
      `start the node: it applies the log from position ${r.applied + 1} on\n`,
  );
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
