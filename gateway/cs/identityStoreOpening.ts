// What the identity store checks before it reads anything: the keys it was written with and its
// layout on disk. A store under another code key, or of a newer or a development layout, is
// refused with what to do; an older layout is migrated here.
import { randomBytes } from 'node:crypto';
import type { Db } from '../../platform/store/db.js';
import { IdentityStoreOpenError } from './identityStoreErrors.js';
import { CodeCipher } from './identityStoreKeys.js';
import { META, text, utf8, type IdentitySublevels } from './identityStoreLayout.js';
import { migrateLayout, LAYOUT, layoutOf } from './identityStoreMigration.js';

export interface KeysAtOpen {
  indexKey?: Uint8Array | undefined;
  codeKey?: Uint8Array | undefined;
  onMigrate?: ((p: { sublevel: string; entries: number }) => void) | undefined;
}

/** The index key, the code key and its cipher the store opens with; the layout is current afterwards. */
export async function settleKeysAndLayout(
  db: Db,
  subs: IdentitySublevels,
  opts: KeysAtOpen,
): Promise<{ indexKey: Uint8Array; codeKey: Uint8Array; cipher: CodeCipher }> {
  const keyFromMeta = async (name: string): Promise<Uint8Array> => {
    const stored = await subs.meta.get(name);
    if (stored) return stored;
    const fresh = randomBytes(32);
    await subs.meta.put(name, fresh);
    return fresh;
  };
  const indexKey = opts.indexKey ?? (await keyFromMeta(META.indexKey));
  const storedCodeKey = opts.codeKey ? undefined : await subs.meta.get(META.codeKey);
  const codeKey = opts.codeKey ?? storedCodeKey ?? randomBytes(32);
  const layout = await layoutOf(subs);
  if (layout > LAYOUT)
    throw new IdentityStoreOpenError(
      `the identity store has layout ${layout}, newer than this version reads (${LAYOUT}): run the version that wrote it`,
    );
  if (layout === 2)
    throw new IdentityStoreOpenError(
      'the identity store has layout 2, written by a development build whose keys cannot be read back: import the register extract into a fresh data dir',
    );
  // The code key must be the one the keys were written with: under another key every look-up
  // would silently find nothing.
  const cipher = new CodeCipher(codeKey);
  const check = cipher.pseudonym('code-key-check');
  const storedCheck = await subs.meta.get(META.codeKeyCheck);
  if (storedCheck && text(storedCheck) !== check) {
    throw new IdentityStoreOpenError(
      'the identity store was written under another 住民票コード key (keyring secret "identity-code"): open it with the keyring it was written with',
    );
  }
  if (!storedCheck) await subs.meta.put(META.codeKeyCheck, utf8(check));
  if (!opts.codeKey && !storedCodeKey) await subs.meta.put(META.codeKey, codeKey);
  if (layout < LAYOUT) await migrateLayout(db, subs, { codeKey, ...(opts.onMigrate ? { onProgress: opts.onMigrate } : {}) });
  return { indexKey, codeKey, cipher };
}
