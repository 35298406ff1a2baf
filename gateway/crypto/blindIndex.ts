// Keyed hashes (HMAC-SHA-256) of personal identifiers, for database keys and audit entries: equal
// inputs give equal outputs (look-ups work), but the identifier never sits in the data dir.
import { createHmac } from 'node:crypto';

export type KeyHasher = (kind: string, value: string) => string;

const KIND = /^[a-z][a-z0-9]{0,15}$/;

/** `kind:` + base64url(HMAC-SHA-256(secret, kind NUL value)), 43 chars after the colon. */
export function createKeyHasher(secret: Uint8Array): KeyHasher {
  if (secret.length < 32) throw new Error('key hasher needs a secret of at least 32 bytes');
  const key = Buffer.from(secret);
  return (kind, value) => {
    if (!KIND.test(kind)) throw new Error(`key hasher: bad kind "${kind}" (expected a-z0-9, up to 16)`);
    return `${kind}:${createHmac('sha256', key).update(kind).update('\0').update(value, 'utf8').digest('base64url')}`;
  };
}

export const HASHED_KEY = /^[a-z][a-z0-9]{0,15}:[A-Za-z0-9_-]{43}$/;
