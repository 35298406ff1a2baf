// The one place that decides which aedes persistence the broker runs on: the LevelDB persistence of
// broker/persistence (durable ingress, crash replay), on the appliance DB or a DB of its own.
import { join } from 'node:path';
import type { Db } from '../platform/store/db.js';
import { createLevelPersistence, type LevelPersistence, type PersistenceAlarm, type ValueSealer } from './persistence/index.js';

export interface BrokerPersistence {
  /** The object handed to aedes as `persistence`. */
  aedes: unknown;
  /** Messages queued for this client's persistent session (sent or not, not yet acknowledged). */
  outgoingDepth(clientId: string): Promise<number>;
  /** Client IDs that currently have a non-empty queue (metrics). */
  queuedClients(): Promise<string[]>;
  /** The LevelDB persistence: durable ingress (stored before PUBACK), crash replay, request queue. */
  level: LevelPersistence;
  close(): Promise<void>;
}

export function fromLevelPersistence(level: LevelPersistence, ownsIt: boolean): BrokerPersistence {
  return {
    aedes: level,
    level,
    outgoingDepth: async (id) => level.outgoingDepth(id),
    queuedClients: async () => [...level.outgoingDepths().keys()],
    close: async () => {
      if (ownsIt) await level.destroy();
    },
  };
}

export interface PersistenceChoice {
  /** The appliance DB (shared, one sublevel per component); the caller owns and closes it. */
  db?: Db;
  /** Without a db: open a LevelDB under dataDir/broker-db. */
  dataDir?: string;
  /** fsync every commit that precedes an acknowledgement (config broker.syncWrites; default true). */
  sync?: boolean;
  onAlarm?: (a: PersistenceAlarm) => void;
  /** Encryption at rest of every stored value (the appliance's keyring); none for the standalone broker. */
  sealer?: ValueSealer;
}

export async function createBrokerPersistence(opts: PersistenceChoice): Promise<BrokerPersistence> {
  if (!opts.db && !opts.dataDir) throw new Error('broker persistence: give db or dataDir');
  const level = createLevelPersistence({
    ...(opts.db ? { db: opts.db } : { path: join(opts.dataDir!, 'broker-db') }),
    sync: opts.sync ?? true,
    ...(opts.onAlarm ? { onAlarm: opts.onAlarm } : {}),
    ...(opts.sealer ? { sealer: opts.sealer } : {}),
  });
  await level.open();
  return fromLevelPersistence(level, true);
}
