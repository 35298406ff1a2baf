// npm run bench:uplink — signed messages/s from a local system's req/ publish to the simulated
// prefecture through a real Mosquitto, SoftHSM signing (ES256) at send time and verification at the
// receiver, each message acknowledged end to end (identity.notify → identity.notify.result).
// One process, one run, on the CS e2e stack (test/helpers/cs-harness.ts): the appliance broker, the CS
// role, the uplink, the simulators on Mosquitto, the appliance key on SoftHSM. All in this run:
//   1. raw token signing rate (signEnvelope on the same SoftHSM token, as many callers as the uplink
//      has partitions in flight),
//   2. the unsigned path (same stack; the uplink makes no signature, neither the uplink nor the
//      simulators verify; the simulators' answers still carry their own software signature),
//   3. the signed path.
// For 2 and 3: sustained msg/s with a closed loop of BENCH_WINDOW requests outstanding, then p50/p99
// latency paced at half that rate (bench/lib/uplinkReq.ts: the clock starts at the req/ publish).
// Second table (BENCH_OUTBOX=0 skips it): the same stacks with the clock started at the outbox commit
// (bench/lib/uplinkOutbox.ts).
// Baseline for the ratio (same run, before the rounds): the durable broker alone (bench:broker's
// "ours", fsync default), QoS 1 msgs/s of BENCH_BROKER_MESSAGES (default 50,000).
// Interactive priority (the first signed run, BENCH_BURST=0 skips it): identity.search p50/p99 while a
// burst of BENCH_BURST (default 50,000) identity.update requests is queued (bench/lib/uplinkSearch.ts).
// --profile [FILE]: a CPU profile of this process (the appliance) over the first signed sustained
// phase, written to FILE (default in the temp dir), and its CPU per message split into stages
// (bench/lib/profileStages.ts).
// Knobs: BENCH_ROUNDS (default 2, ABBA order), BENCH_SECONDS (sustained and paced phases, default 8),
// BENCH_WINDOW (default 1000), BENCH_RESIDENTS (default 3000), BENCH_MESSAGES (outbox backlog, default
// 2000), BENCH_PACED_RATE (msg/s of the paced phase; default half the sustained rate), BENCH_OUTBOX=0,
// BENCH_VERBOSE=1, BENCH_SYNC_WRITES=false (the stacks at the opt-out of
// broker.syncWrites, process-crash safety only; default: the configuration's default).
import { execSync } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nowIso, uuidv7, type Envelope } from '../platform/envelope.js';
import { PREF, SELF, startCsStack, type CsStack } from '../test/helpers/cs-harness.js';
import { applianceHsm, notifyBody, testResidentCode } from '../test/helpers/uplink.js';
import { runBroker } from './lib/brokerRun.js';
import { cpuProfiler } from './lib/cpuProfile.js';
import { STAGES, stageTimes } from './lib/profileStages.js';
import { rawSigningRate, unsignedSigner, unsignedVerifier } from './lib/uplinkCrypto.js';
import { measureSearchDuringBurst, type SearchDuringBurst } from './lib/uplinkSearch.js';
import { measureOutboxPath, type OutboxPathResult } from './lib/uplinkOutbox.js';
import { latencyOf, measureReqPath, type Latency, type ReqPathResult } from './lib/uplinkReq.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 1000);
const RESIDENTS = Number(process.env.BENCH_RESIDENTS ?? 3000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const OUTBOX = process.env.BENCH_OUTBOX !== '0';
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const SYNC_ENV = process.env.BENCH_SYNC_WRITES;
if (SYNC_ENV !== undefined && SYNC_ENV !== 'true' && SYNC_ENV !== 'false')
  throw new Error(`BENCH_SYNC_WRITES: expected true or false, got "${SYNC_ENV}"`);
const SYNC_WRITES = SYNC_ENV === undefined ? undefined : SYNC_ENV === 'true';
const BURST = Number(process.env.BENCH_BURST ?? 50_000);
const PACED_RATE = process.env.BENCH_PACED_RATE === undefined ? undefined : Number(process.env.BENCH_PACED_RATE);
if (PACED_RATE !== undefined && !(Number.isFinite(PACED_RATE) && PACED_RATE > 0))
  throw new Error(`BENCH_PACED_RATE: expected a rate in msg/s above 0, got "${process.env.BENCH_PACED_RATE}"`);
const BROKER_MESSAGES = Number(process.env.BENCH_BROKER_MESSAGES ?? 50_000);
for (const [name, v] of [
  ['BENCH_BURST', BURST],
  ['BENCH_BROKER_MESSAGES', BROKER_MESSAGES],
] as const) {
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name}: expected a whole number ≥ 0, got "${process.env[name]}"`);
}
const argv = process.argv.slice(2);
const profileAt = argv.indexOf('--profile');
for (const [i, a] of argv.entries()) {
  if (a !== '--profile' && !(i === profileAt + 1 && profileAt >= 0 && !a.startsWith('--')))
    throw new Error(`unknown argument "${a}" (known: --profile [FILE])`);
}
const PROFILE = profileAt < 0 ? undefined : (argv[profileAt + 1] ?? join(tmpdir(), `bench-uplink-signed-${Date.now()}.cpuprofile`));
const WARMUP = 3;
const RAW_SECONDS = 5;

const progress = (m: string) => {
  if (process.env.BENCH_VERBOSE) process.stderr.write(`[${(performance.now() / 1000).toFixed(1)} s] ${m}\n`);
};
const load0 = loadavg()[0]!;

interface PathRun {
  req: ReqPathResult;
  outbox?: OutboxPathResult;
  search?: SearchDuringBurst;
  parallelism: number;
  sessions: number;
  syncWrites: boolean;
  rawSign?: number;
}

let profiled = false;
let searched = false;

async function run(name: string, signed: boolean): Promise<PathRun> {
  progress(`${name}: starting the stack`);
  const s: CsStack = await startCsStack({
    residents: RESIDENTS,
    ...(SYNC_WRITES === undefined ? {} : { syncWrites: SYNC_WRITES }),
    ...(signed ? {} : { crypto: { uplinkSigner: unsignedSigner, verifier: unsignedVerifier } }),
  });
  try {
    if (s.residents.length <= WINDOW)
      throw new Error(`BENCH_WINDOW ${WINDOW} must stay below the ${s.residents.length} residents (one change in flight per person)`);
    const parallelism = s.config.uplink.parallelism;
    const sessions = applianceHsm.sessions; // the harness's token (certifiedApplianceSigner)
    let rawSign: number | undefined;
    if (signed) {
      const env: Envelope = {
        v: 1,
        id: uuidv7(),
        type: 'identity.notify',
        from: SELF,
        to: PREF,
        at: nowIso(),
        corr: null,
        body: notifyBody(testResidentCode(1), 1),
      };
      progress('raw signing');
      rawSign = await rawSigningRate(s.signer, env, RAW_SECONDS, parallelism);
    }
    const profile = signed && PROFILE !== undefined && !profiled ? cpuProfiler(PROFILE) : undefined;
    profiled ||= profile !== undefined;
    const req = await measureReqPath(s, {
      window: WINDOW,
      warmupSeconds: WARMUP,
      sustainedSeconds: SECONDS,
      pacedSeconds: SECONDS,
      ...(PACED_RATE === undefined ? {} : { pacedRate: PACED_RATE }),
      progress: (m) => progress(`${name} ${m}`),
      ...(profile ? { profile } : {}),
    });
    const outbox = OUTBOX
      ? await measureOutboxPath(s, { messages: MESSAGES, pacedSeconds: Math.min(SECONDS, 5), progress: (m) => progress(`${name} ${m}`) })
      : undefined;
    const search =
      signed && BURST > 0 && !searched
        ? await measureSearchDuringBurst(s, { burst: BURST, progress: (m) => progress(`${name} ${m}`) })
        : undefined;
    searched ||= search !== undefined;
    return { req, outbox, search, parallelism, sessions, syncWrites: s.config.broker.syncWrites, rawSign };
  } finally {
    await s.close();
  }
}

progress(`durable broker alone: ${BROKER_MESSAGES} QoS 1 messages`);
const durableBroker =
  BROKER_MESSAGES > 0 ? (await runBroker('ours', { messages: BROKER_MESSAGES, size: 256, window: 1000 })).msgsPerSec : undefined;

// ABBA order over the rounds (unsigned, signed, signed, unsigned, …) so a drift of the shared host's
// load does not favour one path; every round is printed, the summary pools them.
const runs: { unsigned: PathRun[]; signed: PathRun[] } = { unsigned: [], signed: [] };
for (let round = 0; round < ROUNDS; round++) {
  const order: boolean[] = round % 2 === 0 ? [false, true] : [true, false];
  for (const signed of order)
    runs[signed ? 'signed' : 'unsigned'].push(await run(`round ${round + 1} ${signed ? 'signed' : 'unsigned'}`, signed));
}
const load1 = loadavg()[0]!;

const f = (x: number) => x.toFixed(0);
const ms = (x: number) => x.toFixed(1);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pooled = (ls: Latency[]) => latencyOf(ls.flatMap((l) => l.samples));
const commit = (() => {
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const raw = mean(runs.signed.map((r) => r.rawSign!));
const sum = (rs: PathRun[]) => ({
  sustained: mean(rs.map((r) => r.req.sustained)),
  paced: mean(rs.map((r) => r.req.pacedRate)),
  e2e: pooled(rs.map((r) => r.req.endToEnd)),
  local: pooled(rs.map((r) => r.req.localReply)),
});
const U = sum(runs.unsigned);
const S = sum(runs.signed);
const reqLine = (n: string, r: ReqPathResult) =>
  `  ${n.padEnd(18)} ${f(r.sustained).padStart(5)} msg/s (outstanding: ${f(r.backlog.unacked)} not yet PUBACKed, ${f(r.backlog.intake)} durable awaiting reply, ${f(r.backlog.uplink)} replied not yet upstream)   at ${f(r.pacedRate)} msg/s: req→prefecture p50 ${ms(r.endToEnd.p50)} p99 ${ms(r.endToEnd.p99)} ms; req→local reply p50 ${ms(r.localReply.p50)} p99 ${ms(r.localReply.p99)} ms`;
const lines = [
  `bench:uplink  ${new Date().toISOString()}  commit ${commit}  load average ${load0.toFixed(2)} → ${load1.toFixed(2)}`,
  `stack: appliance broker + CS role + uplink (parallelism ${runs.signed[0]!.parallelism}) + simulators on Mosquitto; SoftHSM ES256, ${runs.signed[0]!.sessions} sessions; broker.syncWrites ${runs.signed[0]!.syncWrites}; ${RESIDENTS} residents, window ${WINDOW}, ${SECONDS} s phases, ${ROUNDS} round(s)`,
  `raw token signing (signEnvelope, ${runs.signed[0]!.parallelism} callers): ${runs.signed.map((r) => f(r.rawSign!)).join(', ')} sig/s`,
  `req/identity.update → identity.notify at ${PREF}, per round:`,
  ...runs.unsigned.flatMap((u, i) => [reqLine(`round ${i + 1} unsigned`, u.req), reqLine(`round ${i + 1} signed`, runs.signed[i]!.req)]),
  `summary (mean rate; latency pooled over rounds):`,
  `  raw signing ${f(raw)} sig/s`,
  `  unsigned    ${f(U.sustained)} msg/s   at ${f(U.paced)} msg/s: p50 ${ms(U.e2e.p50)} ms p99 ${ms(U.e2e.p99)} ms (n ${U.e2e.n}); local reply p50 ${ms(U.local.p50)} p99 ${ms(U.local.p99)} ms`,
  `  signed      ${f(S.sustained)} msg/s   at ${f(S.paced)} msg/s: p50 ${ms(S.e2e.p50)} ms p99 ${ms(S.e2e.p99)} ms (n ${S.e2e.n}); local reply p50 ${ms(S.local.p50)} p99 ${ms(S.local.p99)} ms`,
  `  ratios: signed/unsigned ${(S.sustained / U.sustained).toFixed(2)}×, signed/raw signing ${(S.sustained / raw).toFixed(3)}×; paced p50 signed/unsigned ${(S.e2e.p50 / U.e2e.p50).toFixed(2)}×, p99 ${(S.e2e.p99 / U.e2e.p99).toFixed(2)}×`,
  ...(durableBroker === undefined
    ? []
    : [
        `  durable broker alone (ours, fsync default, QoS 1, ${BROKER_MESSAGES} msgs): ${f(durableBroker)} msgs/s; signed/durable broker ${(S.sustained / durableBroker).toFixed(3)}×, unsigned/durable broker ${(U.sustained / durableBroker).toFixed(3)}×`,
      ]),
  `  targets: signed ≥ 5,000 msg/s: ${S.sustained >= 5000 ? 'met' : 'NOT met'} (${f(S.sustained)}); ≥ 0.10× the durable broker: ${durableBroker === undefined ? 'not measured' : S.sustained / durableBroker >= 0.1 ? 'met' : 'NOT met'}; p99 < 50 ms at half load: ${PACED_RATE !== undefined ? `not judged (paced at BENCH_PACED_RATE ${PACED_RATE} msg/s)` : S.e2e.p99 < 50 ? 'met' : 'NOT met'} (${ms(S.e2e.p99)} ms)`,
];
const search = runs.signed.find((r) => r.search)?.search;
if (search) {
  lines.push(
    `identity.search (local store) during a burst of ${search.burst} identity.update (up to ${search.maxQueued} queued, answered in ${search.burstSeconds.toFixed(1)} s): p50 ${ms(search.searches.p50)} ms p99 ${ms(search.searches.p99)} ms (n ${search.searches.n}); target p99 < 50 ms: ${search.searches.p99 < 50 ? 'met' : 'NOT met'}`,
  );
}
if (PROFILE !== undefined) {
  const profiledRun = runs.signed[0]!.req;
  const times = stageTimes(PROFILE);
  const perMsg = (stage: (typeof STAGES)[number]) => (times.get(stage)! * 1000) / profiledRun.sustainedCount;
  lines.push(
    `CPU profile of the first signed sustained phase (${profiledRun.sustainedCount} messages): ${PROFILE}`,
    `  µs of this process's CPU per message: ${STAGES.filter((st) => st !== 'idle')
      .map((st) => `${st} ${perMsg(st).toFixed(0)}`)
      .join(', ')}; idle ${perMsg('idle').toFixed(0)}`,
  );
}
const outU = runs.unsigned.flatMap((r) => r.outbox ?? []);
const outS = runs.signed.flatMap((r) => r.outbox ?? []);
if (outU.length > 0 && outS.length > 0) {
  const ob = (n: string, rs: OutboxPathResult[]) => {
    const l = pooled(rs.map((r) => r.endToEnd));
    return `  ${n.padEnd(9)} ${rs.map((r) => f(r.throughput)).join(', ')} msg/s (backlog of ${MESSAGES})   at ${f(mean(rs.map((r) => r.pacedRate)))} msg/s: commit→prefecture p50 ${ms(l.p50)} ms p99 ${ms(l.p99)} ms (n ${l.n})`;
  };
  const tu = mean(outU.map((r) => r.throughput));
  const ts = mean(outS.map((r) => r.throughput));
  lines.push(
    `outbox commit → identity.notify at ${PREF} (same stacks; rate per round, latency pooled):`,
    ob('unsigned', outU),
    ob('signed', outS),
    `  ratios (mean rates): signed/unsigned ${(ts / tu).toFixed(2)}×, signed/raw signing ${(ts / raw).toFixed(3)}×`,
  );
}
process.stdout.write(lines.join('\n') + '\n');
