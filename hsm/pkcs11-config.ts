// PKCS#11 token from the `hsm` config section: the configured module/token (kind pkcs11), or the
// data-dir SoftHSM token (kind auto, when libsofthsm2.so is present).
import { readSecret } from '../config/secrets.js';
import type { HsmConfig } from '../config/schema/hsm.js';
import type { CreateSignerOptions } from './create-signer.js';
import { openPkcs11Token, type Pkcs11TokenKey } from './pkcs11-token.js';
import { DataDirPinMissing, prepareDataDirSoftHsm, SOFTHSM_WARNING } from './softhsm-datadir.js';
import { silentLogger } from './signer.js';

export async function openConfiguredPkcs11(
  config: HsmConfig,
  opts: CreateSignerOptions & { generateIfMissing?: boolean },
): Promise<Pkcs11TokenKey | undefined> {
  const logger = opts.logger ?? silentLogger;
  const key = { label: config.keyLabel, id: config.keyId ? Buffer.from(config.keyId, 'hex') : undefined };
  if (config.kind === 'pkcs11') {
    return openPkcs11Token({
      module: config.module!,
      tokenLabel: config.tokenLabel,
      slot: config.slot,
      pin: readSecret(config.pin!, opts.env),
      key,
      alg: config.algorithm,
      sessions: config.sessions,
      signingThreads: config.signingThreads,
      generateIfMissing: opts.generateIfMissing ?? false,
      rsaBits: opts.rsaBits,
      logger,
    });
  }
  if (config.kind !== 'auto') return undefined;
  let local;
  try {
    local = prepareDataDirSoftHsm(opts.dataDir, opts.env);
  } catch (e) {
    // A token without its PIN is the restored signing key: falling back to a new software key would sign with another identity.
    if (e instanceof DataDirPinMissing) throw e;
    logger.warn({ hsm: 'auto', err: (e as Error).message }, 'cannot prepare the data-dir SoftHSM token; falling back to the software key');
    return undefined;
  }
  if (!local) return undefined;
  const token = openPkcs11Token({
    module: local.module,
    tokenLabel: local.tokenLabel,
    pin: local.pin,
    key,
    alg: config.algorithm,
    sessions: config.sessions,
    signingThreads: config.signingThreads,
    generateIfMissing: true,
    rsaBits: opts.rsaBits,
    logger,
  });
  logger.warn({ hsm: 'softhsm', conf: local.conf, warning: SOFTHSM_WARNING }, `signing with a ${SOFTHSM_WARNING}`);
  const status = token.status.bind(token);
  return Object.assign(Object.create(token) as Pkcs11TokenKey, {
    status: () => ({ ...status(), warning: SOFTHSM_WARNING, warningCode: 'softhsm-datadir' as const }),
  });
}
