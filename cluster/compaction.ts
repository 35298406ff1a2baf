// Keeps the replicated log short. Every node publishes how far it has applied (a key bound to its
// lease, so a node that is gone stops holding the log back); the active node deletes, under its
// fence, the entries every live node has applied, and raises the alarm when the log outgrows a bound.
import type { Etcd3 } from 'etcd3';
import { fencedTxn, type Fence } from './fencing.js';
import type { ClusterKeys } from './keys.js';
import type { LogSize } from './logSize.js';

export interface LogBounds { alarmEntries: number; alarmBytes: number }
export interface LogAlarm { entries: number; bytes: number; bounds: LogBounds }

export async function publishApplied(client: Etcd3, keys: ClusterKeys, nodeId: string, leaseId: string, position: number): Promise<void> {
  await client.put(keys.appliedPrefix + nodeId).value(String(position)).lease(leaseId).exec();
}

/** Applied position of every live node (nodeId → position). */
export async function appliedPositions(client: Etcd3, keys: ClusterKeys): Promise<Map<string, number>> {
  const all = await client.getAll().prefix(keys.appliedPrefix).strings();
  return new Map(Object.entries(all).map(([k, v]) => [k.slice(keys.appliedPrefix.length), Number(v)]));
}

/**
 * Deletes the entries every live node has applied (this node's own position included, so it never
 * deletes what it has not applied itself). Returns the position compacted through (0: nothing).
 */
export async function compact(client: Etcd3, keys: ClusterKeys, fence: Fence, ownApplied: number, size?: LogSize): Promise<number> {
  const positions = [...(await appliedPositions(client, keys)).values(), ownApplied];
  const through = Math.min(...positions);
  if (through <= 0) return 0;
  const res = await fencedTxn(client, fence)
    .then(client.delete().inRange({ start: keys.logPrefix, end: keys.entry(through + 1) }))
    .commit();
  if (!res.succeeded) return 0;
  size?.dropThrough(through);
  return through;
}

export function checkBounds(size: LogSize, bounds: LogBounds): LogAlarm | undefined {
  return size.entries > bounds.alarmEntries || size.bytes > bounds.alarmBytes
    ? { entries: size.entries, bytes: size.bytes, bounds } : undefined;
}
