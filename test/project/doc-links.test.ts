// Every relative link of the repository's Markdown pages resolves to a file or folder inside the
// repository: a clone must carry everything its documentation points at.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '..', '..');
const pages = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], { cwd: repo, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && existsSync(join(repo, f)));

/** Inline links and images `[text](target)` and `![alt](target "title")`, outside code blocks. */
function linksOf(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

describe('documentation links', () => {
  it('covers the README and docs/', () => {
    expect(pages).toContain('README.md');
    expect(pages).toContain('docs/contract.md');
  });

  it('every relative link resolves inside the repository', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const target of linksOf(readFileSync(join(repo, page), 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const path = decodeURIComponent(target.split('#')[0]!);
        const abs = resolve(repo, dirname(page), path);
        const inside = !relative(repo, abs).startsWith('..');
        if (!inside || !existsSync(abs)) broken.push(`${page}: ${target}${inside ? ' (missing)' : ' (outside the repository)'}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
