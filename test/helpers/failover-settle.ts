// After a failover run: both nodes stopped (the standby first, so the active node does not hand over),
// each store applies what the log still holds, and a digest over every key and value is taken; then
// the project's own `juki-gw audit verify` checks the shared audit chain with both nodes'
// certificates pinned.
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { Applier, APPLIED_KEY } from '../../cluster/applier.js';
import { clusterKeys } from '../../cluster/keys.js';
import { ReplicatedLog } from '../../cluster/replicatedLog.js';
import { openApplianceDb } from '../../platform/store/db.js';
import { jukiGw, type CliResult } from './cli.js';
import { digest } from './cluster-node.js';
import type { EtcdCluster } from './etcd.js';
import { activeNode } from './failover-events.js';
import { nodeEnv, type FailoverRig } from './failover-nodes.js';

export interface Settled {
  head: number;
  /** Per node: the applied position after catching up, and the store's digest. */
  stores: { node: string; applied: number; digest: string }[];
  /** `juki-gw audit verify --data-dir <the last active node> --cert <each node's certificate>`. */
  audit: CliResult;
}

export async function settle(rig: FailoverRig, etcd: EtcdCluster): Promise<Settled> {
  const active = await activeNode(rig);
  const standby = rig.nodes.find((n) => n !== active)!;
  await standby.proc.stop();
  await active.proc.stop();
  const client = new Etcd3({ hosts: etcd.endpoints });
  const stores: Settled['stores'] = [];
  let head: number;
  try {
    const keys = clusterKeys(rig.prefix);
    head = await ReplicatedLog.head(client, keys);
    for (const n of rig.nodes) {
      const db = await openApplianceDb(join(n.dataDir, 'db'));
      try {
        await (await Applier.open(db, client, keys)).catchUp();
        stores.push({ node: n.id, applied: Number(Buffer.from((await db.get(APPLIED_KEY))!).toString()), digest: await digest(db) });
      } finally {
        await db.close();
      }
    }
  } finally {
    client.close();
  }
  const audit = await jukiGw(['audit', 'verify', '--data-dir', active.dataDir, ...rig.nodes.flatMap((n) => ['--cert', n.certFile])], {
    env: nodeEnv(),
    timeoutMs: 120_000,
  });
  return { head, stores, audit };
}
