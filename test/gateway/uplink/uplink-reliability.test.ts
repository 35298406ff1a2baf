// Uplink against a real Mosquitto and the simulated upstream nodes: request/reply with timeouts,
// an upstream outage with traffic flowing, a poison message, and the inbox's refusals.
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { connect } from 'mqtt';
import { Registry } from 'prom-client';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { nowIso, uuidv7, type Envelope } from '../../../platform/envelope.js';
import { createUplink, type InboxAuditEvent, type Uplink } from '../../../gateway/uplink/index.js';
import { TokenUnavailableError, type TokenSigner } from '../../../hsm/index.js';
import type { Signer } from '../../../hsm/types.js';
import { reloadingVerifier, simSigner, type SimPki } from '../../../sim/pki.js';
import { startSimulators, type Simulators } from '../../../sim/run.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { recordWrites, type RecordedWrite } from '../../helpers/write-recorder.js';
import {
  certifiedApplianceSigner,
  notifyBody,
  openSimPki,
  PREF,
  quietLogger,
  SELF,
  SERVED,
  testConfig,
  testResidentCode,
} from '../../helpers/uplink.js';
import { EXAMPLE_BODIES, EXAMPLE_RECORD } from '../../../gateway/messages/index.js';

// Inbound bodies are checked against the message schemas before a flow or a waiting caller sees them.
const MOVE_IN = JSON.parse(JSON.stringify(EXAMPLE_BODIES['movein.notice'].request)) as Record<string, unknown>;

const dir = tempDir('uplink-rel-');
let mosq: Mosquitto;
let sims: Simulators;
let pki: SimPki;
let db: Db;
let signer: TokenSigner;
/** The real SoftHSM signer behind a switch that makes it behave like a token that went away. */
let tokenDown = false;
const switchable: Signer = {
  get kid() {
    return signer.kid;
  },
  get certificateDer() {
    return signer.certificateDer;
  },
  status: () => signer.status(),
  close: async () => undefined,
  signEnvelope: (e) => (tokenDown ? Promise.reject(new TokenUnavailableError('token not present (test)')) : signer.signEnvelope(e)),
};
let uplink: Uplink;
const audits: InboxAuditEvent[] = [];
const deadAlarms: string[] = [];
const registry = new Registry();
const logger = quietLogger();
const KNOWN = testResidentCode(1); // a person the upstream simulators know
const OPERATOR = { operatorId: 'op-0017', terminalId: 'term-01' };

function env(type: string, to: string, body: Record<string, unknown>): Envelope {
  return { v: 1, id: uuidv7(), type, from: SELF, to, at: nowIso(), corr: null, body };
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function enqueueNotices(
  persons: string[],
  perPerson: number,
  poison?: (p: string, n: number) => boolean,
  poisonIds?: Set<string>,
): Promise<Envelope[]> {
  const sent: Envelope[] = [];
  for (let n = 1; n <= perPerson; n++) {
    for (const p of persons) {
      const b = db.batch();
      const e = env('identity.notify', PREF, notifyBody(p, n));
      uplink.outbox.enqueue(b, e);
      if (poison?.(p, n)) poisonIds?.add(e.id);
      await uplink.outbox.commit(b);
      sent.push(e);
    }
  }
  return sent;
}

function assertDeliveredOnceInOrder(received: Envelope[], sent: Envelope[]): void {
  const ids = new Set(sent.map((e) => e.id));
  const got = received.filter((e) => ids.has(e.id));
  expect(got.length).toBe(sent.length);
  expect(new Set(got.map((e) => e.id)).size).toBe(sent.length);
  const last = new Map<string, number>();
  for (const e of got) {
    const rec = e.body.record as { residentCode: string; updateSeq: number };
    const p = rec.residentCode;
    const n = rec.updateSeq;
    expect(n).toBeGreaterThan(last.get(p) ?? 0);
    last.set(p, n);
  }
}

beforeAll(async () => {
  mosq = await startMosquitto();
  pki = await openSimPki(`${dir.path}/pki`);
  signer = await certifiedApplianceSigner(`${dir.path}/data`, pki);
  sims = await startSimulators({
    brokerUrl: mosq.url,
    pkiDir: pki.dir,
    servedCodes: [SERVED],
    otherMunicipalities: ['141003'],
    logger,
    people: [{ ...EXAMPLE_RECORD, residentCode: KNOWN, lgCode: '141003', address: '神奈川県横浜市中区本町6丁目50番地の10' }],
  });
  db = await openApplianceDb(`${dir.path}/data/db`);
  uplink = await createUplink({
    config: testConfig(mosq.url, { timeoutsMs: { 'identity.verify': 2000, 'identity.search': 300 } }),
    db,
    signer: switchable,
    verifier: reloadingVerifier(pki),
    logger,
    registry,
    audit: (e) => {
      audits.push(e);
    },
    onDeadLetter: (e) => deadAlarms.push(e.envelope.id),
  });
  await until(() => uplink.linkStatus()[0]?.state === 'up');
  expect(signer.status().kind).toBe('pkcs11'); // SoftHSM, not the software key
});

afterAll(async () => {
  await uplink?.close();
  await db?.close();
  await sims?.close();
  await signer?.close();
  await mosq?.close();
  dir.cleanup();
});

describe('uplink with Mosquitto and the simulators', () => {
  it('correlates an interactive request with its reply', async () => {
    const r = await uplink.request(env('identity.verify', 'national', { by: 'residentCode', residentCode: KNOWN, ...OPERATOR }));
    expect(r).toMatchObject({
      type: 'identity.verify.result',
      from: 'national',
      to: SELF,
      body: { status: 'match', record: { residentCode: KNOWN } },
    });
    const cert = await uplink.request(
      env('moveout.cert.request', 'lg:141003', {
        residentCode: KNOWN,
        name: EXAMPLE_RECORD.name,
        birthDate: EXAMPLE_RECORD.birthDate,
        oldAddress: '横浜市中区本町6-50-10',
        ...OPERATOR,
      }),
    );
    expect(cert).toMatchObject({
      type: 'moveout.cert.request.result',
      body: { certificate: { residentCode: KNOWN, oldLgCode: '141003' } },
    });
    const bad = await uplink.request(
      env('identity.verify', 'national', {
        by: 'residentCode',
        residentCode: KNOWN.slice(0, 10) + String((Number(KNOWN[10]) + 1) % 10),
        ...OPERATOR,
      }),
    );
    expect(bad).toMatchObject({ type: 'error', body: { code: 'invalid_request', details: [{ path: 'body.residentCode' }] } });
    const miss = await uplink.request(
      env('moveout.cert.request', 'lg:141003', {
        residentCode: testResidentCode(999),
        name: '伊勢 太郎',
        birthDate: '1975-01-01',
        oldAddress: '横浜市中区',
        ...OPERATOR,
      }),
    );
    expect(miss).toMatchObject({ type: 'error', body: { code: 'not_found' } });
  });

  it('times out per type with an error reply, and drops the late reply', async () => {
    // Nobody serves pref:130001 (Tokyo): the request is published and never answered.
    const req = env('identity.search', 'pref:130001', { dutyCode: 'JUKI-01', ...OPERATOR, name: '津 花子', birthDate: '1989-01-07' });
    const r = await uplink.request(req);
    expect(r).toMatchObject({ type: 'error', corr: req.id, body: { code: 'timeout', details: [{ path: '(upstream)' }] } });
    await sims.node('pref:240001').send(SELF, 'identity.search.result', { route: 'pref', hitCount: 0, hits: [] }, req.id);
    await until(async () => /link="juki"\} 1/.test(await registry.getSingleMetricAsString('jukigw_uplink_late_replies_total')));
    const metrics = await registry.getSingleMetricAsString('jukigw_uplink_failures_total');
    expect(metrics).toMatch(/reason="reply_timeout"\} 1/);
    expect(r.body.message).toMatch(/within 300 ms/);
  });

  it('keeps traffic on disk while the upstream broker is down and delivers all of it, once, in order per person', async () => {
    const persons = Array.from({ length: 10 }, (_, i) => testResidentCode(100 + i));
    await mosq.stop();
    await until(() => uplink.linkStatus()[0]?.state !== 'up');
    const down = await uplink.request(env('identity.verify', 'national', { by: 'residentCode', residentCode: KNOWN, ...OPERATOR }));
    expect(down).toMatchObject({ type: 'error', body: { code: 'upstream_unavailable' } });
    const sent = await enqueueNotices(persons, 20);
    expect((await uplink.outbox.list({ limit: 1000 })).length).toBe(200);
    expect(uplink.queueStats().juki?.depth).toBe(200);
    expect(await registry.getSingleMetricAsString('jukigw_uplink_queue_depth')).toMatch(/link="juki"\} 200/);
    expect(await registry.getSingleMetricAsString('jukigw_uplink_link_up')).toMatch(/link="juki"\} 0/);
    await new Promise((r) => setTimeout(r, 1500));
    await mosq.start();
    await until(() => uplink.queueStats().juki?.depth === 0, 60_000);
    assertDeliveredOnceInOrder(sims.node(PREF).received, sent);
    expect(await registry.getSingleMetricAsString('jukigw_uplink_link_up')).toMatch(/link="juki"\} 1/);
  });

  it('dead-letters a poison message without blocking other persons', async () => {
    const poisonIds = new Set<string>();
    sims.node(PREF).rejectWhen = (e) =>
      poisonIds.has(e.id) ? { code: 'invalid_request', message: 'schema version not supported' } : undefined;
    const persons = [testResidentCode(201), testResidentCode(202), testResidentCode(203)];
    const sent = await enqueueNotices(persons, 5, (p, n) => p === persons[0] && n === 2, poisonIds);
    const poison = sent.find((e) => poisonIds.has(e.id))!;
    await until(() => uplink.queueStats().juki?.depth === 0);
    const dead = await uplink.outbox.list({ dead: true });
    expect(dead.map((d) => d.id)).toEqual([poison.id]);
    expect(deadAlarms).toEqual([poison.id]);
    const received = sims.node(PREF).received;
    assertDeliveredOnceInOrder(
      received,
      sent.filter((e) => e !== poison),
    );
    expect(uplink.queueStats().juki?.dead).toBe(1);
    sims.node(PREF).rejectWhen = undefined;
    // Operator retries it once the upstream accepts it.
    expect(await uplink.outbox.retry(dead[0]!.seq, { dead: true })).toBe(true);
    await until(() => uplink.queueStats().juki?.depth === 0 && received.some((e) => e.id === poison.id));
    expect(uplink.queueStats().juki?.dead).toBe(0);
  });

  it('reads, deletes and marks a burst of messages a batch at a time, not one store call per message', async () => {
    // One commit makes 64 persons' notices sendable at once: the sender loads them in one read, and
    // their answers' marks and the deletes of the delivered entries are written a batch at a time.
    const QUEUED = '!outbox!q!';
    const MARK = '!inbox!i!';
    const persons = Array.from({ length: 64 }, (_, i) => testResidentCode(300 + i));
    const get = vi.spyOn(db, 'get');
    const getMany = vi.spyOn(db, 'getMany');
    const recorder = recordWrites();
    try {
      const b = db.batch();
      const sent = persons.map((p) => env('identity.notify', PREF, notifyBody(p, 1)));
      for (const e of sent) uplink.outbox.enqueue(b, e);
      await uplink.outbox.commit(b);
      await until(() => uplink.queueStats().juki?.depth === 0);
      assertDeliveredOnceInOrder(sims.node(PREF).received, sent);
      const writes = recorder.trace.filter((e): e is RecordedWrite => e.kind === 'write');
      const carrying = (prefix: string, type: 'put' | 'del') =>
        writes.filter((w) => w.ops.some((op) => op.type === type && op.key.startsWith(prefix)));
      const singleLoads = get.mock.calls.filter(([k]) => String(k).startsWith(QUEUED)).length;
      const manyLoads = getMany.mock.calls.filter(([ks]) => ks.some((k) => String(k).startsWith(QUEUED))).length;
      const deletes = carrying(QUEUED, 'del');
      const marks = carrying(MARK, 'put');
      console.info(
        `uplink store calls for ${sent.length} messages: ${singleLoads} single loads, ${manyLoads} getMany, ` +
          `${deletes.length} writes deleting delivered entries, ${marks.length} writes marking answers`,
      );
      expect(singleLoads).toBe(0);
      expect(manyLoads).toBeGreaterThan(0);
      expect(manyLoads).toBeLessThan(sent.length);
      // Every delivered entry deleted and every answer marked, each exactly once, in fewer writes.
      expect(deletes.flatMap((w) => w.ops.filter((op) => op.type === 'del' && op.key.startsWith(QUEUED))).length).toBe(sent.length);
      expect(marks.flatMap((w) => w.ops.filter((op) => op.type === 'put' && op.key.startsWith(MARK))).length).toBe(sent.length);
      expect(deletes.length).toBeLessThan(sent.length);
      expect(marks.length).toBeLessThan(sent.length);
      // They acknowledge nothing: never fsynced.
      expect([...deletes, ...marks].every((w) => !w.sync)).toBe(true);
    } finally {
      recorder.stop();
      get.mockRestore();
      getMany.mockRestore();
    }
  });

  it('keeps messages queued while the signing token is unavailable and never sends them unsigned', async () => {
    tokenDown = true;
    onTestFinished(() => {
      tokenDown = false;
    });
    const pref = sims.node(PREF);
    const before = { received: pref.received.length, refused: pref.refused.length };
    const sent = await enqueueNotices([testResidentCode(301), testResidentCode(302)], 3);
    const interactive = await uplink.request(env('identity.verify', 'national', { by: 'residentCode', residentCode: KNOWN, ...OPERATOR }));
    expect(interactive).toMatchObject({
      type: 'error',
      body: { code: 'upstream_unavailable', message: expect.stringMatching(/signing token/) },
    });
    await until(async () => /reason="signing"\} [1-9]/.test(await registry.getSingleMetricAsString('jukigw_uplink_failures_total')));
    await new Promise((r) => setTimeout(r, 300));
    expect(pref.received.length).toBe(before.received);
    expect(pref.refused.length).toBe(before.refused);
    expect(uplink.queueStats().juki?.depth).toBe(6);
    // Token trouble is not the message's fault: no attempt is used up.
    const queued = await uplink.outbox.list();
    expect(queued.every((e) => e.attempts === 0)).toBe(true);
    expect(queued.filter((e) => /^signing: token not present/.test(e.lastError ?? '')).length).toBe(2); // each person's head
    tokenDown = false;
    await until(() => uplink.queueStats().juki?.depth === 0);
    assertDeliveredOnceInOrder(pref.received, sent);
  });

  it('verifies, deduplicates and dispatches inbound messages; refusals are audited', async () => {
    const handled: Envelope[] = [];
    uplink.on('movein.notice', async (e) => {
      handled.push(e);
      return {
        ...e,
        id: uuidv7(),
        type: 'movein.notice.result',
        from: SELF,
        to: e.from,
        corr: e.id,
        at: nowIso(),
        body: { accepted: true },
      };
    });
    const other = sims.node('lg:141003');
    const reply = await other.request(SELF, 'movein.notice', MOVE_IN);
    expect(reply).toMatchObject({ type: 'movein.notice.result', body: { accepted: true } });
    expect(handled).toHaveLength(1);

    const raw = connect(mosq.url, { clientId: 'intruder', protocolVersion: 4 });
    await new Promise((r) => raw.once('connect', r));
    const unsigned = env('movein.notice', SELF, { residentCode: KNOWN });
    await raw.publishAsync(`to/${SELF}/movein.notice`, JSON.stringify(unsigned), { qos: 1 });
    await raw.publishAsync(`to/${SELF}/movein.notice`, 'not json', { qos: 1 });
    // The same signed message twice: the flow sees it once; the duplicate gets the remembered answer again.
    const lgSigner = await simSigner(pki, 'lg:141003');
    const twice: Envelope = {
      v: 1,
      id: uuidv7(),
      type: 'movein.notice',
      from: 'lg:141003',
      to: SELF,
      at: nowIso(),
      corr: null,
      body: MOVE_IN,
    };
    const signed = JSON.stringify(await lgSigner.signEnvelope(twice));
    await raw.publishAsync(`to/${SELF}/movein.notice`, signed, { qos: 1 });
    await until(() => other.received.some((e) => e.corr === twice.id));
    await raw.publishAsync(`to/${SELF}/movein.notice`, signed, { qos: 1 });
    const answer = other.received.find((e) => e.corr === twice.id)!;
    await until(() => (other.copies.get(answer.id) ?? 0) >= 2);
    expect(handled.filter((e) => e.id === twice.id)).toHaveLength(1);
    await until(() => audits.length >= 2);
    expect(audits.map((a) => a.reason).sort()).toEqual(['malformed', 'malformed']);
    expect(audits[0]).toMatchObject({ kind: 'uplink.refused', link: 'juki' });
    await raw.endAsync();
    expect(handled).toHaveLength(2);
  });
});
