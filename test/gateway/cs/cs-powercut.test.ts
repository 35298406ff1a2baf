// Simulated power cut of the whole CS appliance under load (test/gateway/cs/cs-crash-appliance.ts at the
// default configuration, with test/helpers/powercut/synced-state.c preloaded): the register system streams
// identity.update requests, 8 in flight; at a third of them answered the appliance is killed
// (SIGKILL) and every file of its LevelDB is put back to its last synced state (written but not
// synced is gone). After a restart nothing acknowledged is lost: every update is answered,
// applied exactly once and notified to the prefecture in order per person; the audit chain
// verifies. The cut covers the LevelDB directory only (the token files are written before the
// run). Model and limits: test/helpers/powercut/README.md.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuditLog } from '../../../gateway/audit/index.js';
import { IdentityStore } from '../../../gateway/cs/identityStore.js';
import type { IdentityChange } from '../../../gateway/cs/identityStoreTypes.js';
import { isoDateInJapan } from '../../../domain/dates.js';
import { uuidv7, type Envelope } from '../../../platform/envelope.js';
import { openApplianceDb } from '../../../platform/store/db.js';
import { createSigner } from '../../../hsm/index.js';
import { PASSWORD, PREF, SYSTEMS, until } from '../../helpers/cs-harness.js';
import { startCrashStack, type CrashStack, type RunningAppliance } from '../../helpers/cs-crash-stack.js';
import { tempDir } from '../../helpers/tmp.js';
import { applianceHsm, quietLogger } from '../../helpers/uplink.js';
import { buildSyncedState, markSynced, rollBackToSynced } from '../../helpers/powercut/rollback.js';

const PERSONS = 8;
const UPDATES = 12;
const libDir = tempDir('cs-powercut-lib-');
let stack: CrashStack;
let dataDir: string;
let dbDir: string;
let shadowDir: string;
let lib: string;
let client: MqttClient | undefined;

beforeAll(async () => {
  lib = buildSyncedState(libDir.path);
  stack = await startCrashStack('cs-powercut-', PERSONS, (d) => {
    dataDir = d;
    dbDir = join(d, 'db');
    shadowDir = join(d, '..', 'shadow');
    mkdirSync(shadowDir);
    markSynced(dbDir, shadowDir); // closed cleanly before the run: on disk
  });
}, 60_000);

afterAll(async () => {
  await client?.endAsync(true);
  await stack?.close();
  libDir.cleanup();
});

const startAppliance = (preload: boolean): RunningAppliance =>
  stack.startAppliance(preload ? { LD_PRELOAD: lib, POWERCUT_DIR: dbDir, POWERCUT_SHADOW: shadowDir } : {});

it('loses nothing acknowledged when the power is cut under load', async () => {
  const first = startAppliance(true);
  await first.ready;
  client = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.port}`, {
    clientId: SYSTEMS.register,
    username: SYSTEMS.register,
    password: PASSWORD,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 200,
  });
  const today = isoDateInJapan(Date.now());
  const ids: string[] = [];
  const total = PERSONS * UPDATES;
  const cutAt = Math.floor(total / 3);
  let pubacks = 0;
  let second: RunningAppliance | undefined;
  let cutting: Promise<void> | undefined;
  const cut = async () => {
    first.child.kill('SIGKILL');
    if (first.child.exitCode === null && first.child.signalCode === null) await new Promise((r) => first.child.once('exit', r));
    const rollback = rollBackToSynced(dbDir, shadowDir);
    console.log(`power cut after ${pubacks} PUBACKs, ${replies.size} replies; rollback ${JSON.stringify(rollback)}`);
    second = startAppliance(false);
    void second.ready.catch(() => undefined);
  };
  const replies = new Map<string, Envelope[]>();
  client.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    replies.set(e.corr ?? '', [...(replies.get(e.corr ?? '') ?? []), e]);
    if (replies.size === cutAt && !cutting) cutting = cut();
  });
  await client.subscribeAsync(`res/${SYSTEMS.register}`, { qos: 1 });
  for (let k = 1; k <= UPDATES; k++) {
    // One update per person in flight at a time (their order is the one of the rounds).
    await Promise.all(
      stack.residents.map(async (r) => {
        const id = uuidv7();
        ids.push(id);
        const body = { record: { ...r, address: `${r.address}の${k}`, changeReason: 'correct', changeDate: today, status: 'current' } };
        // Resolves on PUBACK (mqtt.js resends what was not PUBACKed after the reconnect).
        await client!.publishAsync('req/identity.update', JSON.stringify({ v: 1, id, type: 'identity.update', body }), { qos: 1 });
        pubacks++;
      }),
    );
  }
  await until(() => cutting !== undefined, 60_000, 'the cut'); // requests PUBACKed faster than answered: many are durable, unanswered
  await cutting;
  await second!.ready;
  await until(() => ids.every((id) => replies.has(id)), 60_000, 'a reply to every PUBACKed request');
  expect(ids.every((id) => replies.get(id)!.every((e) => e.type === 'identity.update.result'))).toBe(true);

  // The prefecture got every update (first copies by id), in 更新順番号 order per person.
  const notes = () => stack.sims.node(PREF).received.filter((e) => e.type === 'identity.notify');
  await until(() => notes().length >= total, 60_000);
  for (const r of stack.residents) {
    const mine = notes()
      .filter((e) => (e.body.record as IdentityChange).residentCode === r.residentCode)
      .map((e) => e.body.record as IdentityChange & { updateSeq: number });
    expect(new Set(mine.map((x) => x.address))).toEqual(new Set(Array.from({ length: UPDATES }, (_, i) => `${r.address}の${i + 1}`)));
    expect(mine.map((x) => x.updateSeq)).toEqual([...mine.map((x) => x.updateSeq)].sort((a, b) => a - b));
  }

  const exited = new Promise((r) => second!.child.once('exit', r));
  second!.child.kill('SIGKILL');
  await exited;
  const db = await openApplianceDb(dbDir);
  try {
    const store = await IdentityStore.open(db);
    for (const r of stack.residents) {
      const h = await store.history(r.residentCode);
      expect(h.length).toBe(1 + UPDATES); // each update applied exactly once
      expect(h.at(-1)!.address).toBe(`${r.address}の${UPDATES}`);
    }
    const signer = await createSigner(applianceHsm, { dataDir });
    const audit = await createAuditLog({ db, signer, logger: quietLogger() });
    expect((await audit.verify()).ok).toBe(true);
    await audit.close();
    await signer.close();
  } finally {
    await db.close();
  }
}, 180_000);
