// juki-gw import: load a register extract (CSV or JSONL, docs/import.md) or a generated population
// into the identity store, with a progress bar, a validation report and resume.
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblems, loadConfig } from '../../config/load.js';
import { parseCommandArgs } from '../args.js';

export const summary = 'import FILE | --generate tsu|yokohama|N: load a register extract (CSV/JSONL) into the identity store';

export const USAGE = `juki-gw import FILE [--format csv|jsonl] [--config FILE | --data-dir D] [--resume] [--report FILE] [--batch N]
juki-gw import --generate tsu|yokohama|mie|pref-NN|N [--count N] [--seed S] [--data-dir D] [--resume]
  FILE        register extract, one record per line (docs/import.md); the format follows the extension
  --report    where the validation report goes (JSONL: line, field, rule, message); default FILE.report.jsonl
  --resume    continue an interrupted import after its last committed line
  --config    the appliance's configuration (default): records sealed with its data keys, as it reads them
  --data-dir  a plain store (development, benchmarks): the appliance does not open it`;

const OPTIONS = {
  format: { type: 'string' }, 'data-dir': { type: 'string' }, config: { type: 'string' }, resume: { type: 'boolean' },
  report: { type: 'string' }, batch: { type: 'string' }, generate: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' },
} as const;

const err = (msg: string, code = 2) => { process.stderr.write(`${msg}\n`); return code; };

/** A bar on a terminal; elsewhere (logs, CI) a percentage line every 5 %. */
function progressPrinter(label: string) {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let lastStep = -1;
  return (p: { done: number; total: number; lines: number; accepted: number; rejected: number }) => {
    const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 100;
    const rate = Math.round(p.lines / Math.max(0.001, (Date.now() - started) / 1000));
    const stats = `${p.lines.toLocaleString('en')} lines, ${p.accepted.toLocaleString('en')} stored, ${p.rejected.toLocaleString('en')} rejected, ${rate.toLocaleString('en')}/s`;
    if (tty) {
      const width = 30;
      const fill = Math.round((pct / 100) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct.toFixed(1).padStart(5)}% ${stats}\x1b[K`);
    } else if (Math.floor(pct / 5) > lastStep) {
      lastStep = Math.floor(pct / 5);
      process.stderr.write(`${label} ${pct.toFixed(0)}% ${stats}\n`);
    }
  };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (!parsed) return 2;
  const v = parsed.values;
  const [file, ...extra] = parsed.positionals;
  if (extra.length || (!file && !v.generate) || (file && v.generate)) return err(`usage: ${USAGE}`);
  const batch = v.batch === undefined ? undefined : Number(v.batch);
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 100_000)) return err('--batch: expected an integer 1..100000');

  let dataDir = v['data-dir'];
  let config: import('../../config/schema/index.js').ApplianceConfig | undefined;
  if (!dataDir) {
    const loaded = loadConfig(v.config);
    if (!loaded.ok) return err(formatProblems(loaded.problems), 1);
    config = loaded.config;
    dataDir = loaded.config.dataDir;
  }
  const { importFile, importGenerated, ImportError } = await import('../../gateway/cs/import/importer.js');
  const { formatOf } = await import('../../gateway/cs/import/format.js');
  const { openApplianceDb } = await import('../../gateway/store/db.js');
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

  mkdirSync(dataDir, { recursive: true });
  const dbPath = join(dataDir, 'db');
  let db;
  try {
    db = await openApplianceDb(dbPath);
  } catch (e) {
    const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    return err(`cannot open ${dbPath}: ${cause} (is the appliance running? import while it is stopped)`, 1);
  }
  const reportPath = v.report ?? (file ? `${file}.report.jsonl` : undefined);
  const report = reportPath ? createWriteStream(reportPath, { flags: v.resume ? 'a' : 'w' }) : undefined;
  let shown = 0;
  const onProblem = (p: { line: number; field: string; rule: string; message: string }) => {
    report?.write(JSON.stringify(p) + '\n');
    if (shown++ < 10) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}line ${p.line}: ${p.field}: ${p.rule}: ${p.message}\n`);
  };
  let closeAtRest: (() => Promise<void>) | undefined;
  try {
    // Into an appliance's data dir (a configuration given) records are sealed and keyed exactly as
    // the appliance does (gateway/appliance/components.ts); --data-dir alone writes a plain store.
    let storeOpts: Parameters<typeof IdentityStore.open>[1] = {};
    if (config) {
      const { openEncryptionAtRest } = await import('../../gateway/crypto/index.js');
      const atRest = await openEncryptionAtRest({ hsm: config.hsm, dataDir: config.dataDir, db });
      closeAtRest = () => atRest.close();
      storeOpts = { codec: atRest.keyring.valueEncoding('json'), indexKey: await atRest.keyring.secret('identity-index'), codeKey: await atRest.keyring.secret('identity-code') };
    }
    const store = await IdentityStore.open(db, storeOpts);
    const opts = { resume: v.resume === true, onProblem, onProgress: progressPrinter(file ? 'import' : `generate ${spec!.name}`), ...(batch ? { batchSize: batch } : {}) };
    const t0 = Date.now();
    const s = spec
      ? await importGenerated(db, store, spec, count, { ...opts, ...(v.seed ? { seed: v.seed } : {}) })
      : await importFile(db, store, file!, format!, opts);
    if (process.stderr.isTTY) process.stderr.write('\n');
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    process.stdout.write(`${s.lines} lines${s.resumedFromLine ? ` (resumed after line ${s.resumedFromLine})` : ''}: ` +
      `${s.accepted} stored, ${s.unchanged} unchanged, ${s.rejected} rejected in ${secs} s; last 更新順番号 ${store.lastSeq()}\n`);
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
