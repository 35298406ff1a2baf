// The aedes-persistence abstract suite, unmodified, against our LevelDB persistence with every
// value sealed (AES-256-GCM, the gateway's sealed-value format), as the appliance runs it.
import { test, after } from 'node:test';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLevelPersistence } from '../../../broker/persistence/index.js';
import { sealWith, unsealWith } from '../../../gateway/crypto/sealed.js';

const require = createRequire(import.meta.url);
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: object) => void;

const root = mkdtempSync(join(tmpdir(), 'jukigw-abstract-sealed-'));
let n = 0;
after(() => rmSync(root, { recursive: true, force: true }));

const key = randomBytes(32);
let sealed = 0;
const sealer = {
  seal: (plain: Uint8Array) => {
    sealed++;
    return sealWith(1, key, plain);
  },
  unseal: (v: Uint8Array) =>
    unsealWith((id) => {
      if (id !== 1) throw new Error(`unknown key ${id}`);
      return key;
    }, v),
};

abstractPersistence({
  test,
  persistence: () => createLevelPersistence({ path: join(root, String(n++)), sealer }),
  testAsync: true,
});

// The suite passing proves nothing about sealing if no value went through the sealer.
after(() => {
  if (sealed === 0) throw new Error('no value was sealed during the abstract suite');
});
