// Picks the KEK the `hsm` config section implies, on the same token as the signer: the configured
// PKCS#11 token (kind pkcs11), the data-dir SoftHSM token (kind auto, when SoftHSM is installed),
// else the software KEK file in the data dir.
import { join } from 'node:path';
import { readSecret } from '../../config/secrets.js';
import type { HsmConfig } from '../../config/schema/hsm.js';
import { prepareDataDirSoftHsm } from '../../hsm/softhsm-datadir.js';
import { openFileKek } from './fileKek.js';
import type { KeyEncryptionKey } from './kek.js';
import { openPkcs11Kek } from './pkcs11Kek.js';

export const KEK_FILE = join('keys', 'kek.bin');
export const KEK_LABEL = 'juki-gw-kek';

export function openKekFromConfig(hsm: HsmConfig, dataDir: string, env: NodeJS.ProcessEnv = process.env): KeyEncryptionKey {
  if (hsm.kind === 'pkcs11') {
    return openPkcs11Kek({
      module: hsm.module!,
      pin: readSecret(hsm.pin!, env),
      keyLabel: KEK_LABEL,
      tokenLabel: hsm.tokenLabel,
      slot: hsm.slot,
    });
  }
  if (hsm.kind === 'auto') {
    const local = prepareDataDirSoftHsm(dataDir, env);
    if (local) return openPkcs11Kek({ module: local.module, tokenLabel: local.tokenLabel, pin: local.pin, keyLabel: KEK_LABEL });
  }
  return openFileKek(join(dataDir, KEK_FILE));
}
