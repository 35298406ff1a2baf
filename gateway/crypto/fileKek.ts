// Software KEK: 32 random bytes in a 0600 file; RFC 5649 AES key wrap with padding, the same
// scheme the PKCS#11 KEK uses (CKM_AES_KEY_WRAP_PAD), so wrapped keys look alike in the store.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KekError, type KeyEncryptionKey } from './kek.js';

const RFC5649_IV = Buffer.from('a65959a6', 'hex');
export const SOFTWARE_KEK_WARNING = 'software key — not for production';

export function openFileKek(file: string): KeyEncryptionKey {
  let kek: Buffer;
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    kek = readFileSync(file);
    if (kek.length !== 32) throw new KekError(`key-encryption key file ${file} must hold exactly 32 bytes (has ${kek.length})`);
  } else {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    kek = randomBytes(32);
    writeFileSync(file, kek, { mode: 0o600, flag: 'wx' });
  }
  const id = `file:${createHash('sha256').update('juki-gw kek id').update(kek).digest('hex').slice(0, 16)}`;
  let closed = false;
  const live = () => {
    if (closed) throw new KekError('key-encryption key is closed');
  };
  return {
    kind: 'software',
    id,
    warning: SOFTWARE_KEK_WARNING,
    async wrap(dataKey) {
      live();
      const c = createCipheriv('id-aes256-wrap-pad', kek, RFC5649_IV);
      return Buffer.concat([c.update(dataKey), c.final()]);
    },
    async unwrap(wrapped) {
      live();
      try {
        const d = createDecipheriv('id-aes256-wrap-pad', kek, RFC5649_IV);
        return Buffer.concat([d.update(wrapped), d.final()]);
      } catch {
        throw new KekError(`wrapped key does not unwrap with ${id} (other KEK, or altered)`);
      }
    },
    async close() {
      closed = true;
      kek.fill(0);
    },
  };
}
