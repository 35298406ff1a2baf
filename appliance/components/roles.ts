// The CS role (市町村CS: every numbered Juki-net flow) with the GW role (住基ネットGW) in front of its
// number-linkage intake.
import type { Registry } from 'prom-client';
import type { BrokerHandle } from '../../broker/server.js';
import type { AuditLog } from '../../gateway/audit/index.js';
import type { EncryptionAtRest } from '../../gateway/crypto/index.js';
import { IdentityStore } from '../../gateway/cs/identityStore.js';
import { startCsRole, type CsRole } from '../../gateway/cs/role.js';
import { startGwRole, type GwRole } from '../../gateway/gw/role.js';
import type { Uplink } from '../../gateway/uplink/index.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import type { Running } from '../lifecycle.js';
import type { LiveConfig } from '../liveConfig.js';

export interface RolesNeeds {
  /** Systems, roles and checkResidentCodeDigit apply live: the roles read the configuration per request. */
  liveConfig: LiveConfig;
  db: Db;
  logger: Logger;
  registry: Registry;
  broker: BrokerHandle;
  uplink: Uplink;
  auditLog: AuditLog;
  atRest: EncryptionAtRest;
}
export interface RolesPart extends Running {
  cs: CsRole;
  gw: GwRole;
}

export async function startRoles({ liveConfig, db, logger, registry, broker, uplink, auditLog, atRest }: RolesNeeds): Promise<RolesPart> {
  const config = liveConfig.current();
  const audit = { log: auditLog, hashKey: atRest.hashKey };
  const gw = await startGwRole({ config, db, logger, registry, audit });
  const sealedJson = atRest.keyring.valueEncoding('json');
  let cs: CsRole;
  try {
    cs = await startCsRole({
      config,
      currentConfig: liveConfig.current,
      db,
      logger,
      registry,
      broker,
      uplink,
      audit,
      gateway: gw.attach,
      identityStore: await IdentityStore.open(db, {
        codec: sealedJson,
        indexKey: await atRest.keyring.secret('identity-index'),
        codeKey: await atRest.keyring.secret('identity-code'),
        // Read per change, so a configuration applied live (checkResidentCodeDigit) holds here too.
        validation: {
          get residentCodeCheckDigit() {
            return liveConfig.current().checkResidentCodeDigit;
          },
        },
        onMigrate: ({ sublevel, entries }) => {
          if (sublevel.includes(':sweep'))
            logger.warn({ sublevel, entries }, 'identity store: old keys found after their pass, rewritten by a sweep');
          else if (entries % 100_000 === 0) logger.info({ sublevel, entries }, 'identity store: moving keys to 住民票コード pseudonyms');
        },
      }),
      encodings: { local: sealedJson, moveout: sealedJson, answers: sealedJson },
    });
  } catch (e) {
    await gw.close();
    throw e;
  }
  return {
    cs,
    gw,
    stop: async () => {
      await cs.close();
      await gw.close();
    },
  };
}
