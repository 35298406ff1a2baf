// Two appliance nodes of a cluster for tests: each its own LevelDB in a temp dir and its own etcd
// client, started as ClusterNode; everything closed by stop().
import { createHash } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { ClusterNode, type ClusterNodeOptions } from '../../cluster/node.js';
import { etcdClient } from '../../cluster/etcdClient.js';
import { afterAll, beforeAll } from 'vitest';
import { startEtcdCluster, type EtcdCluster } from './etcd.js';
import { tempDir } from './tmp.js';

export interface TestNode {
  node: ClusterNode;
  db: Db;
  client: Etcd3;
  dir: { path: string; cleanup: () => void };
  stop(): Promise<void>;
}

export type NodeSettings = Partial<Omit<ClusterNodeOptions, 'client' | 'db' | 'nodeId'>> & { prefix: string };

export async function startNode(endpoints: string[], nodeId: string, settings: NodeSettings, dir = tempDir()): Promise<TestNode> {
  // The appliance's own client (its receive limit fits a page of the largest entries), not a default one.
  const client = etcdClient({ endpoints, prefix: settings.prefix });
  const db = await openApplianceDb(dir.path);
  const node = new ClusterNode({
    client,
    db,
    nodeId,
    advertise: `${nodeId}:1883`,
    leaseTtlSeconds: 2,
    bounds: { alarmEntries: 100_000, alarmBytes: 1 << 30 },
    ...settings,
  });
  await node.start();
  let stopped = false;
  return {
    node,
    db,
    client,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await node.stop();
      client.close();
      await db.close();
    },
  };
}

/** SHA-256 over every key and value of a LevelDB, in key order. */
export async function digest(db: Db): Promise<string> {
  const h = createHash('sha256');
  for await (const [k, v] of db.iterator()) h.update(`${k.length}:${k}`).update(`${v.length}:`).update(v);
  return h.digest('hex');
}

export interface ClusterFixture {
  /** Three etcd members, started before the suite's tests. */
  readonly etcd: EtcdCluster;
  /** A plain etcd client for what a test reads or does behind the nodes' backs. */
  readonly admin: Etcd3;
  /** Nodes the tests started: stopped and their dirs removed after the suite. */
  readonly nodes: TestNode[];
}

/** Registers the suite's etcd members, an admin client and the clean-up of its nodes. */
export function clusterFixture(): ClusterFixture {
  let etcd: EtcdCluster | undefined;
  let admin: Etcd3 | undefined;
  const nodes: TestNode[] = [];
  beforeAll(async () => {
    etcd = await startEtcdCluster();
    admin = new Etcd3({ hosts: etcd.endpoints });
  });
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    for (const n of nodes) n.dir.cleanup();
    admin?.close();
    await etcd?.stop();
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('cluster fixture: used before its beforeAll ran');
    return v;
  };
  return {
    get etcd() {
      return started(etcd);
    },
    get admin() {
      return started(admin);
    },
    nodes,
  };
}
