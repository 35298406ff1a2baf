// What startBroker takes and gives: its dependencies, the audit events it reports and the handle it returns.
import type { Aedes, Client } from 'aedes';
import type { Registry } from 'prom-client';
import type { ApplianceConfig } from '../config/schema/index.js';
import type { SecretRef } from '../config/schema/common.js';
import type { Db } from '../platform/store/db.js';
import type { Logger } from '../platform/log/logger.js';
import type { BrokerIdentity } from './acl.js';
import type { Alarm } from './limits.js';
import type { DenialReason } from './metrics.js';
import type { BrokerPersistence } from './persistenceFactory.js';
import type { ValueSealer } from './persistence/index.js';

/** What the audit log records about a refusal or an alarm. */
export type BrokerAuditEvent =
  | {
      kind: 'denial';
      reason: DenialReason;
      detail: string;
      systemId: string | null;
      clientId: string | null;
      listener: string | null;
      remote: string | null;
      topic?: string;
      at: string;
    }
  | { kind: 'alarm'; alarm: Alarm };

export interface BrokerDeps {
  logger: Logger;
  db?: Db;
  persistence?: BrokerPersistence;
  registry?: Registry;
  audit?: (event: BrokerAuditEvent) => void;
  readSecret?: (ref: SecretRef) => string;
  /** Seals what the broker stores (encryption at rest); used only when it creates its persistence. */
  sealer?: ValueSealer;
  /** The appliance's intake consumes req/ and answers refused requests (see PublishPolicy). */
  intakeAnswersRequests?: boolean;
}

export interface BrokerHandle {
  aedes: Aedes;
  persistence: BrokerPersistence;
  registry: Registry;
  /** Bound address of a configured listener (by its name). */
  address(listenerName: string): { host: string; port: number };
  /** The authenticated identity behind an aedes client. */
  identityOf(client: Client): BrokerIdentity | undefined;
  onAlarm(fn: (a: Alarm) => void): () => void;
  /** Alarms currently raised. */
  activeAlarms(): Alarm[];
  listenersUp(): boolean;
  /**
   * Offline-queue bound for in-process publishes (the appliance's res/ and to/ pushes bypass
   * authorizePublish): ok, or why the publish must wait. Raises the queue alarm like client publishes.
   */
  admitOffline(topic: string, qos: number): Promise<{ ok: true } | { ok: false; reason: string }>;
  freeDiskBytes(): Promise<number>;
  /** Re-reads TLS material (new CRL) for new connections. */
  reloadTls(): void;
  /**
   * Applies a new configuration without dropping clients where possible: systems, roles (ACL) and
   * limits live — a connected client whose system was removed, disabled or given another role is
   * disconnected —; only the listeners named in `restartListeners` are restarted.
   */
  reconfigure(next: ApplianceConfig, opts?: { restartListeners?: string[] }): Promise<{ disconnected: string[] }>;
  close(): Promise<void>;
}
