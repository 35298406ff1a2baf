// The appliance's signing key on the token (HSM over PKCS#11, or the labelled software key).
import type { ReadinessCheck } from '../../broker/admin/checks.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { createSigner, type TokenSigner } from '../../hsm/index.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Running } from '../lifecycle.js';

export interface TokenSignerNeeds {
  config: ApplianceConfig;
  logger: Logger;
}
export interface TokenSignerPart extends Running {
  signer: TokenSigner;
  check: ReadinessCheck;
}

export async function startTokenSigner({ config, logger }: TokenSignerNeeds): Promise<TokenSignerPart> {
  const signer = await createSigner(config.hsm, { dataDir: config.dataDir, logger: logger.child({ component: 'hsm' }) });
  const check: ReadinessCheck = {
    name: 'token',
    run: async () => {
      const s = signer.status();
      return { ok: s.ready, detail: s.warning ? `${s.detail} (${s.warning})` : s.detail };
    },
  };
  return { signer, check, stop: () => signer.close() };
}
