// bench:uplink, local req/ mode: the clock starts when the register system's MQTT client publishes
// req/identity.update (QoS 1) to the appliance broker and stops when the simulated prefecture receives
// (and, signed, has verified) the identity.notify the CS flow produced for it, matched by
// residentCode + the record's address (unique per request). In between: broker → durable request
// queue → intake → identity.update flow (store + outbox + reply + audit in one batch) → uplink
// (signing) → Mosquitto → simulator; the uplink frees the partition when identity.notify.result is back.
import mqtt, { type MqttClient } from 'mqtt';
import { isoDateInJapan } from '../../domain/dates.js';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { PASSWORD, PREF, SYSTEMS, type CsStack } from '../../test/helpers/cs-harness.js';
import { percentile, sleep } from './uplinkCrypto.js';

export interface ReqPathOptions {
  /** Requests published and not yet at the prefecture (closed loop of the sustained phase). */
  window: number;
  warmupSeconds: number;
  sustainedSeconds: number;
  pacedSeconds: number;
  /** Offered rate of the paced phase (msg/s); default half the sustained rate. */
  pacedRate?: number;
  progress: (m: string) => void;
  /** Runs around the sustained phase (bench:uplink --profile: the CPU profile covers exactly it). */
  profile?: { start(): Promise<void>; stop(): Promise<void> };
}

export interface Latency {
  p50: number;
  p99: number;
  n: number;
  samples: number[];
}

export interface ReqPathResult {
  /** identity.notify/s arriving at the prefecture with `window` requests outstanding. */
  sustained: number;
  /** identity.notify arrived at the prefecture during the sustained phase. */
  sustainedCount: number;
  /**
   * Mean requests, sampled every 100 ms: published but not yet acknowledged by the broker (client and
   * broker side), acknowledged (durable) but not yet answered (intake + flow side), answered but not yet
   * at the prefecture (outbox + uplink side). Shows where the queue of the closed loop sits.
   */
  backlog: { unacked: number; intake: number; uplink: number };
  /** Offered rate actually achieved in the paced phase. */
  pacedRate: number;
  /** req/ publish → identity.notify at the prefecture, paced. */
  endToEnd: Latency;
  /** req/ publish → the local reply (res/), paced: the intake + flow share. */
  localReply: Latency;
}

export const latencyOf = (xs: number[]): Latency => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), n: xs.length, samples: xs });

export async function measureReqPath(s: CsStack, o: ReqPathOptions): Promise<ReqPathResult> {
  const listener = s.config.listeners[0]!;
  const client: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${listener.port}`, {
    clientId: SYSTEMS.register,
    username: SYSTEMS.register,
    password: PASSWORD,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  (client.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  const today = isoDateInJapan(Date.now());
  const pending = new Map<string, number>(); // residentCode|address → publish time
  const replyWait = new Map<string, number>(); // request id → publish time
  const e2e: number[] = [];
  const local: number[] = [];
  let recording = false;
  let published = 0;
  let pubacked = 0;
  let answered = 0;
  let completed = 0;
  let failure: string | undefined;
  let onComplete: (() => void) | undefined;

  client.on('message', (_topic, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    if (e.type === 'error') {
      failure ??= `error reply: ${JSON.stringify(e.body).slice(0, 300)}`;
      return;
    }
    const t = e.corr === null ? undefined : replyWait.get(e.corr);
    if (t === undefined) return;
    replyWait.delete(e.corr!);
    answered++;
    if (recording) local.push(performance.now() - t);
  });
  await client.subscribeAsync(`res/${SYSTEMS.register}`, { qos: 1 });
  const pref = s.sims.node(PREF);
  pref.onReceived = (env) => {
    if (env.type !== 'identity.notify') return;
    const r = (env.body as { record: { residentCode: string; address: string } }).record;
    const key = `${r.residentCode}|${r.address}`;
    const t = pending.get(key);
    if (t === undefined) return;
    pending.delete(key);
    completed++;
    if (recording) e2e.push(performance.now() - t);
    onComplete?.();
  };

  // Round robin over the residents: with window < residents, no person has two changes in flight,
  // so per-person ordering never serialises the pipeline.
  let seq = 0;
  const publishOne = () => {
    const i = seq++;
    const r = s.residents[i % s.residents.length]!;
    const address = `${r.address}の${i}号`;
    const env = {
      v: 1,
      id: uuidv7(),
      type: 'identity.update',
      body: { record: { ...r, address, changeReason: 'correct', changeDate: today, status: 'current' } },
    };
    const payload = JSON.stringify(env);
    const t = performance.now();
    pending.set(`${r.residentCode}|${address}`, t);
    replyWait.set(env.id, t);
    published++;
    client.publish('req/identity.update', payload, { qos: 1 }, (err) => {
      if (err) failure ??= `publish: ${err.message}`;
      else pubacked++;
    });
  };
  const drain = async () => {
    const until = performance.now() + 120_000;
    while (pending.size > 0 || replyWait.size > 0) {
      if (failure) throw new Error(failure);
      if (performance.now() > until) throw new Error(`${pending.size} notifies / ${replyWait.size} replies still missing after 120 s`);
      await sleep(10);
    }
  };

  try {
    // Sustained: closed loop, each arrival at the prefecture lets one more request go.
    let open = true;
    onComplete = () => {
      if (open) publishOne();
    };
    for (let i = 0; i < o.window; i++) publishOne();
    o.progress(`req: warm-up ${o.warmupSeconds} s, window ${o.window}`);
    await sleep(o.warmupSeconds * 1000);
    await o.profile?.start();
    const c0 = completed;
    const t0 = performance.now();
    const samples = { unacked: 0, intake: 0, uplink: 0, n: 0 };
    const tEnd = t0 + o.sustainedSeconds * 1000;
    while (performance.now() < tEnd) {
      if (failure) throw new Error(failure);
      await sleep(100);
      samples.unacked += published - pubacked;
      samples.intake += pubacked - answered;
      samples.uplink += answered - completed;
      samples.n++;
    }
    const sustainedCount = completed - c0;
    const sustained = sustainedCount / ((performance.now() - t0) / 1000);
    await o.profile?.stop();
    open = false;
    await drain();
    o.progress(`req: sustained ${sustained.toFixed(0)}/s`);

    // Paced: open loop at half the sustained rate (or BENCH_PACED_RATE), 10 ms ticks.
    const rate = o.pacedRate ?? sustained / 2;
    recording = true;
    const p0 = performance.now();
    let offered = 0;
    while (performance.now() - p0 < o.pacedSeconds * 1000) {
      const due = Math.floor(((performance.now() - p0) / 1000) * rate);
      while (offered < due) {
        publishOne();
        offered++;
      }
      if (failure) throw new Error(failure);
      await sleep(10);
    }
    const pacedRate = offered / ((performance.now() - p0) / 1000);
    await drain();
    recording = false;
    return {
      sustained,
      sustainedCount,
      pacedRate,
      endToEnd: latencyOf(e2e),
      localReply: latencyOf(local),
      backlog: {
        unacked: samples.unacked / Math.max(1, samples.n),
        intake: samples.intake / Math.max(1, samples.n),
        uplink: samples.uplink / Math.max(1, samples.n),
      },
    };
  } finally {
    onComplete = undefined;
    pref.onReceived = undefined;
    await client.endAsync(true);
  }
}
