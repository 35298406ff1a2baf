// Embedded default (hsm.kind auto): a SoftHSM token in the data dir when libsofthsm2.so is present,
// flagged as not for production, stable across restarts; the software key otherwise.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hsmSection } from '../../config/schema/hsm.js';
import { createSigner, SOFTWARE_WARNING } from '../../hsm/index.js';
import { SOFTHSM_WARNING, softhsmModule } from '../../hsm/softhsm-datadir.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('hsm-auto-');
afterAll(() => dir.cleanup());

describe('embedded default signer', () => {
  it('uses a SoftHSM token in the data dir, with a 0600 PIN file, the same key after restart', async () => {
    expect(softhsmModule()).toBeDefined();
    const config = hsmSection.parse({});
    const a = await createSigner(config, { dataDir: dir.path });
    expect(a.status()).toMatchObject({ kind: 'pkcs11', ready: true, warning: SOFTHSM_WARNING, warningCode: 'softhsm-datadir' });
    expect(statSync(join(dir.path, 'hsm', 'softhsm', 'user.pin')).mode & 0o777).toBe(0o600);
    const kid = a.kid;
    await a.close();
    const b = await createSigner(config, { dataDir: dir.path });
    expect(b.kid).toBe(kid);
    await b.close();
  });

  it('falls back to the software key when SoftHSM is bound to another configuration in this process', async () => {
    const other = tempDir('hsm-auto-other-');
    try {
      const s = await createSigner(hsmSection.parse({}), { dataDir: other.path, env: { SOFTHSM2_CONF: '/nonexistent/softhsm2.conf' } });
      expect(s.status()).toMatchObject({ kind: 'software', warning: SOFTWARE_WARNING, warningCode: 'software-key' });
      await s.close();
    } finally {
      other.cleanup();
    }
  });
});
