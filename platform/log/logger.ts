import { pino, type Logger } from 'pino';

/** Paths that may carry secrets or personal data; pino replaces them before anything is written. */
export const REDACT_PATHS = [
  'pin',
  '*.pin',
  'password',
  '*.password',
  'passphrase',
  '*.passphrase',
  'authorization',
  '*.authorization',
  'cookie',
  '*.cookie',
  'body',
  '*.body',
  'payload',
  '*.payload',
];

export function createLogger(opts: { level?: string; name?: string; destination?: number | string } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'juki-gw',
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    pino.destination(opts.destination ?? 1),
  );
}

export type { Logger };
