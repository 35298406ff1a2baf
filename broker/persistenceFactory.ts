// The one place that decides which aedes persistence the broker runs on: the appliance LevelDB
// (broker/persistence, with durable ingress) by default; aedes's in-memory persistence only when asked
// for (tests of pure protocol behaviour), with the per-client outgoing depth counted here so the
// offline-queue bound holds either way.
import memory from 'aedes-persistence';
import { join } from 'node:path';
import type { Db } from '../gateway/store/db.js';
import { createLevelPersistence, type LevelPersistence, type PersistenceAlarm } from './persistence/index.js';

export interface BrokerPersistence {
  /** The object handed to aedes as `persistence`. */
  aedes: unknown;
  /** Messages queued for this client's persistent session (sent or not, not yet acknowledged). */
  outgoingDepth(clientId: string): Promise<number>;
  /** Client IDs that currently have a non-empty queue (metrics). */
  queuedClients(): Promise<string[]>;
  /** The LevelDB persistence: durable ingress (stored before PUBACK) and crash replay. */
  level?: LevelPersistence;
  /** True when data accepted is durable across a restart. */
  durable: boolean;
  close(): Promise<void>;
}

type Sub = { clientId: string };
type MemoryPersistence = {
  outgoingEnqueue(sub: Sub, packet: unknown): Promise<void>;
  outgoingEnqueueCombi(subs: Sub[], packet: unknown): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<unknown>;
  destroy(): Promise<void>;
};

export function createMemoryPersistence(): BrokerPersistence {
  const mem = (memory as unknown as () => MemoryPersistence)();
  const depth = new Map<string, number>();
  const add = (id: string, n: number) => {
    const d = Math.max(0, (depth.get(id) ?? 0) + n);
    if (d === 0) depth.delete(id); else depth.set(id, d);
  };
  // Called without a callback, the callback layer returns the async implementation's promise.
  const enqueue = mem.outgoingEnqueue.bind(mem);
  const enqueueCombi = mem.outgoingEnqueueCombi.bind(mem);
  const clear = mem.outgoingClearMessageId.bind(mem);
  mem.outgoingEnqueue = async (sub, packet) => { await enqueue(sub, packet); add(sub.clientId, 1); };
  mem.outgoingEnqueueCombi = async (subs, packet) => {
    await enqueueCombi(subs, packet);
    for (const s of subs) add(s.clientId, 1);
  };
  mem.outgoingClearMessageId = async (client, packet) => {
    const removed = await clear(client, packet);
    if (removed) add(client.id, -1);
    return removed;
  };
  return {
    aedes: mem,
    outgoingDepth: async (id) => depth.get(id) ?? 0,
    queuedClients: async () => [...depth.keys()],
    durable: false,
    close: async () => { await mem.destroy(); },
  };
}

export function fromLevelPersistence(level: LevelPersistence, ownsIt: boolean): BrokerPersistence {
  return {
    aedes: level,
    level,
    outgoingDepth: async (id) => level.outgoingDepth(id),
    queuedClients: async () => [...level.outgoingDepths().keys()],
    durable: true,
    close: async () => { if (ownsIt) await level.destroy(); },
  };
}

export interface PersistenceChoice {
  /** The appliance DB (shared, one sublevel per component); the caller owns and closes it. */
  db?: Db;
  /** Without a db: open a LevelDB under dataDir/broker-db. */
  dataDir?: string;
  /** fsync every committed batch (config broker.syncWrites). */
  sync?: boolean;
  memory?: boolean;
  onAlarm?: (a: PersistenceAlarm) => void;
}

export async function createBrokerPersistence(opts: PersistenceChoice): Promise<BrokerPersistence> {
  if (opts.memory) return createMemoryPersistence();
  if (!opts.db && !opts.dataDir) throw new Error('broker persistence: give db, dataDir or memory');
  const level = createLevelPersistence({
    ...(opts.db ? { db: opts.db } : { path: join(opts.dataDir!, 'broker-db') }),
    sync: opts.sync ?? false,
    ...(opts.onAlarm ? { onAlarm: opts.onAlarm } : {}),
  });
  await level.open();
  return fromLevelPersistence(level, true);
}
