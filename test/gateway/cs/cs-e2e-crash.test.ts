// kill -9 of the appliance while the register system streams identity updates: every update the
// broker acknowledged is stored exactly once, answered, and notified to the prefecture in order per
// person; the audit chain verifies.
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isoDateInJapan } from '../../../domain/dates.js';
import { uuidv7, type Envelope } from '../../../platform/envelope.js';
import { PASSWORD, SYSTEMS, until } from '../../helpers/cs-harness.js';
import { connectRegister, startCrashStack, updatedAddress, type CrashStack } from '../../helpers/cs-crash-stack.js';

const PERSONS = 8;
const UPDATES = 12;
const KILLS = 2;
let stack: CrashStack;
let client: MqttClient | undefined;

beforeAll(async () => {
  stack = await startCrashStack('cs-crash-', PERSONS);
}, 60_000);

afterAll(async () => {
  await client?.endAsync(true);
  await stack?.close();
});

it('keeps every acknowledged update exactly once across kill -9', async () => {
  let app = stack.startAppliance();
  await app.ready;
  const session = await connectRegister(stack);
  client = session.client;
  const { replies } = session;
  const today = isoDateInJapan(Date.now());
  const ids: string[] = [];
  const total = PERSONS * UPDATES;
  const killAt = new Set(Array.from({ length: KILLS }, (_, i) => Math.floor(((i + 1) * total) / (KILLS + 1))));
  let n = 0;
  for (let k = 1; k <= UPDATES; k++) {
    for (const r of stack.residents) {
      if (killAt.has(n++)) {
        app.child.kill('SIGKILL');
        app = stack.startAppliance();
        void app.ready.catch(() => undefined);
      }
      const id = uuidv7();
      ids.push(id);
      const body = { record: { ...r, address: updatedAddress(r, k), changeReason: 'correct', changeDate: today, status: 'current' } };
      // Resolves on PUBACK, i.e. once the appliance stored the request durably (mqtt.js resends after a kill).
      await client.publishAsync('req/identity.update', JSON.stringify({ v: 1, id, type: 'identity.update', body }), { qos: 1 });
    }
  }
  await app.ready;
  await until(() => ids.every((id) => replies.has(id)), 60_000);
  expect(stack.starts).toBe(KILLS + 1);
  expect(session.reconnects()).toBe(KILLS); // the register system's connection really went down with each kill
  expect(ids.every((id) => replies.get(id)!.every((e) => e.type === 'identity.update.result'))).toBe(true);

  // The prefecture got every update once (first copies by id), in 更新順番号 order per person.
  await stack.expectNotifiedInOrder(UPDATES);

  // Stop cleanly, then look at the data dir: each update applied exactly once, audit chain intact.
  const exited = new Promise((r) => app.child.once('exit', r));
  app.child.kill('SIGKILL');
  await exited;
  await stack.expectAppliedOnceAndAudited(UPDATES);
}, 180_000);

it('answers an interactive request left pending by a crash with upstream_unavailable after restart', async () => {
  await stack.sims.node('national').close(); // silent upstream: the verification stays pending
  const app = stack.startAppliance();
  await app.ready;
  // The appliance stores the pending record before it asks upstream: once the question is on the
  // upstream broker, the record is on disk and the kill leaves it pending.
  const upstream = await mqtt.connectAsync(stack.upstreamUrl, { reconnectPeriod: 0 });
  const asked: string[] = [];
  upstream.on('message', (topic) => asked.push(topic));
  await upstream.subscribeAsync('to/national/identity.verify', { qos: 1 });
  const term = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.port}`, {
    clientId: SYSTEMS.terminal,
    username: SYSTEMS.terminal,
    password: PASSWORD,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 200,
  });
  try {
    const got: Envelope[] = [];
    term.on('message', (_t, p) => got.push(JSON.parse(p.toString('utf8')) as Envelope));
    await term.subscribeAsync(`res/${SYSTEMS.terminal}`, { qos: 1 });
    const id = uuidv7();
    await term.publishAsync(
      'req/identity.verify',
      JSON.stringify({
        v: 1,
        id,
        type: 'identity.verify',
        body: { by: 'residentCode', residentCode: stack.residents[0]!.residentCode, operatorId: 'op-1', terminalId: 'tm-1' },
      }),
      { qos: 1 },
    );
    await until(() => asked.length > 0, 20_000); // taken by the intake and forwarded; no answer comes
    expect(got).toEqual([]);
    app.child.kill('SIGKILL');
    const again = stack.startAppliance();
    await again.ready;
    const reply = await until(() => got.find((e) => e.corr === id), 20_000);
    expect(reply).toMatchObject({ type: 'error', body: { code: 'upstream_unavailable' } });
    expect(reply.body.message).toMatch(/restarted/); // recovered at start, not a reply timeout
    again.child.kill('SIGKILL');
  } finally {
    await term.endAsync(true);
    await upstream.endAsync(true);
  }
}, 60_000);
