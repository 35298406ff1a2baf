// npm run bench:startup — `juki-gw start` to readiness (its "appliance ready" log line), compiled
// (dist/, as installed) against the sources through tsx, BENCH_RUNS (default 5) runs each, alternating.
// Builds dist/ first; the tsx runs hide dist's source digest meanwhile, so bin falls back to tsx as in
// a checkout whose sources changed. Embedded default, one data dir initialized by an untimed first start.
import { execFileSync, spawn } from 'node:child_process';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import { tempDir } from '../test/helpers/tmp.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const repo = join(import.meta.dirname, '..');
const stamp = join(repo, 'dist/.sources-digest');

async function startToReady(env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(repo, 'bin/juki-gw.js'), 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const ms = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('"msg":"appliance ready"')) resolve(performance.now() - t0);
    });
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
    });
    void exited.then((code) => reject(new Error(`exited ${code} before ready:\n${log.slice(-2000)}`)));
  });
  process.kill(child.pid!, 'SIGTERM');
  await exited;
  return ms;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return `mean ${mean.toFixed(0)} ms, median ${s[Math.floor(s.length / 2)]!.toFixed(0)} ms, min ${s[0]!.toFixed(0)}, max ${s.at(-1)!.toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(', ')})`;
};

execFileSync('npm', ['run', 'build'], { cwd: repo, stdio: 'inherit' });
const data = tempDir('jukigw-startup-');
const env = {
  ...process.env,
  JUKIGW_dataDir: data.path,
  JUKIGW_listeners__0__port: String(await freePort()),
  JUKIGW_listeners__1__port: String(await freePort()),
  JUKIGW_admin__port: String(await freePort()),
  JUKIGW_ui__port: String(await freePort()),
};
const compiled: number[] = [],
  sources: number[] = [];
try {
  console.log(`first start (initializes the data dir, untimed): ${(await startToReady(env)).toFixed(0)} ms`);
  for (let i = 0; i < RUNS; i++) {
    compiled.push(await startToReady(env));
    renameSync(stamp, `${stamp}.hidden`);
    try {
      sources.push(await startToReady(env));
    } finally {
      renameSync(`${stamp}.hidden`, stamp);
    }
  }
} finally {
  data.cleanup();
}
console.log(`compiled (dist/):   ${stats(compiled)}`);
console.log(`sources (tsx):      ${stats(sources)}`);
