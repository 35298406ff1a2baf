// Everything a component needs for personal data at rest, opened once at start: the keyring (value
// encodings for its sublevels) and the keyed hasher for identifiers used as database keys.
import type { HsmConfig } from '../../config/schema/hsm.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import { createKeyHasher, type KeyHasher } from './blindIndex.js';
import { openKekFromConfig } from './fromConfig.js';
import { openKeyring, type Keyring } from './keyring.js';

export const BLIND_INDEX_SECRET = 'blind-index';

export interface EncryptionAtRest {
  keyring: Keyring;
  /** HMAC of identifiers (住民票コード, 個人番号, names): database keys and audit `keys`. */
  hashKey: KeyHasher;
  close(): Promise<void>;
}

export async function openEncryptionAtRest(opts: {
  hsm: HsmConfig;
  dataDir: string;
  db: Db;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}): Promise<EncryptionAtRest> {
  const kek = openKekFromConfig(opts.hsm, opts.dataDir, opts.env);
  try {
    if (kek.warning) opts.logger?.warn({ kek: kek.id, warning: kek.warning }, `data keys wrapped by a ${kek.warning}`);
    const keyring = await openKeyring({ db: opts.db, kek, ...(opts.logger ? { logger: opts.logger } : {}) });
    const hashKey = createKeyHasher(await keyring.secret(BLIND_INDEX_SECRET));
    return {
      keyring,
      hashKey,
      async close() {
        await keyring.close();
        await kek.close();
      },
    };
  } catch (e) {
    await kek.close();
    throw e;
  }
}
