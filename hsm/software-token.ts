// Software token for the embedded default and development: a private key in a 0600 file in the data
// dir, used through node:crypto. Loudly marked as not for production.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, constants, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TokenConfigError } from './errors.js';
import { SOFTWARE_WARNING, type TokenKey } from './token.js';
import type { JwsAlg, TokenStatus } from './types.js';

export interface SoftwareTokenOptions {
  keyFile: string;
  alg: JwsAlg;
  /** RSA modulus size when a new RSA key is generated. */
  rsaBits?: 2048 | 3072;
}

export function generateSoftwareKey(alg: JwsAlg, rsaBits: 2048 | 3072 = 2048): KeyObject {
  return alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    : generateKeyPairSync('rsa', { modulusLength: rsaBits }).privateKey;
}

/** Loads the key file, or creates it (mode 0600) on first start. */
export function openSoftwareToken(opts: SoftwareTokenOptions): TokenKey {
  let key: KeyObject;
  if (existsSync(opts.keyFile)) {
    const mode = statSync(opts.keyFile).mode & 0o077;
    if (mode !== 0) chmodSync(opts.keyFile, 0o600);
    key = createPrivateKey(readFileSync(opts.keyFile));
  } else {
    mkdirSync(dirname(opts.keyFile), { recursive: true, mode: 0o700 });
    key = generateSoftwareKey(opts.alg, opts.rsaBits);
    writeFileSync(opts.keyFile, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  return softwareTokenFromKey(key, opts.alg, opts.keyFile);
}

export function softwareTokenFromKey(key: KeyObject, alg: JwsAlg, where = 'memory'): TokenKey {
  const type = key.asymmetricKeyType;
  if (alg === 'ES256' && (type !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')) {
    throw new TokenConfigError(`software key ${where} is ${type}, not EC P-256 as ES256 needs`);
  }
  if (alg !== 'ES256' && type !== 'rsa') throw new TokenConfigError(`software key ${where} is ${type}, not RSA as ${alg} needs`);
  const spkiDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const options =
    alg === 'ES256'
      ? { key, dsaEncoding: 'ieee-p1363' as const }
      : alg === 'PS256'
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
        : { key, padding: constants.RSA_PKCS1_PADDING };
  let closed = false;
  const status = (): TokenStatus => ({
    kind: 'software',
    warning: SOFTWARE_WARNING,
    warningCode: 'software-key',
    ready: !closed,
    detail: closed ? 'closed' : `software ${alg} key`,
    facts: closed ? { state: 'closed' } : { state: 'software', alg },
  });
  const sign = (data: Buffer | string): Buffer => {
    if (closed) throw new TokenConfigError('software token is closed');
    return cryptoSign('sha256', typeof data === 'string' ? Buffer.from(data, 'utf8') : data, options);
  };
  return {
    kind: 'software',
    alg,
    spkiDer,
    async sign(data) {
      return sign(data);
    },
    async signThen(data, finish) {
      return finish(sign(data));
    },
    status,
    async close() {
      closed = true;
    },
  };
}
