// npm run bench:sign — signing throughput on one SoftHSM2 token, all measured in this run:
//   raw pkcs11js C_Sign (CKM_ECDSA over a SHA-256 digest) with 1 and N sessions,
//   our signEnvelope on 1 KB envelopes at the same parallelism (target ≥ 0.9× raw),
//   node:crypto in-process (software ceiling), and verifications/s of our verifier.
// BENCH_SECONDS (default 3) per measurement, BENCH_SESSIONS (default 4) for N.
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { uuidv7, nowIso, type Envelope } from '../gateway/envelope.js';
import { createSoftHsmToken } from '../test/helpers/softhsm.js';
import { tempDir } from '../test/helpers/tmp.js';
import { createSigner, createVerifier, signerFromToken, softwareTokenFromKey, selfSignedCertificate, toPem, type TokenSigner } from '../hsm/index.js';
import { hsmSection } from '../config/schema/hsm.js';
import { acquireModule, pkcs11js, releaseModule, type Handle } from '../hsm/pkcs11-module.js';
import { findKey } from '../hsm/pkcs11-key.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = 6;
let roundSeconds = SECONDS;
const N = Number(process.env.BENCH_SESSIONS ?? 4);

function envelope(): Envelope {
  const e: Envelope = { v: 1, id: uuidv7(), type: 'identity.notify', from: 'lg:242012', to: 'pref:240001', at: nowIso(), corr: null, body: { pad: '' } };
  e.body.pad = 'x'.repeat(1024 - JSON.stringify(e).length);
  return e;
}

/** Runs `parallel` loops of `op` for SECONDS; returns operations per second. */
async function rate(parallel: number, op: (worker: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + roundSeconds * 1000;
  let count = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: parallel }, async (_, worker) => {
    while (performance.now() < end) { await op(worker); count++; }
  }));
  return count / ((performance.now() - started) / 1000);
}

/** Mean rates of a and b over ROUNDS alternating rounds (a, b, b, a, ...), SECONDS in total each. */
async function interleaved(a: () => Promise<number>, b: () => Promise<number>): Promise<[number, number]> {
  roundSeconds = SECONDS / ROUNDS;
  let ra = 0, rb = 0;
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) { ra += await a(); rb += await b(); } else { rb += await b(); ra += await a(); }
  }
  roundSeconds = SECONDS;
  return [ra / ROUNDS, rb / ROUNDS];
}

function syncRate(op: () => unknown): number {
  const end = performance.now() + SECONDS * 1000;
  let count = 0;
  const started = performance.now();
  while (performance.now() < end) { op(); count++; }
  return count / ((performance.now() - started) / 1000);
}

async function main() {
  const token = createSoftHsmToken({ label: 'bench' });
  const dir = tempDir('bench-sign-');
  let signer: TokenSigner | undefined;
  try {
    const config = hsmSection.parse({ kind: 'pkcs11', module: token.module, tokenLabel: token.label, pin: { env: 'BENCH_PIN' }, keyLabel: 'bench', sessions: N });
    signer = await createSigner(config, { dataDir: dir.path, env: { BENCH_PIN: token.pin }, generateIfMissing: true });

    // Raw pkcs11js on the same token and key, its own sessions (the login is per application).
    const lib = acquireModule(token.module);
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.label)!;
    const sessions: Handle[] = Array.from({ length: N }, () => lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
    const key = findKey(lib, sessions[0]!, { label: 'bench' })!;
    const digest = createHash('sha256').update('bench').digest();
    const rawSign = (session: Handle) => new Promise<Buffer>((resolve, reject) => {
      lib.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key.privateKey);
      lib.C_Sign(session, digest, Buffer.alloc(64), (err, sig) => (err ? reject(err) : resolve(sig)));
    });
    // One session per loop, as a PKCS#11 session runs one operation at a time.
    const rawRate = (n: number) => rate(n, (worker) => rawSign(sessions[worker]!));
    // Our path builds each envelope's JWS; envelopes are prepared outside the timed loop.
    const envs = Array.from({ length: 5000 }, envelope);
    let k = 0;
    const ours = (s: TokenSigner) => () => s.signEnvelope(envs[k++ % envs.length]!);

    // The machine is shared: alternate raw and ours in short rounds so both see the same load.
    const [raw1, ours1] = await interleaved(() => rawRate(1), () => rate(1, ours(signer!)));
    const [rawN, oursN] = await interleaved(() => rawRate(N), () => rate(N, ours(signer!)));

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
      `signing on SoftHSM2 (ES256, EC P-256), ${SECONDS}s per row (raw/ours pairs interleaved in ${ROUNDS} rounds), N=${N} sessions, 1 KB envelopes, ${process.env.UV_THREADPOOL_SIZE ?? 4} libuv threads`,
      '',
      'what                                       sig/s   ratio',
      `raw pkcs11js C_Sign, 1 session          ${f(raw1)}   1.00 (baseline)`,
      `ours signEnvelope, 1 session            ${f(ours1)}   ${(ours1 / raw1).toFixed(2)} × raw 1  (target ≥ 0.90)`,
      `raw pkcs11js C_Sign, ${N} sessions         ${f(rawN)}   ${(rawN / raw1).toFixed(2)} × raw 1`,
      `ours signEnvelope, ${N} sessions           ${f(oursN)}   ${(oursN / rawN).toFixed(2)} × raw ${N}  (target ≥ 0.90)`,
      `node:crypto sign in-process (ceiling)   ${f(cryptoRaw)}   ${(cryptoRaw / rawN).toFixed(2)} × raw ${N}`,
      `ours signEnvelope, software token       ${f(oursSoftware)}   ${(oursSoftware / cryptoRaw).toFixed(2)} × node:crypto`,
      `ours verify (chain cached, ES256)       ${f(verifyRate)}   verifications/s`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    const ok = ours1 / raw1 >= 0.9 && oursN / rawN >= 0.9;
    process.stdout.write(ok ? 'target met: ours ≥ 0.9 × raw at the same parallelism\n' : 'TARGET MISSED: ours < 0.9 × raw at the same parallelism\n');
    await swSigner.close();
  } finally {
    await signer?.close();
    dir.cleanup();
    token.cleanup();
  }
}

await main();
