// The compiled build (npm run build → dist/): an installed tree with only dist/, bin/ and the production
// packages (no tsx, no esbuild, no sources) checks its config and starts to readiness; in a checkout,
// bin runs dist/ only while it was built from the sources as they are, and the sources otherwise.
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { createSoftHsmToken } from '../helpers/softhsm.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const DEV_ONLY = ['tsx', 'esbuild', '@esbuild', 'typescript', 'vitest', '.bin'];
const USAGE = 'usage: juki-gw <command>';
const SOURCE_DIRS = (JSON.parse(readFileSync(join(repo, 'tsconfig.build.json'), 'utf8')) as { include: string[] }).include;

describe('compiled build', () => {
  const tmp = tempDir('jukigw-build-');
  // A checkout's copy: the production sources, the build's inputs, every package (node_modules linked).
  const checkout = join(tmp.path, 'checkout');
  // An installed tree, as the image has it: dist/, bin/, package.json; node_modules without tsx, esbuild,
  // the compiler or vitest.
  const installed = join(tmp.path, 'installed');

  beforeAll(async () => {
    for (const f of [...SOURCE_DIRS, 'bin', 'scripts/build.mjs', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) {
      cpSync(join(repo, f), join(checkout, f), { recursive: true, filter: (src) => !/\.test\.tsx?$/.test(src) });
    }
    symlinkSync(join(repo, 'node_modules'), join(checkout, 'node_modules'));
    await run(process.execPath, [join(checkout, 'scripts/build.mjs')], { cwd: checkout });

    mkdirSync(join(installed, 'node_modules'), { recursive: true });
    for (const f of ['dist', 'bin', 'package.json']) cpSync(join(checkout, f), join(installed, f), { recursive: true });
    for (const p of readdirSync(join(repo, 'node_modules'))) {
      if (!DEV_ONLY.includes(p)) symlinkSync(join(repo, 'node_modules', p), join(installed, 'node_modules', p));
    }
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it('the installed tree has no tsx to load, checks its embedded default and starts to readiness', async () => {
    await expect(run(process.execPath, ['-e', "import('tsx/esm/api')"], { cwd: installed })).rejects.toThrow(/Cannot find package 'tsx'/);
    const check = await run(process.execPath, ['bin/juki-gw.js', 'config', 'check'], { cwd: installed });
    expect(check.stdout).toContain('ok: embedded default is valid');

    const data = join(tmp.path, 'data');
    const env = {
      ...process.env,
      JUKIGW_dataDir: data,
      JUKIGW_listeners__0__port: String(await freePort()),
      JUKIGW_listeners__1__port: String(await freePort()),
      JUKIGW_admin__port: String(await freePort()),
      JUKIGW_ui__port: String(await freePort()),
    };
    const child = spawn(process.execPath, ['bin/juki-gw.js', 'start'], { cwd: installed, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => {
      log += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await until(() => log.includes('"msg":"appliance ready"') || child.exitCode !== null, 120_000, 'compiled appliance ready');
      expect(child.exitCode, log).toBeNull();
      const ready = await fetch(`http://127.0.0.1:${env.JUKIGW_admin__port}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
    }
  }, 180_000);

  it('the compiled signing threads sign on a SoftHSM token (dist/hsm/sign-worker-thread.js, no fallback)', async () => {
    const token = createSoftHsmToken({ label: 'compiled' });
    try {
      const script = `
        import { openPkcs11Token } from './dist/hsm/index.js';
        const warnings = [];
        const logger = { info() {}, error() {}, warn: (_, msg) => { warnings.push(msg); } };
        const t = openPkcs11Token({ module: process.argv[2], tokenLabel: 'compiled', pin: process.argv[3], key: { label: 'k' }, alg: 'ES256', sessions: 2, generateIfMissing: true, logger });
        const sigs = await Promise.all(Array.from({ length: 50 }, (_, i) => t.sign('message ' + i)));
        console.log(JSON.stringify({ threads: t.signingThreads, lengths: [...new Set(sigs.map((s) => s.length))], warnings }));
        await t.close();`;
      writeFileSync(join(installed, 'sign.mjs'), script);
      const out = await run(process.execPath, ['sign.mjs', token.module, token.pin], { cwd: installed });
      expect(JSON.parse(out.stdout)).toEqual({ threads: 2, lengths: [64], warnings: [] });
    } finally {
      token.cleanup();
    }
  }, 60_000);

  it('in a checkout, bin runs dist/ while it matches the sources, and the sources once one is edited', async () => {
    // Marks the compiled help text, so the output says which of the two ran.
    const compiledMain = join(checkout, 'dist/cli/main.js');
    writeFileSync(compiledMain, readFileSync(compiledMain, 'utf8').replace(USAGE, `compiled ${USAGE}`));
    const help = async () => (await run(process.execPath, ['bin/juki-gw.js', '--help'], { cwd: checkout })).stdout;
    expect(await help()).toContain(`compiled ${USAGE}`);

    appendFileSync(join(checkout, 'cli/args.ts'), '\n// edited after the build\n');
    const fromSources = await help();
    expect(fromSources).toContain(USAGE);
    expect(fromSources).not.toContain(`compiled ${USAGE}`);
  }, 60_000);
});
