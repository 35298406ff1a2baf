// What `juki-gw import | backup create | audit verify|export | queue retry|purge` do offline, done by
// the running appliance on its open database (LevelDB admits one process), so none of them needs a
// stop: the import writes through the live identity store while the CS keeps answering, the backup
// reads one snapshot iterator, verification reads while appends go on.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TokenSigner } from '../../hsm/index.js';
import type { Db } from '../../platform/store/db.js';
import type { IdentityStore } from '../../gateway/cs/identityStore.js';
import type { Outbox } from '../../gateway/uplink/index.js';
import type { ImportProblem } from '../../gateway/cs/import/format.js';
import type { Actor, AuditEvent } from '../services.js';
import { JobRegistry, type Job } from './jobs.js';

export type ImportRequest =
  | { kind: 'file'; path: string; format: 'csv' | 'jsonl'; name: string; resume: boolean; batchSize?: number }
  | { kind: 'generate'; generate: string; count?: number; seed?: string; resume: boolean; batchSize?: number };

export type BackupRequest = { passphrase: string } | { recipientPem: string } | { plaintext: true };

/** A request the appliance cannot take as given: the message says why (HTTP 409 or 422). */
export class OperationRefused extends Error {
  constructor(
    message: string,
    readonly status: 409 | 422 = 422,
  ) {
    super(message);
    this.name = 'OperationRefused';
  }
}

export interface OperationsDeps {
  db: Db;
  dataDir: string;
  signer: TokenSigner;
  outbox?: Outbox;
  /** The CS role's live identity store (undefined until the roles have started). */
  identityStore: () => IdentityStore | undefined;
  audit: (e: AuditEvent) => Promise<void>;
  /** Cluster mode: keeps the replicated log after the position a backup is about to reflect (a node restored from it reads on from there). */
  holdLogForCopy?: () => Promise<number>;
}

const MAX_REPORTED_PROBLEMS = 10_000;
const BACKUP_KEPT_MS = 15 * 60_000;

export function onlineOperations(d: OperationsDeps) {
  const jobs = new JobRegistry();
  const reports = new Map<string, ImportProblem[]>();
  const backups = new Map<string, Buffer>();
  const uploads = join(d.dataDir, 'imports');
  const finished = (action: string, actor: Actor, target?: string) => (job: Job) =>
    d.audit({
      action,
      actor: actor.user,
      role: actor.role,
      via: actor.via,
      outcome: job.state === 'done' ? 'ok' : 'failed',
      target: target ?? job.id,
      detail: `job ${job.id}: ${job.summary ?? ''}`.slice(0, 500),
    });

  return {
    jobs,

    /**
     * Streams an uploaded extract into dataDir/imports/<sha256>.<format>. The same extract uploaded
     * again keeps the first file (and its modification time), so --resume finds its checkpoint.
     */
    async receiveUpload(body: ReadableStream<Uint8Array>, format: 'csv' | 'jsonl'): Promise<string> {
      mkdirSync(uploads, { recursive: true, mode: 0o700 });
      const partial = join(uploads, `.upload-${randomUUID()}`);
      const hash = createHash('sha256');
      // why: hono hands the body as the global ReadableStream type, Readable.fromWeb takes node:stream/web's (the same object at run time).
      const src = Readable.fromWeb(body as never);
      src.on('data', (c: Buffer) => hash.update(c));
      try {
        await pipeline(src, createWriteStream(partial, { mode: 0o600 }));
      } catch (e) {
        rmSync(partial, { force: true });
        throw e;
      }
      const path = join(uploads, `${hash.digest('hex')}.${format}`);
      if (existsSync(path)) rmSync(partial);
      else renameSync(partial, path);
      return path;
    },

    /** Throws OperationRefused when an import cannot start now (no CS role, or one already running). */
    checkImportPossible(): IdentityStore {
      const store = d.identityStore();
      if (!store) throw new OperationRefused('the CS role is not running on this appliance: nothing to import into', 409);
      const other = jobs.running('import');
      if (other) throw new OperationRefused(`an import is already running (job ${other.id}, by ${other.by})`, 409);
      return store;
    },

    startImport(req: ImportRequest, actor: Actor): Job {
      const store = this.checkImportPossible();
      const problems: ImportProblem[] = [];
      const label = req.kind === 'file' ? req.name : `generated ${req.generate}`;
      const job = jobs.start(
        'import',
        actor.user,
        req.kind === 'file' ? 'bytes' : 'records',
        async (ctl) => {
          const { importFile, importGenerated } = await import('../../gateway/cs/import/importer.js');
          const opts = {
            resume: req.resume,
            ...(req.batchSize ? { batchSize: req.batchSize } : {}),
            onProblem: (p: ImportProblem) => {
              if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(p);
            },
            onProgress: (p: { done: number; total: number }) => ctl.progress(p.done, p.total),
          };
          let s;
          if (req.kind === 'file') {
            s = await importFile(d.db, store, req.path, req.format, opts);
            // The extract holds personal data: it does not stay on the appliance once imported.
            rmSync(req.path, { force: true });
          } else {
            const { populationFromArg } = await import('../../sim/residents.js');
            const { spec, count } = populationFromArg(req.generate);
            s = await importGenerated(d.db, store, spec, req.count ?? count, { ...opts, ...(req.seed ? { seed: req.seed } : {}) });
          }
          return {
            summary: `${label}: ${s.lines} lines${s.resumedFromLine ? ` (resumed after line ${s.resumedFromLine})` : ''}: ${s.accepted} stored, ${s.unchanged} unchanged, ${s.rejected} rejected; last 更新順番号 ${store.lastSeq()}`,
            result: { ...s, lastSeq: store.lastSeq() },
          };
        },
        finished('register.import', actor, label),
      );
      reports.set(job.id, problems);
      return job;
    },

    importReport(id: string): ImportProblem[] | undefined {
      return reports.get(id);
    },

    startBackup(req: BackupRequest, actor: Actor): Job {
      const other = jobs.running('backup');
      if (other) throw new OperationRefused(`a backup is already running (job ${other.id}, by ${other.by})`, 409);
      const encryptTo =
        'passphrase' in req
          ? { passphrase: Buffer.from(req.passphrase, 'utf8') }
          : 'recipientPem' in req
            ? { publicKeyPem: req.recipientPem }
            : undefined;
      const job = jobs.start(
        'backup',
        actor.user,
        'bytes',
        async (ctl) => {
          const { createBackup } = await import('../../gateway/backup/create.js');
          // A backup is made even when the log cannot be held (etcd unreachable): it is also the disaster copy.
          const notHeld = await d.holdLogForCopy?.().then(
            () => '',
            (e: Error) => `; the log was not held for a node restored from it (${e.message})`,
          );
          const made = await createBackup({
            dataDir: d.dataDir,
            signer: d.signer,
            db: d.db,
            ...(encryptTo ? { encryptTo } : { plaintext: true }),
            onProgress: (done, total) => ctl.progress(done, total),
          });
          backups.set(job.id, made.file);
          setTimeout(() => backups.delete(job.id), BACKUP_KEPT_MS).unref();
          return {
            summary:
              `${made.parts} parts, ${made.bytes} bytes, signed by kid ${made.kid}, ${encryptTo ? `encrypted (AES-256-GCM, ${'passphrase' in req ? 'passphrase' : 'to the recipient'})` : 'NOT encrypted'}` +
              `${made.leftOut.length ? `; left out: ${made.leftOut.join(', ')} (PIN files never go into a backup)` : ''}` +
              `${made.clusterApplied === undefined ? '' : `; cluster log position ${made.clusterApplied}${notHeld ?? ''}`}`,
            // bytes: the data backed up (files and database records); fileBytes: the archive written (signed, sealed).
            result: {
              parts: made.parts,
              bytes: made.bytes,
              kid: made.kid,
              leftOut: made.leftOut,
              encrypted: encryptTo !== undefined,
              encryption: encryptTo ? ('passphrase' in req ? 'passphrase' : 'recipient') : null,
              fileBytes: made.file.length,
              clusterApplied: made.clusterApplied ?? null,
            },
          };
        },
        finished('backup.create', actor),
      );
      return job;
    },

    /** The backup file of a finished job, handed out once (it is not kept on the appliance). */
    takeBackup(id: string): Buffer | undefined {
      const f = backups.get(id);
      backups.delete(id);
      return f;
    },

    startAuditVerify(pins: { kids?: string[] | undefined; certs?: Uint8Array[] | undefined }, actor: Actor): Job {
      return jobs.start(
        'audit.verify',
        actor.user,
        'entries',
        async (ctl) => {
          const { verifyAuditLog } = await import('../../gateway/audit/verify.js');
          const r = await verifyAuditLog(d.db, {
            ...(pins.kids?.length ? { trustedKids: pins.kids } : {}),
            ...(pins.certs?.length ? { trustedCerts: pins.certs } : {}),
            onProgress: (done, total) => ctl.progress(done, total),
          });
          ctl.progress(r.entries, r.entries);
          return {
            ok: r.ok,
            result: r,
            summary: r.ok
              ? `${r.entries} entries, ${r.checkpoints} checkpoints, chain intact${r.pinned ? '' : ' (signers not pinned)'}`
              : `first bad entry ${r.firstBad!.seq}: ${r.firstBad!.reason} — ${r.firstBad!.message}`,
          };
        },
        finished('audit.verify', actor, 'audit log'),
      );
    },

    /**
     * The closed segment before `before`. The export mark (recorded in the appliance's db, as offline)
     * moves past these entries and retention may later delete them, so the segment is kept on the
     * appliance (dataDir/audit-exports/, the file the mark names) and not only sent in the answer: an
     * answer lost on the way (a client that gave up waiting) loses no entry.
     */
    async auditExport(before: Date): Promise<{ file: Buffer; info: Record<string, unknown> } | null> {
      const { exportSegment } = await import('../../gateway/audit/segment.js');
      const dir = join(d.dataDir, 'audit-exports');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const r = await exportSegment(d.db, {
        before,
        out: join(dir, `segment-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.jsonl`),
      });
      if (!r) return null;
      const file = readFileSync(r.file);
      return {
        file,
        info: {
          fromSeq: r.fromSeq,
          toSeq: r.toSeq,
          entries: r.entries,
          checkpoints: r.checkpoints,
          sha256: r.sha256,
          bytes: statSync(r.file).size,
          keptAt: r.file,
        },
      };
    },

    /** The live outbox, read by `juki-gw queue list|show` (api/outbox.ts). */
    outbox(): Outbox | undefined {
      return d.outbox;
    },

    /** `juki-gw queue retry|purge SEQ|all [--dead]` on the live outbox; returns how many. */
    async queue(op: 'retry' | 'purge', seq: number | 'all', dead: boolean): Promise<number> {
      const outbox = d.outbox;
      if (!outbox) throw new OperationRefused('no upstream outbox on this appliance', 409);
      if (op === 'purge') return outbox.purge(seq, { dead });
      const seqs = seq === 'all' ? (await outbox.list({ dead, limit: Number.MAX_SAFE_INTEGER })).map((s) => s.seq) : [seq];
      let n = 0;
      for (const s of seqs) if (await outbox.retry(s, { dead })) n++;
      return n;
    },
  };
}

export type OnlineOperations = ReturnType<typeof onlineOperations>;
