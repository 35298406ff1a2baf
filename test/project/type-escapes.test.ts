// Type escapes (`as never`, `as unknown as`) in production code: each one stays only with a reason.
// Every remaining escape has a `// why: …` comment on the line above its statement (or above the run of
// escape statements it belongs to), and the count per file is listed here: a new escape, or one whose reason is
// missing, fails naming the file and line; a file that drops one must lower its count (a stale
// count fails too), so the list only shrinks on purpose.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '..', '..');
const PRODUCTION = [
  'appliance',
  'cluster',
  'platform',
  'domain',
  'admin-ui',
  'broker',
  'gateway',
  'hsm',
  'config',
  'cli',
  'sim',
  'deploy',
  'scripts',
];
const ESCAPE = /\bas (?:never|unknown as)\b/g;
const WHY = /\/\/ why: \S/;

/** Escapes per file (occurrences, not lines). */
const EXPECTED: Record<string, number> = {
  'admin-ui/adapters/operations.ts': 1,
  'admin-ui/tls.ts': 2,
  'gateway/audit/segmentFile.ts': 2,
  'gateway/backup/restore.ts': 2,
  'gateway/backup/snapshot.ts': 1,
  'gateway/crypto/reencrypt.ts': 4,
  'gateway/crypto/writeTracker.ts': 1,
  'gateway/cs/import/format.ts': 1,
  'gateway/cs/moveoutCertificates.ts': 1,
  'gateway/messages/registry.ts': 1,
  'hsm/certs.ts': 3,
  'hsm/dev-ca.ts': 1,
  'hsm/reflect-polyfill.ts': 1,
  'platform/store/groupCommit.ts': 1,
  'platform/store/levelPort.ts': 1,
  'sim/handlers/pref.ts': 1,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [path] : [];
  });
}

interface Escape {
  file: string;
  line: number;
  reasoned: boolean;
}

/** The escapes of one file; code only (a `//` comment's text is not scanned). */
function escapesIn(file: string, text: string): Escape[] {
  const lines = text.split('\n');
  const code = lines.map((l) => l.replace(/\/\/.*$/, ''));
  const found: Escape[] = [];
  // A line that closes a multi-line expression (`} as unknown as T;`) belongs to the line that opened it.
  const opening = (i: number): number => {
    if (!/^\s*[)}\]]/.test(code[i]!)) return i;
    let depth = 0;
    for (let j = i; j >= 0; j--) {
      for (const ch of [...code[j]!].reverse()) {
        if (')}]'.includes(ch)) depth++;
        else if ('({['.includes(ch)) depth--;
      }
      if (depth <= 0) return j;
    }
    return i;
  };
  code.forEach((l, i) => {
    const n = l.match(ESCAPE)?.length ?? 0;
    if (n === 0) return;
    let above = opening(i) - 1;
    while (above >= 0 && ESCAPE.test(code[above]!) && !WHY.test(lines[above]!)) above = opening(above) - 1;
    ESCAPE.lastIndex = 0;
    const reasoned = above >= 0 && WHY.test(lines[above]!);
    for (let k = 0; k < n; k++) found.push({ file, line: i + 1, reasoned });
  });
  return found;
}

const escapes = PRODUCTION.flatMap((d) => sourceFiles(join(repo, d))).flatMap((path) =>
  escapesIn(relative(repo, path), readFileSync(path, 'utf8')),
);

describe('type escapes in production code', () => {
  it('stay at the listed count per file', () => {
    const counts: Record<string, number> = {};
    for (const e of escapes) counts[e.file] = (counts[e.file] ?? 0) + 1;
    expect(counts).toEqual(EXPECTED);
  });

  it('each carry a `// why:` comment on the line above', () => {
    const unexplained = escapes.filter((e) => !e.reasoned).map((e) => `${e.file}:${e.line}`);
    expect(unexplained).toEqual([]);
  });

  it('are found in code, with a reason above a run of escape lines, and not in comments', () => {
    const text = [
      'const a = x as never; // a comment',
      '// why: the reason',
      'const b = y as unknown as Z;',
      'const c = y as never;',
      '// was never read',
      'const d = z as never;',
    ].join('\n');
    expect(escapesIn('f.ts', text)).toEqual([
      { file: 'f.ts', line: 1, reasoned: false },
      { file: 'f.ts', line: 3, reasoned: true },
      { file: 'f.ts', line: 4, reasoned: true },
      { file: 'f.ts', line: 6, reasoned: false },
    ]);
  });
});
