// bench:uplink, interactive priority: a terminal's identity.search (answered from the local store)
// sent again and again, one at a time, while a burst of identity.update requests is queued at the
// intake; the clock runs from the search's req/ publish to its reply on res/. The burst is published
// at once (the broker stores it before PUBACK) and the searches run until its last reply is in.
import mqtt, { type MqttClient } from 'mqtt';
import { isoDateInJapan } from '../../domain/dates.js';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { PASSWORD, SYSTEMS, type CsStack } from '../../test/helpers/cs-harness.js';
import { latencyOf, type Latency } from './uplinkReq.js';
import { sleep } from './uplinkCrypto.js';

export interface SearchDuringBurst {
  burst: number;
  burstSeconds: number;
  searches: Latency;
  maxQueued: number;
}

async function connect(s: CsStack, id: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${s.config.listeners[0]!.port}`, {
    clientId: id,
    username: id,
    password: PASSWORD,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  (c.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  await c.subscribeAsync(`res/${id}`, { qos: 1 });
  return c;
}

export async function measureSearchDuringBurst(
  s: CsStack,
  o: { burst: number; progress: (m: string) => void },
): Promise<SearchDuringBurst> {
  const rr = await connect(s, SYSTEMS.register);
  const term = await connect(s, SYSTEMS.terminal);
  const today = isoDateInJapan(Date.now());
  let answered = 0;
  let failure: string | undefined;
  rr.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    if (e.type === 'error') failure ??= `update refused: ${JSON.stringify(e.body).slice(0, 300)}`;
    answered++;
  });
  const waiting = new Map<string, (e: Envelope) => void>();
  term.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    if (e.corr !== null) waiting.get(e.corr)?.(e);
  });
  const queue = s.broker.persistence.level.requests;
  try {
    o.progress(`search during a burst of ${o.burst} updates`);
    const t0 = performance.now();
    for (let i = 0; i < o.burst; i++) {
      const r = s.residents[i % s.residents.length]!;
      const env = {
        v: 1,
        id: uuidv7(),
        type: 'identity.update',
        body: { record: { ...r, address: `${r.address}の${i}番`, changeReason: 'correct', changeDate: today, status: 'current' } },
      };
      rr.publish('req/identity.update', JSON.stringify(env), { qos: 1 }, (err) => {
        if (err) failure ??= `publish: ${err.message}`;
      });
    }
    const samples: number[] = [];
    let maxQueued = 0;
    const limit = performance.now() + 30 * 60_000;
    while (answered < o.burst) {
      if (failure) throw new Error(failure);
      if (performance.now() > limit) throw new Error(`burst not answered after 30 min (${answered}/${o.burst})`);
      const r = s.residents[samples.length % s.residents.length]!;
      const env = {
        v: 1,
        id: uuidv7(),
        type: 'identity.search',
        body: {
          dutyCode: 'JUKI-01',
          operatorId: 'op-0001',
          terminalId: 'tm-0001',
          name: r.name,
          birthDate: r.birthDate,
          address: '三重県津市',
        },
      };
      maxQueued = Math.max(maxQueued, queue.depth());
      const reply = new Promise<Envelope>((resolve) => waiting.set(env.id, resolve));
      const t = performance.now();
      await term.publishAsync('req/identity.search', JSON.stringify(env), { qos: 1 });
      const e = await reply;
      waiting.delete(env.id);
      if (e.type !== 'identity.search.result') throw new Error(`search answered ${e.type}: ${JSON.stringify(e.body).slice(0, 300)}`);
      if (answered < o.burst) samples.push(performance.now() - t); // only those answered while the burst was queued
      await sleep(20);
    }
    return { burst: o.burst, burstSeconds: (performance.now() - t0) / 1000, searches: latencyOf(samples), maxQueued };
  } finally {
    await rr.endAsync(true);
    await term.endAsync(true);
  }
}
