// /api/v1 for what the CLI does offline — import, backup create, audit verify|export, queue
// retry|purge — on the running appliance (the CLI goes here when the appliance holds the data dir).
// Same roles and audit as the pages; long operations are jobs with progress (GET /jobs/:id).
import { rmSync } from 'node:fs';
import type { Hono } from 'hono';
import { actorOf, auditAs, refuseUnless, type UiContext, type UiEnv } from '../context.js';
import { OperationRefused, type OnlineOperations } from '../adapters/operations.js';
import type { Job } from '../adapters/jobs.js';
import { badRequest, jsonBody, notAvailable } from './util.js';

export const IMPORT_MAX_BYTES = 8 * 1024 ** 3;

const ops = (c: UiContext): OnlineOperations | undefined => c.get('deps').services.operations;
/** An operation the appliance refused (OperationRefused): audited under `action`, answered with its status. Anything else is rethrown. */
async function refusal(c: UiContext, action: string, e: unknown) {
  if (!(e instanceof OperationRefused)) throw e;
  await auditAs(c, action, 'refused', undefined, e.message);
  return c.json({ code: e.status === 409 ? 'conflict' : 'invalid_request', message: e.message, details: [] }, e.status);
}
const accepted = (c: UiContext, job: Job) => c.json({ job }, 202, { Location: `/api/v1/jobs/${job.id}` });

/** `seq` is a positive integer or "all". */
function seqOf(v: unknown): number | 'all' | undefined {
  if (v === 'all') return 'all';
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 ? v : undefined;
}

export function registerJobsApi(api: Hono<UiEnv>) {
  api.get('/jobs', async (c) => {
    const o = ops(c);
    return o ? c.json(o.jobs.list()) : notAvailable(c, 'jobs');
  });
  api.get('/jobs/:id', async (c) => {
    const job = ops(c)?.jobs.get(c.req.param('id'));
    return job
      ? c.json(job)
      : c.json(
          {
            code: 'not_found',
            message: `no job ${c.req.param('id')} (jobs live as long as the appliance run that started them)`,
            details: [],
          },
          404,
        );
  });

  api.post('/import', async (c) => {
    const refused = await refuseUnless(c, 'register.import', 'register.import');
    if (refused) return refused;
    const o = ops(c);
    if (!o) return notAvailable(c, 'register import');
    const q = (k: string) => c.req.query(k);
    const batch = q('batch') === undefined ? undefined : Number(q('batch'));
    if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 100_000))
      return badRequest(c, 'batch: expected an integer 1..100000');
    const common = { resume: q('resume') === '1', ...(batch ? { batchSize: batch } : {}) };
    try {
      let job: Job;
      if ((c.req.header('content-type') ?? '').startsWith('application/json')) {
        const b = await jsonBody(c);
        if (typeof b?.generate !== 'string')
          return badRequest(c, 'expected {"generate": "tsu|yokohama|mie|pref-NN|N", "count"?, "seed"?} or a CSV/JSONL body');
        if (b.count !== undefined && (!Number.isSafeInteger(b.count) || (b.count as number) < 1))
          return badRequest(c, 'count: expected a positive integer');
        if (b.seed !== undefined && typeof b.seed !== 'string') return badRequest(c, 'seed: expected a string');
        const { populationFromArg } = await import('../../sim/residents.js');
        try {
          populationFromArg(b.generate);
        } catch (e) {
          return badRequest(c, `generate: ${(e as Error).message}`);
        }
        job = o.startImport(
          {
            kind: 'generate',
            generate: b.generate,
            ...(b.count !== undefined ? { count: b.count as number } : {}),
            ...(typeof b.seed === 'string' ? { seed: b.seed } : {}),
            ...common,
          },
          actorOf(c),
        );
      } else {
        const format = q('format');
        if (format !== 'csv' && format !== 'jsonl') return badRequest(c, 'format: expected csv or jsonl');
        const name = (q('name') ?? 'extract').slice(0, 200);
        if (!c.req.raw.body) return badRequest(c, 'the request has no body: send the extract');
        // Refuse before the upload: a refused extract (personal data) must not land on the appliance.
        o.checkImportPossible();
        const path = await o.receiveUpload(c.req.raw.body, format);
        try {
          job = o.startImport({ kind: 'file', path, format, name, ...common }, actorOf(c));
        } catch (e) {
          if (!common.resume) rmSync(path, { force: true });
          throw e;
        }
      }
      await auditAs(c, 'register.import', 'ok', job.id, 'import started');
      return accepted(c, job);
    } catch (e) {
      return refusal(c, 'register.import', e);
    }
  });
  api.get('/jobs/:id/report', async (c) => {
    const refused = await refuseUnless(c, 'register.import', 'register.import.report');
    if (refused) return refused;
    const r = ops(c)?.importReport(c.req.param('id'));
    return r ? c.json(r) : c.json({ code: 'not_found', message: `no import job ${c.req.param('id')}`, details: [] }, 404);
  });

  api.post('/backup', async (c) => {
    const refused = await refuseUnless(c, 'config.backup', 'backup.create');
    if (refused) return refused;
    const o = ops(c);
    if (!o) return notAvailable(c, 'backup');
    const b = await jsonBody(c);
    const given = ['passphrase', 'recipientPem', 'plaintext'].filter((k) => b?.[k] !== undefined);
    if (given.length !== 1) return badRequest(c, 'expected exactly one of {"passphrase"}, {"recipientPem"} or {"plaintext": true}');
    if (b!.passphrase !== undefined && (typeof b!.passphrase !== 'string' || b!.passphrase.length < 12))
      return badRequest(c, 'passphrase: at least 12 characters');
    if (b!.recipientPem !== undefined && (typeof b!.recipientPem !== 'string' || !b!.recipientPem.includes('-----BEGIN')))
      return badRequest(c, 'recipientPem: a PEM certificate or public key');
    if (b!.plaintext !== undefined && b!.plaintext !== true) return badRequest(c, 'plaintext: only true');
    try {
      const job = o.startBackup(
        typeof b!.passphrase === 'string'
          ? { passphrase: b!.passphrase }
          : typeof b!.recipientPem === 'string'
            ? { recipientPem: b!.recipientPem }
            : { plaintext: true },
        actorOf(c),
      );
      await auditAs(c, 'backup.create', 'ok', job.id, `backup started${b!.plaintext ? ' (NOT encrypted, asked for)' : ''}`);
      return accepted(c, job);
    } catch (e) {
      return refusal(c, 'backup.create', e);
    }
  });
  api.get('/jobs/:id/backup', async (c) => {
    const refused = await refuseUnless(c, 'config.backup', 'backup.download');
    if (refused) return refused;
    const file = ops(c)?.takeBackup(c.req.param('id'));
    if (!file)
      return c.json(
        {
          code: 'not_found',
          message: `no backup file for job ${c.req.param('id')} (not finished, already downloaded, or older than 15 minutes)`,
          details: [],
        },
        404,
      );
    await auditAs(c, 'backup.download', 'ok', c.req.param('id'), `${file.length} bytes`);
    return c.body(new Uint8Array(file), 200, { 'Content-Type': 'application/octet-stream' });
  });

  api.post('/audit/verify', async (c) => {
    const refused = await refuseUnless(c, 'audit.view', 'audit.verify');
    if (refused) return refused;
    const o = ops(c);
    if (!o) return notAvailable(c, 'audit verification');
    const b = (await jsonBody(c)) ?? {};
    const kids = b.trustedKids;
    if (kids !== undefined && (!Array.isArray(kids) || !kids.every((k) => typeof k === 'string' && /^[A-Za-z0-9_-]{43}$/.test(k))))
      return badRequest(c, 'trustedKids: expected a list of kids (base64url SHA-256)');
    // Certificates (DER, base64) pin like `audit verify --cert`: a CA certificate pins what it issued.
    const certs = b.trustedCerts;
    if (certs !== undefined && (!Array.isArray(certs) || !certs.every((x) => typeof x === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(x))))
      return badRequest(c, 'trustedCerts: expected a list of DER certificates in base64');
    const job = o.startAuditVerify(
      { kids: kids as string[] | undefined, certs: (certs as string[] | undefined)?.map((x) => Buffer.from(x, 'base64')) },
      actorOf(c),
    );
    await auditAs(c, 'audit.verify', 'ok', job.id, 'verification started');
    return accepted(c, job);
  });
  api.post('/audit/export', async (c) => {
    const refused = await refuseUnless(c, 'audit.view', 'audit.export');
    if (refused) return refused;
    const o = ops(c);
    if (!o) return notAvailable(c, 'audit export');
    const b = await jsonBody(c);
    const before = typeof b?.before === 'string' ? Date.parse(b.before) : NaN;
    if (Number.isNaN(before)) return badRequest(c, 'before: an ISO 8601 date');
    try {
      const r = await o.auditExport(new Date(before));
      await auditAs(
        c,
        'audit.export',
        'ok',
        undefined,
        r ? `entries ${String(r.info.fromSeq)}..${String(r.info.toSeq)} sha256 ${String(r.info.sha256)}` : 'nothing to export',
      );
      return c.json(r ? { exported: r.info, segment: r.file.toString('base64') } : { exported: null });
    } catch (e) {
      await auditAs(c, 'audit.export', 'failed', undefined, (e as Error).message.slice(0, 500));
      return c.json({ code: 'conflict', message: (e as Error).message, details: [] }, 409);
    }
  });

  for (const op of ['retry', 'purge'] as const) {
    api.post(`/outbox/${op}`, async (c) => {
      const refused = await refuseUnless(c, 'queues.change', `queue.${op}`);
      if (refused) return refused;
      const o = ops(c);
      if (!o) return notAvailable(c, 'queues');
      const b = await jsonBody(c);
      const seq = seqOf(b?.seq);
      if (seq === undefined) return badRequest(c, 'seq: a sequence number (from "juki-gw queue list") or "all"');
      if (b!.dead !== undefined && typeof b!.dead !== 'boolean') return badRequest(c, 'dead: true or false');
      if (op === 'purge' && seq === 'all' && b!.confirm !== true)
        return badRequest(c, 'purging all needs {"confirm": true}: the messages are deleted for good');
      const dead = b!.dead === true;
      try {
        const n = await o.queue(op, seq, dead);
        await auditAs(c, `queue.${op}`, n > 0 || seq === 'all' ? 'ok' : 'failed', `${dead ? 'dead-letter ' : ''}${seq}`, `${n} message(s)`);
        return c.json({ count: n });
      } catch (e) {
        return refusal(c, `queue.${op}`, e);
      }
    });
  }
}
