// A throw-away SoftHSM2 token for the crypto tests (one per test file; SOFTHSM2_CONF is read at C_Initialize).
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** `tokenDir`: where the token files go (e.g. inside a data dir under test); default a temp dir. */
export function createSoftHsmToken(
  label = 'jukigw-crypto',
  pin = '123456',
  tokenDir?: string,
): { module: string; tokenLabel: string; pin: string; cleanup: () => void } {
  const dir = tempDir('jukigw-softhsm-');
  const tokens = tokenDir ?? join(dir.path, 'tokens');
  mkdirSync(tokens, { recursive: true });
  const conf = join(dir.path, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '987654'], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: 'ignore',
  });
  return { module: SOFTHSM_MODULE, tokenLabel: label, pin, cleanup: dir.cleanup };
}
