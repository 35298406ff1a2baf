// kill -9 of the appliance under bursts of identity updates, so that the intake writes them in groups
// (group commit, platform/store/groupCommit.ts) and the kills land between a group's staging and its
// write: every update the broker acknowledged is stored exactly once, answered exactly once, and
// notified to the prefecture in order per person; the audit chain verifies. Each round sends one
// update per person, all at once; the next round starts when the broker acknowledged them all (a
// person's next update is sent after the previous one was acknowledged, as the register system does).
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isoDateInJapan } from '../../../domain/dates.js';
import { uuidv7 } from '../../../platform/envelope.js';
import { until } from '../../helpers/cs-harness.js';
import { connectRegister, startCrashStack, updatedAddress, type CrashStack } from '../../helpers/cs-crash-stack.js';

const PERSONS = 32;
const UPDATES = 6;
const KILLS = 2;
let stack: CrashStack;
let client: MqttClient | undefined;

beforeAll(async () => {
  stack = await startCrashStack('cs-crash-burst-', PERSONS);
}, 60_000);

afterAll(async () => {
  await client?.endAsync(true);
  await stack?.close();
});

it('keeps every acknowledged update of a burst exactly once across kill -9', async () => {
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
    const acked: Array<Promise<unknown>> = [];
    for (const r of stack.residents) {
      if (killAt.has(n++)) {
        // Mid-burst: earlier requests of this round are in flight, queued, or staged in a group.
        await new Promise((resolve) => setTimeout(resolve, 20));
        app.child.kill('SIGKILL');
        app = stack.startAppliance();
        void app.ready.catch(() => undefined);
      }
      const id = uuidv7();
      ids.push(id);
      const body = { record: { ...r, address: updatedAddress(r, k), changeReason: 'correct', changeDate: today, status: 'current' } };
      // Resolves on PUBACK, i.e. once the appliance stored the request durably (mqtt.js resends after a kill).
      acked.push(client.publishAsync('req/identity.update', JSON.stringify({ v: 1, id, type: 'identity.update', body }), { qos: 1 }));
    }
    await Promise.all(acked);
  }
  await app.ready;
  await until(() => ids.every((id) => replies.has(id)), 60_000);
  expect(stack.starts).toBe(KILLS + 1);
  expect(session.reconnects()).toBe(KILLS); // the register system's connection really went down with each kill
  expect(ids.every((id) => replies.get(id)!.every((e) => e.type === 'identity.update.result'))).toBe(true);
  // Answered once each: a reply sent again after a kill carries the same id (receivers dedupe on it).
  expect(ids.every((id) => new Set(replies.get(id)!.map((e) => e.id)).size === 1)).toBe(true);

  // The prefecture got every update once (first copies by id), in 更新順番号 order per person.
  await stack.expectNotifiedInOrder(UPDATES);

  // Stop cleanly, then look at the data dir: each update applied exactly once, audit chain intact.
  const exited = new Promise((r) => app.child.once('exit', r));
  app.child.kill('SIGKILL');
  await exited;
  await stack.expectAppliedOnceAndAudited(UPDATES);
}, 180_000);
