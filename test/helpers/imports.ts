// The imports of the repository's own source files, resolved to repository paths, for the
// dependency-direction test (test/project/architecture.test.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface Import {
  /** The importing file, relative to the repository, e.g. `broker/server.ts`. */
  file: string;
  /** As written: `../gateway/store/db.js`, `zod`, `node:fs`. */
  specifier: string;
  /** Repository path of a relative import (`platform/store/db.ts`); undefined for a package. */
  target?: string;
  /** `import type …` / `export type …`: erased at compile time, no module is loaded. */
  typeOnly: boolean;
}

const SOURCE = /\.(ts|tsx)$/;
const TEST_FILE = /\.test\.(ts|tsx)$/;

/** Source files under `folders` (relative to `repo`), tests beside the code left out. */
export function sourceFiles(repo: string, folders: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(repo, dir), { withFileTypes: true })) {
      const p = posix.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (SOURCE.test(e.name) && !TEST_FILE.test(e.name)) out.push(p);
    }
  };
  for (const f of folders) walk(f);
  return out.sort();
}

// Static `import … from`, `export … from`, side-effect `import '…'`, and `import('…')` (dynamic
// import or a type in an import() type position: both name a module the file depends on).
const STATIC = /^\s*(import|export)\s+(type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm;
const BARE = /^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/**
 * The text with its comments blanked, strings kept: one pass, so that a `/*` inside a line comment or
 * a string (`adapters/*`) does not swallow the code after it.
 */
export function withoutComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length;) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      out += ' ';
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c && (c === '`' || text[j] !== '\n')) j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The imports of one file's text; `file` is its repository path. */
export function importsOf(file: string, text: string): Import[] {
  const code = withoutComments(text);
  const found: Import[] = [];
  const add = (specifier: string, typeOnly: boolean): void => {
    const target = specifier.startsWith('.')
      ? posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, '.ts')
      : undefined;
    found.push({ file, specifier, typeOnly, ...(target ? { target } : {}) });
  };
  for (const m of code.matchAll(STATIC)) add(m[3]!, m[2] !== undefined);
  for (const m of code.matchAll(BARE)) add(m[1]!, false);
  for (const m of code.matchAll(DYNAMIC)) add(m[1]!, false);
  return found;
}

export function importsUnder(repo: string, folders: string[]): Import[] {
  return (
    sourceFiles(repo, folders)
      .flatMap((f) => importsOf(f, readFileSync(join(repo, f), 'utf8')))
      // `./app.js` names app.tsx when that is the file there
      .map((i) =>
        i.target && !existsSync(join(repo, i.target)) && existsSync(join(repo, `${i.target}x`)) ? { ...i, target: `${i.target}x` } : i,
      )
  );
}
