// Measures the CS flows end to end on the e2e stack (not a test; run: npm run bench:cs-e2e).
// Every figure is printed with its ratio to a baseline measured in the same run: the round trip of a
// request the intake refuses (broken JSON: broker → durable queue → intake → error reply), i.e. what
// the MQTT + queue + reply path costs before any flow work.
import { isoDateInJapan } from '../domain/dates.js';
import { PREF, SERVED, SYSTEMS, startCsStack, until } from '../test/helpers/cs-harness.js';

const N = Number(process.env.N ?? 200);
const operator = { operatorId: 'op-m', terminalId: 'tm-m', dutyCode: 'JUKI-01' };

function stats(ms: number[]): { p50: number; p99: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length * 0.5)]!, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! };
}
async function timed(n: number, f: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f(i);
    out.push(performance.now() - t);
  }
  return out;
}

const s = await startCsStack({ residents: 2000 });
if (process.env.BROKER_NODELAY === '1') {
  // Diagnostic: what the appliance broker's own Nagle delay costs (the listeners leave it on).
  s.broker.aedes.on('client', (c) => {
    (c.conn as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  });
}
try {
  const rr = await s.client(SYSTEMS.register);
  const term = await s.client(SYSTEMS.terminal);
  const today = isoDateInJapan(Date.now());
  // Warm-up (JIT, token sessions, links).
  await timed(20, () => rr.raw('identity.update', '{broken', null));
  const base = stats(await timed(N, () => rr.raw('identity.update', '{broken', null)));
  const row = (name: string, v: { p50: number; p99: number }) =>
    console.log(
      `${name.padEnd(36)} p50 ${v.p50.toFixed(2).padStart(7)} ms  p99 ${v.p99.toFixed(2).padStart(7)} ms  p50 ratio ×${(v.p50 / base.p50).toFixed(2)}`,
    );
  row('baseline: refused (broken JSON)', base);
  row(
    'identity.update (store+notify+audit)',
    stats(
      await timed(N, (i) => {
        const r = s.residents[i % s.residents.length]!;
        return rr.request('identity.update', {
          record: { ...r, address: `${r.address}の${i}`, changeReason: 'correct', changeDate: today, status: 'current' },
        });
      }),
    ),
  );
  row(
    'identity.search local',
    stats(
      await timed(N, (i) => {
        const r = s.residents[i % s.residents.length]!;
        return term.request('identity.search', { ...operator, name: r.name, birthDate: r.birthDate, lgCode: SERVED });
      }),
    ),
  );
  row(
    'identity.verify (national, signed)',
    stats(
      await timed(N, (i) =>
        term.request('identity.verify', {
          by: 'residentCode',
          residentCode: s.residents[i % s.residents.length]!.residentCode,
          operatorId: 'op-m',
          terminalId: 'tm-m',
        }),
      ),
    ),
  );
  row(
    'card.event (durable to card)',
    stats(
      await timed(N, (i) =>
        term.request('card.event', {
          event: 'suspend',
          residentCode: s.residents[i % s.residents.length]!.residentCode,
          eventDate: today,
          operatorId: 'op-m',
          terminalId: 'tm-m',
        }),
      ),
    ),
  );

  // Pipelined updates: all published at once; replies, then the prefecture's copies.
  const before = s.sims.node(PREF).received.length;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: N }, (_, i) => {
      const r = s.residents[(i * 7) % s.residents.length]!;
      return rr.request('identity.update', {
        record: { ...r, address: `${r.address}の${i}号`, changeReason: 'correct', changeDate: today, status: 'current' },
      });
    }),
  );
  const replied = performance.now() - t0;
  await until(() => s.sims.node(PREF).received.length - before >= N, 120_000);
  const notified = performance.now() - t0;
  console.log(
    `pipelined identity.update ×${N}: all replies ${replied.toFixed(0)} ms (${((N / replied) * 1000).toFixed(0)}/s), all notifies at ${PREF} ${notified.toFixed(0)} ms (${((N / notified) * 1000).toFixed(0)}/s)`,
  );

  const inc = await s.role.consistency.run({ lgCode: SERVED });
  const full = await s.role.consistency.run({ lgCode: SERVED, mode: 'full' });
  console.log(
    `consistency ${s.residents.length} records (~${N * 2} changed since the prefecture's copy): incremental ${inc.bytesSent} B sent / ${inc.requests} requests, full ${full.bytesSent} B / ${full.requests} requests (incremental/full bytes ×${(inc.bytesSent / full.bytesSent).toFixed(3)}); differences ${inc.differences} vs ${full.differences}`,
  );
} finally {
  await s.close();
}
