// npm run bench:sign — signing throughput on one SoftHSM2 token, all measured in this run:
//   raw pkcs11js C_Sign (CKM_ECDSA over a SHA-256 digest) with 1 and N sessions, from the main
//   thread as the binding offers it (the baseline) and in 1 or N worker threads (the token's ceiling),
//   our signEnvelope on 1 KB envelopes at the same parallelism (target ≥ 0.9× raw),
//   node:crypto in-process (software ceiling), and verifications/s of our verifier.
// BENCH_SECONDS (default 3) per measurement, BENCH_SESSIONS (default 4) for N.
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { uuidv7, nowIso, type Envelope } from '../platform/envelope.js';
import { createSoftHsmToken } from '../test/helpers/softhsm.js';
import { tempDir } from '../test/helpers/tmp.js';
import {
  createSigner,
  createVerifier,
  signerFromToken,
  softwareTokenFromKey,
  selfSignedCertificate,
  toPem,
  type TokenSigner,
} from '../hsm/index.js';
import { hsmSection } from '../config/schema/hsm.js';
import { acquireModule, pkcs11js, releaseModule, type Handle } from '../hsm/pkcs11-module.js';
import { findKey } from '../hsm/pkcs11-key.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = 40;
let roundSeconds = SECONDS;
const N = Number(process.env.BENCH_SESSIONS ?? 4);

function envelope(): Envelope {
  const e: Envelope = {
    v: 1,
    id: uuidv7(),
    type: 'identity.notify',
    from: 'lg:242012',
    to: 'pref:240001',
    at: nowIso(),
    corr: null,
    body: { pad: '' },
  };
  e.body.pad = 'x'.repeat(1024 - JSON.stringify(e).length);
  return e;
}

/** Runs `parallel` loops of `op` for SECONDS; returns operations per second. */
async function rate(parallel: number, op: (worker: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + roundSeconds * 1000;
  let count = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async (_, worker) => {
      while (performance.now() < end) {
        await op(worker);
        count++;
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/**
 * Contenders alternate in short rounds, the order rotating each round, so all see the same load on a
 * shared machine. Rates are means over the rounds; ratios (last contender over each other one) are
 * medians of the per-round ratios, which a load spike in one round does not move.
 */
async function interleavedMany(fns: (() => Promise<number>)[]): Promise<{ rates: number[]; ratios: number[] }> {
  roundSeconds = SECONDS / ROUNDS;
  const runs: number[][] = fns.map(() => []);
  for (let i = 0; i < ROUNDS; i++) {
    for (let j = 0; j < fns.length; j++) {
      const f = (i + j) % fns.length;
      runs[f]!.push(await fns[f]!());
    }
  }
  roundSeconds = SECONDS;
  const last = runs[runs.length - 1]!;
  const median = (xs: number[]) => {
    const v = [...xs].sort((x, y) => x - y);
    const m = v.length / 2;
    return v.length % 2 ? v[Math.floor(m)]! : (v[m - 1]! + v[m]!) / 2;
  };
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  return { rates: runs.map(mean), ratios: runs.map((r) => median(last.map((x, i) => x / r[i]!))) };
}

// Raw C_SignInit + C_Sign in worker threads, no JWS: the token's rate when the main thread is not
// in the way. Each thread loops synchronously on its own session for the round and reports a count.
const RAW_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const pkcs11js = require(workerData.binding);
const lib = new pkcs11js.PKCS11();
lib.load(workerData.module);
try { lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK }); } catch (e) { if (e.code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e; }
const b = (u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
parentPort.on('message', (m) => {
  const session = b(m.session), key = b(m.key), digest = b(m.digest), end = performance.now() + m.ms;
  let n = 0;
  while (performance.now() < end) {
    lib.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key);
    lib.C_Sign(session, digest, Buffer.alloc(64));
    n++;
  }
  parentPort.postMessage(n);
});
`;

/** Two contenders (a b, b a, ...): b's rate over a's, as the median of the per-round ratios. */
async function interleaved(a: () => Promise<number>, b: () => Promise<number>): Promise<{ a: number; b: number; ratio: number }> {
  const r = await interleavedMany([a, b]);
  return { a: r.rates[0]!, b: r.rates[1]!, ratio: r.ratios[0]! };
}

function syncRate(op: () => unknown): number {
  const end = performance.now() + SECONDS * 1000;
  let count = 0;
  const started = performance.now();
  while (performance.now() < end) {
    op();
    count++;
  }
  return count / ((performance.now() - started) / 1000);
}

async function main() {
  const token = createSoftHsmToken({ label: 'bench' });
  const dir = tempDir('bench-sign-');
  let signer: TokenSigner | undefined;
  let signer1: TokenSigner | undefined;
  try {
    const config = hsmSection.parse({
      kind: 'pkcs11',
      module: token.module,
      tokenLabel: token.label,
      pin: { env: 'BENCH_PIN' },
      keyLabel: 'bench',
      sessions: N,
    });
    signer = await createSigner(config, { dataDir: dir.path, env: { BENCH_PIN: token.pin }, generateIfMissing: true });
    // Same key, one session: the pool's queue lets the next JWS be prepared while the token signs.
    signer1 = await createSigner({ ...config, sessions: 1 }, { dataDir: dir.path, env: { BENCH_PIN: token.pin } });

    // Raw pkcs11js on the same token and key, its own sessions (the login is per application).
    // Same API style as our token (hsm/pkcs11-token.ts): synchronous C_SignInit, callback-form C_Sign.
    const lib = acquireModule(token.module);
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.label)!;
    const sessions: Handle[] = Array.from({ length: N }, () =>
      lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION),
    );
    const key = findKey(lib, sessions[0]!, { label: 'bench' })!;
    const digest = createHash('sha256').update('bench').digest();
    const rawSign = (session: Handle) =>
      new Promise<Buffer>((resolve, reject) => {
        lib.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key.privateKey);
        lib.C_Sign(session, digest, Buffer.alloc(64), (err, sig) => (err ? reject(err) : resolve(sig)));
      });
    // One session per loop, as a PKCS#11 session runs one operation at a time.
    const rawRate = (n: number) => rate(n, (worker) => rawSign(sessions[worker]!));
    const binding = createRequire(import.meta.url).resolve('pkcs11js');
    const rawWorkers = sessions.map(() => new Worker(RAW_WORKER, { eval: true, workerData: { binding, module: token.module } }));
    let errored: (e: Error) => void = (e) => {
      throw e;
    };
    for (const w of rawWorkers) w.on('error', (e) => errored(e));
    const rawThreadsRate = async (n: number) => {
      const started = performance.now();
      const counts = await Promise.all(
        rawWorkers.slice(0, n).map(
          (w, i) =>
            new Promise<number>((resolve, reject) => {
              w.once('message', resolve);
              errored = reject;
              w.postMessage({ session: sessions[i], key: key.privateKey, digest, ms: roundSeconds * 1000 });
            }),
        ),
      );
      return counts.reduce((x, y) => x + y, 0) / ((performance.now() - started) / 1000);
    };
    // Our path builds each envelope's JWS; envelopes are prepared outside the timed loop.
    const envs = Array.from({ length: 5000 }, envelope);
    let k = 0;
    const ours = (s: TokenSigner) => () => s.signEnvelope(envs[k++ % envs.length]!);

    // The machine is shared: alternate raw and ours in short rounds so both see the same load.
    // Warm-up (JIT, allocator, token caches) for both paths before anything is timed.
    roundSeconds = 0.5;
    await rawRate(N);
    await rawThreadsRate(N);
    await rate(2 * N, ours(signer));
    await rate(2, ours(signer1));
    roundSeconds = SECONDS;
    // Token parallelism is the session count; callers are twice that, as queued messages are.
    const one = await interleavedMany([() => rawRate(1), () => rawThreadsRate(1), () => rate(2, ours(signer1!))]);
    const many = await interleavedMany([() => rawRate(N), () => rawThreadsRate(N), () => rate(2 * N, ours(signer!))]);
    const [raw1, rawT1, ours1, rawN, rawTN, oursN] = [...one.rates, ...many.rates] as [number, number, number, number, number, number];
    const serial = await interleaved(
      () => rawRate(1),
      () => rate(1, ours(signer1!)),
    );
    await Promise.all(rawWorkers.map((w) => w.terminate()));

    const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const cryptoRaw = syncRate(() => cryptoSign('sha256', Buffer.from('bench'), { key: ecKey, dsaEncoding: 'ieee-p1363' }));
    const swToken = softwareTokenFromKey(ecKey, 'ES256');
    const swSigner = signerFromToken(swToken, await selfSignedCertificate(swToken, 'CN=bench'));
    const oursSoftware = await rate(1, ours(swSigner));

    const pem = toPem(signer.certificateDer);
    const verifier = createVerifier({ trustAnchorsPem: pem, peerCertificatesPem: pem, replayWindowSeconds: 3600 });
    const signed = await Promise.all(envs.slice(0, 2000).map((e) => signer!.signEnvelope(e)));
    let v = 0;
    const verifyRate = await rate(1, async () => {
      const r = await verifier.verify(signed[v++ % signed.length]!, { dedupe: false });
      if (!r.ok) throw new Error(`verification failed: ${r.code}`);
    });

    for (const s of sessions) lib.C_CloseSession(s);
    releaseModule(token.module);

    const f = (n: number) => n.toFixed(0).padStart(8);
    const lines = [
      `signing on SoftHSM2 (ES256, EC P-256), ${SECONDS}s per row (raw/raw-in-threads/ours interleaved in ${ROUNDS} rounds each; ratios are medians of per-round ratios), N=${N} sessions, 1 KB envelopes, ${process.env.UV_THREADPOOL_SIZE ?? 4} libuv threads`,
      '',
      'what                                       sig/s   ratio',
      `raw pkcs11js C_Sign, 1 session          ${f(raw1)}   1.00 (baseline: main thread, the binding's API)`,
      `raw C_Sign in 1 worker thread           ${f(rawT1)}   ${(rawT1 / raw1).toFixed(2)} × raw 1  (no JWS: token ceiling)`,
      `ours signEnvelope, 1 session, 2 callers ${f(ours1)}   ${one.ratios[0]!.toFixed(2)} × raw 1  (target ≥ 0.90); ${one.ratios[1]!.toFixed(2)} × raw in thread`,
      `ours, 1 session, 1 caller (no overlap)  ${f(serial.b)}   ${serial.ratio.toFixed(2)} × raw 1  (raw ${f(serial.a).trim()} in its rounds)`,
      `raw pkcs11js C_Sign, ${N} sessions         ${f(rawN)}   ${(rawN / raw1).toFixed(2)} × raw 1  (baseline for ${N} sessions)`,
      `raw C_Sign in ${N} worker threads          ${f(rawTN)}   ${(rawTN / rawN).toFixed(2)} × raw ${N}  (no JWS: token ceiling)`,
      `ours signEnvelope, ${N} sessions, ${2 * N} callers${' '.repeat(Math.max(0, 3 - String(2 * N).length))}${f(oursN)}   ${many.ratios[0]!.toFixed(2)} × raw ${N}  (target ≥ 0.90); ${many.ratios[1]!.toFixed(2)} × raw in threads`,
      `node:crypto sign in-process (ceiling)   ${f(cryptoRaw)}   ${(cryptoRaw / rawN).toFixed(2)} × raw ${N}`,
      `ours signEnvelope, software token       ${f(oursSoftware)}   ${(oursSoftware / cryptoRaw).toFixed(2)} × node:crypto`,
      `ours verify (chain cached, ES256)       ${f(verifyRate)}   verifications/s`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    const ok = one.ratios[0]! >= 0.9 && many.ratios[0]! >= 0.9;
    process.stdout.write(
      ok ? 'target met: ours ≥ 0.9 × raw at the same parallelism\n' : 'TARGET MISSED: ours < 0.9 × raw at the same parallelism\n',
    );
    await swSigner.close();
  } finally {
    await signer1?.close();
    await signer?.close();
    dir.cleanup();
    token.cleanup();
  }
}

await main();
