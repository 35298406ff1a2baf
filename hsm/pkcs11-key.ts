// Keys on a PKCS#11 token: lookup by label/ID, generation (EC P-256, RSA 2048/3072) as sensitive,
// non-extractable token objects, and the public key as SPKI for certificates.
import { createPublicKey, randomBytes } from 'node:crypto';
import { TokenConfigError } from './errors.js';
import { pkcs11js, type Handle, type Pkcs11 } from './pkcs11-module.js';
import type { JwsAlg } from './types.js';

/** DER OID 1.2.840.10045.3.1.7 (prime256v1), as CKA_EC_PARAMS wants it. */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');

export interface KeyRef {
  label: string;
  id?: Buffer | undefined;
}

export interface TokenKeyInfo {
  label: string;
  id: string;
  type: 'EC' | 'RSA';
  bits: number;
  sensitive: boolean;
  extractable: boolean;
}

function find(lib: Pkcs11, session: Handle, template: pkcs11js.Template): Handle[] {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, 64);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

function refTemplate(ref: KeyRef, cls: number): pkcs11js.Template {
  const t: pkcs11js.Template = [
    { type: pkcs11js.CKA_CLASS, value: cls },
    { type: pkcs11js.CKA_LABEL, value: ref.label },
  ];
  if (ref.id) t.push({ type: pkcs11js.CKA_ID, value: ref.id });
  return t;
}

export interface FoundKey {
  privateKey: Handle;
  spkiDer: Buffer;
  type: 'EC' | 'RSA';
  id: Buffer;
}

/** Private key + its public half as SPKI. Refuses keys that are extractable or not sensitive. */
export function findKey(lib: Pkcs11, session: Handle, ref: KeyRef): FoundKey | undefined {
  const privs = find(lib, session, refTemplate(ref, pkcs11js.CKO_PRIVATE_KEY));
  if (privs.length === 0) return undefined;
  if (privs.length > 1) throw new TokenConfigError(`${privs.length} private keys are labelled "${ref.label}"; give hsm.keyId or relabel`);
  const privateKey = privs[0]!;
  const [typeA, sensA, extA, idA] = lib.C_GetAttributeValue(session, privateKey, [
    { type: pkcs11js.CKA_KEY_TYPE },
    { type: pkcs11js.CKA_SENSITIVE },
    { type: pkcs11js.CKA_EXTRACTABLE },
    { type: pkcs11js.CKA_ID },
  ]);
  if (sensA!.value[0] !== 1 || extA!.value[0] !== 0) {
    throw new TokenConfigError(`key "${ref.label}" is extractable or not sensitive; only sensitive, non-extractable keys may sign`);
  }
  const keyType = typeA!.value.readUInt32LE(0);
  const type = keyType === pkcs11js.CKK_EC ? 'EC' : keyType === pkcs11js.CKK_RSA ? 'RSA' : undefined;
  if (!type) throw new TokenConfigError(`key "${ref.label}" has unsupported key type ${keyType}`);
  const id = idA!.value;
  const pubs = find(lib, session, refTemplate({ label: ref.label, id: id.length ? id : undefined }, pkcs11js.CKO_PUBLIC_KEY));
  if (pubs.length !== 1) throw new TokenConfigError(`public key of "${ref.label}" not found on the token`);
  return { privateKey, spkiDer: publicSpki(lib, session, pubs[0]!, type), type, id };
}

function publicSpki(lib: Pkcs11, session: Handle, pub: Handle, type: 'EC' | 'RSA'): Buffer {
  if (type === 'EC') {
    const [params, point] = lib.C_GetAttributeValue(session, pub, [{ type: pkcs11js.CKA_EC_PARAMS }, { type: pkcs11js.CKA_EC_POINT }]);
    if (!params!.value.equals(P256_PARAMS)) throw new TokenConfigError('EC key is not on P-256');
    let raw = point!.value;
    // CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (some tokens give it bare).
    if (raw[0] === 0x04 && raw.length === 67 && raw[1] === 65) raw = raw.subarray(2);
    if (raw.length !== 65 || raw[0] !== 0x04) throw new TokenConfigError('unexpected EC point encoding on the token');
    const jwk = { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') };
    return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  }
  const [n, e] = lib.C_GetAttributeValue(session, pub, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
  const jwk = { kty: 'RSA', n: n!.value.toString('base64url'), e: e!.value.toString('base64url') };
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
}

export function keyTypeFor(alg: JwsAlg): 'EC' | 'RSA' {
  return alg === 'ES256' ? 'EC' : 'RSA';
}

/** Generates a key pair on the token; the private half is sensitive and never extractable. */
export function generateKey(lib: Pkcs11, session: Handle, ref: KeyRef, alg: JwsAlg, rsaBits: 2048 | 3072 = 2048): FoundKey {
  if (find(lib, session, refTemplate({ label: ref.label }, pkcs11js.CKO_PRIVATE_KEY)).length) {
    throw new TokenConfigError(`a key labelled "${ref.label}" already exists on the token`);
  }
  const id = ref.id ?? randomBytes(16);
  const common = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: ref.label },
    { type: pkcs11js.CKA_ID, value: id },
  ];
  const priv: pkcs11js.Template = [
    ...common,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SIGN, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
  ];
  const pub: pkcs11js.Template = [
    ...common,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_VERIFY, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: false },
  ];
  if (keyTypeFor(alg) === 'EC') {
    pub.push({ type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC }, { type: pkcs11js.CKA_EC_PARAMS, value: P256_PARAMS });
    priv.push({ type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC });
    lib.C_GenerateKeyPair(session, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN }, pub, priv);
  } else {
    pub.push(
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
      { type: pkcs11js.CKA_MODULUS_BITS, value: rsaBits },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    );
    priv.push({ type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA });
    lib.C_GenerateKeyPair(session, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN }, pub, priv);
  }
  const found = findKey(lib, session, { label: ref.label, id });
  if (!found) throw new TokenConfigError('generated key not found on the token');
  return found;
}

/** All private keys on the token, for `keys list`. */
export function listKeys(lib: Pkcs11, session: Handle): TokenKeyInfo[] {
  return find(lib, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }]).map((h) => {
    const [label, id, type, sens, ext] = lib.C_GetAttributeValue(session, h, [
      { type: pkcs11js.CKA_LABEL },
      { type: pkcs11js.CKA_ID },
      { type: pkcs11js.CKA_KEY_TYPE },
      { type: pkcs11js.CKA_SENSITIVE },
      { type: pkcs11js.CKA_EXTRACTABLE },
    ]);
    const isEc = type!.value.readUInt32LE(0) === pkcs11js.CKK_EC;
    let bits = 256;
    if (!isEc) {
      const [mod] = lib.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_MODULUS }]);
      bits = mod!.value.length * 8;
    }
    return {
      label: label!.value.toString('utf8'),
      id: id!.value.toString('hex'),
      type: isEc ? ('EC' as const) : ('RSA' as const),
      bits,
      sensitive: sens!.value[0] === 1,
      extractable: ext!.value[0] === 1,
    };
  });
}
