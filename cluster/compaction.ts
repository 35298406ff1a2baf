// Keeps the replicated log short. Every node publishes how far it has applied (a key bound to its
// lease, so a node that is gone stops holding the log back); the active node deletes, under its
// fence, the entries every live node has applied, and raises the alarm when the log outgrows a bound.
// A copy of the store (a backup taken to start a lagging or new node) holds the log after its
// position for a while, so that the node restored from it finds its next entries.
import type { Etcd3 } from 'etcd3';
import { fencedTxn, type Fence } from './fencing.js';
import type { ClusterKeys } from './keys.js';
import type { LogSize } from './logSize.js';

export interface LogBounds {
  alarmEntries: number;
  alarmBytes: number;
}
export interface LogAlarm {
  entries: number;
  bytes: number;
  bounds: LogBounds;
}

export async function publishApplied(client: Etcd3, keys: ClusterKeys, nodeId: string, leaseId: string, position: number): Promise<void> {
  await client
    .put(keys.appliedPrefix + nodeId)
    .value(String(position))
    .lease(leaseId)
    .exec();
}

/** Applied position of every live node (nodeId → position). */
export async function appliedPositions(client: Etcd3, keys: ClusterKeys): Promise<Map<string, number>> {
  const all = await client.getAll().prefix(keys.appliedPrefix).strings();
  return new Map(Object.entries(all).map(([k, v]) => [k.slice(keys.appliedPrefix.length), Number(v)]));
}

/** How long a backup's hold keeps the log: time to copy the file to the other node, restore and start it. */
export const COPY_HOLD_SECONDS = 3600;

/**
 * Keeps every entry after `position` for `ttlSeconds`: the key is bound to a lease of its own that
 * nothing renews, so a hold nobody uses ends by itself (the log's alarm shows it meanwhile).
 */
export async function holdLog(client: Etcd3, keys: ClusterKeys, id: string, position: number, ttlSeconds: number): Promise<void> {
  const lease = client.lease(ttlSeconds, { autoKeepAlive: false });
  await lease
    .put(keys.holdPrefix + id)
    .value(String(position))
    .exec();
}

/** Positions held for copies of the store still in use (see holdLog). */
export async function heldPositions(client: Etcd3, keys: ClusterKeys): Promise<number[]> {
  return Object.values(await client.getAll().prefix(keys.holdPrefix).strings()).map(Number);
}

/**
 * The active node's compactor. It deletes the entries every live node has applied (its own position
 * included, so it never deletes what it has not applied itself), and none a copy's hold keeps. A node
 * whose key vanished less than `graceMs` ago still counts with its last position: a standby whose lease lapsed for a moment (a
 * pause, a slow disk) must find its next entries when it comes back, not a gap that needs a full copy.
 */
export class Compactor {
  private lastSeen = new Map<string, { position: number; at: number }>();

  constructor(
    private readonly client: Etcd3,
    private readonly keys: ClusterKeys,
    private readonly fence: Fence,
    private readonly graceMs: number,
    private readonly size?: LogSize,
    /**
     * Deletes nothing before this time. A node that just took over never saw the previous active
     * node's applied position (its key ended with its lease): it waits one grace period, so the old
     * node, restarted as standby, finds its next entries.
     */
    private readonly heldUntil = 0,
  ) {}

  /** Returns the position compacted through (0: nothing deleted). */
  async compact(ownApplied: number): Promise<number> {
    const now = Date.now();
    // Positions are read during the hold too: a node seen then and gone as the hold ends still gets
    // its grace period (without the sighting, the first compaction after the hold passed it by).
    const live = await appliedPositions(this.client, this.keys);
    for (const [node, position] of live) this.lastSeen.set(node, { position, at: now });
    if (now < this.heldUntil) return 0;
    for (const [node, seen] of this.lastSeen) if (!live.has(node) && now - seen.at >= this.graceMs) this.lastSeen.delete(node);
    const held = await heldPositions(this.client, this.keys);
    const through = Math.min(ownApplied, ...[...this.lastSeen.values()].map((s) => s.position), ...held);
    if (through <= 0) return 0;
    const res = await fencedTxn(this.client, this.fence)
      .then(this.client.delete().inRange({ start: this.keys.logPrefix, end: this.keys.entry(through + 1) }))
      .commit();
    if (!res.succeeded) return 0;
    this.size?.dropThrough(through);
    return through;
  }
}

export function checkBounds(size: LogSize, bounds: LogBounds): LogAlarm | undefined {
  return size.entries > bounds.alarmEntries || size.bytes > bounds.alarmBytes
    ? { entries: size.entries, bytes: size.bytes, bounds }
    : undefined;
}
