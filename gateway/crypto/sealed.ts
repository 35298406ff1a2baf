// Sealed value format for personal data at rest (AES-256-GCM). The header names the data key so
// that values written before a rotation stay readable while the re-encryption pass runs.
//   [0] 0x4A magic  [1] version 1  [2..5] key id (uint32 BE)  [6..17] nonce  [..] ciphertext  [last 16] tag
// The header is the additional authenticated data: changing the key id or version fails like any
// other tampering, and decryption never returns unauthenticated bytes.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const SEALED_MAGIC = 0x4a;
export const SEALED_VERSION = 1;
const HEADER = 6;
const NONCE = 12;
const TAG = 16;
export const SEALED_OVERHEAD = HEADER + NONCE + TAG;

export type DecryptFailure = 'malformed' | 'unknown_key' | 'retired_key' | 'bad_tag';

export class SealedValueError extends Error {
  constructor(
    readonly reason: DecryptFailure,
    message: string,
    readonly keyId?: number,
  ) {
    super(message);
    this.name = 'SealedValueError';
  }
}

export function sealWith(keyId: number, key: Uint8Array, plain: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(HEADER + NONCE + plain.length + TAG);
  out[0] = SEALED_MAGIC;
  out[1] = SEALED_VERSION;
  out.writeUInt32BE(keyId, 2);
  // Random 96-bit nonces: with one data key per rotation period the birthday bound (2^32 values) is far off.
  randomBytes(NONCE).copy(out, HEADER);
  const cipher = createCipheriv('aes-256-gcm', key, out.subarray(HEADER, HEADER + NONCE));
  cipher.setAAD(out.subarray(0, HEADER));
  const n1 = cipher.update(plain).copy(out, HEADER + NONCE);
  const n2 = cipher.final().copy(out, HEADER + NONCE + n1);
  cipher.getAuthTag().copy(out, HEADER + NONCE + n1 + n2);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Key id of a sealed value, or undefined when the bytes are not a sealed value at all. */
export function sealedKeyId(sealed: Uint8Array): number | undefined {
  if (sealed.length < SEALED_OVERHEAD || sealed[0] !== SEALED_MAGIC || sealed[1] !== SEALED_VERSION) return undefined;
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length).readUInt32BE(2);
}

export function unsealWith(lookup: (keyId: number) => Uint8Array, sealed: Uint8Array): Uint8Array {
  const keyId = sealedKeyId(sealed);
  if (keyId === undefined) throw new SealedValueError('malformed', 'not a sealed value (bad header or too short)');
  const key = lookup(keyId);
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
  const decipher = createDecipheriv('aes-256-gcm', key, b.subarray(HEADER, HEADER + NONCE));
  decipher.setAAD(b.subarray(0, HEADER));
  decipher.setAuthTag(b.subarray(b.length - TAG));
  try {
    const head = decipher.update(b.subarray(HEADER + NONCE, b.length - TAG));
    const tail = decipher.final();
    return tail.length ? Buffer.concat([head, tail]) : head;
  } catch {
    throw new SealedValueError('bad_tag', `sealed value failed authentication (key ${keyId}): tampered or corrupted`, keyId);
  }
}
