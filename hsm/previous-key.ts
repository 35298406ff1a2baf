// Signing once more under an earlier certificate of ours: the audit log hands its key history over
// from the outgoing key, which must still be on the token. A renewed certificate (keys csr →
// pki sign → keys import) keeps the same key; a new key (keys generate --label, hsm.keyLabel) leaves
// the old one on the token under its own label. Nothing is generated or created here.
import { createPrivateKey } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HsmConfig } from '../config/schema/hsm.js';
import { certificateMatchesKey } from './certs.js';
import { hsmDir } from './create-signer.js';
import { signerFromToken, type HsmLogger, type TokenSigner } from './signer.js';
import { softwareTokenFromKey } from './software-token.js';
import type { TokenKey } from './token.js';
import type { JwsAlg, Signer } from './types.js';

export interface PreviousKeyHandle {
  signer: Signer;
  release(): Promise<void>;
}

/** A signer for an earlier certificate of ours, or null when no key on the token fits it. */
export type PreviousKeySigner = (certificateDer: Uint8Array) => Promise<PreviousKeyHandle | null>;

/** The running key under an earlier certificate (the certificate was renewed, the key kept). */
export function sameKeySigner(current: Signer): PreviousKeySigner {
  return async (der) => {
    const token = (current as Partial<TokenSigner>).token;
    if (!token || !certificateMatchesKey(der, token.spkiDer)) return null;
    return { signer: signerFromToken(token, Buffer.from(der)), release: async () => {} };
  };
}

const SOFTWARE_KEY = /^(.+)\.software-key\.pem$/;

/** The running key, or any other key of the configured token (PKCS#11: its private keys; software: the key files). */
export function previousKeyOnToken(config: HsmConfig, dataDir: string, current: TokenSigner, logger?: HsmLogger): PreviousKeySigner {
  const same = sameKeySigner(current);
  return async (der) => {
    const found = await same(der);
    if (found) return found;
    for (const open of await otherKeys(config, dataDir, current.token)) {
      let token: TokenKey | undefined;
      try {
        token = await open();
        if (certificateMatchesKey(der, token.spkiDer)) {
          const t = token;
          return { signer: signerFromToken(t, Buffer.from(der)), release: () => t.close() };
        }
      } catch (e) {
        logger?.warn({ err: (e as Error).message }, 'a key on the token could not be opened while looking for the outgoing audit key');
      }
      await token?.close();
    }
    return null;
  };
}

async function otherKeys(config: HsmConfig, dataDir: string, current: TokenKey): Promise<Array<() => Promise<TokenKey>>> {
  const { keyId: _id, ...base } = config;
  const one = { ...base, sessions: 1, signingThreads: false };
  if ('withSession' in current) {
    const { listKeys } = await import('./pkcs11-key.js');
    const { openConfiguredPkcs11 } = await import('./pkcs11-config.js');
    type Session = import('./pkcs11-token.js').Pkcs11TokenKey;
    const keys = await (current as Session).withSession((lib, session) => listKeys(lib, session));
    const rsa: JwsAlg = config.algorithm === 'ES256' ? 'PS256' : config.algorithm;
    return keys
      .filter((k) => k.label !== config.keyLabel)
      .map((k) => async () => {
        const t = await openConfiguredPkcs11(
          { ...one, keyLabel: k.label, algorithm: k.type === 'EC' ? 'ES256' : rsa },
          { dataDir, generateIfMissing: false },
        );
        if (!t) throw new Error(`key "${k.label}": the token is not reachable`);
        return t;
      });
  }
  const dir = hsmDir(dataDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => SOFTWARE_KEY.exec(f)?.[1])
    .filter((l): l is string => !!l && l !== config.keyLabel)
    .map((label) => async () => {
      const file = join(dir, `${label}.software-key.pem`);
      const key = createPrivateKey(readFileSync(file));
      const alg: JwsAlg = key.asymmetricKeyType === 'ec' ? 'ES256' : config.algorithm === 'ES256' ? 'PS256' : config.algorithm;
      return softwareTokenFromKey(key, alg, file);
    });
}
