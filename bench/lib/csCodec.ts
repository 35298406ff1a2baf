// The identity store's value codec in bench:cs: AES-256-GCM sealing as in the appliance (the same
// sealWith/unsealWith and sealed JSON encoding its keyring uses), under a data key kept in a file of
// the bench's temp directory so the serving process and the consistency peer open the same store.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { sealedEncoding } from '../../gateway/crypto/encoding.js';
import { sealWith, unsealWith } from '../../gateway/crypto/sealed.js';
import type { ValueCodec } from '../../gateway/cs/identityStoreTypes.js';

export function sealedBenchCodec(keyFile: string): ValueCodec {
  if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  const key = readFileSync(keyFile);
  return sealedEncoding({ seal: (p) => sealWith(1, key, p), unseal: (s) => unsealWith(() => key, s) }, 'json');
}
