import { parseCommandArgs } from '../args.js';
import { serve } from './start.js';

export const summary = 'broker --config FILE: run the MQTT broker alone (appliance ACL, or standalone mode for conformance suites)';

export const USAGE = 'juki-gw broker --config FILE';

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { config: { type: 'string', short: 'c' } }, USAGE);
  if (!parsed) return 2;
  const file = parsed.values.config;
  if (!file || parsed.positionals.length) {
    process.stderr.write(`usage: ${USAGE}\n`);
    return 2;
  }
  return serve(file, 'broker', ['broker', 'admin']);
}
