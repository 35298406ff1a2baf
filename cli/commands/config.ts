import { formatProblems, loadConfig } from '../../config/load.js';
import { parseCommandArgs } from '../args.js';

export const summary =
  'config check [FILE] [--print]: validate a configuration (default: the embedded one with JUKIGW_ overrides), print every problem with its path; --print: the effective configuration as JSON';

export const USAGE = 'juki-gw config check [FILE] [--print]';

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { print: { type: 'boolean' } }, USAGE);
  if (!parsed) return 2;
  const [sub, file] = parsed.positionals;
  if (sub !== 'check') {
    process.stderr.write(`usage: ${USAGE}\n`);
    return 2;
  }
  const r = loadConfig(file);
  if (!r.ok) {
    process.stderr.write(formatProblems(r.problems) + '\n');
    process.stderr.write(`${r.problems.length} problem(s) in ${file ?? 'the embedded default'}\n`);
    return 1;
  }
  if (parsed.values.print) process.stdout.write(JSON.stringify(r.config, null, 2) + '\n');
  process.stdout.write(`ok: ${file ?? 'embedded default'} is valid\n`);
  return 0;
}
