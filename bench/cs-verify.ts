// bench:cs, verify stage: identity.verify (flow 2) round trips through the real path: terminal →
// appliance broker → CS role → uplink (signed, SoftHSM) → Mosquitto → simulated national server →
// reply. The verify path never reads the identity store, so it runs on the e2e stack with a small
// population, in its own process so its memory does not count in the store's RSS figures.
// Prints one JSON line. Baseline: a request the intake refuses (broken JSON), the same MQTT + queue +
// reply path without any flow work, measured in the same run.
import { parseArgs } from 'node:util';
import { startCsStack, SYSTEMS } from '../test/helpers/cs-harness.js';

const { values } = parseArgs({ options: { verifies: { type: 'string' }, concurrency: { type: 'string' } } });
const N = Number(values.verifies ?? 300);
const C = Number(values.concurrency ?? 16);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50ms: +pct(s, 50).toFixed(2), p99ms: +pct(s, 99).toFixed(2), maxMs: +s[s.length - 1]!.toFixed(2) };
};

const stack = await startCsStack({ residents: 300 });
try {
  const term = await stack.client(SYSTEMS.terminal);
  const people = stack.residents;
  let failed = 0;
  const verify = async (i: number): Promise<number> => {
    const t = performance.now();
    const reply = await term.request('identity.verify', {
      by: 'residentCode',
      residentCode: people[i % people.length]!.residentCode,
      operatorId: 'op-bench',
      terminalId: 'tm-bench',
    });
    if (reply.type !== 'identity.verify.result' || (reply.body as { status?: string }).status !== 'match') failed++;
    return performance.now() - t;
  };
  const refused = async (): Promise<number> => {
    const t = performance.now();
    await term.raw('identity.verify', '{broken', null);
    return performance.now() - t;
  };
  for (let i = 0; i < 20; i++) {
    await refused();
    await verify(i);
  } // JIT, token session, uplink link
  failed = 0;

  const base: number[] = [];
  for (let i = 0; i < Math.min(N, 200); i++) base.push(await refused());
  const sequential: number[] = [];
  for (let i = 0; i < N; i++) sequential.push(await verify(i));

  // C terminals' worth of requests in flight at once: round trips per second through the path.
  const concurrent: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) concurrent.push(await verify(next++));
    }),
  );
  const wallMs = performance.now() - t0;

  process.stdout.write(
    JSON.stringify({
      verifies: N,
      concurrency: C,
      failed,
      baselineRefused: summary(base),
      sequential: { ...summary(sequential), perSecond: +((1000 * N) / sequential.reduce((a, b) => a + b, 0)).toFixed(1) },
      concurrent: { ...summary(concurrent), perSecond: +((1000 * N) / wallMs).toFixed(1) },
    }) + '\n',
  );
} finally {
  await stack.close();
}
