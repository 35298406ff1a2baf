// juki-gw audit: verify the hash chain and checkpoint signatures, export closed segments, apply retention.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { commandConfig, dataDirLine } from '../commandConfig.js';
import { parseCommandArgs } from '../args.js';
import type { VerifyReport } from '../../gateway/audit/verify.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type { Job } from '../../admin-ui/adapters/jobs.js';
import { applianceHolds, followJob, ONLINE_OPTIONS, onlineUsage, refusal, runningAppliance } from '../online.js';
import { progressPrinter } from '../progress.js';
import { showTime } from '../time.js';

export const summary = 'audit verify|export|prune: check the audit chain and signatures, export closed segments, retention';

export const USAGE = `juki-gw audit <verify|export|prune> [options]
  verify [--data-dir D] [--cert FILE]... [--config FILE] [--json]
                              check chain and checkpoint signatures; name the first bad entry
  verify --segment FILE [--cert FILE]...      check an exported segment file on its own
  export [--data-dir D] --before DATE --out FILE
                              write the closed segment (up to the last checkpoint before DATE)
  prune [--config FILE] [--data-dir D] [--now DATE]
                              delete exported entries older than audit.retentionYears (signed anchor)
  Without --data-dir or --config: the configuration juki-gw start uses (embedded default: ./data,
  or JUKIGW_dataDir). --cert pins signing certificate(s) or the CA that issued them (PEM or DER);
  without --data-dir the configured certificate is pinned too. Keys the log hands over to or from a
  pinned key count as pinned.
${onlineUsage('verify and export go')}`;

const OPTIONS = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  cert: { type: 'string', multiple: true },
  segment: { type: 'string' },
  before: { type: 'string' },
  out: { type: 'string' },
  now: { type: 'string' },
  json: { type: 'boolean' },
  ...ONLINE_OPTIONS,
} as const;

const err = (msg: string, code = 2) => {
  process.stderr.write(`${msg}\n`);
  return code;
};

function parseDate(s: string | undefined, name: string): Date | string {
  if (s === undefined) return `${name}: required (ISO date, e.g. 2019-04-01 or 2019-04-01T00:00:00+09:00)`;
  const t = Date.parse(s);
  return Number.isNaN(t) ? `${name}: "${s}" is not a date (ISO 8601 expected)` : new Date(t);
}

/** The pinned certificates (DER): every certificate in each --cert file, and with --config the configured certificate. */
async function pinnedCerts(certFiles: string[] | undefined, configured: string[] = []): Promise<Buffer[] | undefined> {
  const { pemBlocks } = await import('../../hsm/index.js');
  const files = [...(certFiles ?? []), ...configured.filter((f) => existsSync(f))];
  if (files.length === 0) return undefined;
  return files.flatMap((f) => {
    const raw = readFileSync(f);
    const ders = raw.includes('-----BEGIN') ? pemBlocks(raw.toString('utf8')) : [raw];
    if (ders.length === 0) throw new Error(`${f}: no certificate found`);
    for (const der of ders) {
      try {
        new X509Certificate(der);
      } catch {
        throw new Error(`${f}: not a certificate (PEM or DER expected)`);
      }
    }
    return ders;
  });
}

async function openDb(dataDir: string) {
  const { openOfflineStore } = await import('../offlineStore.js');
  const path = join(dataDir, 'db');
  if (!existsSync(path)) throw new Error(`no appliance database at ${path}`);
  try {
    return await openOfflineStore(path, 'audit');
  } catch (e) {
    const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new Error(`cannot open ${path}: ${cause} (is the appliance running? verify a copy of the data dir)`);
  }
}

/** `pinHint`: what to pass when nothing could be pinned (the configured certificate's path, when known). */
function describe(r: VerifyReport, pinHint: string): string {
  const range = r.firstSeq === null ? '' : ` (${r.firstSeq}..${r.lastSeq})`;
  const pin = r.pinned ? 'pinned' : `NOT pinned: give ${pinHint}`;
  const base =
    `${r.entries} entries${range}, ${r.checkpoints} checkpoints, last signed ${r.lastCheckpointSeq ?? 'none'}, ` +
    `${r.unsignedTail} unsigned${r.prunedThrough !== null ? `, pruned through ${r.prunedThrough}` : ''}; signers ${r.signers.join(', ') || 'none'} (${pin})`;
  const keys = keyLines(r);
  if (r.ok) return `audit log ok: ${base}\n${keys}`;
  const lines = [`audit log BROKEN: first bad entry ${r.firstBad!.seq}: ${r.firstBad!.reason} — ${r.firstBad!.message}`];
  for (const i of r.issues.slice(1)) lines.push(`  also ${i.seq}: ${i.reason} — ${i.message}`);
  lines.push(`  ${base}`);
  return lines.join('\n') + '\n' + keys;
}

/** One line per signing key after the first: how it came in. */
function keyLines(r: VerifyReport): string {
  return r.keyHistory
    .slice(1)
    .map((e) =>
      e.handedOverAt !== undefined
        ? `  key ${e.kid} from checkpoint ${e.fromSeq}: handed over at entry ${e.handedOverAt} by the outgoing key\n`
        : `  key ${e.kid} from checkpoint ${e.fromSeq}: changed WITHOUT a handover${r.pinned ? (e.trusted ? ' (pinned itself)' : '') : ' — only pinning tells this from a forgery'}\n`,
    )
    .join('');
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (!parsed) return 2;
  const [sub] = parsed.positionals;
  const v = parsed.values;
  if (!sub || !['verify', 'export', 'prune'].includes(sub)) return err(`usage: ${USAGE}`);

  try {
    if (sub === 'verify' && v.segment !== undefined) {
      const { verifySegmentFile } = await import('../../gateway/audit/segmentFile.js');
      const pins = await pinnedCerts(v.cert);
      const r = await verifySegmentFile(v.segment, pins ? { trustedCerts: pins } : {});
      if (v.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else if (r.ok)
        process.stdout.write(
          `segment ok: entries ${r.fromSeq}..${r.toSeq}, ${r.checkpoints} checkpoints${pins ? '' : ' (signers NOT pinned: give --cert)'}\n`,
        );
      else process.stdout.write(`segment BROKEN at ${r.problem!.seq ?? '?'}: ${r.problem!.message}\n`);
      return r.ok ? 0 : 1;
    }
    // No --data-dir: the configuration `start` would use (--config, else the embedded default).
    const loaded = commandConfig(v.config);
    if (!loaded.ok && (v['data-dir'] === undefined || v.config !== undefined || sub === 'prune')) return err(loaded.message, 1);
    const config = loaded.ok ? loaded.config : undefined;
    const dataDir = v['data-dir'] ?? config!.dataDir;
    if (v['data-dir'] === undefined) process.stderr.write(dataDirLine(`audit ${sub}`, dataDir, (loaded as { source: string }).source));
    // The configured certificate is this data dir's own unless --data-dir names another one.
    const certFile = config ? (await import('../../hsm/index.js')).certificateFiles(config.hsm, dataDir).certFile : undefined;
    const configured = certFile && (v['data-dir'] === undefined || v.config !== undefined) ? [certFile] : [];
    const pinHint = certFile ? `--cert ${certFile}` : '--cert FILE or --config FILE';

    if ((sub === 'verify' || sub === 'export') && (await applianceHolds(dataDir)))
      return await auditOnline(sub, dataDir, config, configured, pinHint, v);
    if (sub === 'verify') {
      // Only the configured certificate itself: its CA may have issued certificates to other systems too.
      const pins = await pinnedCerts(v.cert, configured);
      const db = await openDb(dataDir);
      try {
        const { verifyAuditLog } = await import('../../gateway/audit/verify.js');
        const bar = progressPrinter('audit verify');
        const r = await verifyAuditLog(db, {
          ...(pins ? { trustedCerts: pins } : {}),
          onProgress: (done, total) => bar({ done, total, detail: `${done} entries` }),
        });
        bar.end();
        process.stdout.write(v.json ? JSON.stringify(r, null, 2) + '\n' : describe(r, pinHint));
        return r.ok ? 0 : 1;
      } finally {
        await db.close();
      }
    }

    if (sub === 'export') {
      const before = parseDate(v.before, '--before');
      if (typeof before === 'string') return err(before);
      if (!v.out) return err('export: give --out FILE');
      if (existsSync(v.out)) return err(`export: ${v.out} exists; refusing to overwrite`, 1);
      const db = await openDb(dataDir);
      try {
        const { exportSegment } = await import('../../gateway/audit/segment.js');
        const r = await exportSegment(db, { before, out: v.out });
        if (!r) {
          process.stdout.write(`nothing to export: no new signed checkpoint before ${showTime(config)(before)}\n`);
          return 0;
        }
        process.stdout.write(
          `exported entries ${r.fromSeq}..${r.toSeq} (${r.entries} entries, ${r.checkpoints} checkpoints) to ${r.file}\nsha256 ${r.sha256}\n`,
        );
        return 0;
      } finally {
        await db.close();
      }
    }

    // prune: needs the appliance's signer for the anchor.
    const now = v.now === undefined ? new Date() : parseDate(v.now, '--now');
    if (typeof now === 'string') return err(now);
    const { createSigner } = await import('../../hsm/index.js');
    const { plainLogger } = await import('../plainLog.js');
    const signer = await createSigner(config!.hsm, { dataDir, logger: plainLogger('audit prune') });
    const db = await openDb(dataDir);
    try {
      const { applyRetention } = await import('../../gateway/audit/segment.js');
      const r = await applyRetention(db, signer, { retentionYears: config!.audit.retentionYears, now, requireExported: true });
      process.stdout.write(r.deleted ? `pruned ${r.deleted} entries through ${r.prunedThrough}\n` : `nothing pruned: ${r.reason}\n`);
      return 0;
    } finally {
      await db.close();
      await signer.close();
    }
  } catch (e) {
    return err(`audit ${sub}: ${(e as Error).message}`, 1);
  }
}

/** verify / export through the running appliance's admin API (it holds the database). */
async function auditOnline(
  sub: 'verify' | 'export',
  dataDir: string,
  config: ApplianceConfig | undefined,
  configured: string[],
  pinHint: string,
  v: {
    cert?: string[] | undefined;
    before?: string | undefined;
    out?: string | undefined;
    json?: boolean | undefined;
    url?: string | undefined;
    'token-file'?: string | undefined;
    ca?: string | undefined;
  },
): Promise<number> {
  if (!config) return err(`audit ${sub}: the appliance holds ${dataDir}; give --config FILE so the CLI finds its admin API`, 1);
  const online = runningAppliance({ ...config, dataDir }, v);
  if ('error' in online) return err(`audit ${sub}: ${online.error}`, 1);
  const api = online.api;
  const need = "the audit log needs an auditor, security or admin account's token";
  if (sub === 'export') {
    const before = parseDate(v.before, '--before');
    if (typeof before === 'string') return err(before);
    if (!v.out) return err('export: give --out FILE');
    if (existsSync(v.out)) return err(`export: ${v.out} exists; refusing to overwrite`, 1);
    let r: Awaited<ReturnType<typeof api.call>>;
    try {
      r = await api.call('POST', '/audit/export', { before: before.toISOString() });
    } catch (e) {
      // The appliance may still finish: it keeps every segment it exports, so nothing is lost.
      return err(
        `audit export: ${(e as Error).message}; a segment the appliance finishes is kept on it under ${join(dataDir, 'audit-exports')}/`,
        1,
      );
    }
    if (r.status !== 200) return err(`audit export: ${refusal(r.status, r.json, need)}`, 1);
    const x = r.json.exported as { fromSeq: number; toSeq: number; entries: number; checkpoints: number; sha256: string } | null;
    if (!x) {
      process.stdout.write(`nothing to export: no new signed checkpoint before ${showTime(config)(before)}\n`);
      return 0;
    }
    writeFileSync(v.out, Buffer.from(String(r.json.segment), 'base64'), { mode: 0o600, flag: 'wx' });
    process.stdout.write(
      `exported entries ${x.fromSeq}..${x.toSeq} (${x.entries} entries, ${x.checkpoints} checkpoints) to ${v.out}\nsha256 ${x.sha256}\n${r.json.exported && typeof (r.json.exported as { keptAt?: unknown }).keptAt === 'string' ? `kept on the appliance: ${(r.json.exported as { keptAt: string }).keptAt}\n` : ''}`,
    );
    return 0;
  }
  const pins = await pinnedCerts(v.cert, configured);
  const started = await api.call('POST', '/audit/verify', pins ? { trustedCerts: pins.map((d) => d.toString('base64')) } : {});
  if (started.status !== 202) return err(`audit verify: ${refusal(started.status, started.json, need)}`, 1);
  const job = await followJob(api, started.json.job as Job, 'audit verify', (j) => `${j.done} entries`);
  const r = job.result as VerifyReport | undefined;
  if (!r) return err(`audit verify: ${job.summary ?? 'failed'}`, 1);
  process.stdout.write(v.json ? JSON.stringify(r, null, 2) + '\n' : describe(r, pinHint));
  return r.ok ? 0 : 1;
}
