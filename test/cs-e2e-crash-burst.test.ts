// kill -9 of the appliance under bursts of identity updates, so that the intake writes them in groups
// (group commit, gateway/store/groupCommit.ts) and the kills land between a group's staging and its
// write: every update the broker acknowledged is stored exactly once, answered exactly once, and
// notified to the prefecture in order per person; the audit chain verifies. Each round sends one
// update per person, all at once; the next round starts when the broker acknowledged them all (a
// person's next update is sent after the previous one was acknowledged, as the register system does).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuditLog } from '../gateway/audit/index.js';
import { IdentityStore } from '../gateway/cs/identityStore.js';
import type { IdentityChange } from '../gateway/cs/identityStoreTypes.js';
import { isoDateInJapan } from '../gateway/domain/dates.js';
import { uuidv7, type Envelope } from '../gateway/envelope.js';
import { openApplianceDb } from '../gateway/store/db.js';
import { createSigner } from '../hsm/index.js';
import { generateResidents } from '../sim/residents.js';
import { startSimulators, type Simulators } from '../sim/run.js';
import { loadResidents, PASSWORD, PREF, SERVED, SYSTEMS, until } from './helpers/cs-harness.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { applianceHsm, certifiedApplianceSigner, openSimPki, quietLogger } from './helpers/uplink.js';

const dir = tempDir('cs-crash-burst-');
const dataDir = join(dir.path, 'data');
const pkiDir = join(dir.path, 'pki');
const pwFile = join(dir.path, 'password');
const PERSONS = 32;
const UPDATES = 6;
const KILLS = 2;
let mosq: Mosquitto;
let sims: Simulators;
let port: number;
let client: MqttClient | undefined;
const children = new Set<ChildProcess>();
const residents: IdentityChange[] = [...generateResidents('tsu', { count: PERSONS })];

beforeAll(async () => {
  mosq = await startMosquitto();
  const pki = await openSimPki(pkiDir);
  const signer = await certifiedApplianceSigner(dataDir, pki);
  await signer.close();
  sims = await startSimulators({ brokerUrl: mosq.url, pkiDir, servedCodes: [SERVED], people: residents.map((r) => ({ ...r })), logger: quietLogger() });
  writeFileSync(pwFile, PASSWORD);
  port = await freePort();
  const db = await openApplianceDb(join(dataDir, 'db'));
  await loadResidents(db, await IdentityStore.open(db), residents);
  await db.close();
}, 60_000);

afterAll(async () => {
  await client?.endAsync(true);
  for (const c of children) c.kill('SIGKILL');
  await sims?.close();
  await mosq?.close();
  dir.cleanup();
});

let starts = 0;
function startAppliance(): { child: ChildProcess; ready: Promise<void> } {
  starts++;
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/cs-crash-appliance.ts'], {
    env: { ...process.env, DATA_DIR: dataDir, PKI_DIR: pkiDir, BROKER_URL: mosq.url, PORT: String(port), PW_FILE: pwFile }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    child.once('exit', (code) => reject(new Error(`appliance exited (${code}) before ready`)));
  });
  return { child, ready };
}

it('keeps every acknowledged update of a burst exactly once across kill -9', async () => {
  let app = startAppliance();
  await app.ready;
  client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: SYSTEMS.register, username: SYSTEMS.register, password: PASSWORD, clean: false, protocolVersion: 4, reconnectPeriod: 200 });
  let reconnects = 0;
  client.on('connect', () => { reconnects++; });
  const replies = new Map<string, Envelope[]>();
  client.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    replies.set(e.corr ?? '', [...(replies.get(e.corr ?? '') ?? []), e]);
  });
  await client.subscribeAsync(`res/${SYSTEMS.register}`, { qos: 1 });
  const today = isoDateInJapan(Date.now());
  const ids: string[] = [];
  const total = PERSONS * UPDATES;
  const killAt = new Set(Array.from({ length: KILLS }, (_, i) => Math.floor(((i + 1) * total) / (KILLS + 1))));
  let n = 0;
  for (let k = 1; k <= UPDATES; k++) {
    const acked: Array<Promise<unknown>> = [];
    for (const r of residents) {
      if (killAt.has(n++)) {
        // Mid-burst: earlier requests of this round are in flight, queued, or staged in a group.
        await new Promise((resolve) => setTimeout(resolve, 20));
        app.child.kill('SIGKILL');
        app = startAppliance();
        void app.ready.catch(() => undefined);
      }
      const id = uuidv7();
      ids.push(id);
      const body = { record: { ...r, address: `${r.address}の${k}`, changeReason: 'correct', changeDate: today, status: 'current' } };
      // Resolves on PUBACK, i.e. once the appliance stored the request durably (mqtt.js resends after a kill).
      acked.push(client.publishAsync('req/identity.update', JSON.stringify({ v: 1, id, type: 'identity.update', body }), { qos: 1 }));
    }
    await Promise.all(acked);
  }
  await app.ready;
  await until(() => ids.every((id) => replies.has(id)), 60_000);
  expect(starts).toBe(KILLS + 1);
  expect(reconnects).toBe(KILLS); // the register system's connection really went down with each kill
  expect(ids.every((id) => replies.get(id)!.every((e) => e.type === 'identity.update.result'))).toBe(true);
  // Answered once each: a reply sent again after a kill carries the same id (receivers dedupe on it).
  expect(ids.every((id) => new Set(replies.get(id)!.map((e) => e.id)).size === 1)).toBe(true);

  // The prefecture got every update once (first copies by id), in 更新順番号 order per person.
  const notes = () => sims.node(PREF).received.filter((e) => e.type === 'identity.notify');
  await until(() => notes().length >= total, 60_000);
  for (const r of residents) {
    const mine = notes().filter((e) => (e.body.record as IdentityChange).residentCode === r.residentCode).map((e) => e.body.record as IdentityChange & { updateSeq: number });
    expect(mine.map((x) => x.address)).toEqual(Array.from({ length: UPDATES }, (_, i) => `${r.address}の${i + 1}`));
    expect(mine.map((x) => x.updateSeq)).toEqual([...mine.map((x) => x.updateSeq)].sort((a, b) => a - b));
  }

  // Stop cleanly, then look at the data dir: each update applied exactly once, audit chain intact.
  const exited = new Promise((r) => app.child.once('exit', r));
  app.child.kill('SIGKILL');
  await exited;
  const db = await openApplianceDb(join(dataDir, 'db'));
  try {
    const store = await IdentityStore.open(db);
    for (const r of residents) {
      const h = await store.history(r.residentCode);
      expect(h.length).toBe(1 + UPDATES);
      expect(h.at(-1)!.address).toBe(`${r.address}の${UPDATES}`);
    }
    const signer = await createSigner(applianceHsm, { dataDir });
    const audit = await createAuditLog({ db, signer, logger: quietLogger() });
    const report = await audit.verify();
    expect(report.ok).toBe(true);
    expect((await audit.query({ action: 'identity.update', outcome: 'ok' })).length).toBeGreaterThanOrEqual(total);
    await audit.close();
    await signer.close();
  } finally {
    await db.close();
  }
}, 180_000);
