// bench:cluster, appliance phase: identity.update requests (QoS 1, unique ids, one new resident each)
// from the resident-register system. A request counts as acknowledged when both its PUBACK and its
// reply (res/rr-01, corr = id) are back; latency runs from the publish to the later of the two.
import mqtt, { type MqttClient } from 'mqtt';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { generateResidents } from '../../sim/residents.js';
import { PASSWORD } from './clusterNodes.js';
import { percentile, sleep } from './uplinkCrypto.js';

const CLIENT = 'rr-01';

export interface Requester {
  client: MqttClient;
  /** Publishes one identity.update; resolves with its acknowledged latency (ms) and the port that answered. */
  request(): Promise<{ ms: number; port: number }>;
  close(): Promise<void>;
}

/** `ports`: every node, in the client's `servers` order (it moves to the next when one refuses or dies). */
export async function requester(ports: number[], seed: string): Promise<Requester> {
  const client = mqtt.connect({
    protocol: 'mqtt',
    host: '127.0.0.1',
    port: ports[0],
    servers: ports.map((port) => ({ host: '127.0.0.1', port, protocol: 'mqtt' as const })),
    clientId: CLIENT,
    username: CLIENT,
    password: PASSWORD,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 100,
    connectTimeout: 5000,
    reconnectOnConnackError: true,
  });
  client.on('error', () => {
    /* a standby's "server unavailable": mqtt.js tries the next server */
  });
  const waiting = new Map<string, { resolve: (port: number) => void; reject: (e: Error) => void }>();
  let port = 0;
  client.on('connect', () => {
    port = (client.stream as { remotePort?: number }).remotePort ?? 0;
    client.subscribe(`res/${CLIENT}`, { qos: 1 });
  });
  client.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    const done = e.corr === null ? undefined : waiting.get(e.corr);
    if (!done) return;
    waiting.delete(e.corr!);
    // A refused request ends the run with the appliance's reason (the caller stops the processes).
    if (e.type === 'error') done.reject(new Error(`error reply to ${e.corr}: ${JSON.stringify(e.body).slice(0, 300)}`));
    else done.resolve(port);
  });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await sleep(200); // the subscription above is in place before the first request
  const people = generateResidents('tsu', { count: 10_000_000, seed });
  const nextResident = () => {
    for (;;) {
      const r = people.next().value!;
      if (r.lgCode === '242012') return r;
    }
  };
  return {
    client,
    request: async () => {
      const env = { v: 1, id: uuidv7(), type: 'identity.update', body: { record: { ...nextResident(), status: 'current' } } };
      const t = performance.now();
      const replied = new Promise<number>((resolve, reject) => waiting.set(env.id, { resolve, reject }));
      await client.publishAsync('req/identity.update', JSON.stringify(env), { qos: 1 });
      const by = await replied;
      return { ms: performance.now() - t, port: by };
    },
    close: () => client.endAsync(),
  };
}

export interface LoadResult {
  perSec: number;
  p50: number;
  p99: number;
  n: number;
}

/** `total` requests, `window` outstanding at a time (closed loop). `during` runs every 100 ms meanwhile. */
export async function boundedLoad(r: Requester, total: number, window: number, during?: () => Promise<void>): Promise<LoadResult> {
  const lat: number[] = [];
  let next = 0;
  let running = true;
  const sampling = (async () => {
    while (running) {
      await during?.();
      await sleep(100);
    }
  })();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next++ < total) lat.push((await r.request()).ms);
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  running = false;
  await sampling;
  return { perSec: total / secs, p50: percentile(lat, 50), p99: percentile(lat, 99), n: lat.length };
}
