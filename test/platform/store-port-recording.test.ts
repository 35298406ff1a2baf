// The storage seam (platform/store/port.ts): the whole appliance runs with a port that tees every
// commit and range clear to a recording port applying them to a SECOND LevelDB. After a workload that
// touches every component and a clean stop, both databases hold exactly the same keys and values:
// no component writes past the port. The tee applies in call order, one at a time, as a replicated
// log would, so both sides see the same order.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_RECORD } from '../../gateway/messages/examples.js';
import { isoDateInJapan } from '../../domain/dates.js';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { openApplianceDb, openDbForReading, type Db } from '../../platform/store/db.js';
import { storagePortOf } from '../../platform/store/commitPath.js';
import { levelPort } from '../../platform/store/levelPort.js';
import type { StoragePort, StoreOp } from '../../platform/store/port.js';
import { connectClient, endClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { testResidentCode } from '../helpers/uplink.js';
import { until } from '../helpers/until.js';
import { startUiAppliance, type UiAppliance } from '../admin-ui/ui-appliance.js';

const recDir = tempDir('jukigw-recording-');
let recording: Db;
let a: UiAppliance;
/** Top-level sublevels (`!name!…`) the recording port saw a write or clear for. */
const recorded = new Set<string>();
const sublevelOf = (key: string) => key.split('!')[1] ?? '';

function teeTo(copy: StoragePort) {
  return (db: Db): StoragePort => {
    const local = levelPort(db);
    let last: Promise<unknown> = Promise.resolve();
    const inOrder = (write: () => Promise<void>): Promise<void> => {
      const p = last.then(write);
      last = p.catch(() => undefined);
      return p;
    };
    const note = (ops: StoreOp[]) => {
      for (const op of ops) recorded.add(sublevelOf(op.key));
    };
    return {
      commit: (ops, o) =>
        inOrder(async () => {
          await local.commit(ops, o);
          note(ops);
          await copy.commit(ops, o);
        }),
      clearRange: (r, o) =>
        inOrder(async () => {
          await local.clearRange(r, o);
          recorded.add(sublevelOf(r.gte));
          await copy.clearRange(r, o);
        }),
    };
  };
}

async function contents(path: string): Promise<{ digest: string; count: number; sublevels: Set<string> }> {
  const db = await openDbForReading(path);
  const h = createHash('sha256');
  const sublevels = new Set<string>();
  let count = 0;
  try {
    for await (const [k, v] of db.iterator({ keyEncoding: 'utf8', valueEncoding: 'view' })) {
      const key = Buffer.from(k, 'utf8');
      h.update(`${key.length}:`).update(key).update(`${v.length}:`).update(v);
      sublevels.add(sublevelOf(k));
      count++;
    }
  } finally {
    await db.close();
  }
  return { digest: h.digest('hex'), count, sublevels };
}

beforeAll(async () => {
  recording = await openApplianceDb(join(recDir.path, 'db'));
  a = await startUiAppliance({ port: teeTo(storagePortOf(recording)!) });
}, 120_000);
afterAll(async () => {
  await a?.close();
  await recording?.close();
  recDir.cleanup();
});

describe('one storage port for every write', () => {
  it("leaves a second LevelDB fed only by the port identical to the appliance's own", async () => {
    const mqttUrl = `mqtt://127.0.0.1:${a.app.parts.broker!.address('local-dev').port}`;
    const rr = 'rr-01';
    const password = readFileSync(join(a.dataDir, 'dev-passwords', rr), 'utf8').trim();
    // A persistent session (clean: false): subscription and undelivered replies kept by the broker.
    const c = await connectClient(mqttUrl, { clientId: rr, username: rr, password, clean: false });
    const replies = new Map<string, Envelope>();
    c.on('message', (_t, p) => {
      const e = JSON.parse(p.toString()) as Envelope;
      replies.set(e.corr ?? '', e);
    });
    await c.subscribeAsync(`res/${rr}`, { qos: 1 });
    const request = async (type: string, body: Record<string, unknown>): Promise<Envelope> => {
      const id = uuidv7();
      await c.publishAsync(`req/${type}`, JSON.stringify({ v: 1, id, type, body }), { qos: 1 });
      return until(() => replies.get(id), 60_000, `reply to ${type}`);
    };
    const record = {
      ...EXAMPLE_RECORD,
      residentCode: testResidentCode(7),
      myNumber: '000000000019',
      changeDate: isoDateInJapan(Date.now()),
      status: 'current',
    };
    try {
      // identity.update: store, identity.notify in the outbox, reply, audit, in one unit of work.
      for (const change of [{ changeReason: 'add' }, { changeReason: 'correct', address: '三重県津市西丸之内23番2号' }]) {
        const r = await request('identity.update', { record: { ...record, ...change } });
        expect(r.type, JSON.stringify(r.body)).toBe('identity.update.result');
      }
      // One more whose reply finds the register system gone: kept for its persistent session.
      await c.publishAsync(
        'req/identity.update',
        JSON.stringify({
          v: 1,
          id: uuidv7(),
          type: 'identity.update',
          body: { record: { ...record, changeReason: 'correct', address: '三重県津市西丸之内23番3号' } },
        }),
        { qos: 1 },
      );
    } finally {
      await endClient(c);
    }
    // identity.search answered locally, and one routed to the national server (outbox → simulated
    // upstream → inbox reply).
    const term = 'term-01';
    const tp = readFileSync(join(a.dataDir, 'dev-passwords', term), 'utf8').trim();
    const t = await connectClient(mqttUrl, { clientId: term, username: term, password: tp, clean: false });
    try {
      await t.subscribeAsync(`res/${term}`, { qos: 1 });
      const id = uuidv7();
      const reply = new Promise<Envelope>((resolve) =>
        t.on('message', (_x, p) => {
          const e = JSON.parse(p.toString()) as Envelope;
          if (e.corr === id) resolve(e);
        }),
      );
      await t.publishAsync(
        'req/identity.search',
        JSON.stringify({
          v: 1,
          id,
          type: 'identity.search',
          body: {
            dutyCode: 'JUKI-01',
            operatorId: 'op-1',
            terminalId: term,
            name: record.name,
            birthDate: record.birthDate,
            lgCode: record.lgCode,
          },
        }),
        { qos: 1 },
      );
      expect((await reply).body).toMatchObject({ route: 'local', hitCount: 1 });
    } finally {
      await endClient(t);
    }
    expect((await a.searchUpstream()).type).toBe('identity.search.result');
    const uplink = a.app.parts.uplink!;
    await until(() => uplink.queueStats().simulated!.depth === 0, 60_000, 'the outbox drained to the simulated prefecture');
    // A configuration version applied through the admin UI's service.
    const versions = a.app.parts.versions!;
    const before = await versions.current();
    const applied = await versions.apply(
      before.text.replace(/maxPayloadBytes: \d+/, 'maxPayloadBytes: 524288'),
      { user: 'admin', role: 'admin', via: 'ui' },
      'recording test',
    );
    expect(applied.ok, JSON.stringify(applied)).toBe(true);

    await a.app.close();
    await recording.close();
    const own = await contents(join(a.dataDir, 'db'));
    const copy = await contents(join(recDir.path, 'db'));
    expect(
      [...own.sublevels].filter((s) => !recorded.has(s)),
      'sublevels written past the port',
    ).toEqual([]);
    expect(copy.count).toBe(own.count);
    expect(copy.digest).toBe(own.digest);
    // The workload did touch every component's sublevel.
    for (const s of ['broker', 'requests', 'local', 'pending', 'seen', 'answers', 'outbox', 'inbox', 'identity', 'audit', 'ui', 'keys']) {
      expect(recorded, `the workload wrote the ${s} sublevel`).toContain(s);
    }
  }, 180_000);
});
