// npm run build [-- --out-dir DIR]: compiles the production sources (tsconfig.build.json: no tests,
// benchmarks or scripts) to dist/, then records which sources it compiled (bin/build-stamp.js).
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP, sourcesDigest } from '../bin/build-stamp.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
if (args.length && (args.length !== 2 || args[0] !== '--out-dir')) {
  console.error(`build: unknown arguments ${JSON.stringify(args)}; usage: npm run build [-- --out-dir DIR]`);
  process.exit(2);
}
const outDir = resolve(root, args[1] ?? 'dist');
// Taken before compiling: a source edited during the build leaves the stamp behind, not ahead.
const digest = sourcesDigest(root);
// The stamp goes first, then the rest: no output of a deleted source survives a rebuild.
rmSync(join(outDir, STAMP), { force: true });
rmSync(outDir, { recursive: true, force: true });
// The compiler runs in a process group of its own: typescript's bin is a wrapper that starts the
// native compiler, and a Ctrl-C that stopped only the wrapper left the compiler writing into outDir
// while the next build deleted it. A signal here stops the whole group, by its id, before we exit.
const tsc = spawn(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir],
  { stdio: 'inherit', detached: true },
);
const exited = new Promise((resolve) => tsc.once('exit', (code, signal) => resolve({ code, signal })));
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, async () => {
    stopping = true;
    // SIGKILL: the native compiler outlives a SIGTERM (seen); its half-written outDir is deleted by the next build.
    try {
      process.kill(-tsc.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await exited;
    process.exit(130);
  });
}
const { code, signal } = await exited;
if (signal && stopping) await new Promise(() => {}); // our signal handler exits once the group is gone
if (signal) {
  console.error(`build: the compiler was stopped by ${signal}`);
  process.exit(1);
}
if (code !== 0) process.exit(code ?? 1);
writeFileSync(join(outDir, STAMP), `${digest}\n`);
