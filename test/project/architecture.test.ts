// The direction of dependencies between the top-level folders, as it holds today (docs/architecture.md,
// "Direction of dependencies"). A lower layer that starts importing a higher one fails here, naming the
// file and the import. The known violations are listed by file with the reason; the restructuring
// that removes one must remove its entry too (a stale entry fails).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, importsUnder, sourceFiles, withoutComments, type Import } from '../helpers/imports.js';

const repo = resolve(import.meta.dirname, '..', '..');
const PRODUCTION = ['appliance', 'cluster', 'platform', 'domain', 'admin-ui', 'broker', 'gateway', 'hsm', 'config', 'cli', 'sim'];
const imports = importsUnder(repo, PRODUCTION);

const under = (path: string | undefined, ...prefixes: string[]): boolean =>
  path !== undefined && prefixes.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));

interface Exception {
  /** What the file may import against the rule (path prefixes ending in `/`, or files). */
  to: string[];
  why: string;
}

interface Rule {
  name: string;
  /** Which importing files the rule applies to. */
  applies(i: Import): boolean;
  /** Whether this import is allowed by the rule. */
  allowed(i: Import): boolean;
  /** Importing file → what it imports against the rule today, and why. */
  exceptions?: Record<string, Exception>;
}

const simulators = (why: string): Exception => ({ to: ['sim/'], why });
const RUNS_SIMULATORS = 'runs the simulated upstreams (no upstream configured, or `juki-gw sim`)';
const GENERATES_POPULATION = 'generates the test population (`import --generate`)';

const rules: Rule[] = [
  {
    name: 'production code imports nothing from test/ or bench/',
    applies: () => true,
    allowed: (i) => !under(i.target, 'test/', 'bench/'),
  },
  {
    name: 'production code outside sim/ imports sim/ only where it runs the simulators',
    applies: (i) => !under(i.file, 'sim/'),
    allowed: (i) => !under(i.target, 'sim/'),
    exceptions: {
      'appliance/simulatedUpstream.ts': simulators(RUNS_SIMULATORS),
      'cli/commands/sim.ts': simulators(RUNS_SIMULATORS),
      'cli/commands/import.ts': simulators(GENERATES_POPULATION),
      'admin-ui/api/jobs.ts': simulators(GENERATES_POPULATION),
      'admin-ui/adapters/operations.ts': simulators(GENERATES_POPULATION),
      'gateway/cs/import/importer.ts': simulators('known violation: the importer generates residents itself'),
      'gateway/uplink/linkSigners.ts': simulators('known violation: borrows a file-name helper (fileSafe) from sim/pki.ts'),
    },
  },
  {
    name: 'domain/ is pure: only itself, node:crypto (hashing), and types of platform/envelope.ts',
    applies: (i) => under(i.file, 'domain/'),
    allowed: (i) =>
      i.target === undefined
        ? i.specifier === 'node:crypto'
        : under(i.target, 'domain/') || (i.typeOnly && i.target === 'platform/envelope.ts'),
  },
  {
    name: 'gateway/messages/ imports only itself, domain/, platform/envelope.ts and zod',
    applies: (i) => under(i.file, 'gateway/messages/'),
    allowed: (i) =>
      i.target === undefined ? i.specifier === 'zod' : under(i.target, 'gateway/messages/', 'domain/', 'platform/envelope.ts'),
  },
  {
    name: 'platform/ (store, log, envelope: what every component may use) imports from the repository only itself and domain/',
    applies: (i) => under(i.file, 'platform/'),
    allowed: (i) => i.target === undefined || under(i.target, 'platform/', 'domain/'),
  },
  {
    name: 'config/schema/ imports from the repository only itself and domain/',
    applies: (i) => under(i.file, 'config/schema/'),
    allowed: (i) => i.target === undefined || under(i.target, 'config/schema/', 'domain/'),
  },
  {
    name: 'hsm/ imports from the repository only itself, platform/, config/schema/ and config/secrets.ts',
    applies: (i) => under(i.file, 'hsm/'),
    allowed: (i) => i.target === undefined || under(i.target, 'hsm/', 'platform/', 'config/schema/', 'config/secrets.ts'),
  },
  {
    name: 'broker/ imports from the repository only itself, platform/, config/schema/ and config/secrets.ts',
    applies: (i) => under(i.file, 'broker/'),
    allowed: (i) => i.target === undefined || under(i.target, 'broker/', 'platform/', 'config/schema/', 'config/secrets.ts'),
  },
  {
    name: 'cluster/ (the replicated storage engine) imports from the repository only itself, platform/ and config/schema/',
    applies: (i) => under(i.file, 'cluster/'),
    allowed: (i) => i.target === undefined || under(i.target, 'cluster/', 'platform/', 'config/schema/'),
  },
  {
    name: 'gateway/ imports neither the admin UI, the composition root nor cli/',
    applies: (i) => under(i.file, 'gateway/'),
    allowed: (i) => !under(i.target, 'admin-ui/', 'appliance/', 'cli/'),
  },
  {
    name: 'the admin UI (admin-ui/) is imported only by the composition root (appliance/) and cli/',
    applies: (i) => !under(i.file, 'admin-ui/', 'appliance/', 'cli/'),
    allowed: (i) => !under(i.target, 'admin-ui/'),
  },
  {
    name: 'the composition root (appliance/) is imported only by cli/',
    applies: (i) => !under(i.file, 'appliance/', 'cli/'),
    allowed: (i) => !under(i.target, 'appliance/'),
  },
  {
    name: 'the components (appliance/components/) are imported only by the composition root (appliance/)',
    applies: (i) => !under(i.file, 'appliance/'),
    allowed: (i) => !under(i.target, 'appliance/components/'),
  },
  {
    name: 'appliance/start.ts is the top: nothing imports it, and a component gets another only from it (no import between components)',
    applies: (i) => under(i.file, 'appliance/'),
    allowed: (i) =>
      !under(i.target, 'appliance/start.ts') && !(under(i.file, 'appliance/components/') && under(i.target, 'appliance/components/')),
  },
  {
    name: 'nothing outside cli/ imports cli/',
    applies: (i) => !under(i.file, 'cli/'),
    allowed: (i) => !under(i.target, 'cli/'),
  },
];

describe('import scanner', () => {
  it('sees static, type-only, re-exported, side-effect and dynamic imports, not comments', () => {
    const text = [
      '// implementations (config/ui/adapters/*); a comment that opens no block',
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "export { c } from './c.js';",
      "import 'reflect-metadata';",
      "const d = await import('../../sim/residents.js');",
      "// import { e } from './e.js';",
      "/* import { f } from './f.js'; */ const g = '/* not a comment';",
      "import {\n  h,\n} from './h.js';",
    ].join('\n');
    expect(importsOf('gateway/x/f.ts', text).map((i) => [i.specifier, i.target, i.typeOnly])).toEqual([
      ['./a.js', 'gateway/x/a.ts', false],
      ['../b/b.js', 'gateway/b/b.ts', true],
      ['./c.js', 'gateway/x/c.ts', false],
      ['./h.js', 'gateway/x/h.ts', false],
      ['reflect-metadata', undefined, false],
      ['../../sim/residents.js', 'sim/residents.ts', false],
    ]);
  });

  it('reads the whole production tree', () => {
    expect(new Set(imports.map((i) => i.file.split('/')[0]))).toEqual(new Set(PRODUCTION));
    expect(imports.some((i) => i.file === 'appliance/start.ts' && i.target === 'appliance/components/broker.ts')).toBe(true);
  });
});

describe('direction of dependencies', () => {
  for (const rule of rules) {
    it(rule.name, () => {
      const exceptions = rule.exceptions ?? {};
      const excused = (i: Import): boolean => under(i.target, ...(exceptions[i.file]?.to ?? []));
      const broken = imports.filter((i) => rule.applies(i) && !rule.allowed(i));
      const offending = broken.filter((i) => !excused(i)).map((i) => `${i.file} imports '${i.specifier}'`);
      expect(offending, `${rule.name}: offending imports`).toEqual([]);
      // An exception whose import is gone must leave the list, so the list stays what is true.
      const stale = Object.keys(exceptions).filter((f) => !broken.some((i) => i.file === f && excused(i)));
      expect(stale, `${rule.name}: listed exceptions that no longer break the rule`).toEqual([]);
    });
  }
});

// One opener, one commit path (docs/architecture.md, "Storage"): a LevelDB is made only in
// platform/store/, where the commit path routes its writes to the store's port, and nothing else
// reaches classic-level's private write methods past that port. bench/ (the aedes baseline) is not
// production code and not scanned.
describe('storage: one opener, one commit path', () => {
  const code = sourceFiles(repo, PRODUCTION)
    .filter((f) => !f.startsWith('platform/store/'))
    .map((file) => ({ file, text: withoutComments(readFileSync(join(repo, file), 'utf8')) }));
  const offending = (pattern: RegExp) => code.filter((c) => pattern.test(c.text)).map((c) => c.file);

  it('opens no LevelDB outside platform/store/', () => {
    expect(offending(/\bnew\s+ClassicLevel\b/), 'files with new ClassicLevel').toEqual([]);
  });

  it("calls none of classic-level's private writes (_put, _del, _write, _batch, _chainedBatch, _clear) outside platform/store/", () => {
    expect(offending(/\._(put|del|write|batch|chainedBatch|clear)\b/), 'files using a private write').toEqual([]);
  });

  it('sees a violation where there is one', () => {
    const probe = withoutComments('const db = new ClassicLevel(p); // db._put(k, v)\nawait b._write({ sync: true });');
    expect(/\bnew\s+ClassicLevel\b/.test(probe)).toBe(true);
    expect(probe.match(/\._(put|del|write|batch|chainedBatch|clear)\b/g)).toEqual(['._write']);
  });
});

// What a component needs is in its typed arguments; an untyped bag or a non-null assertion would let it
// reach for something start.ts did not give it.
describe('composition root (appliance/)', () => {
  const code = sourceFiles(repo, ['appliance']).map((file) => ({ file, text: withoutComments(readFileSync(resolve(repo, file), 'utf8')) }));
  const lines = (pattern: RegExp) =>
    code.flatMap(({ file, text }) =>
      text.split('\n').flatMap((line, n) => (pattern.test(line) ? [`${file}:${n + 1}: ${line.trim()}`] : [])),
    );

  it('passes no untyped bag between components (Record<string, unknown>)', () => {
    expect(lines(/Record<\s*string\s*,\s*(unknown|any)\s*>/)).toEqual([]);
  });

  it('asserts no value present that a component was not given (x!.y, f()!)', () => {
    expect(lines(/[\w)]!(?=[.,;)\]])/)).toEqual([]);
  });
});
