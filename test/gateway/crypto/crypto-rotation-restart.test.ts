// A data key rotation cut by an appliance restart: an admin starts it through /api/v1 on an appliance
// holding a few thousand residents, the appliance is closed while the background pass is half way
// (checked on the closed data dir: values under both keys, the stored state says running), and the
// appliance started again on the same data dir resumes it by itself: it completes, the old key is
// retired, every value unseals, the resumption is audited and the status shows the whole rotation,
// also after one more restart.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAppliance, type ApplianceHandle } from '../../../appliance/start.js';
import { adminApi } from '../../../cli/adminApi.js';
import { loadConfig } from '../../../config/load.js';
import { configSchema, type ApplianceConfig } from '../../../config/schema/index.js';
import { openAuthStore } from '../../../admin-ui/auth/store.js';
import {
  createDataKeyRotation,
  openFileKek,
  openKeyring,
  SEALED_SUBLEVELS,
  sealedCensus,
  sealedKeyId,
  type DataKeyRotation,
  type DataKeyRotationStatus,
  type Keyring,
} from '../../../gateway/crypto/index.js';
import { ROTATION_STATE_KEY, rotationStateStore } from '../../../gateway/crypto/rotationState.js';
import { trackWrites } from '../../../gateway/crypto/writeTracker.js';
import { createLogger } from '../../../platform/log/logger.js';
import { openApplianceDb, SUBLEVELS, type Db } from '../../../platform/store/db.js';
import { generateResidents } from '../../../sim/residents.js';
import { freePort } from '../../helpers/ports.js';
import { tempDir } from '../../helpers/tmp.js';
import { until } from '../../helpers/until.js';

const SERVED = '242012';
const PASSWORD = 'rotation-restart-password-not-a-secret';
/** Residents loaded straight into the store: enough that the pass is still running when we stop it. */
const BULK = 3000;

describe('data key rotation across an appliance restart', () => {
  const dir = tempDir('jukigw-rotate-restart-');
  const dataDir = join(dir.path, 'data');
  let config: ApplianceConfig;
  let app: ApplianceHandle | undefined;
  let adminToken = '';

  const start = async () => {
    app = await startAppliance(configSchema.parse(config), { logger: createLogger({ level: 'silent' }) });
    return app;
  };
  const stop = async () => {
    const a = app;
    app = undefined;
    await a?.close();
  };
  const api = () => {
    const a = adminApi(config, { env: { JUKIGW_API_TOKEN: adminToken } });
    if (!a.ok) throw new Error(a.message);
    return a.api;
  };
  const rotationStatus = async () => {
    const r = await api().call('GET', '/data-keys');
    expect(r.status).toBe(200);
    return r.json.rotation as DataKeyRotationStatus;
  };

  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true });
    const pwFile = join(dir.path, 'password');
    writeFileSync(pwFile, PASSWORD);
    const configFile = join(dir.path, 'juki-gw.yaml');
    writeFileSync(
      configFile,
      [
        `municipalities: ['${SERVED}']`,
        `dataDir: ${dataDir}`,
        'hsm: { kind: software }',
        `listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: ${await freePort()} }]`,
        `systems: [{ id: rr-01, role: resident-register, password: { file: ${pwFile} } }]`,
        'broker: { syncWrites: false }',
        `admin: { host: 127.0.0.1, port: ${await freePort()} }`,
        `ui: { enabled: true, host: 127.0.0.1, port: ${await freePort()} }`,
        'limits: { minFreeDiskBytes: 0 }',
        '',
      ].join('\n'),
    );
    const r = loadConfig(configFile);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    config = r.config;
    await start();
    const auth = await openAuthStore({ db: app!.parts.db, idleMinutes: 15 });
    adminToken = (await auth.createApiToken('admin', 'rotation restart test')).token;
  }, 120_000);

  afterAll(async () => {
    await stop();
    dir.cleanup();
  });

  it('resumes the background pass after a restart, completes it, retires the old key and keeps its status', async () => {
    const bulk = [...generateResidents('tsu', { count: BULK, seed: 'rotation-restart' })];
    {
      const store = app!.parts.cs!.store;
      for (let i = 0; i < bulk.length; i += 500) {
        const b = app!.parts.db.batch();
        for (const p of bulk.slice(i, i + 500)) await store.apply(b, p, { mode: 'load' });
        await b.write();
      }
    }
    const oldKey = app!.parts.atRest!.keyring.currentKeyId();

    const started = await api().call('POST', '/data-keys/rotate', {});
    expect(started.status).toBe(202);
    const first = started.json.rotation as DataKeyRotationStatus;
    const newKey = first.newKeyId!;
    expect(newKey).not.toBe(oldKey);
    // Stop as soon as the pass has moved something: it is then half way through the identity store.
    const seen = await until(
      async () => {
        const s = await rotationStatus();
        if (s.state !== 'running') throw new Error(`the rotation ended (${s.state}) before the restart: load more residents`);
        return s.rewritten > 0 ? s : undefined;
      },
      60_000,
      'pass under way',
    );
    await stop();

    // The closed data dir: values under both keys, the old key still there, the stored state running.
    {
      const db = await openApplianceDb(join(dataDir, 'db'));
      try {
        const census = await sealedCensus(db);
        if (process.env.ROTATION_REPORT) console.log({ seen: seen.rewritten, identity: census.identity });
        expect(census.identity?.[newKey], 'moved before the restart').toBeGreaterThanOrEqual(seen.rewritten);
        expect(census.identity?.[oldKey], 'left for after the restart').toBeGreaterThan(0);
        const stored = await rotationStateStore(db).load();
        expect(stored).toMatchObject({
          state: 'running',
          by: 'admin',
          startedAt: first.startedAt,
          previousKeyId: oldKey,
          newKeyId: newKey,
          resumedAt: [],
        });
        const keys = db.sublevel<string, { state: string }>(SUBLEVELS.keys, { valueEncoding: 'json' });
        expect((await keys.get(`data-key/${oldKey.toString().padStart(10, '0')}`))?.state).toBe('active');
      } finally {
        await db.close();
      }
    }

    // Started again: the rotation goes on by itself and completes.
    await start();
    const ring = app!.parts.atRest!.keyring;
    const end = await until(
      async () => {
        const s = await rotationStatus();
        return s.state !== 'running' ? s : undefined;
      },
      120_000,
      'rotation resumed and ended',
    );
    expect(end).toMatchObject({
      state: 'done',
      complete: true,
      by: 'admin',
      startedAt: first.startedAt,
      newKeyId: newKey,
      retired: [oldKey],
      remaining: {},
    });
    expect(end.resumedAt).toHaveLength(1);
    expect(Date.parse(end.resumedAt![0]!)).toBeGreaterThan(Date.parse(first.startedAt!));
    expect(end.finishedSublevels).toEqual([...SEALED_SUBLEVELS]);
    expect(ring.currentKeyId()).toBe(newKey);
    expect(ring.keys().find((k) => k.id === oldKey)?.state).toBe('retired');

    // Nothing under the old key anywhere, every value unseals, every resident reads back as loaded.
    const perKey = new Map<number, number>();
    for await (const v of app!.parts.db.values({ valueEncoding: 'view' })) {
      const id = sealedKeyId(v);
      if (id === undefined) continue;
      perKey.set(id, (perKey.get(id) ?? 0) + 1);
      expect(() => ring.unseal(v)).not.toThrow();
    }
    expect([...perKey.keys()]).toEqual([newKey]);
    const store = app!.parts.cs!.store;
    for (const p of bulk) {
      const rec = await store.get(p.residentCode);
      expect(rec?.name, p.residentCode).toBe(p.name);
    }

    // Audited: who started it, that the appliance resumed it, and how it ended.
    const log = app!.parts.auditLog!;
    const resumed = await log.query({ action: 'data-key.rotation.resume', limit: 10 });
    expect(resumed).toHaveLength(1);
    expect(resumed[0]!.event.detail).toMatchObject({ target: `data key ${newKey}` });
    expect(String((resumed[0]!.event.detail as Record<string, unknown>).detail)).toContain('started by admin');
    const ended = await log.query({ action: 'data-key.rotation', limit: 10 });
    expect(ended.map((x) => `${x.event.actor.id}:${x.event.outcome}`)).toEqual(['admin:ok']);
    expect((await log.query({ action: 'data-key.rotate', limit: 10 })).map((x) => `${x.event.actor.id}:${x.event.outcome}`)).toEqual([
      'admin:ok',
    ]);

    // One more restart: the status is the stored one, nothing runs again.
    await stop();
    await start();
    const after = await rotationStatus();
    expect(after).toEqual(end);
    expect(await app!.parts.auditLog!.query({ action: 'data-key.rotation.resume', limit: 10 })).toHaveLength(1);
  }, 300_000);
});

describe('data key rotation state kept in the database (LevelDB and keyring reopened)', () => {
  const IDENTITY = 10;
  const OUTBOX = 2000;
  let dir: ReturnType<typeof tempDir>;
  let opened: { db: Db; ring: Keyring; rotation: DataKeyRotation } | undefined;

  async function open(): Promise<{ db: Db; ring: Keyring; rotation: DataKeyRotation }> {
    const db = await openApplianceDb(join(dir.path, 'db'));
    const ring = await openKeyring({ db, kek: openFileKek(join(dir.path, 'keys', 'kek.bin')) });
    const rotation = createDataKeyRotation({ db, keyring: ring, targets: [SUBLEVELS.identity, SUBLEVELS.outbox], batchSize: 64 });
    return (opened = { db, ring, rotation });
  }
  async function shut(): Promise<void> {
    const o = opened;
    opened = undefined;
    await o?.rotation.close();
    await o?.ring.close();
    await o?.db.close();
  }
  beforeEach(() => {
    dir = tempDir('jukigw-rotate-state-');
  });
  afterEach(async () => {
    await shut();
    dir.cleanup();
  });

  it('skips the sublevels finished before the restart and counts every value once', async () => {
    const { db, ring, rotation } = await open();
    for (const [name, n] of [
      [SUBLEVELS.identity, IDENTITY],
      [SUBLEVELS.outbox, OUTBOX],
    ] as const) {
      const sub = db.sublevel<string, unknown>(name, { valueEncoding: ring.valueEncoding('json') });
      const b = db.batch();
      for (let i = 0; i < n; i++) b.put(`k${i}`, { n: i }, { sublevel: sub as never });
      await b.write();
    }
    const oldKey = ring.currentKeyId();
    // Shut down the moment the state with the identity sublevel finished is written (seen at the database).
    let closing: Promise<void> | undefined;
    const stopListening = trackWrites(db).listen((rawKey, op) => {
      if (rawKey !== `!${SUBLEVELS.keys}!${ROTATION_STATE_KEY}`) return;
      const v = JSON.parse(String(op.value)) as { finishedSublevels: string[] };
      if (v.finishedSublevels.includes(SUBLEVELS.identity)) closing ??= rotation.close();
    });
    expect((await rotation.start('boss')).started).toBe(true);
    await until(() => closing !== undefined, 30_000, 'identity finished');
    await closing;
    stopListening();
    const paused = rotation.status();
    expect(paused).toMatchObject({ state: 'running', finishedSublevels: [SUBLEVELS.identity], rewritten: IDENTITY });
    expect((await sealedCensus(db)).outbox).toEqual({ [oldKey]: OUTBOX });
    await shut();

    const again = await open();
    const end = await again.rotation.settled();
    expect(end).toMatchObject({
      state: 'done',
      complete: true,
      by: 'boss',
      startedAt: paused.startedAt,
      retired: [oldKey],
      finishedSublevels: [SUBLEVELS.identity, SUBLEVELS.outbox],
      scanned: IDENTITY + OUTBOX,
      rewritten: IDENTITY + OUTBOX,
      passes: 1,
    });
    expect(end.resumedAt).toHaveLength(1);
    const outbox = again.db.sublevel<string, unknown>(SUBLEVELS.outbox, { valueEncoding: again.ring.valueEncoding('json') });
    expect(await outbox.get(`k${OUTBOX - 1}`)).toEqual({ n: OUTBOX - 1 });
    expect(await sealedCensus(again.db)).toEqual({ identity: { [end.newKeyId!]: IDENTITY }, outbox: { [end.newKeyId!]: OUTBOX } });
  });

  it('makes the new key on resume when the restart came between storing the start and making the key', async () => {
    const { db, ring } = await open();
    const sub = db.sublevel<string, unknown>(SUBLEVELS.identity, { valueEncoding: ring.valueEncoding('json') });
    await sub.put('k', { n: 1 });
    const oldKey = ring.currentKeyId();
    await shut();
    // What start() stores before it makes the key.
    {
      const raw = await openApplianceDb(join(dir.path, 'db'));
      await rotationStateStore(raw).save({
        v: 1,
        state: 'running',
        by: 'boss',
        startedAt: new Date().toISOString(),
        previousKeyId: oldKey,
        retired: [],
        passes: 0,
        scanned: 0,
        rewritten: 0,
        skippedConcurrent: 0,
        restored: 0,
        unreadable: 0,
        remaining: {},
        complete: false,
        finishedSublevels: [],
        resumedAt: [],
      });
      await raw.close();
    }
    const again = await open();
    const end = await again.rotation.settled();
    expect(end).toMatchObject({ state: 'done', complete: true, newKeyId: oldKey + 1, retired: [oldKey] });
    expect(again.ring.currentKeyId()).toBe(oldKey + 1);
    expect(
      await again.db.sublevel<string, unknown>(SUBLEVELS.identity, { valueEncoding: again.ring.valueEncoding('json') }).get('k'),
    ).toEqual({ n: 1 });
  });

  it('reports an unusable stored state instead of resuming it, and a new rotation still starts', async () => {
    {
      const raw = await openApplianceDb(join(dir.path, 'db'));
      await raw
        .sublevel<string, unknown>(SUBLEVELS.keys, { valueEncoding: 'json' })
        .put(ROTATION_STATE_KEY, { v: 1, state: 'running', by: 'boss' });
      await raw.close();
    }
    const { rotation, ring } = await open();
    const before = ring.currentKeyId();
    expect(await rotation.settled()).toMatchObject({
      state: 'failed',
      detail: expect.stringContaining('stored data key rotation record is unusable: no operator or start time') as string,
    });
    expect(ring.currentKeyId()).toBe(before);
    expect((await rotation.start('boss')).started).toBe(true);
    expect(await rotation.settled()).toMatchObject({ state: 'done', complete: true, newKeyId: before + 1 });
  });
});
