// npm run build [-- --out-dir DIR]: compiles the production sources (tsconfig.build.json: no tests,
// benchmarks or scripts) to dist/, then records which sources it compiled (bin/build-stamp.js).
import { spawnSync } from 'node:child_process';
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
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
writeFileSync(join(outDir, STAMP), `${digest}\n`);
