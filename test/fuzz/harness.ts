// Shared pieces of the hostile-input suites: a control client that proves the broker still serves
// (publish → in-process subscriber → push back on res/), RSS sampling, and stored-record checks.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MqttClient } from 'mqtt';
import type { BrokerHandle } from '../../broker/server.js';
import type { Db } from '../../platform/store/db.js';
import { SUBLEVELS } from '../../platform/store/db.js';
import { collect } from '../helpers/mqtt.js';

export interface ControlLoop {
  ok: number;
  failed: string[];
  maxMs: number;
  stop(): Promise<void>;
}

/**
 * Round trips every `everyMs`: the control system publishes req/{type} (QoS 1, acknowledged), an
 * in-process subscriber sees it and answers on res/{id}; the client must receive it within 5 s.
 */
export async function controlLoop(
  broker: BrokerHandle,
  client: MqttClient,
  systemId: string,
  type: string,
  everyMs = 200,
): Promise<ControlLoop> {
  const inbox = collect(client);
  await client.subscribeAsync(`res/${systemId}`, { qos: 1 });
  await new Promise<void>((resolve) =>
    broker.aedes.subscribe(
      `req/${type}`,
      (packet, cb) => {
        broker.aedes.publish(
          {
            cmd: 'publish',
            topic: `res/${systemId}`,
            payload: Buffer.from(`echo:${String(packet.payload)}`),
            qos: 1,
            retain: false,
            dup: false,
          } as never,
          () => {},
        );
        cb();
      },
      () => resolve(),
    ),
  );
  const state: ControlLoop = { ok: 0, failed: [], maxMs: 0, stop: async () => {} };
  let n = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const tag = `control-${n++}`;
      const t0 = Date.now();
      try {
        await Promise.race([
          (async () => {
            await client.publishAsync(`req/${type}`, tag, { qos: 1 });
            for (;;) {
              if (inbox.got.some((p) => String(p.payload) === `echo:${tag}`)) return;
              await new Promise((r) => setTimeout(r, 10));
            }
          })(),
          new Promise((_, rej) => setTimeout(() => rej(new Error('no round trip within 5 s')), 5000)),
        ]);
        state.ok++;
        state.maxMs = Math.max(state.maxMs, Date.now() - t0);
      } catch (e) {
        state.failed.push(`${tag}: ${(e as Error).message}`);
      }
      inbox.got.splice(0);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  state.stop = async () => {
    running = false;
    await loop;
  };
  return state;
}

/** A real GC between phases, so heap figures show what is retained rather than garbage not yet collected. */
export async function settledHeapMb(): Promise<number> {
  v8.setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return Math.round(process.memoryUsage().heapUsed / 1048576);
}

export interface RssSampler {
  samples: number[];
  stop(): { baseMb: number; maxMb: number; endMb: number };
}
export function sampleRss(everyMs = 500): RssSampler {
  const samples = [process.memoryUsage().rss];
  const t = setInterval(() => samples.push(process.memoryUsage().rss), everyMs);
  return {
    samples,
    stop() {
      clearInterval(t);
      samples.push(process.memoryUsage().rss);
      const mb = (b: number) => Math.round(b / 1048576);
      return { baseMb: mb(samples[0]!), maxMb: mb(Math.max(...samples)), endMb: mb(samples.at(-1)!) };
    },
  };
}

/** Every record in the durable request/ingress queues; refused input must never appear there. */
export async function storedRequestRecords(db: Db): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const name of [SUBLEVELS.requests, SUBLEVELS.ingress]) {
    for await (const v of db.sublevel<string, Uint8Array>(name, { valueEncoding: 'view' }).values()) out.push(Buffer.from(v));
  }
  return out;
}
