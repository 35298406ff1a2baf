// The README's mTLS example, typed in a clone, writes a development CA (with its private key), server
// and client certificates into the clone: git must ignore every file it writes, and the README must
// say that the CA key is never committed.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The files the example's commands write, from its --dir and --out arguments. */
function writtenByExample(): string[] {
  const block = /```sh\n(mkdir -p [^\n]*\nnpx juki-gw pki init[\s\S]*?)```/.exec(readme)?.[1];
  expect(block, 'the README mTLS example').toBeDefined();
  const files: string[] = [];
  for (const [, flag, path] of block!.matchAll(/--(dir|out) (\S+)/g)) {
    if (flag === 'dir') files.push(join(path!, 'ca.pem'), join(path!, 'ca-key.pem'));
    else files.push(path!.endsWith('.pem') ? path! : `${path}.pem`, path!.endsWith('.pem') ? path! : `${path}-key.pem`);
  }
  return [...new Set(files)];
}

const ignored = (path: string) => {
  try {
    execFileSync('git', ['check-ignore', '--no-index', '-q', path], { cwd: root });
    return true;
  } catch {
    return false;
  }
};

describe('README mTLS example in a clone', () => {
  it('leaves nothing untracked: everything it writes is ignored, root-anchored', () => {
    const files = writtenByExample();
    expect(files).toContain('ca/local/ca-key.pem');
    for (const f of files) expect(ignored(f), f).toBe(true);
    // Root-anchored: the project's own folders of the same names stay tracked.
    expect(ignored('test/tls/x.pem')).toBe(false);
  });

  it('says the files are development material and the CA key is never committed', () => {
    expect(readme).toMatch(/development material/);
    expect(readme).toMatch(/`ca\/local\/ca-key\.pem` is the CA's private key — never commit it/);
  });
});
