// Connection exhaustion before authentication: 2,000 idle TCP sockets from loopback that never send
// CONNECT, held, then reopened as soon as the broker closes one. They get their own small budget
// (limits.preAuth, per source address and in total; the oldest idle one is closed to make room) and
// never count against maxConnections, so a configured system still connects and works. The broker
// runs in its own process: its sockets do not share this process's file descriptor limit.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ApplianceConfigInput } from '../../config/schema/index.js';
import { preAuthLimits } from '../../config/schema/broker.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { connectClient, endClient } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const IDLE = 2000;
const PASSWORD = 'preauth-test-password';
const dir = tempDir('jukigw-preauth-');
let broker: BrokerProcess;
let port: number;

beforeAll(async () => {
  // This process holds the attacker's sockets: make a too low limit a clear failure, not EMFILE.
  const limit = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]);
  expect(limit, 'ulimit -n of the test process must leave room for the idle sockets').toBeGreaterThan(IDLE + 512);
  port = await freePort();
  const pwFile = join(dir.path, 'pw');
  writeFileSync(pwFile, PASSWORD);
  const config: ApplianceConfigInput = {
    municipalities: ['242012'],
    dataDir: join(dir.path, 'data'),
    listeners: [{ name: 'local', type: 'plain', host: '127.0.0.1', port }],
    systems: [{ id: 'rr-01', role: 'resident-register', password: { file: pwFile } }],
    limits: { minFreeDiskBytes: 0 }, // maxConnections and preAuth: the defaults
  };
  const file = join(dir.path, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  broker = await startBrokerProcess(file);
}, 60_000);
afterAll(async () => {
  await broker?.kill9();
  dir.cleanup();
});

/** Idle sockets that never send a byte; with `reopen`, each one the broker closes is opened again at once. */
function idleFlood(n: number, reopen: boolean) {
  const sockets = new Set<Socket>();
  let stopped = false;
  const stats = { opened: 0, closedByBroker: 0, open: () => sockets.size };
  const one = () => {
    const s = netConnect(port, '127.0.0.1');
    stats.opened++;
    sockets.add(s);
    s.on('error', () => {
      /* reset by the broker: close follows */
    });
    s.once('close', () => {
      sockets.delete(s);
      if (stopped) return;
      stats.closedByBroker++;
      if (reopen) one();
    });
  };
  for (let i = 0; i < n; i++) one();
  return {
    stats,
    stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}

const clearedAlarms = () => broker.audits.filter((a) => a.kind === 'alarm' && a.alarm.state === 'cleared').length;
const brokerFds = () => readdirSync(`/proc/${broker.child.pid}/fd`).length;

/** rr-01 connects, subscribes and gets a QoS 1 request acknowledged (stored); the times it took. */
async function realSystemWorks(): Promise<{ connectMs: number; workedMs: number }> {
  const t0 = performance.now();
  const rr = await connectClient(`mqtt://127.0.0.1:${port}`, {
    clientId: 'rr-01',
    username: 'rr-01',
    password: PASSWORD,
    connectTimeout: 30_000,
  });
  const connectMs = performance.now() - t0;
  expect(await rr.subscribeAsync('res/rr-01', { qos: 1 })).toMatchObject([{ qos: 1 }]);
  await rr.publishAsync('req/identity.update', Buffer.from('{}'), { qos: 1 });
  const workedMs = performance.now() - t0;
  await endClient(rr);
  return { connectMs, workedMs };
}

it('keeps a configured system connecting and working while 2,000 idle sockets are held open, then reopened as fast as closed', async () => {
  const { maxPerAddress } = preAuthLimits.parse({});
  const baseline = brokerFds();

  // 2,000 idle sockets at once: the broker keeps its per-address budget of them and closes the rest.
  const held = idleFlood(IDLE, false);
  let flood = held;
  try {
    await until(() => held.stats.opened === IDLE && held.stats.open() === maxPerAddress, 60_000, 'the flood to settle');
    const heldByBroker = brokerFds() - baseline;
    const calm = await realSystemWorks();
    expect(held.stats.closedByBroker).toBe(IDLE - maxPerAddress + 1); // and the oldest idle one made room for rr-01
    held.stop();
    await until(() => clearedAlarms() === 1, 10_000, 'the first alarm cleared');

    // The same, reconnecting each socket as soon as the broker closes it.
    flood = idleFlood(IDLE, true);
    await until(() => flood.stats.opened >= 2 * IDLE, 60_000, 'the flood to churn');
    const churnHeld = brokerFds() - baseline;
    const churn = await realSystemWorks();
    console.log(
      `[preauth] ${IDLE} idle sockets held: the broker kept ${heldByBroker} sockets beyond its baseline, closed ${held.stats.closedByBroker}; ` +
        `rr-01 connected in ${calm.connectMs.toFixed(0)} ms (subscribed and PUBACKed after ${calm.workedMs.toFixed(0)} ms). ` +
        `Reopened as fast as closed (${flood.stats.opened} opened so far): broker kept ${churnHeld}; rr-01 connected in ${churn.connectMs.toFixed(0)} ms (${churn.workedMs.toFixed(0)} ms)`,
    );
    // Bounded by the pre-authentication budget, not by the flood.
    expect(heldByBroker).toBeLessThan(2 * maxPerAddress);
    expect(churnHeld).toBeLessThan(2 * maxPerAddress);
  } finally {
    flood.stop();
  }
  // One alarm per flood (raised, then cleared once it is over), not one audit entry per socket.
  await until(() => clearedAlarms() === 2, 10_000, 'the second alarm cleared');
  const alarms = broker.audits.filter((a) => a.kind === 'alarm' && a.alarm.kind === 'pre-auth');
  expect(alarms.map((a) => a.kind === 'alarm' && [a.alarm.state, a.alarm.subject])).toEqual([
    ['raised', 'address 127.0.0.1'],
    ['cleared', 'address 127.0.0.1'],
    ['raised', 'address 127.0.0.1'],
    ['cleared', 'address 127.0.0.1'],
  ]);
  expect(broker.denials).toEqual([]);
}, 180_000);
