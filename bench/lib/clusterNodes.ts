// bench:cluster, appliance phase: `juki-gw start` processes (single-box, or two cluster nodes over the
// etcd members), each with its own data dir, software token and loopback ports. The second cluster
// node is installed as docs/cluster.md says: the first one's store copied while it is stopped, plus
// the installation's KEK.
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { KEK_FILE } from '../../gateway/crypto/index.js';
import { spawnAppliance, type ApplianceProcess } from '../../test/helpers/appliance-process.js';
import { freePort } from '../../test/helpers/ports.js';

export const PASSWORD = 'bench cluster password 1';
export const STANDBY = /cluster: standby until this node wins the election/;
export const env = () => {
  const e = { ...process.env };
  delete e.SOFTHSM2_CONF;
  return e;
};

export interface NodeFiles {
  id: string;
  dataDir: string;
  config: string;
  mqttPort: number;
  adminPort: number;
}

/** Config of one node; `cluster` absent: single-box. */
export async function nodeFiles(
  dir: string,
  id: string,
  pwFile: string,
  cluster?: { endpoints: string[]; prefix: string; leaseTtlSeconds: number },
): Promise<NodeFiles> {
  const dataDir = join(dir, id);
  const config = join(dir, `${id}.yaml`);
  const mqttPort = await freePort();
  const adminPort = await freePort();
  const uiPort = await freePort();
  writeFileSync(
    config,
    [
      "municipalities: ['242012']",
      `dataDir: ${dataDir}`,
      'hsm: { kind: software }',
      `listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: ${mqttPort} }]`,
      `systems: [{ id: rr-01, role: resident-register, password: { file: ${pwFile} } }]`,
      `admin: { host: 127.0.0.1, port: ${adminPort} }`,
      `ui: { port: ${uiPort} }`,
      'limits: { minFreeDiskBytes: 0 }',
      ...(cluster
        ? [
            `cluster: { nodeId: ${id}, advertise: '127.0.0.1:${mqttPort}', leaseTtlSeconds: ${cluster.leaseTtlSeconds}, etcd: { endpoints: [${cluster.endpoints.map((e) => `'${e}'`).join(', ')}], prefix: ${cluster.prefix} } }`,
          ]
        : []),
      '',
    ].join('\n'),
  );
  return { id, dataDir, config, mqttPort, adminPort };
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
