// juki-gw import: load a register extract (CSV or JSONL, docs/import.md) or a generated population
// into the identity store, with a progress bar, a validation report and resume.
import { createReadStream, createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Job } from '../../admin-ui/adapters/jobs.js';
import { commandConfig, dataDirLine } from '../commandConfig.js';
import { parseCommandArgs } from '../args.js';
import { applianceHolds, followJob, ONLINE_OPTIONS, onlineUsage, refusal, runningAppliance } from '../online.js';
import { progressPrinter } from '../progress.js';
import type { AdminApi } from '../adminApi.js';

export const summary = 'import FILE | --generate tsu|yokohama|N: load a register extract (CSV/JSONL) into the identity store';

export const USAGE = `juki-gw import FILE [--format csv|jsonl] [--config FILE | --data-dir D] [--resume] [--report FILE] [--batch N]
juki-gw import --generate tsu|yokohama|mie|pref-NN|N [--count N] [--seed S] [--data-dir D] [--resume]
  FILE        register extract, one record per line (docs/import.md); the format follows the extension
  --report    where the validation report goes (JSONL: line, field, rule, message); default FILE.report.jsonl
  --resume    continue an interrupted import after its last committed line
  --config    the appliance's configuration (default): records sealed with its data keys, as it reads them
  --data-dir  a plain store (development, benchmarks): the appliance does not open it
${onlineUsage('the import goes')}
  It then runs inside the appliance (an admin token), which keeps serving meanwhile.`;

const OPTIONS = {
  format: { type: 'string' },
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  resume: { type: 'boolean' },
  report: { type: 'string' },
  batch: { type: 'string' },
  generate: { type: 'string' },
  count: { type: 'string' },
  seed: { type: 'string' },
  ...ONLINE_OPTIONS,
} as const;

const err = (msg: string, code = 2) => {
  process.stderr.write(`${msg}\n`);
  return code;
};

/** The import's progress with its counts (a bar on a terminal, a line every 5 % elsewhere). */
function importProgress(label: string) {
  const bar = progressPrinter(label);
  const started = Date.now();
  return Object.assign(
    (p: { done: number; total: number; lines: number; accepted: number; rejected: number }) => {
      const rate = Math.round(p.lines / Math.max(0.001, (Date.now() - started) / 1000));
      bar({
        done: p.done,
        total: p.total,
        detail: `${p.lines.toLocaleString('en')} lines, ${p.accepted.toLocaleString('en')} stored, ${p.rejected.toLocaleString('en')} rejected, ${rate.toLocaleString('en')}/s`,
      });
    },
    { end: bar.end },
  );
}

function printSummary(
  s: { lines: number; resumedFromLine: number; accepted: number; unchanged: number; rejected: number },
  secs: string,
  lastSeq: number,
): void {
  process.stdout.write(
    `${s.lines} lines${s.resumedFromLine ? ` (resumed after line ${s.resumedFromLine})` : ''}: ` +
      `${s.accepted} stored, ${s.unchanged} unchanged, ${s.rejected} rejected in ${secs} s; last 更新順番号 ${lastSeq}\n`,
  );
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (!parsed) return 2;
  const v = parsed.values;
  const [file, ...extra] = parsed.positionals;
  if (extra.length || (!file && !v.generate) || (file && v.generate)) return err(`usage: ${USAGE}`);
  const batch = v.batch === undefined ? undefined : Number(v.batch);
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 100_000))
    return err('--batch: expected an integer 1..100000');

  let dataDir = v['data-dir'];
  let config: import('../../config/schema/index.js').ApplianceConfig | undefined;
  if (!dataDir) {
    const loaded = commandConfig(v.config);
    if (!loaded.ok) return err(loaded.message, 1);
    config = loaded.config;
    dataDir = loaded.config.dataDir;
    process.stderr.write(dataDirLine('import', dataDir, loaded.source));
  }
  const { importFile, importGenerated, ImportError } = await import('../../gateway/cs/import/importer.js');
  const { formatOf } = await import('../../gateway/cs/import/format.js');
  const { openOfflineStore } = await import('../offlineStore.js');
  const { IdentityStore, IdentityStoreOpenError } = await import('../../gateway/cs/identityStore.js');

  let spec: import('../../sim/residents.js').PopulationSpec | undefined;
  let count = 0;
  let format: 'csv' | 'jsonl' | undefined;
  if (v.generate) {
    const { populationFromArg } = await import('../../sim/residents.js');
    try {
      ({ spec, count } = populationFromArg(v.generate));
    } catch (e) {
      return err(`--generate: ${(e as Error).message}`);
    }
    if (v.count !== undefined) {
      count = Number(v.count);
      if (!Number.isInteger(count) || count < 1) return err('--count: expected a positive integer');
    }
  } else {
    if (!existsSync(file!)) return err(`${file}: no such file`, 1);
    format = formatOf(file!, v.format);
    if (!format) return err(`${file}: give --format csv|jsonl (the extension does not tell)`);
  }

  if (config && (await applianceHolds(dataDir))) {
    const online = runningAppliance(config, v);
    if ('error' in online) return err(`import: ${online.error}`, 1);
    return importOnline(online.api, {
      file,
      format,
      spec: v.generate,
      count: v.count === undefined ? undefined : count,
      seed: v.seed,
      resume: v.resume === true,
      batch,
      report: v.report,
    });
  }
  mkdirSync(dataDir, { recursive: true });
  const dbPath = join(dataDir, 'db');
  let db;
  try {
    db = await openOfflineStore(dbPath, 'import');
  } catch (e) {
    const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    return err(
      `cannot open ${dbPath}: ${cause} (is the appliance running on it? give --config instead of --data-dir to import through the running appliance)`,
      1,
    );
  }
  const reportPath = v.report ?? (file ? `${file}.report.jsonl` : undefined);
  const report = reportPath ? createWriteStream(reportPath, { flags: v.resume ? 'a' : 'w' }) : undefined;
  let shown = 0;
  const onProblem = (p: { line: number; field: string; rule: string; message: string }) => {
    report?.write(JSON.stringify(p) + '\n');
    if (shown++ < 10)
      process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}line ${p.line}: ${p.field}: ${p.rule}: ${p.message}\n`);
  };
  let closeAtRest: (() => Promise<void>) | undefined;
  try {
    // Into an appliance's data dir (a configuration given) records are sealed and keyed exactly as
    // the appliance does (appliance/components/roles.ts); --data-dir alone writes a plain store.
    let storeOpts: Parameters<typeof IdentityStore.open>[1] = {};
    if (config) {
      const { openEncryptionAtRest } = await import('../../gateway/crypto/index.js');
      const atRest = await openEncryptionAtRest({ hsm: config.hsm, dataDir: config.dataDir, db });
      closeAtRest = () => atRest.close();
      storeOpts = {
        codec: atRest.keyring.valueEncoding('json'),
        indexKey: await atRest.keyring.secret('identity-index'),
        codeKey: await atRest.keyring.secret('identity-code'),
      };
    }
    const store = await IdentityStore.open(db, storeOpts);
    const bar = importProgress(file ? 'import' : `generate ${spec!.name}`);
    const opts = { resume: v.resume === true, onProblem, onProgress: bar, ...(batch ? { batchSize: batch } : {}) };
    const t0 = Date.now();
    const s = spec
      ? await importGenerated(db, store, spec, count, { ...opts, ...(v.seed ? { seed: v.seed } : {}) })
      : await importFile(db, store, file!, format!, opts);
    bar.end();
    printSummary(s, ((Date.now() - t0) / 1000).toFixed(1), store.lastSeq());
    if (s.rejected && reportPath) process.stdout.write(`validation report: ${reportPath}\n`);
    return s.rejected ? 1 : 0;
  } catch (e) {
    if (e instanceof ImportError || e instanceof IdentityStoreOpenError) return err(`\n${e.message}`, 1);
    throw e;
  } finally {
    await closeAtRest?.();
    await new Promise<void>((r) => (report ? report.end(() => r()) : r()));
    await db.close();
  }
}

/** The same import, run by the appliance on its live store: the extract is uploaded, the job followed. */
async function importOnline(
  api: AdminApi,
  o: {
    file: string | undefined;
    format: 'csv' | 'jsonl' | undefined;
    spec: string | undefined;
    count: number | undefined;
    seed: string | undefined;
    resume: boolean;
    batch: number | undefined;
    report: string | undefined;
  },
): Promise<number> {
  const t0 = Date.now();
  const query = new URLSearchParams({ ...(o.resume ? { resume: '1' } : {}), ...(o.batch ? { batch: String(o.batch) } : {}) });
  let started;
  try {
    if (o.file) {
      query.set('format', o.format!);
      query.set('name', basename(o.file));
      started = await api.upload(
        `/import?${query.toString()}`,
        createReadStream(o.file),
        o.format === 'csv' ? 'text/csv' : 'application/jsonl',
      );
    } else {
      started = await api.call('POST', `/import?${query.toString()}`, {
        generate: o.spec,
        ...(o.count !== undefined ? { count: o.count } : {}),
        ...(o.seed ? { seed: o.seed } : {}),
      });
    }
    if (started.status !== 202)
      return err(`import: ${refusal(started.status, started.json, "importing needs an admin account's token")}`, 1);
    const job = started.json.job as Job;
    process.stderr.write(`import running inside the appliance at ${api.url} (job ${job.id}); it keeps serving meanwhile\n`);
    const done = await followJob(api, job, o.file ? 'import' : `generate ${o.spec}`);
    const r = await api.call('GET', `/jobs/${job.id}/report`);
    // The report is a JSON array; the API client types every answer as an object.
    const report: unknown = r.json;
    const problems =
      r.status === 200 && Array.isArray(report) ? (report as Array<{ line: number; field: string; rule: string; message: string }>) : [];
    const reportPath = o.report ?? (o.file ? `${o.file}.report.jsonl` : undefined);
    if (reportPath) writeFileSync(reportPath, problems.map((p) => JSON.stringify(p) + '\n').join(''), { flag: o.resume ? 'a' : 'w' });
    for (const p of problems.slice(0, 10)) process.stderr.write(`line ${p.line}: ${p.field}: ${p.rule}: ${p.message}\n`);
    if (done.state !== 'done') return err(`import: ${done.summary ?? 'failed'}`, 1);
    const s = done.result as {
      lines: number;
      resumedFromLine: number;
      accepted: number;
      unchanged: number;
      rejected: number;
      lastSeq: number;
    };
    printSummary(s, ((Date.now() - t0) / 1000).toFixed(1), s.lastSeq);
    if (s.rejected && reportPath) process.stdout.write(`validation report: ${reportPath}\n`);
    return s.rejected ? 1 : 0;
  } catch (e) {
    return err(`import: ${(e as Error).message}`, 1);
  }
}
