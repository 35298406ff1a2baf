// Which sources a compiled build (dist/) came from: a digest of every production source file and the
// compiler settings. `npm run build` records it; bin/juki-gw.js runs dist/ from a checkout only when
// the sources still have that digest, so an edit never runs as the old compiled code.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const STAMP = '.sources-digest';

export function sourcesDigest(root) {
  const files = ['tsconfig.json', 'tsconfig.build.json'];
  // The directories the build compiles (tsconfig.build.json: a plain JSON file).
  for (const dir of JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')).include) {
    for (const e of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name)) files.push(relative(root, join(e.parentPath, e.name)));
    }
  }
  const hash = createHash('sha256');
  for (const f of files.sort())
    hash
      .update(`${f}\0`)
      .update(readFileSync(join(root, f)))
      .update('\0');
  return hash.digest('hex');
}
