// The appliance's audit trail as the `audit` config section describes it.
import type { Registry } from 'prom-client';
import type { AuditConfig } from '../../config/schema/audit.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import type { Signer } from '../../hsm/types.js';
import type { PreviousKeySigner } from '../../hsm/previous-key.js';
import { createAuditLog, type AuditLog } from './log.js';
import { createLookupAlerts, type LookupAlerts } from './lookupAlerts.js';

export async function openAudit(opts: {
  config: AuditConfig;
  db: Db;
  signer: Signer;
  logger?: Logger;
  registry?: Registry;
  trustedKids?: string[];
  previousKey?: PreviousKeySigner;
}): Promise<{ log: AuditLog; lookupAlerts: LookupAlerts }> {
  const { config } = opts;
  const lookupAlerts = createLookupAlerts({
    config: config.lookupAlerts,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
  });
  const log = await createAuditLog({
    db: opts.db,
    signer: opts.signer,
    checkpointEvery: config.checkpointEvery,
    checkpointSeconds: config.checkpointSeconds,
    retentionYears: config.retentionYears,
    lookupAlerts,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.trustedKids ? { trustedKids: opts.trustedKids } : {}),
    ...(opts.previousKey ? { previousKey: opts.previousKey } : {}),
  });
  return { log, lookupAlerts };
}
