// The power cut itself, after the process under test was killed: every file under `dir` goes back
// to the content it had at its last fsync/fdatasync (kept by synced-state.c), a file never synced
// to empty. Builds the preload library with gcc first (buildSyncedState).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./synced-state.c', import.meta.url));

/** Compiles synced-state.c into `outDir`; returns the library's path (for LD_PRELOAD). */
export function buildSyncedState(outDir: string): string {
  const lib = join(outDir, 'synced-state.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', lib, SOURCE, '-ldl', '-lpthread'], { stdio: 'pipe' });
  return lib;
}

/** Everything under `dir` now is on disk (written before the run, e.g. by a cleanly closed DB). */
export function markSynced(dir: string, shadowDir: string): void {
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) writeFileSync(join(shadowDir, relative(dir, path).replaceAll('/', '%')), readFileSync(path));
    }
  };
  walk(dir);
}

export interface Rollback {
  restored: number;
  emptied: number;
  bytesDropped: number;
}

export function rollBackToSynced(dir: string, shadowDir: string): Rollback {
  const r: Rollback = { restored: 0, emptied: 0, bytesDropped: 0 };
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) {
        walk(path);
        continue;
      }
      if (!e.isFile()) continue;
      const size = statSync(path).size;
      const shadow = join(shadowDir, relative(dir, path).replaceAll('/', '%'));
      if (existsSync(shadow)) {
        const synced = readFileSync(shadow);
        writeFileSync(path, synced);
        r.restored++;
        r.bytesDropped += Math.max(0, size - synced.length);
      } else {
        truncateSync(path, 0);
        r.emptied++;
        r.bytesDropped += size;
      }
    }
  };
  walk(dir);
  return r;
}
