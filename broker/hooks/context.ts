// What the broker's hooks share: the configuration and limits in force, what is known about each
// connection, and where refusals and alarms go. One object per broker, built by startBroker.
import type { Aedes, Client } from 'aedes';
import type {} from '../aedesInternals.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type { Logger } from '../../platform/log/logger.js';
import type { BrokerAlarms } from '../alarms.js';
import type { Connections } from '../connections.js';
import type { Deny } from '../denials.js';
import type { BrokerMetrics } from '../metrics.js';
import type { BrokerDeps } from '../types.js';

export interface BrokerContext {
  log: Logger;
  deps: BrokerDeps;
  /** The configuration in force: replaced by reconfigure, so hooks read it at each call. */
  current: ApplianceConfig;
  /** One object, updated in place on reconfigure, because the guards hold a reference to it. */
  limits: ApplianceConfig['limits'];
  metrics: BrokerMetrics;
  connections: Connections;
  deny: Deny;
  alarms: BrokerAlarms;
  /** Set once aedes is created (it takes the hooks at construction); hooks run only after that. */
  aedes: Aedes;
}

/** The appliance's role ACL applies (not the MQTT conformance mode `standalone`). */
export const applianceMode = (ctx: BrokerContext): boolean => ctx.current.broker.mode === 'appliance';

/** aedes' table of connected clients by client ID (declared in aedesInternals.ts). */
export const connectedClients = (aedes: Aedes): Record<string, Client> => aedes.clients;
