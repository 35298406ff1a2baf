// Signer factory from the `hsm` config section: PKCS#11 token, SoftHSM in the data dir (auto), or
// the software key (auto without SoftHSM, or explicitly).
import { join } from 'node:path';
import type { HsmConfig } from '../config/schema/hsm.js';
import { openSoftwareToken } from './software-token.js';
import { loadOrCreateCertificate, signerFromToken, silentLogger, type HsmLogger, type TokenSigner } from './signer.js';
import { SOFTWARE_WARNING, type TokenKey } from './token.js';

export interface CreateSignerOptions {
  dataDir: string;
  /** Generate the key on a configured PKCS#11 token when missing (`keys generate`). */
  generateIfMissing?: boolean;
  /** Modulus size for RSA keys generated here. */
  rsaBits?: 2048 | 3072;
  logger?: HsmLogger;
  /** Subject of the self-signed development certificate made on first start. */
  subject?: string;
  env?: NodeJS.ProcessEnv;
}

/** Where the software token and the data-dir SoftHSM keep their material. */
export function hsmDir(dataDir: string): string {
  return join(dataDir, 'hsm');
}

export function softwareKeyFile(dataDir: string, keyLabel: string): string {
  return join(hsmDir(dataDir), `${keyLabel}.software-key.pem`);
}

export function certificateFiles(config: HsmConfig, dataDir: string): { certFile: string; chainFile: string } {
  return {
    certFile: config.certFile ?? join(hsmDir(dataDir), `${config.keyLabel}.cert.pem`),
    chainFile: config.chainFile ?? join(hsmDir(dataDir), `${config.keyLabel}.chain.pem`),
  };
}

/** Opens the token the config names, without certificates (keys generate/csr use this). */
export async function openToken(config: HsmConfig, opts: CreateSignerOptions): Promise<TokenKey> {
  const logger = opts.logger ?? silentLogger;
  if (config.kind === 'pkcs11' || config.kind === 'auto') {
    const { openConfiguredPkcs11 } = await import('./pkcs11-config.js');
    const token = await openConfiguredPkcs11(config, opts);
    if (token) return token;
  }
  const keyFile = softwareKeyFile(opts.dataDir, config.keyLabel);
  const token = openSoftwareToken({ keyFile, alg: config.algorithm, rsaBits: opts.rsaBits });
  logger.warn({ hsm: 'software', keyFile, warning: SOFTWARE_WARNING }, `signing with a ${SOFTWARE_WARNING}`);
  return token;
}

/**
 * createSigner(config.hsm, { dataDir, logger }): the appliance's Signer. The explicit pkcs11 kind
 * needs an imported certificate or creates a self-signed one on first start like the defaults do.
 */
export async function createSigner(config: HsmConfig, opts: CreateSignerOptions): Promise<TokenSigner> {
  const logger = opts.logger ?? silentLogger;
  const token = await openToken(config, opts);
  try {
    const { cert, chain } = await loadOrCreateCertificate(
      token,
      certificateFiles(config, opts.dataDir),
      opts.subject ?? `CN=juki-gw ${config.keyLabel}, O=juki-gw development`,
      logger,
      true,
    );
    const signer = signerFromToken(token, cert, chain);
    logger.info({ hsm: token.kind, alg: token.alg, kid: signer.kid }, 'signer ready');
    return signer;
  } catch (e) {
    await token.close();
    throw e;
  }
}
