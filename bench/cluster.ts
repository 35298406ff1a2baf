// npm run bench:cluster — commits through the replicated storage port (three etcd members on
// loopback, active node + following standby) against the plain LevelDB write of the same batches
// (synced), in the same run. BENCH_COMMITS commits (default 2000) of BENCH_OPS puts (default 4) of
// 1 KB, at 1, 16 and 64 commits in flight; commits/s, p50/p99 latency, and the largest log size
// the active node counted meanwhile (compaction every 100 ms).
// Then the appliance level (bench/lib/clusterAppliance.ts), `juki-gw start` processes on the same etcd
// members: BENCH_REQUESTS (default 2000) identity.update, BENCH_WINDOW (default 32) outstanding,
// against one single-box appliance and against two cluster nodes (lease 5 s); then --kills N (default
// 10) SIGKILLs of the active node under a light load, failover time p50/max. --engine-only skips it.
import { openApplianceDb, type Db } from '../platform/store/db.js';
import type { StoreOp } from '../platform/store/port.js';
import { startEtcdCluster } from '../test/helpers/etcd.js';
import { startNode } from '../test/helpers/cluster-node.js';
import { tempDir } from '../test/helpers/tmp.js';
import { until } from '../test/helpers/until.js';
import { intFlag } from './lib/args.js';
import { appliancePhase, failoverSummary } from './lib/clusterAppliance.js';

const COMMITS = Number(process.env.BENCH_COMMITS ?? 2000);
const OPS = Number(process.env.BENCH_OPS ?? 4);
const value = Buffer.alloc(1024, 7);
const argv = process.argv.slice(2);
for (const [i, arg] of argv.entries()) {
  if (arg !== '--kills' && arg !== '--engine-only' && argv[i - 1] !== '--kills')
    throw new Error(`unknown argument "${arg}" (known: --kills N, --engine-only)`);
}
if (argv.includes('--kills') && argv[argv.indexOf('--kills') + 1] === undefined)
  throw new Error('--kills needs a number (kills of the active node)');
const KILLS = intFlag(argv, 'kills', 10);
const ENGINE_ONLY = argv.includes('--engine-only');
const positive = (name: string, fallback: number) => {
  const raw = process.env[name];
  const n = Number(raw ?? fallback);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: expected a positive whole number, got "${raw}"`);
  return n;
};
const REQUESTS = positive('BENCH_REQUESTS', 2000);
const WINDOW = positive('BENCH_WINDOW', 32);

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
        kills: KILLS,
        progress: (m) => process.stderr.write(`  ${m}\n`),
      });
      const row = (x: typeof r.single) =>
        `${x.perSec.toFixed(0).padStart(5)} acknowledged/s  p50 ${x.p50.toFixed(1).padStart(6)} ms  p99 ${x.p99.toFixed(1).padStart(6)} ms`;
      const f = failoverSummary(r.failoverMs);
      process.stdout.write(`appliance: ${REQUESTS} identity.update (QoS 1, PUBACK + reply), ${WINDOW} outstanding\n`);
      process.stdout.write(
        `  single-box  ${row(r.single)}\n  cluster     ${row(r.cluster)}\n  ratio cluster/single ${(r.cluster.perSec / r.single.perSec).toFixed(2)} (target ≥ 0.5)\n`,
      );
      process.stdout.write(`  log max under that load: ${r.log.entries} entries, ${(r.log.bytes / 1024).toFixed(0)} KiB\n`);
      process.stdout.write(
        `  failover over ${r.failoverMs.length} kills (lease 5 s): p50 ${(f.p50 / 1000).toFixed(2)} s, max ${(f.max / 1000).toFixed(2)} s (target < 10 s); each ${r.failoverMs.map((m) => (m / 1000).toFixed(1)).join(' ')}\n`,
      );
    } finally {
      dir.cleanup();
    }
  }
} finally {
  await a.stop();
  await b.stop();
  await plain?.close();
  await etcd.stop();
  for (const d of [a.dir, b.dir, plainDir]) d.cleanup();
}
