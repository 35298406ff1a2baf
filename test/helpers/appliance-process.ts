// A real `juki-gw start` process (what systemd runs), for tests that need the appliance running as
// its own process: waits for its "appliance ready" log line and stops it by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface ApplianceProcess {
  pid: number;
  /** Every log line so far (pino JSON on stdout, anything on stderr). */
  log(): string;
  stop(): Promise<number | null>;
}

const bin = join(import.meta.dirname, '..', '..', 'bin', 'juki-gw.js');

/** `ready`: the log line that says the process is up (a cluster standby never logs "appliance ready"). */
export async function spawnAppliance(
  configFile: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 90_000,
  ready = /"msg":"appliance ready"/,
): Promise<ApplianceProcess> {
  const child: ChildProcess = spawn(process.execPath, [bin, 'start', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // A process the test SIGKILLed may be gone before its exit event has been seen here.
      try {
        process.kill(child.pid!, 'SIGTERM');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }
    return exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`appliance not ready in ${timeoutMs} ms:\n${out.slice(-3000)}`)), timeoutMs);
      const check = () => {
        if (ready.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`appliance exited (${code}) before ready:\n${out.slice(-3000)}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: child.pid!, log: () => out, stop };
}
