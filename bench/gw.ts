// npm run bench:gw [-- --requests N] [--concurrency C] [--purge-ms T]
// GW role end to end on this machine (Mosquitto upstream, simulators, SoftHSM signing, LevelDB), in one run:
//   baseline:       jlis.inquiry by 個人番号, terminal → CS → national → back (the CS's interactive path, no GW)
//   code.request:   number-linkage → GW whitelist → CS (store look-up) → national → accept ack; requests/s,
//                   p50/p99 to the ack, and p99 until the 符号 reaches the intermediate server (2-⑧⑨)
//   serial.request: interactive relay number-linkage → ims → NWS → back
//   addressee.update: durable relay (outbox): accepted/s and delivered-to-ims/s
// Ratios are against the baseline measured in the same run.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { uuidv7, type Envelope } from '../platform/envelope.js';
import { NL, PASSWORD, SERVED, startGwStack, TERMINAL, type GwStack } from '../test/helpers/gw-harness.js';

const { values } = parseArgs({
  options: { requests: { type: 'string' }, concurrency: { type: 'string' }, 'purge-ms': { type: 'string' } },
});
/** Minimum interval between compactions that purge deleted 処理通番 (the appliance's default is 5 s). */
const PURGE_MS = Number(values['purge-ms'] ?? 5000);
const N = Number(values.requests ?? 2000);
const C = Number(values.concurrency ?? 32);
if (!Number.isInteger(N) || N < 10 || !Number.isInteger(C) || C < 1) {
  process.stderr.write('usage: npm run bench:gw -- [--requests N (≥10)] [--concurrency C]\n');
  process.exit(2);
}
const log = (s: string) => process.stdout.write(s + '\n');
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

interface Requester {
  send(type: string, body: Record<string, unknown>): Promise<{ reply: Envelope; ms: number; sentAt: number }>;
  close(): Promise<void>;
}

async function requester(url: string, id: string): Promise<Requester> {
  const c: MqttClient = await mqtt.connectAsync(url, {
    clientId: id,
    username: id,
    password: PASSWORD,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const waiting = new Map<string, (e: Envelope) => void>();
  c.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    if (e.corr) waiting.get(e.corr)?.(e);
    waiting.delete(e.corr ?? '');
  });
  await c.subscribeAsync(`res/${id}`, { qos: 1 });
  return {
    async send(type, body) {
      const env = { v: 1, id: uuidv7(), type, body };
      const sentAt = performance.now();
      const reply = new Promise<Envelope>((r) => waiting.set(env.id, r));
      await c.publishAsync(`req/${type}`, JSON.stringify(env), { qos: 1 });
      const e = await reply;
      return { reply: e, ms: performance.now() - sentAt, sentAt };
    },
    close: () => c.endAsync(true).then(() => undefined),
  };
}

/** Runs `n` requests with `c` in flight; returns latencies, wall time and failures. */
async function load(n: number, c: number, one: (i: number) => Promise<{ reply: Envelope; ms: number }>) {
  const lat: number[] = [];
  let failures = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      for (let i = next++; i < n; i = next++) {
        const r = await one(i);
        if (r.reply.type === 'error') failures++;
        lat.push(r.ms);
      }
    }),
  );
  const wall = performance.now() - t0;
  return { lat, wall, rps: n / (wall / 1000), failures };
}

/** Arrival times of messages of `type` at node `to` on the upstream broker, by a body field. */
async function watchUpstream(
  s: GwStack,
  to: string,
  type: string,
  field: string,
): Promise<{ arrivals: Map<string, number>; close(): Promise<void> }> {
  const url = s.config.upstreams[0]!.url;
  const c = await mqtt.connectAsync(url, { clientId: `bench-watch-${randomBytes(3).toString('hex')}`, clean: true, protocolVersion: 4 });
  const arrivals = new Map<string, number>();
  c.on('message', (_t, payload) => {
    const jws = JSON.parse(payload.toString('utf8')) as { payload: string };
    const env = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as Envelope;
    arrivals.set(String(env.body[field]), performance.now());
  });
  await c.subscribeAsync(`to/${to}/${type}`, { qos: 1 });
  return { arrivals, close: () => c.endAsync(true).then(() => undefined) };
}

const s = await startGwStack({ residents: 200, logLevel: 'warn', purgeIntervalMs: PURGE_MS });
try {
  const local = s.config.listeners.find((l) => l.segment === 'local')!;
  const seg = s.config.listeners.find((l) => l.segment === 'number-linkage')!;
  const term = await requester(`mqtt://127.0.0.1:${local.port}`, TERMINAL);
  const nl = await requester(`mqtt://127.0.0.1:${seg.port}`, NL);
  const person = (i: number) => s.residents[i % s.residents.length]!;
  log(
    `GW bench: ${N} requests per kind, ${C} in flight, ${s.residents.length} residents, compaction every ≥ ${PURGE_MS} ms; shared 2-core host`,
  );

  // Warm both paths (JIT, links, token sessions).
  await load(50, 8, (i) =>
    term.send('jlis.inquiry', { by: 'myNumber', myNumber: person(i).myNumber, dutyCode: 'BENCH', operatorId: 'op-1', terminalId: 't-1' }),
  );
  await load(50, 8, (i) =>
    nl.send('code.request', { lgCode: SERVED, serialNo: `W-${i}-${randomBytes(6).toString('hex')}`, myNumber: person(i).myNumber }),
  );

  const base = await load(N, C, (i) =>
    term.send('jlis.inquiry', { by: 'myNumber', myNumber: person(i).myNumber, dutyCode: 'BENCH', operatorId: 'op-1', terminalId: 't-1' }),
  );
  log(
    `baseline jlis.inquiry (CS only):  ${base.rps.toFixed(0)} req/s, p50 ${ms(pct(base.lat, 50))}, p99 ${ms(pct(base.lat, 99))}, errors ${base.failures}`,
  );

  const codes = await watchUpstream(s, `ims:${SERVED}`, 'code.deliver', 'serialNo');
  const sent = new Map<string, number>();
  const code = await load(N, C, async (i) => {
    const serialNo = `B-${i}-${randomBytes(6).toString('hex')}`;
    const r = await nl.send('code.request', { lgCode: SERVED, serialNo, myNumber: person(i).myNumber });
    sent.set(serialNo, r.sentAt);
    return r;
  });
  const deadline = Date.now() + 30_000;
  while (codes.arrivals.size < sent.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const toIms = [...sent].filter(([sn]) => codes.arrivals.has(sn)).map(([sn, t]) => codes.arrivals.get(sn)! - t);
  log(
    `code.request (GW → CS → national): ${code.rps.toFixed(0)} req/s (${(code.rps / base.rps).toFixed(2)}× baseline), ack p50 ${ms(pct(code.lat, 50))}, p99 ${ms(pct(code.lat, 99))} (${(pct(code.lat, 99) / pct(base.lat, 99)).toFixed(2)}× baseline p99), errors ${code.failures}`,
  );
  log(`  code delivered to ims:${SERVED}: ${toIms.length}/${N}, p50 ${ms(pct(toIms, 50))}, p99 ${ms(pct(toIms, 99))} from the request`);
  await codes.close();

  const serial = await load(N, C, (i) => nl.send('serial.request', { lgCode: SERVED, addresseeNo: `A-${i}` }));
  log(
    `serial.request (relay ims → NWS → back): ${serial.rps.toFixed(0)} req/s (${(serial.rps / base.rps).toFixed(2)}× baseline), p99 ${ms(pct(serial.lat, 99))}, errors ${serial.failures}`,
  );

  const delivered = await watchUpstream(s, `ims:${SERVED}`, 'addressee.update', 'addresseeNo');
  const t0 = performance.now();
  const relay = await load(N, C, (i) =>
    nl.send('addressee.update', { lgCode: SERVED, addresseeNo: `R-${i}`, operation: 'update', myNumber: person(i).myNumber }),
  );
  const d2 = Date.now() + 60_000;
  while (delivered.arrivals.size < N && Date.now() < d2) await new Promise((r) => setTimeout(r, 50));
  const deliveredWall = Math.max(...delivered.arrivals.values()) - t0;
  log(
    `addressee.update (durable relay): accepted ${relay.rps.toFixed(0)}/s (${(relay.rps / base.rps).toFixed(2)}× baseline), ack p99 ${ms(pct(relay.lat, 99))}; delivered ${delivered.arrivals.size}/${N} to ims at ${(delivered.arrivals.size / (deliveredWall / 1000)).toFixed(0)}/s`,
  );
  await delivered.close();
  log(`GW screen: ${JSON.stringify(s.gw.screenStats())}`);
  await term.close();
  await nl.close();
} finally {
  await s.close();
}
