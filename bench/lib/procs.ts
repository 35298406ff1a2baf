// Child processes for the benchmark: spawn, wait for a line, read CPU time, stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  /** Resolves with the first stdout line matching `re`. */
  line(re: RegExp, timeoutMs: number): Promise<string>;
  stderr(): string;
}

export function start(cmd: string, args: string[]): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  proc.stdout.on('data', (d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr.on('data', (d) => {
    err += d;
  });
  proc.on('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  return {
    proc,
    stderr: () => err,
    line(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${cmd} ${args.join(' ')}: no ${re} within ${timeoutMs} ms; stderr: ${err.slice(-500)}`)),
          timeoutMs,
        );
        const check = (): void => {
          const m = out.split('\n').find((l) => re.test(l));
          if (m !== undefined) {
            clearTimeout(timer);
            resolve(m);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            clearTimeout(timer);
            reject(new Error(`${cmd} exited (${proc.exitCode ?? proc.signalCode}) before ${re}; stderr: ${err.slice(-500)}`));
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
  };
}

/** user+system CPU ms of a live process, from /proc (Linux). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11], [12] = utime, stime (clock ticks; 100 Hz on Linux)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function stop(c: Child, timeoutMs = 5000): Promise<void> {
  const p = c.proc;
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}
