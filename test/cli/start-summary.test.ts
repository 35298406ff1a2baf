// `juki-gw start` on a terminal: a short human summary once the appliance is ready (UI URL, the
// first-run admin password — once —, development passwords, listeners, simulated upstreams), next to
// the JSON log lines; without a terminal only JSON (unless --summary).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';
import { alive, descendants } from '../helpers/descendants.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'juki-gw.js');

describe('start-up summary', () => {
  const tmp = tempDir('jukigw-summary-');
  let env: NodeJS.ProcessEnv;
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    for (const k of ['mqtt', 'linkage', 'admin', 'ui']) ports[k] = await freePort();
    env = {
      ...process.env,
      JUKIGW_listeners__0__port: String(ports.mqtt),
      JUKIGW_listeners__1__port: String(ports.linkage),
      JUKIGW_admin__port: String(ports.admin),
      JUKIGW_ui__port: String(ports.ui),
    };
  });
  afterAll(() => tmp.cleanup());

  /** Runs `cmd` until the appliance is ready, then SIGTERM by pid; everything it printed. */
  async function startOnce(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    const c = spawn(cmd, args, { cwd: tmp.path, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    try {
      await until(() => stdout.includes('appliance ready') || c.exitCode !== null, 120_000, 'appliance ready');
      // The summary follows the ready log line; the JSON line is written first.
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      // Under `script` the appliance is a grandchild: stop it by its own pid and wait until it has
      // released the data dir, or the next start finds the database locked.
      const appliances = descendants(c.pid!).filter((p) => p.cmdline.includes(bin) && p.cmdline.startsWith(process.execPath));
      for (const p of appliances) process.kill(p.pid, 'SIGTERM');
      if (c.exitCode === null) process.kill(c.pid!, 'SIGTERM');
      await exited;
      await until(() => appliances.every((p) => !alive(p.pid)), 30_000, 'appliance exited');
    }
    return { stdout, stderr };
  }

  it('on a terminal (first start): UI URL, one-time admin password, dev passwords, listeners, a loud simulated-upstreams line', async () => {
    // `script` gives the appliance a pseudo-terminal as stdout, as an administrator's shell does;
    // the ready check in startOnce sees the pty's copy on script's stdout.
    const r = await startOnce('script', ['-qefc', `${process.execPath} ${bin} start`, '/dev/null']);
    const out = r.stdout.replace(/\r/g, '');
    expect(out).toContain(`admin UI         https://127.0.0.1:${ports.ui}`);
    const password = /one-time password (\S+)/.exec(out)?.[1];
    expect(password, out).toMatch(/^\S{12,}$/);
    // Printed once: in the summary, not a second time on stderr.
    expect(out.split(password!).length - 1).toBe(1);
    expect(out).toContain(`dev passwords    ${join(tmp.path, 'data', 'dev-passwords')}/ (rr-01, term-01, nl-01, mon-01)`);
    expect(out).toMatch(new RegExp(`local-dev\\s+mqtt://127\\.0\\.0\\.1:${ports.mqtt}\\s+plain, segment local`));
    expect(out).toMatch(new RegExp(`linkage-dev\\s+mqtt://127\\.0\\.0\\.1:${ports.linkage}\\s+plain, segment number-linkage`));
    expect(out).toContain(`health, metrics  http://127.0.0.1:${ports.admin}/readyz  /metrics`);
    expect(out).toMatch(/^!+ UPSTREAMS ARE SIMULATED/m);
    // The journal still gets its JSON lines.
    expect(out).toMatch(/^\{"level":30,.*"msg":"appliance ready"\}$/m);
  }, 150_000);

  it('--summary without a terminal (later start): the summary, and no password again', async () => {
    const r = await startOnce(process.execPath, [bin, 'start', '--summary']);
    expect(r.stdout).toContain(`admin UI         https://127.0.0.1:${ports.ui}`);
    // The self-signed certificate's SHA-256 fingerprint next to the URL, the same as the log's.
    const logged = /"sha256":"([0-9A-F:]+)"/.exec(r.stdout)?.[1];
    expect(logged, r.stdout).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(r.stdout).toContain(`admin UI         https://127.0.0.1:${ports.ui}  (self-signed certificate, SHA-256 ${logged})`);
    expect(r.stdout).not.toContain('its fingerprint is in the log');
    expect(r.stdout).toContain('first login      done earlier (the one-time password is shown only at the first start)');
    expect(r.stdout + r.stderr).not.toMatch(/one-time password:? [A-Za-z0-9_-]{12,}/);
  }, 150_000);

  it('without a terminal: JSON log lines only on stdout', async () => {
    const r = await startOnce(process.execPath, [bin, 'start']);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
  }, 150_000);
});
