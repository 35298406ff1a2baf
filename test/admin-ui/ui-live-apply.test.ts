// What versions-plan.ts marks as applied live is re-read by the running appliance after an apply
// through the admin API (POST /api/v1/config, the configuration page's service): checkResidentCodeDigit
// on the whole appliance (startAppliance: broker, CS role, identity store) with a local system sending
// identity.update, and limits.minFreeDiskBytes in the dashboard's disk figures.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppliance, type ApplianceHandle } from '../../appliance/start.js';
import { loadConfig } from '../../config/load.js';
import { adminApi, type AdminApi } from '../../cli/adminApi.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { isoDateInJapan } from '../../domain/dates.js';
import { residentCodeCheckDigit } from '../../domain/identifiers.js';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { createLogger } from '../../platform/log/logger.js';
import { generateResidents } from '../../sim/residents.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const SERVED = '242012';
const PASSWORD = 'live-apply-password-not-a-secret';
const dir = tempDir('jukigw-live-apply-');
let app: ApplianceHandle;
let client: MqttClient;
let api: AdminApi;
const replies: Envelope[] = [];

/** A resident of 津市 whose 住民票コード has the wrong check digit (everything else valid). */
function residentWithBadDigit(i: number) {
  const r = [...generateResidents('tsu', { count: 20, seed: 'live-apply' })].filter((x) => x.lgCode === SERVED)[i]!;
  const body = r.residentCode.slice(0, 10);
  const wrong = String((residentCodeCheckDigit(body) + 1) % 10);
  return { ...r, residentCode: body + wrong, changeReason: 'add', changeDate: isoDateInJapan(Date.now()), status: 'current' };
}

async function update(record: Record<string, unknown>): Promise<Envelope> {
  const id = uuidv7();
  await client.publishAsync('req/identity.update', JSON.stringify({ v: 1, id, type: 'identity.update', body: { record } }), { qos: 1 });
  return until(() => replies.find((e) => e.corr === id), 10_000, `reply to ${id}`);
}

/** Edits the running configuration's text and applies it through the admin API. */
async function apply(edit: (text: string) => string, comment: string): Promise<Record<string, unknown>> {
  const current = await api.call('GET', '/config');
  const r = await api.call('POST', '/config', { text: edit(String((current.json as { text: string }).text)), comment });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json;
}
const applyDigitCheck = (on: boolean) =>
  apply((t) => t.replace(/checkResidentCodeDigit: \w+/, `checkResidentCodeDigit: ${on}`), `住民票コード check digit ${on ? 'on' : 'off'}`);

beforeAll(async () => {
  const dataDir = join(dir.path, 'data');
  mkdirSync(dataDir, { recursive: true });
  const pwFile = join(dir.path, 'password');
  writeFileSync(pwFile, PASSWORD);
  const port = await freePort();
  const text = [
    `municipalities: ['${SERVED}']`,
    `dataDir: ${dataDir}`,
    'hsm: { kind: software }',
    'checkResidentCodeDigit: true',
    `listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: ${port} }]`,
    `systems: [{ id: rr-01, role: resident-register, password: { file: ${pwFile} } }]`,
    'broker: { syncWrites: false }',
    `admin: { host: 127.0.0.1, port: ${await freePort()} }`,
    `ui: { enabled: true, host: 127.0.0.1, port: ${await freePort()} }`,
    'limits: { minFreeDiskBytes: 0 }',
    '',
  ].join('\n');
  const configFile = join(dir.path, 'juki-gw.yaml');
  writeFileSync(configFile, text);
  const r = loadConfig(configFile);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  app = await startAppliance(r.config, { logger: createLogger({ level: 'silent' }), configText: text });
  const auth = await openAuthStore({ db: app.parts.db, idleMinutes: 15 });
  const made = adminApi(r.config, { env: { JUKIGW_API_TOKEN: (await auth.createApiToken('admin', 'live apply test')).token } });
  if (!made.ok) throw new Error(made.message);
  api = made.api;
  client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: 'rr-01',
    username: 'rr-01',
    password: PASSWORD,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  client.on('message', (_t, p) => replies.push(JSON.parse(p.toString('utf8')) as Envelope));
  await client.subscribeAsync('res/rr-01', { qos: 1 });
}, 60_000);

afterAll(async () => {
  await client?.endAsync(true);
  await app?.close();
  dir.cleanup();
});

describe('a configuration applied live is re-read by the running appliance', () => {
  it('checkResidentCodeDigit: switched off and on again through the config service, each identity.update follows the running value', async () => {
    const first = residentWithBadDigit(0);
    const refused = await update(first);
    expect(refused.type).toBe('error');
    expect(refused.body).toMatchObject({
      code: 'invalid_request',
      details: [expect.objectContaining({ path: 'body.record.residentCode', problem: expect.stringMatching(/^residentCode\.checkDigit/) })],
    });

    const off = await applyDigitCheck(false);
    expect(off.plan).toMatchObject({ live: ['checkResidentCodeDigit'], restartRequired: [] });
    const accepted = await update(first);
    expect(accepted.type, JSON.stringify(accepted.body)).toBe('identity.update.result');
    const store = app.parts.cs!.store;
    expect((await store.get(first.residentCode))?.name).toBe(first.name);

    await applyDigitCheck(true);
    const again = await update(residentWithBadDigit(1));
    expect(again.type).toBe('error');
    expect(again.body).toMatchObject({ code: 'invalid_request', details: [expect.objectContaining({ path: 'body.record.residentCode' })] });
  });

  it("limits: the dashboard's disk figures show the minimum free space just applied", async () => {
    const before = await api.call('GET', '/status');
    expect(before.json.disk).toMatchObject({ minFreeBytes: 0 });
    const r = await apply((t) => t.replace('limits: { minFreeDiskBytes: 0 }', 'limits: { minFreeDiskBytes: 1048576 }'), 'keep 1 MiB free');
    expect(r.plan).toMatchObject({ live: ['limits'], restartRequired: [] });
    expect((await api.call('GET', '/status')).json.disk).toMatchObject({ minFreeBytes: 1048576 });
  });

  it("limits: the health port's disk check (/readyz) follows the minimum free space just applied", async () => {
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${app.parts.liveConfig.current().admin.port}/readyz`);
      return { status: res.status, text: await res.text() };
    };
    expect((await readyz()).status).toBe(200);
    // More than any disk here has free: the appliance must report itself not ready, without a restart.
    await apply(
      (t) => t.replace(/limits: \{ minFreeDiskBytes: \d+ \}/, 'limits: { minFreeDiskBytes: 1000000000000000 }'),
      'impossible minimum',
    );
    const full = await readyz();
    expect(full.status).toBe(503);
    expect(full.text).toMatch(/disk-space/);
    await apply((t) => t.replace(/limits: \{ minFreeDiskBytes: \d+ \}/, 'limits: { minFreeDiskBytes: 0 }'), 'back to 0');
    expect((await readyz()).status).toBe(200);
  });
});
