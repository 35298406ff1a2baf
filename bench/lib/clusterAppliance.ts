// bench:cluster, appliance phase: (a) the same bounded identity.update load against one single-box
// appliance and against a two-node cluster (lease 5 s), in the same run; (b) the largest log size the
// active node reported on /metrics during (a). Failover under load is its own phase (clusterFailover.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdCluster } from '../../test/helpers/etcd.js';
import { spawnAppliance, type ApplianceProcess } from '../../test/helpers/appliance-process.js';
import { boundedLoad, requester, type LoadResult } from './clusterLoad.js';
import { env, logSize, nodeFiles, PASSWORD, startPair } from './clusterNodes.js';

export interface AppliancePhase {
  single: LoadResult;
  cluster: LoadResult;
  log: { entries: number; bytes: number };
}

export async function appliancePhase(
  etcd: EtcdCluster,
  dir: string,
  o: { requests: number; window: number; progress: (m: string) => void },
): Promise<AppliancePhase> {
  const pw = join(dir, 'rr-01.pw');
  writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
  const procs: ApplianceProcess[] = [];
  try {
    // (a) single-box
    const solo = await nodeFiles(dir, 'solo', pw);
    const soloProc = await spawnAppliance(solo.config, env());
    procs.push(soloProc);
    const r1 = await requester([solo.mqttPort], 'single');
    const single = await boundedLoad(r1, o.requests, o.window);
    await r1.close();
    await soloProc.stop();
    o.progress(`single-box: ${single.perSec.toFixed(0)}/s`);

    // (a) cluster, (b) log size meanwhile
    const prefix = '/bench-app';
    const cl = { endpoints: etcd.endpoints, prefix, leaseTtlSeconds: 5 };
    const a = await nodeFiles(dir, 'gw-a', pw, cl);
    const b = await nodeFiles(dir, 'gw-b', pw, cl);
    await startPair(a, b, etcd.endpoints, prefix, procs);
    const r2 = await requester([a.mqttPort, b.mqttPort], 'cluster');
    const log = { entries: 0, bytes: 0 };
    const cluster = await boundedLoad(r2, o.requests, o.window, async () => {
      const s = await logSize(a);
      log.entries = Math.max(log.entries, s.entries);
      log.bytes = Math.max(log.bytes, s.bytes);
    });
    await r2.close();
    o.progress(`cluster: ${cluster.perSec.toFixed(0)}/s`);
    return { single, cluster, log };
  } finally {
    for (const p of procs) await p.stop();
  }
}
