// The one place that decides which aedes persistence the broker runs on. The LevelDB persistence with
// durable ingress lives in broker/persistence/ (another component); until the broker is wired to it,
// aedes's in-memory persistence is used, with the per-client outgoing depth counted here so the
// offline-queue bound can be enforced either way.
import memory from 'aedes-persistence';
import type { AedesPublishPacket, Client } from 'aedes';
import type { Db } from '../gateway/store/db.js';

export interface BrokerPersistence {
  /** The object handed to aedes as `persistence`. */
  aedes: unknown;
  /** Messages queued for this client's persistent session (sent or not, not yet acknowledged). */
  outgoingDepth(clientId: string): Promise<number>;
  /** Client IDs that currently have a non-empty queue (metrics). */
  queuedClients(): Promise<string[]>;
  /** Makes an accepted publish durable before aedes acknowledges it; absent when not durable. */
  storeIngress?: (client: Client, packet: AedesPublishPacket) => Promise<void>;
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

/** Today: in-memory. Switch here (one place) to broker/persistence's createLevelPersistence when it lands. */
export async function createBrokerPersistence(_opts: { dataDir?: string; db?: Db } = {}): Promise<BrokerPersistence> {
  return createMemoryPersistence();
}
