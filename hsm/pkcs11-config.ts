// Placeholder resolved in the next step: PKCS#11 from config. Returns undefined → software token.
import type { HsmConfig } from '../config/schema/hsm.js';
import type { CreateSignerOptions } from './create-signer.js';
import type { TokenKey } from './token.js';

export async function openConfiguredPkcs11(config: HsmConfig, _opts: CreateSignerOptions): Promise<TokenKey | undefined> {
  if (config.kind === 'pkcs11') throw new Error('hsm.kind pkcs11 is not available in this build yet');
  return undefined;
}
