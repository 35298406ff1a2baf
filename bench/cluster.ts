// npm run bench:cluster — commits through the replicated storage port (three etcd members on
// loopback, active node + following standby) against the plain LevelDB write of the same batches
// (synced), in the same run. BENCH_COMMITS commits (default 2000) of BENCH_OPS puts (default 4) of
// 1 KB, at 1, 16 and 64 commits in flight; commits/s, p50/p99 latency, and the largest log size
// the active node counted meanwhile (compaction every 100 ms).
// Then the appliance level (bench/lib/clusterAppliance.ts), `juki-gw start` processes on the same etcd
// members: BENCH_REQUESTS (default 2000) identity.update, BENCH_WINDOW (default 32) outstanding,
// against one single-box appliance and against two cluster nodes (lease 5 s). Then failover under load
// (bench/lib/clusterFailover.ts): two nodes on SoftHSM tokens relaying to a real Mosquitto upstream,
// BENCH_FAILOVER_PERSONS (default 10) × BENCH_FAILOVER_UPDATES (default 150) identity.update, while
// --kills N (default 10) SIGKILLs of the active node and --etcd-kills N (default 5) of etcd's leader
// strike at random points: acknowledged, lost, duplicates, order violations, failover p50/max, store
// digests, audit verify. --engine-only skips both appliance phases.
import { openApplianceDb, type Db } from '../platform/store/db.js';
import type { StoreOp } from '../platform/store/port.js';
import { startEtcdCluster } from '../test/helpers/etcd.js';
import { startNode } from '../test/helpers/cluster-node.js';
import { tempDir } from '../test/helpers/tmp.js';
import { until } from '../test/helpers/until.js';
import { intFlag } from './lib/args.js';
import { appliancePhase } from './lib/clusterAppliance.js';
import { failoverPhase, failoverSummary } from './lib/clusterFailover.js';

const COMMITS = Number(process.env.BENCH_COMMITS ?? 2000);
const OPS = Number(process.env.BENCH_OPS ?? 4);
const value = Buffer.alloc(1024, 7);
const argv = process.argv.slice(2);
const valued = ['--kills', '--etcd-kills'];
for (const [i, arg] of argv.entries()) {
  if (arg !== '--engine-only' && !valued.includes(arg) && !valued.includes(argv[i - 1]!))
    throw new Error(`unknown argument "${arg}" (known: --kills N, --etcd-kills N, --engine-only)`);
}
for (const [name, what] of [
  ['--kills', 'SIGKILLs of the active node'],
  ['--etcd-kills', "SIGKILLs of etcd's leader"],
] as const)
  if (argv.includes(name) && argv[argv.indexOf(name) + 1] === undefined) throw new Error(`${name} needs a number (${what})`);
const KILLS = intFlag(argv, 'kills', 10);
const ETCD_KILLS = intFlag(argv, 'etcd-kills', 5);
const ENGINE_ONLY = argv.includes('--engine-only');
const positive = (name: string, fallback: number) => {
  const raw = process.env[name];
  const n = Number(raw ?? fallback);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: expected a positive whole number, got "${raw}"`);
  return n;
};
const REQUESTS = positive('BENCH_REQUESTS', 2000);
const WINDOW = positive('BENCH_WINDOW', 32);
const FAILOVER_PERSONS = positive('BENCH_FAILOVER_PERSONS', 10);
const FAILOVER_UPDATES = positive('BENCH_FAILOVER_UPDATES', 150);

async function run(
  inFlight: number,
  commit: (ops: StoreOp[]) => Promise<void>,
  tag: string,
): Promise<{ perSec: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let c = next++; c < COMMITS; c = next++) {
        const ops = Array.from({ length: OPS }, (_, j) => ({ type: 'put' as const, key: `!bench!${tag}-${c}-${j}`, value }));
        const t = performance.now();
        await commit(ops);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { perSec: COMMITS / secs, p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]! };
}

const fmt = (r: { perSec: number; p50: number; p99: number }) =>
  `${r.perSec.toFixed(0).padStart(6)} commits/s  p50 ${r.p50.toFixed(2).padStart(7)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms`;

const etcd = await startEtcdCluster();
const plainDir = tempDir('jukigw-bench-plain-');
let plain: Db | undefined;
const settings = { prefix: '/bench', leaseTtlSeconds: 5, compactEveryMs: 100 };
const a = await startNode(etcd.endpoints, 'a', settings);
const b = await startNode(etcd.endpoints, 'b', settings);
try {
  await until(() => a.node.role === 'leader' && b.node.role === 'standby', 30_000, 'a leads, b follows');
  plain = await openApplianceDb(plainDir.path);
  const level = plain;
  process.stdout.write(`${COMMITS} commits × ${OPS} puts of 1 KB; etcd 3 members on loopback (one disk), standby following\n`);
  for (const inFlight of [1, 16, 64]) {
    let maxEntries = 0;
    let maxBytes = 0;
    const sampler = setInterval(() => {
      const s = a.node.logSize;
      if (s) {
        maxEntries = Math.max(maxEntries, s.entries);
        maxBytes = Math.max(maxBytes, s.bytes);
      }
    }, 20);
    const replicated = await run(inFlight, (ops) => a.node.port.commit(ops, { sync: true }), `r${inFlight}`);
    clearInterval(sampler);
    const local = await run(
      inFlight,
      (ops) =>
        level.batch(
          ops.map((o) => ({ type: 'put' as const, key: o.key, value: (o as { value: Uint8Array }).value })),
          { sync: true },
        ),
      `l${inFlight}`,
    );
    process.stdout.write(
      `in flight ${String(inFlight).padStart(2)}  replicated ${fmt(replicated)}  | LevelDB alone ${fmt(local)}  | log max ${maxEntries} entries, ${(maxBytes / 1024).toFixed(0)} KiB\n`,
    );
  }
  await until(() => b.node.applied === a.node.applied, 60_000, 'standby caught up');
  await a.stop();
  await b.stop();
  if (!ENGINE_ONLY) {
    const dir = tempDir('jukigw-bench-appliance-');
    try {
      const r = await appliancePhase(etcd, dir.path, {
        requests: REQUESTS,
        window: WINDOW,
        progress: (m) => process.stderr.write(`  ${m}\n`),
      });
      const row = (x: typeof r.single) =>
        `${x.perSec.toFixed(0).padStart(5)} acknowledged/s  p50 ${x.p50.toFixed(1).padStart(6)} ms  p99 ${x.p99.toFixed(1).padStart(6)} ms`;
      process.stdout.write(`appliance: ${REQUESTS} identity.update (QoS 1, PUBACK + reply), ${WINDOW} outstanding\n`);
      process.stdout.write(
        `  single-box  ${row(r.single)}\n  cluster     ${row(r.cluster)}\n  ratio cluster/single ${(r.cluster.perSec / r.single.perSec).toFixed(2)} (target ≥ 0.5)\n`,
      );
      process.stdout.write(`  log max under that load: ${r.log.entries} entries, ${(r.log.bytes / 1024).toFixed(0)} KiB\n`);
    } finally {
      dir.cleanup();
    }
    const fdir = tempDir('jukigw-bench-failover-');
    try {
      const r = await failoverPhase(etcd, fdir.path, {
        kills: KILLS,
        etcdKills: ETCD_KILLS,
        persons: FAILOVER_PERSONS,
        updates: FAILOVER_UPDATES,
        leaseTtlSeconds: 5,
        progress: (m) => process.stderr.write(`  ${m}\n`),
      });
      const l = r.ledger;
      const f = failoverSummary(r.failoverMs);
      const same = r.settled.stores.every((s) => s.digest === r.settled.stores[0]!.digest && s.applied === r.settled.head);
      process.stdout.write(
        `failover under load: ${FAILOVER_PERSONS} persons × ${FAILOVER_UPDATES} identity.update (QoS 1, in sequence per person), ${KILLS} SIGKILLs of the active node + ${ETCD_KILLS} of the etcd leader, lease 5 s, ${r.seconds.toFixed(0)} s\n` +
          `  acknowledged ${l.acknowledged}/${l.sent}, lost ${l.lost.length}, refused ${l.refused.length}, duplicates (other id) ${l.duplicates.length}, resends (same id) ${l.resends}, order violations ${l.orderViolations.length}, unverified upstream ${l.unverified}\n` +
          `  failover over ${r.failoverMs.length} node kills: p50 ${(f.p50 / 1000).toFixed(2)} s, max ${(f.max / 1000).toFixed(2)} s (target < 10 s); each ${r.failoverMs.map((m) => (m / 1000).toFixed(1)).join(' ')}\n` +
          `  nodes that ended by themselves: ${r.exits.map((e) => `${e.node} exit ${e.code}`).join(', ') || 'none'}\n` +
          `  after settling: log head ${r.settled.head}, stores ${same ? 'identical' : 'DIFFER'} (${r.settled.stores.map((s) => `${s.node} applied ${s.applied} ${s.digest.slice(0, 12)}`).join(', ')})\n` +
          `  juki-gw audit verify (both certificates pinned): exit ${r.settled.audit.code}, ${r.settled.audit.stdout.split('\n')[0]}\n`,
      );
      for (const x of [...l.lost, ...l.refused, ...l.duplicates, ...l.orderViolations].slice(0, 20)) process.stdout.write(`    ${x}\n`);
    } finally {
      fdir.cleanup();
    }
  }
} finally {
  await a.stop();
  await b.stop();
  await plain?.close();
  await etcd.stop();
  for (const d of [a.dir, b.dir, plainDir]) d.cleanup();
}
