// A one-shot command's log (`keys list`, `backup create` …) is read by the person at the terminal,
// not by the journal: warnings come out as sentences on stderr, never as JSON lines.
import { pino, type Logger } from 'pino';
import { REDACT_PATHS } from '../platform/log/logger.js';

const LEVELS: Record<number, string> = { 40: 'warning', 50: 'error', 60: 'fatal' };

/** `keys: warning: <message> (field: value, …)` for each warn-or-worse record. */
export function plainLine(command: string, jsonLine: string): string {
  const { level, msg, time: _t, pid: _p, name: _n, hostname: _h, ...fields } = JSON.parse(jsonLine) as Record<string, unknown>;
  // A field that only repeats the message adds nothing to a sentence.
  const extra = Object.entries(fields)
    .filter(([, v]) => !(typeof v === 'string' && String(msg).includes(v)))
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return `${command}: ${LEVELS[Number(level)] ?? 'note'}: ${String(msg ?? '')}${extra ? ` (${extra})` : ''}\n`;
}

export function plainLogger(command: string, stream: { write(s: string): unknown } = process.stderr): Logger {
  return pino(
    { level: 'warn', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    {
      write: (line: string) => {
        stream.write(plainLine(command, line));
      },
    },
  );
}
