// The MQTT broker for the municipality's own systems: it starts with the live configuration and
// follows each change (systems, ACL and limits live; only the listeners whose settings changed restart).
import { listenersCheck, type ReadinessCheck } from '../../broker/admin/checks.js';
import type { ValueSealer } from '../../broker/persistence/index.js';
import { startBroker, type BrokerAuditEvent, type BrokerHandle } from '../../broker/server.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import type { Registry } from 'prom-client';
import type { Running } from '../lifecycle.js';
import type { LiveConfig } from '../liveConfig.js';

export interface BrokerNeeds {
  liveConfig: LiveConfig;
  db: Db;
  logger: Logger;
  registry: Registry;
  /** Where refusals and alarms go (the audit trail). */
  audit: (e: BrokerAuditEvent) => void;
  /** Queued requests, replies and pushes carry personal data: sealed like the gateway's stores (undefined: stored plain). */
  sealer: ValueSealer | undefined;
  /** The roles' intake answers every req/ publish, so the broker lets it refuse forbidden types. */
  intakeAnswersRequests: boolean;
}
export interface BrokerPart extends Running {
  broker: BrokerHandle;
  check: ReadinessCheck;
}

export async function startBrokerPart({
  liveConfig,
  db,
  logger,
  registry,
  audit,
  sealer,
  intakeAnswersRequests,
}: BrokerNeeds): Promise<BrokerPart> {
  const broker = await startBroker(liveConfig.current(), {
    logger,
    db,
    registry,
    audit,
    intakeAnswersRequests,
    ...(sealer ? { sealer } : {}),
  });
  liveConfig.follow((next, plan) => broker.reconfigure(next, { restartListeners: plan.restartListeners }));
  return { broker, check: listenersCheck(broker), stop: () => broker.close() };
}
