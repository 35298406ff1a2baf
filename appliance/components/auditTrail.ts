// The audit trail (監査ログ): hash-chained, checkpoints signed on the token. It also takes the broker's
// refusals and alarms (denied topics, bad certificates, limits).
import type { BrokerAuditEvent } from '../../broker/server.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { openAudit, type AuditEventInput, type AuditLog } from '../../gateway/audit/index.js';
import type { TokenSigner } from '../../hsm/index.js';
import { previousKeyOnToken } from '../../hsm/previous-key.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import type { Registry } from 'prom-client';
import type { Running } from '../lifecycle.js';

export interface AuditTrailNeeds {
  config: ApplianceConfig;
  db: Db;
  signer: TokenSigner;
  logger: Logger;
  registry: Registry;
}
export interface AuditTrailPart extends Running {
  log: AuditLog;
  /** Where the broker sends its refusals and alarms. */
  brokerEvents: (e: BrokerAuditEvent) => void;
}

export async function startAuditTrail({ config, db, signer, logger, registry }: AuditTrailNeeds): Promise<AuditTrailPart> {
  const auditLogger = logger.child({ component: 'audit' });
  // A new certificate or key since the last start: the outgoing key, still on the token, hands the log over.
  const previousKey = previousKeyOnToken(config.hsm, config.dataDir, signer, auditLogger);
  const { log } = await openAudit({ config: config.audit, db, signer, logger: auditLogger, registry, previousKey });
  const brokerEvents = (e: BrokerAuditEvent) => {
    const event: AuditEventInput =
      e.kind === 'denial'
        ? {
            actor: { kind: 'system', id: (e.systemId ?? e.clientId ?? 'unknown').slice(0, 128) || 'unknown' },
            action: 'broker.denial',
            outcome: 'refused',
            code: e.reason,
            detail: {
              detail: e.detail.slice(0, 512),
              listener: e.listener,
              remote: e.remote,
              topic: e.topic?.slice(0, 512) ?? null,
              systemId: e.systemId,
            },
          }
        : {
            actor: { kind: 'appliance', id: 'broker' },
            action: 'broker.alarm',
            outcome: 'error',
            code: e.alarm.kind,
            detail: { message: e.alarm.message.slice(0, 512) },
          };
    log.append(event).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'audit append failed'));
  };
  return {
    log,
    brokerEvents,
    stop: async () => {
      await log.close?.();
    },
  };
}
