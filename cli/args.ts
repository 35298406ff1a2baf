import { parseArgs, type ParseArgsConfig } from 'node:util';

/** node:util parseArgs with a usage error instead of a stack trace. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nusage: ${usage}\n`);
    return undefined;
  }
}
