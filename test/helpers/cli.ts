// Runs the real `juki-gw` command in a child process (no in-process shortcut): what an operator types.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const bin = new URL('../../bin/juki-gw.js', import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `juki-gw ...args`; a non-zero exit is a result, not a throw. */
export async function jukiGw(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  try {
    const r = await run(process.execPath, [bin, ...args], {
      timeout: opts.timeoutMs ?? 60_000,
      env: opts.env ?? process.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}
