// Picks the KEK the configuration implies: the PKCS#11 token when one is configured, else the
// software KEK file in the data dir (development and the embedded default).
import { join } from 'node:path';
import { readSecret } from '../../config/secrets.js';
import type { HsmConfig } from '../../config/schema/hsm.js';
import { openFileKek } from './fileKek.js';
import type { KeyEncryptionKey } from './kek.js';
import { openPkcs11Kek } from './pkcs11Kek.js';

export const KEK_FILE = join('keys', 'kek.bin');
export const KEK_LABEL = 'juki-gw-kek';

export function openKekFromConfig(hsm: HsmConfig, dataDir: string, env: NodeJS.ProcessEnv = process.env): KeyEncryptionKey {
  const usePkcs11 = hsm.kind === 'pkcs11' || (hsm.kind === 'auto' && hsm.module !== undefined && hsm.pin !== undefined);
  if (!usePkcs11) return openFileKek(join(dataDir, KEK_FILE));
  return openPkcs11Kek({
    module: hsm.module!, pin: readSecret(hsm.pin!, env), keyLabel: KEK_LABEL,
    ...(hsm.tokenLabel !== undefined ? { tokenLabel: hsm.tokenLabel } : {}),
    ...(hsm.slot !== undefined ? { slot: hsm.slot } : {}),
  });
}
