// Every example of README.md and docs/messages.md, run as written (bash, `npx juki-gw` in a clone)
// against a real appliance started with the embedded default, in document order; each must give
// its documented outcome (exit code, and the reply it prints).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROLES } from '../../config/schema/roles.js';
import { embeddedDefault } from '../../config/default.js';
import { MESSAGE_TRIES } from '../../scripts/message-tries.js';
import { extractExamples, type DocExample } from '../helpers/doc-examples.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const repo = join(import.meta.dirname, '..', '..');
const PAGES = ['README.md', 'docs/messages.md'];
const pages = PAGES.map((p) => extractExamples(p, readFileSync(join(repo, p), 'utf8')));
const examples: DocExample[] = pages.flatMap((p) => p.examples);

function run(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn('bash', ['-eo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('documented examples', () => {
  const tmp = tempDir('jukigw-examples-');
  // A clone as an integrator has it: the commands, package.json (so `npx juki-gw` resolves) and the
  // installed dependencies; the appliance's ./data is created here by the first start.
  const cwd = tmp.path;
  let env: NodeJS.ProcessEnv;
  let appliance: ChildProcess | undefined;
  let log = '';

  beforeAll(async () => {
    for (const f of ['bin', 'package.json', 'node_modules']) symlinkSync(join(repo, f), join(cwd, f));
    // The embedded default's fixed ports, moved to free ones (the documented JUKIGW_ overrides).
    env = {
      ...process.env,
      JUKIGW_listeners__0__port: String(await freePort()),
      JUKIGW_listeners__1__port: String(await freePort()),
      JUKIGW_admin__port: String(await freePort()),
      JUKIGW_ui__port: String(await freePort()),
      npm_config_yes: 'false',
    };
    appliance = spawn(process.execPath, ['bin/juki-gw.js', 'start'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    appliance.stdout!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    appliance.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    await until(() => log.includes('"msg":"appliance ready"') || appliance!.exitCode !== null, 120_000, 'appliance ready');
    expect(appliance.exitCode, log).toBeNull();
  }, 150_000);

  afterAll(async () => {
    if (appliance?.exitCode === null) {
      const exited = new Promise((r) => appliance!.once('exit', r));
      process.kill(appliance.pid!, 'SIGTERM');
      await exited;
    }
    tmp.cleanup();
  }, 60_000);

  it('every shell block of the pages is marked as an example (with its outcome) or as not run', () => {
    expect(
      pages.flatMap((p) => [...p.unmarked.map((w) => `${w}: no <!-- example: … --> or <!-- not-run: … --> marker`), ...p.badMarkers]),
    ).toEqual([]);
    expect(examples.length).toBeGreaterThan(0);
  });

  it('docs/messages.md has a Try it request for every type a local system sends, from a system whose role may send it', () => {
    const sendable = new Set(Object.values(DEFAULT_ROLES).flatMap((r) => r.send));
    expect(Object.keys(MESSAGE_TRIES).sort()).toEqual([...sendable].sort());
    for (const [type, t] of Object.entries(MESSAGE_TRIES)) {
      const role = embeddedDefault().systems!.find((s) => s.id === t.as)?.role;
      expect({ type, may: DEFAULT_ROLES[role!]?.send.includes(type) }).toEqual({ type, may: true });
    }
    expect(examples.filter((e) => e.where.startsWith('docs/messages.md')).length).toBe(sendable.size);
  });

  it("README's command 1 fetches apt's lists before installing; the examples use only what it installs", () => {
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const command1 = /```sh\n(.*apt-get install.*)\n```/.exec(readme)?.[1];
    expect(command1).toMatch(/^apt-get update && apt-get install /);
    const deps = readFileSync(join(repo, 'scripts/install-test-deps.sh'), 'utf8');
    expect(deps.indexOf('apt-get update')).toBeGreaterThan(-1);
    expect(deps.indexOf('apt-get update')).toBeLessThan(deps.indexOf('apt-get install'));
    // Node.js 20 with npm/npx is the stated precondition; the rest is in every Debian base system.
    const provided = new Set(['npx', 'node', 'npm', 'mkdir', 'cat', 'echo', 'cd']);
    const used = new Set<string>();
    for (const ex of examples) {
      let heredoc: string | undefined;
      for (const line of ex.script.split('\n')) {
        if (heredoc !== undefined) {
          if (line.trim() === heredoc) heredoc = undefined;
          continue;
        }
        heredoc = /<<-?'?(\w+)'?/.exec(line)?.[1];
        for (const cmd of line.split(/&&|\|\||[|;]/)) {
          const w = cmd.trim().split(/\s+/)[0];
          if (w && !w.startsWith('#')) used.add(w);
        }
      }
    }
    expect([...used].filter((w) => !provided.has(w))).toEqual([]);
  });

  for (const ex of examples) {
    it(`${ex.where} gives its documented outcome`, async () => {
      const r = await run(ex.script, cwd, env);
      const what = `${ex.where}\n${ex.script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
      expect(r.code, what).toBe(ex.expect.exit);
      if (ex.expect.stdout !== undefined) expect(r.stdout, what).toContain(ex.expect.stdout);
      if (ex.expect.reply) expect(JSON.parse(r.stdout), what).toMatchObject(ex.expect.reply);
    }, 150_000);
  }
});
