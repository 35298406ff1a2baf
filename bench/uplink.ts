// npm run bench:uplink — signed messages/s from a local system's req/ publish to the simulated
// prefecture through a real Mosquitto, SoftHSM signing (ES256) at send time and verification at the
// receiver, each message acknowledged end to end (identity.notify → identity.notify.result).
// One process, one run, on the CS e2e stack (test/helpers/cs-harness.ts): the appliance broker, the CS
// role, the uplink, the simulators on Mosquitto, the appliance key on SoftHSM. All in this run:
//   1. raw token signing rate (signEnvelope on the same SoftHSM token, as many callers as the uplink
//      has partitions in flight),
//   2. the unsigned path (same stack, no signature made, none verified by uplink or simulators),
//   3. the signed path.
// For 2 and 3: sustained msg/s with a closed loop of BENCH_WINDOW requests outstanding, then p50/p99
// latency paced at half that rate (bench/lib/uplinkReq.ts: the clock starts at the req/ publish).
// Second table (BENCH_OUTBOX=0 skips it): the same stacks with the clock started at the outbox commit
// (bench/lib/uplinkOutbox.ts).
// Knobs: BENCH_SECONDS (sustained and paced phases, default 8), BENCH_WINDOW (default 1000),
// BENCH_RESIDENTS (default 3000), BENCH_MESSAGES (outbox backlog, default 2000), BENCH_VERBOSE=1.
import { execSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { nowIso, uuidv7, type Envelope } from '../gateway/envelope.js';
import { PREF, SELF, startCsStack, type CsStack } from '../test/helpers/cs-harness.js';
import { applianceHsm, notifyBody, testResidentCode } from '../test/helpers/uplink.js';
import { rawSigningRate, unsignedSigner, unsignedVerifier } from './lib/uplinkCrypto.js';
import { measureOutboxPath, type OutboxPathResult } from './lib/uplinkOutbox.js';
import { measureReqPath, type ReqPathResult } from './lib/uplinkReq.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 1000);
const RESIDENTS = Number(process.env.BENCH_RESIDENTS ?? 3000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const OUTBOX = process.env.BENCH_OUTBOX !== '0';
const WARMUP = 3;
const RAW_SECONDS = 5;

const progress = (m: string) => { if (process.env.BENCH_VERBOSE) process.stderr.write(`[${(performance.now() / 1000).toFixed(1)} s] ${m}\n`); };
const load0 = loadavg()[0]!;

interface PathRun { req: ReqPathResult; outbox?: OutboxPathResult; parallelism: number; sessions: number; rawSign?: number }

async function run(name: string, signed: boolean): Promise<PathRun> {
  progress(`${name}: starting the stack`);
  const s: CsStack = await startCsStack({ residents: RESIDENTS, ...(signed ? {} : { crypto: { uplinkSigner: unsignedSigner, verifier: unsignedVerifier } }) });
  try {
    if (s.residents.length <= WINDOW) throw new Error(`BENCH_WINDOW ${WINDOW} must stay below the ${s.residents.length} residents (one change in flight per person)`);
    const parallelism = s.config.uplink.parallelism;
    const sessions = applianceHsm.sessions; // the harness's token (certifiedApplianceSigner)
    let rawSign: number | undefined;
    if (signed) {
      const env: Envelope = { v: 1, id: uuidv7(), type: 'identity.notify', from: SELF, to: PREF, at: nowIso(), corr: null, body: notifyBody(testResidentCode(1), 1) };
      progress('raw signing');
      rawSign = await rawSigningRate(s.signer, env, RAW_SECONDS, parallelism);
    }
    const req = await measureReqPath(s, { window: WINDOW, warmupSeconds: WARMUP, sustainedSeconds: SECONDS, pacedSeconds: SECONDS, progress: (m) => progress(`${name} ${m}`) });
    const outbox = OUTBOX ? await measureOutboxPath(s, { messages: MESSAGES, pacedSeconds: Math.min(SECONDS, 5), progress: (m) => progress(`${name} ${m}`) }) : undefined;
    return { req, outbox, parallelism, sessions, rawSign };
  } finally {
    await s.close();
  }
}

const unsigned = await run('unsigned', false);
const signed = await run('signed', true);
const load1 = loadavg()[0]!;

const f = (x: number) => x.toFixed(0);
const ms = (x: number) => x.toFixed(1);
const commit = (() => { try { return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } })();
const raw = signed.rawSign!;
const reqLine = (n: string, r: ReqPathResult) =>
  `${n.padEnd(9)} ${f(r.sustained).padStart(6)} msg/s (outstanding: ${f(r.backlog.unacked)} not yet PUBACKed, ${f(r.backlog.intake)} durable awaiting reply, ${f(r.backlog.uplink)} replied not yet upstream)   at ${f(r.pacedRate)} msg/s: req→prefecture p50 ${ms(r.endToEnd.p50)} ms p99 ${ms(r.endToEnd.p99)} ms (n ${r.endToEnd.n}); req→local reply p50 ${ms(r.localReply.p50)} p99 ${ms(r.localReply.p99)} ms`;
const lines = [
  `bench:uplink  ${new Date().toISOString()}  commit ${commit}  load average ${load0.toFixed(2)} → ${load1.toFixed(2)}`,
  `stack: appliance broker + CS role + uplink (parallelism ${signed.parallelism}) + simulators on Mosquitto; SoftHSM ES256, ${signed.sessions} sessions; ${RESIDENTS} residents, window ${WINDOW}, ${SECONDS} s phases`,
  `raw token signing (signEnvelope, ${signed.parallelism} callers)  ${f(raw)} sig/s`,
  `req/identity.update → identity.notify at ${PREF}:`,
  reqLine('unsigned', unsigned.req),
  reqLine('signed', signed.req),
  `ratios (req/): signed/unsigned ${(signed.req.sustained / unsigned.req.sustained).toFixed(2)}×, signed/raw signing ${(signed.req.sustained / raw).toFixed(3)}×; paced p50 signed/unsigned ${(signed.req.endToEnd.p50 / unsigned.req.endToEnd.p50).toFixed(2)}×`,
];
if (unsigned.outbox && signed.outbox) {
  const ob = (n: string, r: OutboxPathResult) => `${n.padEnd(9)} ${f(r.throughput).padStart(6)} msg/s (backlog of ${MESSAGES})   at ${f(r.pacedRate)} msg/s: commit→prefecture p50 ${ms(r.endToEnd.p50)} ms p99 ${ms(r.endToEnd.p99)} ms (n ${r.endToEnd.n})`;
  lines.push(
    `outbox commit → identity.notify at ${PREF} (same stacks):`,
    ob('unsigned', unsigned.outbox),
    ob('signed', signed.outbox),
    `ratios (outbox): signed/unsigned ${(signed.outbox.throughput / unsigned.outbox.throughput).toFixed(2)}×, signed/raw signing ${(signed.outbox.throughput / raw).toFixed(3)}×`,
  );
}
process.stdout.write(lines.join('\n') + '\n');
