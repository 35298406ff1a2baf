// Shared set-up of the uplink tests: appliance signer certified by the simulated upstream CA,
// a verifier over the simulators' certificates, and an uplink config pointing at a test broker.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { configSchema, type ApplianceConfig } from '../../config/schema/index.js';
import { hsmSection } from '../../config/schema/hsm.js';
import { createSigner, type TokenSigner } from '../../hsm/index.js';
import { certificateFiles } from '../../hsm/create-signer.js';
import { toPem } from '../../hsm/certs.js';
import { createLogger } from '../../platform/log/logger.js';
import { openSimPki, certifyAppliance, type SimPki } from '../../sim/pki.js';
import { residentCodeCheckDigit } from '../../domain/identifiers.js';
import { EXAMPLE_RECORD } from '../../gateway/messages/index.js';

export const SERVED = '242012'; // 津市
export const SELF = `lg:${SERVED}`;
export const PREF = 'pref:240001'; // 三重県

export const quietLogger = () => createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });

export function testConfig(
  url: string,
  over: {
    tls?: { cert: string; key: string; ca: string };
    retry?: Partial<ApplianceConfig['uplink']['retry']>;
    timeoutsMs?: Record<string, number>;
    defaultTimeoutMs?: number;
    parallelism?: number;
  } = {},
): ApplianceConfig {
  return configSchema.parse({
    municipalities: [SERVED],
    upstreams: [{ name: 'juki', url, nodes: ['*'], ...(over.tls ? { tls: over.tls } : {}) }],
    uplink: {
      defaultTimeoutMs: over.defaultTimeoutMs ?? 3000,
      timeoutsMs: over.timeoutsMs ?? {},
      retry: { initialMs: 50, maxMs: 500, maxAttempts: 10, ...over.retry },
      parallelism: over.parallelism ?? 32,
    },
  });
}

/** The data-dir SoftHSM token (real PKCS#11 through pkcs11js), as the embedded default uses. */
export const applianceHsm = hsmSection.parse({ kind: 'auto', keyLabel: 'uplink-test' });

/**
 * Makes the appliance's key in `dataDir` and has the simulated CA certify it, written where
 * createSigner finds it, so a child process (kill -9 tests) signs with the same certificate.
 */
export async function certifiedApplianceSigner(dataDir: string, pki: SimPki): Promise<TokenSigner> {
  const first = await createSigner(applianceHsm, { dataDir });
  const certified = await certifyAppliance(pki, first, SELF);
  const { certFile } = certificateFiles(applianceHsm, dataDir);
  mkdirSync(dirname(certFile), { recursive: true });
  writeFileSync(certFile, toPem(certified.certificateDer));
  return certified;
}

export { openSimPki };

/** A valid synthetic 住民票コード (check digit per the configured rule) for test person i. */
export function testResidentCode(i: number): string {
  const body = `70${String(i).padStart(8, '0')}`;
  return body + String(residentCodeCheckDigit(body));
}

/** identity.notify body per the contract (gateway/messages), for person `code`, update number `seq`. */
export function notifyBody(code: string, seq: number): Record<string, unknown> {
  return { record: { ...EXAMPLE_RECORD, residentCode: code, updateSeq: seq } };
}
