// juki-gw provision export: 情報提供等記録 (records of information queries and answers) as JSON lines,
// for the operator (番号法: kept and shown on request). Reads the data dir while the appliance is
// stopped, or a copy of it (LevelDB admits one process).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { commandConfig, dataDirLine } from '../commandConfig.js';
import { parseCommandArgs } from '../args.js';

export const summary = 'provision export: 情報提供等記録 (information queries and answers) as JSON lines';

export const USAGE = `juki-gw provision export [--data-dir D | --config FILE] --out FILE [--from DATE] [--to DATE]
  (neither: the configuration juki-gw start uses, embedded default ./data or JUKIGW_dataDir)
  writes the records with from <= time < to, oldest first, one JSON object a line; never overwrites FILE`;

const OPTIONS = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  out: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
} as const;

const err = (msg: string, code = 2) => {
  process.stderr.write(`${msg}\n`);
  return code;
};

function parseDate(s: string | undefined, name: string): Date | string | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? `${name}: "${s}" is not a date (ISO 8601 expected)` : new Date(t);
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (!parsed) return 2;
  const v = parsed.values;
  if (parsed.positionals[0] !== 'export' || parsed.positionals.length !== 1) return err(`usage: ${USAGE}`);
  if (v['data-dir'] !== undefined && v.config !== undefined) return err('export: give --data-dir D or --config FILE, not both');
  if (!v.out) return err('export: give --out FILE');
  let dataDir = v['data-dir'];
  if (dataDir === undefined) {
    const loaded = commandConfig(v.config);
    if (!loaded.ok) return err(loaded.message, 1);
    dataDir = loaded.config.dataDir;
    process.stderr.write(dataDirLine('provision export', dataDir, loaded.source));
  }
  const from = parseDate(v.from, '--from');
  const to = parseDate(v.to, '--to');
  if (typeof from === 'string') return err(from);
  if (typeof to === 'string') return err(to);
  // An empty period would export nothing and look like a success.
  if (from && to && from.getTime() >= to.getTime()) return err(`export: --from ${v.from} is not before --to ${v.to}`);
  if (existsSync(v.out)) return err(`export: ${v.out} exists; refusing to overwrite`, 1);
  const path = join(dataDir, 'db');
  if (!existsSync(path)) return err(`export: no appliance database at ${path}`, 1);
  const { openOfflineStore } = await import('../offlineStore.js');
  let db;
  try {
    db = await openOfflineStore(path, 'provision export');
  } catch (e) {
    const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    return err(`export: cannot open ${path}: ${cause} (is the appliance running? export from a copy of the data dir)`, 1);
  }
  try {
    const { openProvisionRecords } = await import('../../gateway/provision/index.js');
    // Retention plays no part in reading; the running appliance applies it.
    const n = await openProvisionRecords(db, { retentionYears: 100 }).exportJsonLines(v.out, {
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
    });
    process.stdout.write(`exported ${n} 情報提供等記録 to ${v.out}\n`);
    return 0;
  } catch (e) {
    return err(`provision export: ${(e as Error).message}`, 1);
  } finally {
    await db.close();
  }
}
