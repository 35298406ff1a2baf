// Data key rotation on the RUNNING appliance, as an operator does it: `juki-gw keys rotate-data-key`
// (a separate process, through the admin API with an API token) while a resident-register system keeps
// publishing identity.update and a hung terminal's clean:false session holds queued replies. After it:
// the old key is retired, no value in the WHOLE database is sealed under it (a sealed sublevel missing
// from SEALED_SUBLEVELS would keep it), every accepted update is in the store, every value unseals,
// and the hung terminal still receives its queued replies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startAppliance, type ApplianceHandle } from '../../../appliance/start.js';
import { configSchema, type ApplianceConfig } from '../../../config/schema/index.js';
import { loadConfig } from '../../../config/load.js';
import { adminApi } from '../../../cli/adminApi.js';
import { openAuthStore } from '../../../admin-ui/auth/store.js';
import { sealedCensus, sealedKeyId, type DataKeyRotationStatus } from '../../../gateway/crypto/index.js';
import { isoDateInJapan } from '../../../domain/dates.js';
import { uuidv7, type Envelope } from '../../../platform/envelope.js';
import { createLogger } from '../../../platform/log/logger.js';
import { generateResidents } from '../../../sim/residents.js';
import { freePort } from '../../helpers/ports.js';
import { tempDir } from '../../helpers/tmp.js';
import { until } from '../../helpers/until.js';

const SERVED = '242012';
const PASSWORD = 'rotation-test-password-not-a-secret';
const REGISTER = 'rr-01';
const TERMINAL = 'term-01';
const operator = { operatorId: 'op-0001', terminalId: 'tm-0001' };
const COUNT = 200;
/** Residents loaded straight into the store: what makes the pass take a while. */
const BULK = 4000;
const QUEUED = 15;
const today = isoDateInJapan(Date.now());
const residents = [...generateResidents('tsu', { count: COUNT * 2 })]
  .filter((r) => r.lgCode === SERVED)
  .slice(0, COUNT)
  .map((r) => ({ ...r, changeReason: 'add', changeDate: today, status: 'current' }));

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [join(import.meta.dirname, '..', '..', '..', 'bin', 'juki-gw.js'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('data key rotation on the running appliance', () => {
  const dir = tempDir('jukigw-rotate-');
  const dataDir = join(dir.path, 'data');
  const configFile = join(dir.path, 'juki-gw.yaml');
  let app: ApplianceHandle | undefined;
  const clients: MqttClient[] = [];
  let url = '';
  let adminToken = '';
  let securityToken = '';
  let loaded: ApplianceConfig;

  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true });
    const pwFile = join(dir.path, 'password');
    writeFileSync(pwFile, PASSWORD);
    const port = await freePort();
    const uiPort = await freePort();
    // The CLI reads the same file the appliance runs with (admin API address, its certificate in the data dir).
    writeFileSync(
      configFile,
      [
        `municipalities: ['${SERVED}']`,
        `dataDir: ${dataDir}`,
        'hsm: { kind: software }',
        `listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: ${port} }]`,
        `systems: [{ id: ${REGISTER}, role: resident-register, password: { file: ${pwFile} } }, { id: ${TERMINAL}, role: terminal, password: { file: ${pwFile} } }]`,
        'broker: { syncWrites: false }',
        `admin: { host: 127.0.0.1, port: ${await freePort()} }`,
        `ui: { enabled: true, host: 127.0.0.1, port: ${uiPort} }`,
        'limits: { minFreeDiskBytes: 0 }',
        '',
      ].join('\n'),
    );
    const r = loadConfig(configFile);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    loaded = r.config;
    app = await startAppliance(configSchema.parse(loaded), { logger: createLogger({ level: 'silent' }) });
    url = `mqtt://127.0.0.1:${port}`;
    const auth = await openAuthStore({ db: app.parts.db, idleMinutes: 15 });
    adminToken = (await auth.createApiToken('admin', 'rotation test')).token;
    expect(await auth.createAccount('keeper', 'security', 'a long security passphrase 1')).toBeUndefined();
    securityToken = (await auth.createApiToken('keeper', 'rotation test')).token;
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await app?.close();
    dir.cleanup();
  });

  async function connect(id: string): Promise<{ client: MqttClient; replies: Array<Envelope & { receivedAt: number }> }> {
    const client = await mqtt.connectAsync(url, {
      clientId: id,
      username: id,
      password: PASSWORD,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    clients.push(client);
    const replies: Array<Envelope & { receivedAt: number }> = [];
    client.on('message', (_t, p) => replies.push({ ...(JSON.parse(p.toString('utf8')) as Envelope), receivedAt: Date.now() }));
    await client.subscribeAsync([`res/${id}`, `to/${id}/#`], { qos: 1 });
    return { client, replies };
  }

  it('refuses the rotation to a role other than admin (audited), re-encrypts everything while updates keep flowing, and retires the old key', async () => {
    const db = app!.parts.db;
    const ring = app!.parts.atRest!.keyring;
    const store = app!.parts.cs!.store;
    const oldKey = ring.currentKeyId();

    // Seed: a register of a few thousand (loaded into the running store, so the re-encryption pass
    // lasts long enough to overlap the load), the updated residents once more through the flow, then
    // a hung terminal whose search replies stay queued in the broker.
    const bulk = [...generateResidents('tsu', { count: BULK, seed: 'rotation-bulk' })];
    for (let i = 0; i < bulk.length; i += 500) {
      const b = db.batch();
      for (const p of bulk.slice(i, i + 500)) await store.apply(b, p, { mode: 'load' });
      await b.write();
    }
    const rr = await connect(REGISTER);
    const send = (r: (typeof residents)[number], changeReason = 'correct') => {
      const id = uuidv7();
      void rr.client.publishAsync(
        'req/identity.update',
        JSON.stringify({ v: 1, id, type: 'identity.update', body: { record: { ...r, changeReason } } }),
        { qos: 1 },
      );
      return id;
    };
    for (const r of residents) send(r, 'add');
    await until(() => rr.replies.length >= COUNT, 60_000, 'seed updates answered');
    expect(rr.replies.filter((e) => e.type !== 'identity.update.result')).toEqual([]);
    const term = await connect(TERMINAL);
    term.client.handleMessage = () => {
      /* hung: never acknowledges */
    };
    for (const r of residents.slice(0, QUEUED)) {
      term.client.publish(
        'req/identity.search',
        JSON.stringify({
          v: 1,
          id: uuidv7(),
          type: 'identity.search',
          body: { dutyCode: 'JUKI-01', ...operator, name: r.name, birthDate: r.birthDate, address: '三重県津市' },
        }),
        { qos: 1 },
      );
    }
    await until(() => app!.parts.broker!.persistence.level.outgoingDepth(TERMINAL) >= QUEUED, 30_000, 'queued replies');
    await term.client.endAsync(true);
    const before = await sealedCensus(db);
    expect(before.identity?.[oldKey]).toBeGreaterThan(COUNT);
    expect(before.broker?.[oldKey]).toBeGreaterThanOrEqual(QUEUED);

    // A security officer may not rotate the data key (admin only); the attempt is refused and audited.
    const refused = await cli(['keys', 'rotate-data-key', '--config', configFile], { JUKIGW_API_TOKEN: securityToken });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/may not dataKeys\.rotate/);
    expect(ring.currentKeyId()).toBe(oldKey);

    // Steady load through the whole rotation.
    let loading = true;
    const sent: string[] = [];
    const load = (async () => {
      for (let i = 0; loading; i++) {
        sent.push(send(residents[i % COUNT]!));
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await until(() => rr.replies.length > COUNT + 20, 20_000, 'load running');
    const rotated = await cli(['keys', 'rotate-data-key', '--config', configFile], { JUKIGW_API_TOKEN: adminToken });
    await new Promise((r) => setTimeout(r, 300));
    loading = false;
    await load;
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain(`retired data key(s) ${oldKey}`);

    // Nothing lost: every update sent got its result, and each result's version is in the store.
    await until(() => rr.replies.length >= COUNT + sent.length, 60_000, 'every update answered');
    const results = rr.replies.filter((e) => e.type === 'identity.update.result');
    expect(results).toHaveLength(COUNT + sent.length);
    const accepted = new Map<string, number[]>();
    for (const e of results) {
      const b = e.body as { residentCode: string; updateSeq: number };
      accepted.set(b.residentCode, [...(accepted.get(b.residentCode) ?? []), b.updateSeq]);
    }
    for (const [rc, seqs] of accepted) {
      const rec = await store.get(rc);
      expect(rec?.updateSeq, rc).toBe(Math.max(...seqs));
      const stored = new Set([...(await store.history(rc)).map((h) => h.updateSeq), rec!.updateSeq]);
      expect(
        seqs.filter((q) => !stored.has(q)),
        rc,
      ).toEqual([]);
    }
    // The load overlapped the re-encryption: updates were answered while it ran (no downtime).
    const api = adminApi(loaded, { env: { JUKIGW_API_TOKEN: adminToken } });
    if (!api.ok) throw new Error(api.message);
    const { json } = await api.api.call('GET', '/data-keys');
    const rotation = json.rotation as DataKeyRotationStatus;
    expect(rotation).toMatchObject({ state: 'done', by: 'admin', retired: [oldKey], remaining: {}, complete: true });
    const during = results.filter(
      (e) => e.receivedAt >= Date.parse(rotation.startedAt!) && e.receivedAt <= Date.parse(rotation.finishedAt!),
    ).length;
    expect(during).toBeGreaterThan(0);
    if (process.env.ROTATION_REPORT) console.log({ ...rotation, answeredDuringRotation: during, cli: rotated.stdout });

    // The old key is gone and nothing in the whole database is sealed under it; everything unseals.
    expect(ring.keys().find((k) => k.id === oldKey)?.state).toBe('retired');
    const perKey = new Map<number, number>();
    for await (const v of db.values({ valueEncoding: 'view' })) {
      const id = sealedKeyId(v);
      if (id === undefined) continue;
      perKey.set(id, (perKey.get(id) ?? 0) + 1);
      expect(() => ring.unseal(v)).not.toThrow();
    }
    expect(perKey.get(oldKey)).toBeUndefined();
    expect(perKey.get(ring.currentKeyId())).toBeGreaterThan(COUNT);

    // The hung terminal comes back: its queued replies (re-encrypted in the broker's store) arrive intact.
    const back = await connect(TERMINAL);
    await until(() => back.replies.length >= QUEUED, 30_000, 'queued replies delivered');
    for (const e of back.replies.slice(0, QUEUED)) expect(e.type).toBe('identity.search.result');

    // Audited: the refusal, who started it, and how it ended.
    const audit = [
      ...(await app!.parts.auditLog!.query({ action: 'data-key.rotate', limit: 10 })),
      ...(await app!.parts.auditLog!.query({ action: 'data-key.rotation', limit: 10 })),
    ];
    const actions = audit.map((x) => `${x.event.action}:${x.event.actor.id}:${x.event.outcome}`);
    expect(actions).toContain('data-key.rotate:keeper:refused');
    expect(actions).toContain('data-key.rotate:admin:ok');
    expect(actions).toContain('data-key.rotation:admin:ok');
  }, 240_000);
});
