// Shared by the broker-persistence suites: an in-process aedes on our persistence, and MQTT clients
// that record what they got.
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { freePort } from '../helpers/ports.js';
import {
  createLevelPersistence,
  wireDurableIngress,
  type AuthorizePublish,
  type LevelPersistence,
  type LevelPersistenceOptions,
  type DurableIngressOptions,
} from '../../broker/persistence/index.js';

export interface TestBroker {
  persistence: LevelPersistence;
  aedes: Aedes;
  url: string;
  replayed: number;
  close(): Promise<void>;
}

/** `authorize`: the check durable ingress runs before storing (default aedes' own: admit all). */
export async function startBroker(
  opts: LevelPersistenceOptions,
  ingress: DurableIngressOptions = {},
  authorize?: AuthorizePublish,
): Promise<TestBroker> {
  const persistence = createLevelPersistence(opts);
  const aedes = await Aedes.createBroker({ persistence: persistence as never });
  wireDurableIngress(aedes, persistence, authorize, ingress);
  const replayed = await persistence.replayIngress(aedes);
  const port = await freePort();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  let closed = false;
  return {
    persistence,
    aedes,
    replayed,
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
      await persistence.destroy();
    },
  };
}

/** `rec` is attached before CONNACK: a stored queue can arrive in the same read as the CONNACK. */
export function connect(url: string, opts: IClientOptions = {}, rec?: Recorder): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...opts });
    if (rec) c.on('message', rec.onMessage);
    c.once('connect', () => resolve(c));
    c.once('error', (e) => {
      c.end(true);
      reject(e);
    });
  });
}

export function end(c: MqttClient, force = false): Promise<void> {
  return new Promise((r) => c.end(force, {}, () => r()));
}

/** Payload carrying its index in the first 4 bytes, padded to `size`. */
export function indexedPayload(i: number, size = 32): Buffer {
  const b = Buffer.alloc(Math.max(size, 4), 0x61);
  b.writeUInt32BE(i, 0);
  return b;
}

/** Records the index of every message; `idle(ms)` resolves once nothing arrived for ms. */
export type Recorder = ReturnType<typeof recorder>;

export function recorder() {
  const got: number[] = [];
  let last = Date.now();
  return {
    got,
    onMessage: (_t: string, payload: Buffer) => {
      got.push(payload.readUInt32BE(0));
      last = Date.now();
    },
    async until(pred: () => boolean, quietMs: number, maxMs: number): Promise<void> {
      const start = Date.now();
      while (!pred() && Date.now() - last < quietMs && Date.now() - start < maxMs) {
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Publishes indices [from, to) at QoS 1 with at most `window` unacknowledged; returns acked indices. */
export function publishIndexed(
  c: MqttClient,
  topic: string,
  from: number,
  to: number,
  opts: { window?: number; size?: number; onAck?: (i: number, acked: number) => void } = {},
): Promise<number[]> {
  const window = opts.window ?? 500;
  const acked: number[] = [];
  let next = from;
  let inflight = 0;
  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (!finished) {
        finished = true;
        resolve(acked);
      }
    };
    c.once('close', finish);
    const pump = () => {
      while (inflight < window && next < to && !finished) {
        const i = next++;
        inflight++;
        c.publish(topic, indexedPayload(i, opts.size), { qos: 1 }, (err) => {
          inflight--;
          if (!err) {
            acked.push(i);
            opts.onAck?.(i, acked.length);
          }
          if (acked.length === to - from) finish();
          // A client going down fails publishes synchronously: pumping on from inside that callback
          // recursed until the stack overflowed (kill -9 test), so errors resume on the next turn.
          else if (err) setImmediate(pump);
          else pump();
        });
      }
    };
    pump();
  });
}

/** Counts of what a recorder saw against what was expected. */
export function audit(got: number[], expected: Iterable<number>) {
  const seen = new Set<number>();
  let duplicated = 0;
  let reordered = 0;
  let max = -1;
  for (const i of got) {
    if (seen.has(i)) duplicated++;
    else seen.add(i);
    if (i < max) reordered++;
    else max = i;
  }
  let lost = 0;
  for (const i of expected) if (!seen.has(i)) lost++;
  return { lost, duplicated, reordered };
}
