// npm run bench:uplink — signed messages/s from the outbox to the simulated prefecture through a real
// Mosquitto, SoftHSM signing (ES256) at send time and verification at the receiver, each message
// acknowledged end to end (identity.notify → identity.notify.result). All in this run:
//   1. raw token signing rate (signEnvelope on the same SoftHSM token, same parallelism),
//   2. the same path unsigned (no signature made, none verified: the cryptography's share),
//   3. the signed path: throughput draining a backlog, then p50/p99 end-to-end latency at half that rate.
// The clock starts when the flow commits the outbox entry (what a local req/ identity.update does after
// its intake, measured separately by bench:cs) and stops when the prefecture simulator has it.
// BENCH_MESSAGES (default 3000) per backlog run, BENCH_SECONDS (default 5) per paced run,
// BENCH_PARALLELISM (default 256) partitions in flight (config uplink.parallelism; its default is 32).
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { hsmSection } from '../config/schema/hsm.js';
import { nowIso, uuidv7, type Envelope } from '../gateway/envelope.js';
import { openApplianceDb } from '../gateway/store/db.js';
import { createUplink, type Uplink } from '../gateway/uplink/index.js';
import { createSigner, fromB64u, type TokenSigner } from '../hsm/index.js';
import type { FlattenedJws, Signer, VerifyResult } from '../hsm/types.js';
import { envelopeSchema } from '../gateway/envelope.js';
import { certifyAppliance, openSimPki, reloadingVerifier } from '../sim/pki.js';
import { startSimulators, type Simulators } from '../sim/run.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';
import { createSoftHsmToken } from '../test/helpers/softhsm.js';
import { tempDir } from '../test/helpers/tmp.js';
import { notifyBody, PREF, quietLogger, SELF, SERVED, testConfig, testResidentCode } from '../test/helpers/uplink.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 3000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PERSONS = 500;
const SESSIONS = 4;
const PARALLELISM = Number(process.env.BENCH_PARALLELISM ?? 256);

const logger = quietLogger();
const dir = tempDir('bench-uplink-');
const mosq = await startMosquitto();
const token = createSoftHsmToken();
process.env.BENCH_PIN = token.pin;
const hsm = hsmSection.parse({ kind: 'pkcs11', module: token.module, tokenLabel: token.label, pin: { env: 'BENCH_PIN' }, keyLabel: 'bench-uplink', sessions: SESSIONS });
const pki = await openSimPki(join(dir.path, 'pki'));
const base: TokenSigner = await createSigner(hsm, { dataDir: join(dir.path, 'data'), generateIfMissing: true });
const signer = await certifyAppliance(pki, base, SELF);

/** Baseline: the same path with the cryptography taken out (never used outside this benchmark). */
const unsignedSigner: Signer = {
  kid: 'unsigned', certificateDer: new Uint8Array(), status: () => signer.status(), close: async () => undefined,
  async signEnvelope(env): Promise<FlattenedJws> {
    return { protected: 'e30', payload: Buffer.from(JSON.stringify(env)).toString('base64url'), signature: '' };
  },
};
const unsignedVerifier = {
  async verify(jws: unknown): Promise<VerifyResult> {
    const j = (jws instanceof Uint8Array ? JSON.parse(Buffer.from(jws).toString('utf8')) : jws) as FlattenedJws;
    const env = envelopeSchema.parse(JSON.parse(fromB64u(j.payload)!.toString('utf8')));
    return { ok: true, envelope: env as Envelope, kid: 'unsigned', signerSubject: 'unsigned' };
  },
};

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN; };

async function rawSigningRate(): Promise<number> {
  const env: Envelope = { v: 1, id: uuidv7(), type: 'identity.notify', from: SELF, to: PREF, at: nowIso(), corr: null, body: notifyBody(testResidentCode(1), 1) };
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: SESSIONS * 2 }, async () => { while (performance.now() < end) { await signer.signEnvelope(env); n++; } }));
  return n / ((performance.now() - t0) / 1000);
}

interface PathResult { throughput: number; p50: number; p99: number; paced: number }

async function measurePath(name: string, s: Signer, signed: boolean): Promise<PathResult> {
  const sims: Simulators = await startSimulators({
    brokerUrl: mosq.url, pkiDir: pki.dir, servedCodes: [SERVED], logger,
    ...(signed ? {} : { verifier: unsignedVerifier }),
  });
  const db = await openApplianceDb(join(dir.path, `db-${name}`));
  const uplink: Uplink = await createUplink({
    config: testConfig(mosq.url, { parallelism: PARALLELISM, defaultTimeoutMs: 10_000 }), db, signer: s, logger, registry: new Registry(),
    verifier: signed ? reloadingVerifier(pki) : unsignedVerifier, clientIdPrefix: `bench-${name}`,
  });
  while (uplink.linkStatus()[0]?.state !== 'up') await new Promise((r) => setTimeout(r, 20));
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  sims.node(PREF).onReceived = (e) => {
    const t = sentAt.get(e.id);
    if (t !== undefined) { latencies.push(performance.now() - t); received++; }
  };
  let seq = 0;
  const enqueue = async (count: number) => {
    const b = db.batch();
    for (let i = 0; i < count; i++) {
      const n = seq++;
      const e: Envelope = { v: 1, id: uuidv7(), type: 'identity.notify', from: SELF, to: PREF, at: nowIso(), corr: null, body: notifyBody(testResidentCode(n % PERSONS), Math.floor(n / PERSONS) + 1) };
      uplink.outbox.enqueue(b, e);
      sentAt.set(e.id, performance.now());
    }
    await uplink.outbox.commit(b);
  };
  const drained = async (target: number) => { while (received < target || (uplink.queueStats().juki?.depth ?? 0) > 0) await new Promise((r) => setTimeout(r, 5)); };

  progress(`${name}: link up, warm-up`);
  // Warm-up (JIT, sessions, subscriptions).
  await enqueue(200);
  await drained(200);
  // Throughput: a backlog of MESSAGES committed in batches of 100, drained as fast as the path allows.
  received = 0; latencies.length = 0;
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i += 100) await enqueue(Math.min(100, MESSAGES - i));
  await drained(MESSAGES);
  const throughput = MESSAGES / ((performance.now() - t0) / 1000);
  progress(`${name}: throughput ${throughput}`);
  // Latency: paced at half the measured throughput, in ticks of 10 ms.
  received = 0; latencies.length = 0;
  const paced = throughput / 2;
  const perTick = Math.max(1, Math.round(paced / 100));
  const tEnd = performance.now() + SECONDS * 1000;
  let offered = 0;
  while (performance.now() < tEnd) {
    await enqueue(perTick);
    offered += perTick;
    await new Promise((r) => setTimeout(r, 10));
  }
  await drained(offered);
  const result = { throughput, p50: pct(latencies, 50), p99: pct(latencies, 99), paced: offered / SECONDS };
  await uplink.close();
  await db.close();
  await sims.close();
  return result;
}

const progress = (m: string) => { if (process.env.BENCH_VERBOSE) process.stderr.write(m + '\n'); };
progress('raw signing');
const rawSign = await rawSigningRate();
progress(`raw ${rawSign}`);
const unsigned = await measurePath('unsigned', unsignedSigner, false);
const signedPath = await measurePath('signed', signer, true);

const f = (x: number) => x.toFixed(0);
const ms = (x: number) => x.toFixed(1);
const lines = [
  `bench:uplink  ${MESSAGES} identity.notify per backlog run over ${PERSONS} persons, acked end to end; Mosquitto ${mosq.url}; SoftHSM ES256, ${SESSIONS} sessions, uplink.parallelism ${PARALLELISM}`,
  `raw token signing (signEnvelope, ${SESSIONS * 2} in flight)   ${f(rawSign)} sig/s`,
  `unsigned path   ${f(unsigned.throughput)} msg/s   latency at ${f(unsigned.paced)} msg/s: p50 ${ms(unsigned.p50)} ms  p99 ${ms(unsigned.p99)} ms`,
  `signed path     ${f(signedPath.throughput)} msg/s   latency at ${f(signedPath.paced)} msg/s: p50 ${ms(signedPath.p50)} ms  p99 ${ms(signedPath.p99)} ms`,
  `ratios: signed/unsigned ${(signedPath.throughput / unsigned.throughput).toFixed(2)}×, signed/raw signing ${(signedPath.throughput / rawSign).toFixed(2)}×`,
];
process.stdout.write(lines.join('\n') + '\n');
await signer.close();
await mosq.close();
token.cleanup();
dir.cleanup();
