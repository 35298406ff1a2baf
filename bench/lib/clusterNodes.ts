// bench:cluster, appliance phase: `juki-gw start` processes (single-box, or two cluster nodes over the
// etcd members), each with its own data dir, software token and loopback ports. The second cluster
// node is installed as docs/cluster.md says: the first one's store copied while it is stopped, plus
// the installation's KEK.
import { copyFileSync, cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { KEK_FILE } from '../../gateway/crypto/index.js';
import { spawnAppliance, type ApplianceProcess } from '../../test/helpers/appliance-process.js';
import { applianceNodeFiles, type NodeFiles } from '../../test/helpers/cluster-appliance.js';

export const PASSWORD = 'bench cluster password 1';
export const STANDBY = /cluster: standby until this node wins the election/;
export const env = () => {
  const e = { ...process.env };
  delete e.SOFTHSM2_CONF;
  return e;
};

export type { NodeFiles } from '../../test/helpers/cluster-appliance.js';

/** Config of one node (the register system rr-01); `cluster` absent: single-box. */
export function nodeFiles(
  dir: string,
  id: string,
  pwFile: string,
  cluster?: { endpoints: string[]; prefix: string; leaseTtlSeconds: number },
): Promise<NodeFiles> {
  return applianceNodeFiles(dir, id, pwFile, { system: { id: 'rr-01', role: 'resident-register' }, cluster });
}

/** Starts a: leader, b: standby following. Every process started is pushed on `procs` (stopped by the caller). */
export async function startPair(
  a: NodeFiles,
  b: NodeFiles,
  endpoints: string[],
  prefix: string,
  procs: ApplianceProcess[],
): Promise<{ leader: ApplianceProcess; standby: ApplianceProcess }> {
  const seed = await spawnAppliance(a.config, env());
  procs.push(seed);
  await seed.stop();
  cpSync(join(a.dataDir, 'db'), join(b.dataDir, 'db'), { recursive: true });
  mkdirSync(join(b.dataDir, 'keys'), { recursive: true });
  copyFileSync(join(a.dataDir, KEK_FILE), join(b.dataDir, KEK_FILE));
  // Holds b's place in the log until it publishes its own applied position (no full copy for a node
  // behind compaction, docs/cluster.md).
  const holder = new Etcd3({ hosts: endpoints });
  try {
    const hold = holder.lease(30, { autoKeepAlive: false });
    await hold.put(`${prefix}/applied/${b.id}`).value('0');
    const leader = await spawnAppliance(a.config, env());
    procs.push(leader);
    const standby = await spawnAppliance(b.config, env(), 90_000, STANDBY);
    procs.push(standby);
    await hold.revoke();
    return { leader, standby };
  } finally {
    holder.close();
  }
}

export async function readyz(n: NodeFiles): Promise<string> {
  return (await fetch(`http://127.0.0.1:${n.adminPort}/readyz`)).text();
}

/** jukigw_cluster_log_entries / _bytes from a node's /metrics (0 on a standby). */
export async function logSize(n: NodeFiles): Promise<{ entries: number; bytes: number }> {
  const text = await (await fetch(`http://127.0.0.1:${n.adminPort}/metrics`)).text();
  const get = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { entries: get('jukigw_cluster_log_entries'), bytes: get('jukigw_cluster_log_bytes') };
}
