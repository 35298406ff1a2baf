// juki-gw sim: every simulated upstream node (prefecture, national, card, ims, NWS, other municipalities'
// CS) against a real upstream broker, with a deterministic synthetic population. SIMULATED: not J-LIS.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isValidLgCode } from '../../domain/identifiers.js';
import { createLogger } from '../../platform/log/logger.js';
import type { SimPerson } from '../../sim/directory.js';
import { generateResidents, populationSpec } from '../../sim/residents.js';
import { startSimulators } from '../../sim/run.js';
import { parseCommandArgs } from '../args.js';

export const summary = 'sim --broker URL: run the simulated upstream nodes (prefecture, national, card, ims, NWS, other CS) on a broker';

export const USAGE = `juki-gw sim --broker mqtt://HOST:PORT [--pki DIR] [--served 242012,...] [--others 242021,141011]
             [--population mie:10000,yokohama:1000] [--seed S] [--tls-cert F --tls-key F --tls-ca F]`;

/** "mie:10000,yokohama" → [spec, count] pairs; a bare name takes the population's reference size. */
export function parsePopulations(arg: string): { name: string; count: number }[] {
  return arg
    .split(',')
    .filter(Boolean)
    .map((part) => {
      const [name, n] = part.split(':');
      const spec = populationSpec(name!);
      const count = n === undefined ? spec.size : Number(n);
      if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`population "${part}": the size must be a whole number`);
      return { name: name!, count };
    });
}

function codes(arg: string, what: string): string[] {
  const list = arg
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const c of list)
    if (!isValidLgCode(c)) throw new RangeError(`--${what}: "${c}" is not a valid 全国地方公共団体コード (6 digits with check digit)`);
  return list;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    args,
    {
      broker: { type: 'string' },
      pki: { type: 'string' },
      served: { type: 'string' },
      others: { type: 'string' },
      population: { type: 'string' },
      seed: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
    },
    USAGE,
  );
  if (!parsed) return 2;
  const v = parsed.values;
  if (!v.broker) {
    process.stderr.write(`juki-gw sim: --broker is required\nusage: ${USAGE}\n`);
    return 2;
  }
  let served: string[], others: string[], populations: { name: string; count: number }[];
  try {
    served = codes(v.served ?? '242012', 'served');
    others = codes(v.others ?? '242021,141011', 'others');
    populations = parsePopulations(v.population ?? 'mie:1000,yokohama:1000');
  } catch (e) {
    process.stderr.write(`juki-gw sim: ${(e as Error).message}\nusage: ${USAGE}\n`);
    return 2;
  }
  const tlsParts = [v['tls-cert'], v['tls-key'], v['tls-ca']];
  if (tlsParts.some(Boolean) && !tlsParts.every(Boolean)) {
    process.stderr.write('juki-gw sim: give --tls-cert, --tls-key and --tls-ca together\n');
    return 2;
  }
  const tls = v['tls-cert']
    ? { cert: readFileSync(v['tls-cert']), key: readFileSync(v['tls-key']!), ca: readFileSync(v['tls-ca']!) }
    : undefined;
  const pkiDir = resolve(v.pki ?? './sim-pki');
  const logger = createLogger({ name: 'juki-gw-sim' });
  function* people(): Generator<SimPerson> {
    for (const p of populations) for (const r of generateResidents(p.name, { count: p.count, seed: v.seed ?? 'juki-gw-sim' })) yield r;
  }
  let sims;
  try {
    sims = await startSimulators({
      brokerUrl: v.broker,
      pkiDir,
      servedCodes: served,
      otherMunicipalities: others,
      people: people(),
      tls,
      logger,
    });
  } catch (e) {
    process.stderr.write(`juki-gw sim: cannot start: ${(e as Error).message}\n`);
    return 1;
  }
  logger.warn(
    { broker: v.broker, nodes: [...sims.nodes.keys()], population: populations },
    'SIMULATED upstream nodes running (synthetic people, simulated CA: not J-LIS)',
  );
  process.stdout.write(
    [
      `simulated upstream CA: ${join(pkiDir, 'ca', 'ca.pem')} (configure it as trust.anchors of the appliance)`,
      `simulator signing certificates: ${join(pkiDir, 'peers')}/*.pem`,
      `certify the appliance's key: juki-gw keys csr ..., then juki-gw pki sign --dir ${join(pkiDir, 'ca')} --csr FILE --kind signing --cn lg:${served[0]} --out ${join(pkiDir, 'peers', `lg_${served[0]}.pem`)}`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((r) => {
    process.once('SIGINT', r);
    process.once('SIGTERM', r);
  });
  await sims.close();
  return 0;
}
