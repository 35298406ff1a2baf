// bench:uplink, outbox mode (the earlier measurement, kept as a second table): the clock starts when a
// batch holding identity.notify entries is committed to the uplink's outbox — what the identity.update
// flow does after its intake — and stops when the simulated prefecture receives the message. Runs on
// the same stack as the req/ mode, so the two tables differ only by where the clock starts.
import { nowIso, uuidv7, type Envelope } from '../../platform/envelope.js';
import { PREF, SELF, type CsStack } from '../../test/helpers/cs-harness.js';
import { notifyBody, testResidentCode } from '../../test/helpers/uplink.js';
import { sleep } from './uplinkCrypto.js';
import { latencyOf, type Latency } from './uplinkReq.js';

export interface OutboxPathResult {
  throughput: number;
  pacedRate: number;
  endToEnd: Latency;
}

/** Fictitious persons of this mode (住民票コード outside the stack's residents), one partition each. */
const PERSONS = 500;

export async function measureOutboxPath(
  s: CsStack,
  o: { messages: number; pacedSeconds: number; progress: (m: string) => void },
): Promise<OutboxPathResult> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const pref = s.sims.node(PREF);
  pref.onReceived = (e) => {
    const t = sentAt.get(e.id);
    if (t === undefined) return;
    sentAt.delete(e.id);
    latencies.push(performance.now() - t);
  };
  let seq = 0;
  const enqueue = async (count: number) => {
    const b = s.db.batch();
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const n = seq++;
      const e: Envelope = {
        v: 1,
        id: uuidv7(),
        type: 'identity.notify',
        from: SELF,
        to: PREF,
        at: nowIso(),
        corr: null,
        body: notifyBody(testResidentCode(n % PERSONS), Math.floor(n / PERSONS) + 1),
      };
      s.uplink.outbox.enqueue(b, e);
      ids.push(e.id);
    }
    await s.uplink.outbox.commit(b);
    const t = performance.now();
    for (const id of ids) sentAt.set(id, t);
  };
  const drained = async () => {
    const until = performance.now() + 120_000;
    while (sentAt.size > 0 || (s.uplink.queueStats().juki?.depth ?? 0) > 0) {
      if (performance.now() > until) throw new Error(`${sentAt.size} outbox messages still not at the prefecture after 120 s`);
      await sleep(5);
    }
  };
  try {
    await enqueue(200);
    await drained();
    latencies.length = 0;
    const t0 = performance.now();
    for (let i = 0; i < o.messages; i += 100) await enqueue(Math.min(100, o.messages - i));
    await drained();
    const throughput = o.messages / ((performance.now() - t0) / 1000);
    o.progress(`outbox: throughput ${throughput.toFixed(0)}/s`);
    latencies.length = 0;
    const rate = throughput / 2;
    const p0 = performance.now();
    let offered = 0;
    while (performance.now() - p0 < o.pacedSeconds * 1000) {
      const due = Math.floor(((performance.now() - p0) / 1000) * rate);
      if (due > offered) {
        await enqueue(due - offered);
        offered = due;
      }
      await sleep(10);
    }
    const pacedRate = offered / ((performance.now() - p0) / 1000);
    await drained();
    return { throughput, pacedRate, endToEnd: latencyOf(latencies) };
  } finally {
    pref.onReceived = undefined;
  }
}
