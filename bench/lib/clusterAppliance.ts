// bench:cluster, appliance phase: (a) the same bounded identity.update load against one single-box
// appliance and against a two-node cluster (lease 5 s), in the same run; (b) `kills` SIGKILLs of the
// active node under a light load (one request every 100 ms), failover time = kill → first reply from
// the other node, the killed node restarted as standby and caught up between kills; (c) the largest
// log size the active node reported on /metrics during (a).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdCluster } from '../../test/helpers/etcd.js';
import { spawnAppliance, type ApplianceProcess } from '../../test/helpers/appliance-process.js';
import { until } from '../../test/helpers/until.js';
import { boundedLoad, requester, type LoadResult } from './clusterLoad.js';
import { env, logSize, nodeFiles, PASSWORD, readyz, STANDBY, startPair, type NodeFiles } from './clusterNodes.js';
import { percentile, sleep } from './uplinkCrypto.js';

export interface AppliancePhase {
  single: LoadResult;
  cluster: LoadResult;
  log: { entries: number; bytes: number };
  failoverMs: number[];
}

export async function appliancePhase(
  etcd: EtcdCluster,
  dir: string,
  o: { requests: number; window: number; kills: number; progress: (m: string) => void },
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

    // (a) cluster, (c) log size meanwhile
    const prefix = '/bench-app';
    const cl = { endpoints: etcd.endpoints, prefix, leaseTtlSeconds: 5 };
    const a = await nodeFiles(dir, 'gw-a', pw, cl);
    const b = await nodeFiles(dir, 'gw-b', pw, cl);
    const pair = await startPair(a, b, etcd.endpoints, prefix, procs);
    const r2 = await requester([a.mqttPort, b.mqttPort], 'cluster');
    const log = { entries: 0, bytes: 0 };
    const cluster = await boundedLoad(r2, o.requests, o.window, async () => {
      const s = await logSize(a);
      log.entries = Math.max(log.entries, s.entries);
      log.bytes = Math.max(log.bytes, s.bytes);
    });
    await r2.close();
    o.progress(`cluster: ${cluster.perSec.toFixed(0)}/s`);

    // (b) failover
    const failoverMs = await kills(a, b, pair, procs, o);
    return { single, cluster, log, failoverMs };
  } finally {
    for (const p of procs) await p.stop();
  }
}

async function kills(
  a: NodeFiles,
  b: NodeFiles,
  pair: { leader: ApplianceProcess; standby: ApplianceProcess },
  procs: ApplianceProcess[],
  o: { kills: number; progress: (m: string) => void },
): Promise<number[]> {
  await until(async () => /lag 0,/.test(await readyz(b)), 60_000, 'gw-b caught up');
  const r = await requester([a.mqttPort, b.mqttPort], 'failover');
  const times: number[] = [];
  let killedAt = 0;
  let waitingFor = 0; // the port the next reply must come from after a kill
  let firstReply: (() => void) | undefined;
  let running = true;
  const load = (async () => {
    const inFlight = new Set<Promise<void>>();
    while (running) {
      const p = r
        .request()
        .then(({ port }) => {
          if (killedAt && port === waitingFor) {
            times.push(performance.now() - killedAt);
            killedAt = 0;
            firstReply?.();
          }
        })
        .catch(() => {
          /* the client ended at the close of the phase */
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      await sleep(100);
    }
    // A reply the dead node owed a clean session may never come: the wait is bounded.
    await Promise.race([Promise.all(inFlight), sleep(10_000)]);
  })();
  let leading = { proc: pair.leader, files: a };
  let following = { proc: pair.standby, files: b };
  try {
    for (let k = 1; k <= o.kills; k++) {
      await sleep(1000); // a few requests through the active node first
      const replied = new Promise<void>((resolve) => {
        firstReply = resolve;
      });
      waitingFor = following.files.mqttPort;
      killedAt = performance.now();
      process.kill(leading.proc.pid, 'SIGKILL');
      await leading.proc.stop();
      await replied;
      o.progress(`kill ${k}: ${times.at(-1)!.toFixed(0)} ms`);
      const back = await spawnAppliance(leading.files.config, env(), 90_000, STANDBY);
      procs.push(back);
      const files = leading.files;
      await until(async () => /lag 0,/.test(await readyz(files)), 60_000, `${files.id} caught up`);
      [leading, following] = [following, { proc: back, files }];
    }
  } finally {
    running = false;
    await load;
    await r.close();
  }
  return times;
}

export const failoverSummary = (ms: number[]) => ({ p50: percentile(ms, 50), max: Math.max(...ms) });
