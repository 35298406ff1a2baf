#!/usr/bin/env node
// Entry point. Runs the compiled build, dist/cli/main.js (`npm run build`). An installed appliance
// (image, /opt/juki-gw) ships dist/ without the TypeScript sources and runs it as it is. In a checkout,
// dist/ runs only when it was built from the sources as they are now (bin/build-stamp.js); otherwise
// the sources run through tsx (a development dependency), so an edit never runs as old compiled code.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Everything the appliance writes (LevelDB, token, keys, passwords, backups, exports) is for its own user
// only, whatever umask the shell or service manager left: LevelDB and most libraries create files 0644.
process.umask(0o077);

const at = (path) => new URL(`../${path}`, import.meta.url);
const compiled = at('dist/cli/main.js');

async function fromSources() {
  const { STAMP, sourcesDigest } = await import('./build-stamp.js');
  const stamp = existsSync(at(`dist/${STAMP}`)) ? readFileSync(at(`dist/${STAMP}`), 'utf8').trim() : '';
  if (stamp && stamp === sourcesDigest(fileURLToPath(at('')))) return import(compiled.href);
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    console.error(
      'juki-gw: dist/ is missing or was built from other sources, and tsx (a development dependency) is not installed: run npm ci && npm run build',
    );
    process.exit(1);
  }
  tsx.register();
  return import('../cli/main.ts');
}

const { main } = existsSync(at('cli/main.ts')) ? await fromSources() : await import(compiled.href);
process.exitCode = await main(process.argv.slice(2));
