// Encryption at rest: the data keys that seal personal data in the DB, wrapped by the token's KEK.
import type { ApplianceConfig } from '../../config/schema/index.js';
import { openEncryptionAtRest, type EncryptionAtRest } from '../../gateway/crypto/index.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import type { Running } from '../lifecycle.js';

export interface EncryptionAtRestNeeds {
  config: ApplianceConfig;
  db: Db;
  logger: Logger;
}
export interface EncryptionAtRestPart extends Running {
  atRest: EncryptionAtRest;
}

export async function startEncryptionAtRest({ config, db, logger }: EncryptionAtRestNeeds): Promise<EncryptionAtRestPart> {
  const atRest = await openEncryptionAtRest({
    hsm: config.hsm,
    dataDir: config.dataDir,
    db,
    logger: logger.child({ component: 'crypto' }),
  });
  return { atRest, stop: () => atRest.close() };
}
