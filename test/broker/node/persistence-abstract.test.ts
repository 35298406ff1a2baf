// The aedes-persistence abstract suite, unmodified, against our LevelDB persistence.
import { test, after } from 'node:test';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLevelPersistence } from '../../../broker/persistence/index.js';

const require = createRequire(import.meta.url);
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: object) => void;

const root = mkdtempSync(join(tmpdir(), 'jukigw-abstract-'));
let n = 0;
after(() => rmSync(root, { recursive: true, force: true }));

abstractPersistence({
  test,
  // a fresh DB per test, as the suite expects an empty persistence each time
  persistence: () => createLevelPersistence({ path: join(root, String(n++)) }),
  testAsync: true,
});
