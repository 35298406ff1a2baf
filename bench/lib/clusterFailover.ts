// bench:cluster, failover phase (issue 16, item 7, the long run): two `juki-gw start` nodes on their
// own SoftHSM tokens, a real Mosquitto upstream with the simulated prefecture, the register system's
// bounded identity.update load (several updates per person, in sequence, unique ids), and `kills`
// SIGKILLs of the active node plus `etcdKills` SIGKILLs of etcd's Raft leader, shuffled, each at a
// random point of the load (3 to 14 acknowledged requests after the cluster was whole again). The
// pass criteria are the short test's (test/cluster/failover-upstream.test.ts), counted, not asserted.
import type { EtcdCluster } from '../../test/helpers/etcd.js';
import { killActive, killEtcdLeader, newEventLog } from '../../test/helpers/failover-events.js';
import { settledLedger, type Ledger } from '../../test/helpers/failover-ledger.js';
import { startRegisterLoad } from '../../test/helpers/failover-load.js';
import { startFailoverRig } from '../../test/helpers/failover-nodes.js';
import { settle, type Settled } from '../../test/helpers/failover-settle.js';
import { PREF } from '../../test/helpers/cs-harness.js';
import { until } from '../../test/helpers/until.js';
import { percentile } from './uplinkCrypto.js';

export interface FailoverRun {
  ledger: Ledger;
  failoverMs: number[];
  exits: { node: string; code: number | null }[];
  settled: Settled;
  seconds: number;
}

export async function failoverPhase(
  etcd: EtcdCluster,
  dir: string,
  o: { kills: number; etcdKills: number; persons: number; updates: number; leaseTtlSeconds: number; progress: (m: string) => void },
): Promise<FailoverRun> {
  const rig = await startFailoverRig({ dir, etcd, persons: o.persons, leaseTtlSeconds: o.leaseTtlSeconds, seed: 'bench-failover' });
  const load = startRegisterLoad({ ports: rig.nodes.map((n) => n.mqttPort), residents: rig.residents, updates: o.updates, pauseMs: 100 });
  try {
    const t0 = performance.now();
    let finished = false;
    void load.done.then(() => (finished = true));
    const log = newEventLog();
    const events: ('node' | 'etcd')[] = [...Array<'node'>(o.kills).fill('node'), ...Array<'etcd'>(o.etcdKills).fill('etcd')];
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
    for (const [i, what] of events.entries()) {
      const at = load.acked() + 3 + Math.floor(Math.random() * 12);
      await until(() => load.acked() >= at || finished, 300_000, `${at} acknowledged before event ${i + 1}`);
      if (finished)
        throw new Error(
          `the load (${o.persons} × ${o.updates}) ended before event ${i + 1} of ${events.length}: give more BENCH_FAILOVER_UPDATES`,
        );
      if (what === 'node') await killActive(rig, log, load);
      else await killEtcdLeader(rig, log, load, etcd);
      o.progress(
        `${i + 1}/${events.length} ${what === 'node' ? 'SIGKILL active node' : 'SIGKILL etcd leader'} at ${load.acked()} acknowledged`,
      );
    }
    await until(() => finished, 600_000, 'every update answered');
    const seconds = (performance.now() - t0) / 1000;
    const counted = await settledLedger(load.sent, rig.residents, rig.sims.node(PREF));
    await load.close();
    return { ledger: counted, failoverMs: log.failoverMs, exits: log.exits, settled: await settle(rig, etcd), seconds };
  } finally {
    await load.close();
    await rig.close();
  }
}

export const failoverSummary = (ms: number[]) => ({ p50: percentile(ms, 50), max: Math.max(...ms) });
