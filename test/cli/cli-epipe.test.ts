// `juki-gw config check --print | head`: the reader closes the pipe early; the CLI ends quietly
// (exit 0, nothing on stderr) instead of a stack trace about EPIPE.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'juki-gw.js');

describe('a closed stdout pipe', () => {
  it('ends config check --print quietly when the reader stops after its first bytes', async () => {
    // `head -c 1` reads one byte and exits: every later write of the CLI meets a closed pipe.
    const c = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bin}" config check --print | head -c 1 >/dev/null`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((r) => c.once('exit', (n) => r(n)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 60_000);
});
