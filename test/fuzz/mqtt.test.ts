// MQTT packet fuzzer against the real broker (aedes + ACL + limits + durable ingress): 100k cases
// over many parallel raw sockets, run in full however loaded the machine is (a count reached within a
// time would be a timed assertion), seeded (FUZZ_SEED replays). While it runs a
// control system keeps round-tripping; afterwards nothing from the fuzz is stored, RSS stayed bounded.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect as netConnect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient, endClient } from '../helpers/mqtt.js';
import { PASSWORD, startBrokerFixture, type BrokerFixture } from '../fixtures/broker-setup.js';
import { tempDir } from '../helpers/tmp.js';
import { fuzzSeed, rng } from './prng.js';
import { fuzzCase, validConnect } from './mqttCases.js';
import { controlLoop, sampleRss, settledHeapMb, storedRequestRecords } from './harness.js';

const TARGET_CASES = Number(process.env.FUZZ_MQTT_CASES ?? 100_000);
const PARALLEL = 24;
const FUZZ_SYSTEMS = Array.from({ length: PARALLEL }, (_, i) => `fz-${String(i).padStart(2, '0')}`);

let f: BrokerFixture;
const pw = tempDir('jukigw-fuzz-pw-');
beforeAll(async () => {
  const file = join(pw.path, 'pw');
  writeFileSync(file, PASSWORD + '\n', { mode: 0o600 });
  // Random CONNECTs fail logins by the thousand from 127.0.0.1: a 1 ms backoff keeps the valid logins
  // of the fuzz sessions working (the backoff itself is test/broker/hostile-auth-guessing.test.ts).
  f = await startBrokerFixture({
    limits: { authFailures: { allowed: 1000, backoffMs: 1, maxBackoffMs: 1, forgetAfterMs: 1000 } },
    extra: {
      systems: [
        { id: 'rr-01', role: 'resident-register', password: { file } },
        ...FUZZ_SYSTEMS.map((id) => ({ id, role: 'monitor', password: { file } })),
      ],
    },
  });
});
afterAll(async () => {
  await f?.close();
  pw.cleanup();
});

/** One fuzz session on a raw socket; returns how many cases were written before the broker closed it. */
function session(
  port: number,
  lane: number,
  r: ReturnType<typeof rng>,
  budget: number,
): Promise<{ cases: number; closedByBroker: boolean }> {
  return new Promise((resolve) => {
    const socket: Socket = netConnect(port, '127.0.0.1');
    let cases = 0;
    let closedByBroker = false;
    let ended = false;
    socket.on('data', () => {});
    socket.on('error', () => {});
    const finish = () => {
      if (!ended) {
        ended = true;
        socket.destroy();
        resolve({ cases, closedByBroker });
      }
    };
    socket.once('close', () => {
      closedByBroker = cases > 0;
      finish();
    });
    socket.once('connect', () => {
      const mode = r.int(10);
      // 7/10 fuzz behind a valid login (every packet handler), the rest hit CONNECT parsing and auth.
      if (mode < 7) socket.write(validConnect(FUZZ_SYSTEMS[lane]!, FUZZ_SYSTEMS[lane]!, PASSWORD));
      const n = Math.min(budget, 1 + r.int(60));
      for (let i = 0; i < n && !socket.destroyed; i++) {
        const c = fuzzCase(r);
        socket.write(c.bytes);
        cases++;
        if (c.mutated && r.chance(0.3)) break; // most mutations end the connection anyway
      }
      socket.end();
      setTimeout(finish, 2000).unref();
    });
  });
}

it(`survives ≥ ${TARGET_CASES} fuzzed MQTT packets, keeps serving, stores nothing, bounded memory`, async () => {
  const seed = fuzzSeed();
  console.log(`[fuzz:mqtt] seed=${seed} (FUZZ_SEED=${seed} replays)`);
  const port = f.broker.address('plain').port;
  const control = await connectClient(f.plainUrl, { clientId: 'rr-01', username: 'rr-01', password: PASSWORD });
  const loop = await controlLoop(f.broker, control, 'rr-01', 'identity.update');
  const heapBefore = await settledHeapMb();
  const rss = sampleRss();
  const t0 = Date.now();
  let cases = 0;
  let sessions = 0;
  let closedByBroker = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async (_, lane) => {
      const r = rng((seed + lane * 0x9e3779b1) >>> 0);
      while (cases < TARGET_CASES) {
        const s = await session(port, lane, r, TARGET_CASES - cases);
        cases += s.cases;
        sessions++;
        if (s.closedByBroker) closedByBroker++;
      }
    }),
  );
  const seconds = (Date.now() - t0) / 1000;
  await loop.stop();
  const mem = rss.stop();
  await new Promise((r) => setTimeout(r, 500));
  const heapAfter = await settledHeapMb();
  const clientsLeft = f.broker.aedes.connectedClients;
  console.log(
    `[fuzz:mqtt] ${cases} cases in ${sessions} connections (${closedByBroker} closed by the broker), ` +
      `${seconds.toFixed(1)} s, ${Math.round(cases / seconds)} cases/s; control round trips ${loop.ok} ok, ${loop.failed.length} failed, ` +
      `max ${loop.maxMs} ms; RSS ${mem.baseMb} → max ${mem.maxMb} → end ${mem.endMb} MB; heap after GC ${heapBefore} → ${heapAfter} MB; clients still connected ${clientsLeft}`,
  );

  expect(cases).toBeGreaterThanOrEqual(TARGET_CASES);
  expect(loop.failed).toEqual([]);
  expect(loop.ok).toBeGreaterThan(0);
  // After the storm the broker still takes a fresh login and a full round trip.
  const after = await controlLoop(
    f.broker,
    await connectClient(f.plainUrl, { clientId: 'rr-01', username: 'rr-01', password: PASSWORD }),
    'rr-01',
    'identity.update',
    50,
  );
  while (after.ok < 3 && after.failed.length === 0) await new Promise((r) => setTimeout(r, 50));
  await after.stop();
  expect(after.failed).toEqual([]);
  // Retained memory (heap after a full GC) stays flat; RSS peaks with 24 sockets' buffers and GC lag.
  expect(heapAfter - heapBefore).toBeLessThan(32);
  expect(mem.maxMb - mem.baseMb).toBeLessThan(512);
  expect(clientsLeft).toBeLessThanOrEqual(1);
  // Only the control system may publish: every stored request is one of its control messages.
  const stored = await storedRequestRecords(f.db);
  expect(stored.filter((v) => !v.includes(Buffer.from('control-')))).toEqual([]);
  const retained: unknown[] = [];
  const persistence = (f.broker.aedes as unknown as { persistence: unknown }).persistence as {
    createRetainedStreamCombi(p: string[]): AsyncIterable<unknown>;
  };
  for await (const p of persistence.createRetainedStreamCombi(['#', '$SYS/#'])) retained.push(p);
  expect(retained).toEqual([]);
  await endClient(control, true);
}, 600_000);
