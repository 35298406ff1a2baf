// The CS role's flows end to end: local systems on the appliance's broker (MQTT, QoS 1), the intake,
// the flows, the uplink to Mosquitto, the simulated upstream nodes, and back. One stack for the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoDateInJapan } from '../../../domain/dates.js';
import { uuidv7, type Envelope } from '../../../platform/envelope.js';
import { StoreConsistencyPeer } from '../../../gateway/cs/consistency/peer.js';
import type { IdentityChange } from '../../../gateway/cs/identityStoreTypes.js';
import { generateResidents } from '../../../sim/residents.js';
import {
  OTHER,
  PREF,
  SAME_PREF,
  SELF,
  SERVED,
  SYSTEMS,
  startCsStack,
  until,
  type CsStack,
  type LocalClient,
} from '../../helpers/cs-harness.js';

let s: CsStack;
let rr: LocalClient;
let term: LocalClient;
const prefOnly = [...generateResidents('tsu', { count: 1, seed: 'pref-only' })][0]!;
const day = (offset: number) => isoDateInJapan(Date.now() + offset * 86400_000);
const operator = { operatorId: 'op-0001', terminalId: 'tm-0001' };

beforeAll(async () => {
  s = await startCsStack({
    residents: 300,
    // Planted at the prefecture: two field differences, one deletion, one person only it holds.
    plant: async (db, store, residents) => {
      const b = db.batch();
      for (const i of [5, 17]) await store.apply(b, { ...residents[i]!, address: `${residents[i]!.address}の2`, changeReason: 'correct' });
      await store.apply(b, { ...residents[30]!, changeReason: 'delete', changeDate: '2026-01-05' });
      await store.apply(b, { ...prefOnly, lgCode: SERVED });
      await b.write();
    },
  });
  rr = await s.client(SYSTEMS.register);
  term = await s.client(SYSTEMS.terminal);
}, 120_000);

afterAll(async () => {
  await s?.close();
});

const received = (node: string, type: string) => s.sims.node(node).received.filter((e) => e.type === type);
/**
 * Earlier tests' upstream messages may still be on their way (e.g. a resend test's notify): tests that
 * count what reached the simulators start after the outbox has delivered everything.
 */
async function upstreamSettled(): Promise<void> {
  await s.role.idle();
  await until(() => Object.values(s.uplink.queueStats()).every((q) => q.depth === 0 && q.inFlight === 0));
  await new Promise((r) => setTimeout(r, 100)); // Mosquitto's hop to the simulator, after our PUBACK
}
const recordOf = (i: number) => s.residents[i]!;

describe('flow 6: consistency check with the prefectural server', () => {
  it('finds exactly the planted differences, incrementally and by full transfer', async () => {
    const res = s.residents;
    const expected = new Map<string, string>([
      [res[5]!.residentCode, 'differing'],
      [res[17]!.residentCode, 'differing'],
      [res[30]!.residentCode, 'differing'],
      [prefOnly.residentCode, 'server_only'],
      [res[res.length - 1]!.residentCode, 'cs_only'],
    ]);
    const inc = await s.role.consistency.run({ lgCode: SERVED, bits: 4 });
    expect(inc.done).toBe(true);
    const diffs = await s.role.consistency.differences(inc.id);
    expect(new Map(diffs.map((d) => [d.residentCode, d.kind]))).toEqual(expected);
    expect(diffs.find((d) => d.residentCode === res[5]!.residentCode)?.fields).toContain('address');
    // Only differing buckets' entries and differing records travel: far fewer records than the population.
    expect(inc.recordsSent).toBeLessThanOrEqual(3);
    expect(inc.bucketsDiffering).toBeLessThanOrEqual(5);
    const full = await s.role.consistency.run({ lgCode: SERVED, mode: 'full' });
    const fullDiffs = await s.role.consistency.differences(full.id);
    expect(new Map(fullDiffs.map((d) => [d.residentCode, d.kind]))).toEqual(expected);
    expect(full.recordsSent).toBe(res.length);
    const audited = (await s.auditEntries()).filter((e) => e.event.action === 'consistency.check' && e.event.outcome === 'ok');
    expect(audited.length).toBeGreaterThanOrEqual(2);
  });

  it('acknowledges and audits a phase result the server sends on its own (consistency.result)', async () => {
    const phase = await new StoreConsistencyPeer(s.prefStore).handle({
      phase: 'snapshot',
      checkId: uuidv7(),
      lgCode: SERVED,
      snapshotSeq: 1,
      mode: 'full',
      bucketBits: 4,
      recordCount: 1,
    } as never);
    const reply = await s.sims.node(PREF).request(SELF, 'consistency.result', phase);
    expect(reply).toMatchObject({ type: 'consistency.result.result', body: { accepted: true } });
    const bad = await s.sims.node(PREF).request(SELF, 'consistency.result', { phase: 'nonsense' });
    expect(bad).toMatchObject({ type: 'error', body: { code: 'invalid_request', details: [{ path: 'body.phase' }] } });
    const audit = (await s.auditEntries()).filter((e) => e.event.action === 'consistency.result');
    expect(audit.map((e) => e.event.outcome)).toEqual(['ok']);
    // The invalid one never reached the flow: the inbox refused it against the schema, audited with its path.
    const refused = (await s.auditEntries()).filter((e) => e.event.action === 'upstream.refusal' && e.event.code === 'invalid_body');
    expect(refused.map((e) => (e.event.detail as { type?: string }).type)).toEqual(['consistency.result']);
    expect(String((refused[0]!.event.detail as { detail?: string }).detail)).toContain('body.phase');
  });

  it('resumes an interrupted check from its last committed step', async () => {
    const pref = s.sims.node(PREF);
    let phases = 0;
    pref.rejectWhen = (e) =>
      e.type === 'consistency.check' && e.body.phase === 'buckets' && ++phases === 3
        ? { code: 'internal', message: 'simulated outage' }
        : undefined;
    await expect(s.role.consistency.run({ lgCode: SERVED, bits: 5 })).rejects.toThrow(/internal/);
    pref.rejectWhen = undefined;
    const stopped = (await s.role.consistency.checker.sessions.list()).find((x) => !x.done)!;
    expect(stopped.nextBucket).toBe(8); // two pages of 4 bucket digests were committed before the outage
    const done = await s.role.consistency.resume(stopped.id);
    expect(done.done).toBe(true);
    expect((await s.role.consistency.differences(done.id)).length).toBe(5);
  });
});

describe('flow 1-③/1-④: identity.update → store + identity.notify', () => {
  it('stores atomically and notifies the prefecture in order per person', async () => {
    const r = recordOf(0);
    const replies: Envelope[] = [];
    for (const n of [1, 2, 3]) {
      replies.push(
        await rr.request('identity.update', {
          record: { ...r, address: `${r.address}の${n}`, changeReason: 'correct', changeDate: day(0), status: 'current' },
        }),
      );
    }
    for (const rep of replies)
      expect(rep).toMatchObject({ type: 'identity.update.result', to: SYSTEMS.register, body: { residentCode: r.residentCode } });
    const seqs = replies.map((x) => x.body.updateSeq as number);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect((await s.role.store.get(r.residentCode))?.address).toBe(`${r.address}の3`);
    const notes = await until(() => {
      const n = received(PREF, 'identity.notify').filter((e) => (e.body.record as IdentityChange).residentCode === r.residentCode);
      return n.length === 3 && n;
    });
    expect(notes.map((e) => (e.body.record as { updateSeq: number }).updateSeq)).toEqual(seqs);
    expect(notes.every((e) => e.from === SELF)).toBe(true);
    const audit = (await s.auditEntries()).filter((e) => e.event.action === 'identity.update' && e.event.outcome === 'ok');
    expect(audit.length).toBe(3);
    expect(audit[0]!.event.keys).toEqual([s.hashKey('rc', r.residentCode)]);
  });
});

describe('flow 2: identity.verify through the national server', () => {
  it('verifies by 住民票コード and by the 4 items', async () => {
    const r = recordOf(1);
    const byCode = await term.request('identity.verify', { by: 'residentCode', residentCode: r.residentCode, ...operator });
    expect(byCode).toMatchObject({ type: 'identity.verify.result', body: { status: 'match' } });
    const byItems = await term.request('identity.verify', {
      by: 'fourItems',
      name: r.name,
      birthDate: r.birthDate,
      sex: r.sex,
      address: r.address,
      ...operator,
    });
    expect(byItems.body.status).toBe('match');
    expect(received('national', 'identity.verify').length).toBe(2);
  });
});

describe('flow 4-①: identity.search routing, cap and duty code', () => {
  it('searches locally, at the prefecture and nationally by the routing rule', async () => {
    const r = recordOf(2);
    const local = await term.request('identity.search', {
      dutyCode: 'JUKI-01',
      ...operator,
      name: r.name,
      birthDate: r.birthDate,
      address: '三重県津市',
    });
    expect(local).toMatchObject({ type: 'identity.search.result', body: { route: 'local', hitCount: 1 } });
    expect((local.body.hits as IdentityChange[])[0]!.residentCode).toBe(r.residentCode);
    const sp = s.elsewhere.samePref;
    const pref = await term.request('identity.search', {
      dutyCode: 'JUKI-01',
      ...operator,
      name: sp.name,
      birthDate: sp.birthDate,
      lgCode: SAME_PREF,
    });
    expect(pref.body).toMatchObject({ route: 'pref', hitCount: 1 });
    const op = s.elsewhere.otherPref;
    const nat = await term.request('identity.search', {
      dutyCode: 'JUKI-01',
      ...operator,
      name: op.name,
      birthDate: op.birthDate,
      lgCode: OTHER,
    });
    expect(nat.body).toMatchObject({ route: 'national', hitCount: 1 });
    const natAudit = await until(async () =>
      (await s.auditEntries()).find((e) => e.event.action === 'identity.search' && e.event.keys.includes(s.hashKey('rc', op.residentCode))),
    );
    expect(natAudit.event).toMatchObject({ outcome: 'ok', hitCount: 1, dutyCode: 'JUKI-01' });
    const unknown = await term.request('identity.search', { dutyCode: 'JUKI-01', ...operator, name: op.name, birthDate: op.birthDate });
    expect(unknown.body.route).toBe('national');
    const audit = (await s.auditEntries()).filter((e) => e.event.action === 'identity.search' && e.event.outcome === 'ok');
    expect(audit.length).toBe(4);
    expect(audit[0]!.event).toMatchObject({
      actor: { kind: 'operator', id: 'op-0001' },
      terminalId: 'tm-0001',
      dutyCode: 'JUKI-01',
      hitCount: 1,
    });
  });

  it('answers too_many_hits over the cap', async () => {
    const r = recordOf(3);
    const twin = {
      ...[...generateResidents('tsu', { count: 1, seed: 'twin' })][0]!,
      name: r.name,
      birthDate: r.birthDate,
      lgCode: SERVED,
      address: r.address,
      status: 'current',
    };
    const added = await rr.request('identity.update', { record: twin });
    expect(added.type).toBe('identity.update.result');
    const capped = await term.request('identity.search', {
      dutyCode: 'JUKI-01',
      ...operator,
      name: r.name,
      birthDate: r.birthDate,
      lgCode: SERVED,
      maxHits: 1,
    });
    expect(capped).toMatchObject({ type: 'error', body: { code: 'too_many_hits' } });
    const audit = (await s.auditEntries()).filter((e) => e.event.action === 'identity.search' && e.event.code === 'too_many_hits');
    expect(audit[0]!.event.hitCount).toBe(2);
  });
});

describe('flow 5: jlis.inquiry', () => {
  it('inquires by 個人番号 and by the 4 items', async () => {
    const r = recordOf(4);
    const byNumber = await term.request('jlis.inquiry', { by: 'myNumber', myNumber: r.myNumber, dutyCode: 'JUKI-05', ...operator });
    expect(byNumber).toMatchObject({ type: 'jlis.inquiry.result' });
    expect((byNumber.body.records as IdentityChange[]).map((x) => x.residentCode)).toEqual([r.residentCode]);
    const byItems = await term.request('jlis.inquiry', {
      by: 'fourItems',
      name: r.name,
      birthDate: r.birthDate,
      address: r.address,
      dutyCode: 'JUKI-05',
      ...operator,
    });
    expect((byItems.body.records as unknown[]).length).toBe(1);
  });
});

describe('flow 3: special move-in, both sides', () => {
  it('new side: certificate from lg:{old}, pushed to the register; move-in notice fans out; card continues', async () => {
    const p = s.elsewhere.otherPref;
    const cert = await term.request('moveout.cert.request', {
      residentCode: p.residentCode,
      name: p.name,
      birthDate: p.birthDate,
      oldLgCode: OTHER,
      ...operator,
    });
    expect(cert).toMatchObject({
      type: 'moveout.cert.request.result',
      body: { certificate: { residentCode: p.residentCode, oldLgCode: OTHER } },
    });
    const pushed = await rr.waitPush((e) => e.type === 'moveout.cert' && e.body.requestId === cert.corr);
    expect(pushed.body.certificate).toEqual(cert.body.certificate);
    const certificateId = (cert.body.certificate as { certificateId: string }).certificateId;
    const newAddress = '三重県津市丸之内1番地';
    const record = { ...p, lgCode: SERVED, address: newAddress, changeReason: 'add', changeDate: day(0), status: 'current' };
    const notice = await rr.request('movein.notice', {
      residentCode: p.residentCode,
      name: p.name,
      birthDate: p.birthDate,
      oldLgCode: OTHER,
      newLgCode: SERVED,
      newAddress,
      moveInDate: day(0),
      certificateId,
      record,
    });
    expect(notice).toMatchObject({ type: 'movein.notice.result', body: { accepted: true } });
    expect((await s.role.store.get(p.residentCode))?.lgCode).toBe(SERVED);
    const atOld = await until(() => received(`lg:${OTHER}`, 'movein.notice').find((e) => e.body.residentCode === p.residentCode));
    expect(atOld.body.record).toBeUndefined(); // minimum data to the old municipality
    await until(() => received(PREF, 'identity.notify').find((e) => (e.body.record as IdentityChange).residentCode === p.residentCode));
    const card = await term.request('card.continue', {
      residentCode: p.residentCode,
      myNumber: p.myNumber,
      newLgCode: SERVED,
      newAddress,
      moveInDate: day(0),
      ...operator,
    });
    expect(card).toMatchObject({ type: 'card.continue.result', body: { accepted: true } });
    await until(() => received('card', 'card.continue').find((e) => e.body.residentCode === p.residentCode));
  });

  it('old side: holds the certificate, answers lg:{new}, pushes its move-in notice to the register', async () => {
    const r = recordOf(40);
    const certificate = {
      certificateId: 'MO-242012-000001',
      residentCode: r.residentCode,
      myNumber: r.myNumber,
      name: r.name,
      birthDate: r.birthDate,
      sex: r.sex,
      oldAddress: r.address,
      oldLgCode: SERVED,
      plannedMoveDate: day(7),
      issuedOn: day(0),
    };
    const stored = await rr.request('moveout.cert.store', { certificate });
    expect(stored).toMatchObject({
      type: 'moveout.cert.store.result',
      body: { certificateId: certificate.certificateId, expiresOn: day(37) },
    });
    const other = s.sims.node(`lg:${OTHER}`);
    const answer = await other.request(SELF, 'moveout.cert.request', {
      residentCode: r.residentCode,
      name: r.name,
      birthDate: r.birthDate,
      oldLgCode: SERVED,
      ...operator,
    });
    expect(answer).toMatchObject({
      type: 'moveout.cert.request.result',
      body: { certificate: { certificateId: certificate.certificateId } },
    });
    const missing = await other.request(SELF, 'moveout.cert.request', {
      residentCode: recordOf(41).residentCode,
      name: 'x',
      birthDate: '2000-01-01',
      oldLgCode: SERVED,
      ...operator,
    });
    expect(missing).toMatchObject({ type: 'error', body: { code: 'not_found' } });
    await other.send(SELF, 'movein.notice', {
      residentCode: r.residentCode,
      name: r.name,
      birthDate: r.birthDate,
      oldLgCode: SERVED,
      newLgCode: OTHER,
      newAddress: '東京都千代田区丸の内1丁目1番',
      moveInDate: day(0),
      certificateId: certificate.certificateId,
    });
    const push = await rr.waitPush((e) => e.type === 'movein.notice' && e.body.residentCode === r.residentCode);
    expect(push.from).toBe(SELF);
    await until(async () => (await s.role.moveouts.get(SERVED, certificate.certificateId)) === undefined);
  });
});

describe('flows 7 and 8: card delivery batches and card events', () => {
  it('sends a delivery batch and every card event to card management, in order', async () => {
    const items = [6, 7].map((i) => {
      const r = recordOf(i);
      return {
        residentCode: r.residentCode,
        myNumber: r.myNumber,
        name: r.name,
        birthDate: r.birthDate,
        sex: r.sex,
        address: r.address,
        reason: 'newIssue',
      };
    });
    const batch = await rr.request('card.delivery', { batchId: 'B-0001', lgCode: SERVED, items });
    expect(batch).toMatchObject({ type: 'card.delivery.result', body: { accepted: true, itemCount: 2 } });
    await until(() => received('card', 'card.delivery').find((e) => e.body.batchId === 'B-0001'));
    const r = recordOf(8);
    const events = ['issue', 'suspend', 'liftSuspension', 'revoke', 'collect', 'return'];
    for (const event of events) {
      const rep = await (event === 'issue' ? rr : term).request('card.event', {
        event,
        residentCode: r.residentCode,
        eventDate: day(0),
        ...operator,
      });
      expect(rep).toMatchObject({ type: 'card.event.result', body: { accepted: true } });
    }
    const got = await until(() => {
      const g = received('card', 'card.event').filter((e) => e.body.residentCode === r.residentCode);
      return g.length === events.length && g;
    });
    expect(got.map((e) => e.body.event)).toEqual(events);
  });
});

describe("atomicity of a flow's unit of work", () => {
  it('leaves nothing behind when the write fails, and answers internal (resending then applies once)', async () => {
    const r = recordOf(16);
    const db = s.db;
    const realBatch = db.batch.bind(db);
    let failed = 0;
    // Fault injection in the real LevelDB: the flow's batch (the only one queuing an upstream message
    // during this request) fails to write.
    (db as { batch: unknown }).batch = (...args: unknown[]) => {
      if (args.length) return (realBatch as (...a: unknown[]) => unknown)(...args);
      const b = realBatch();
      let flowBatch = false;
      const put = b.put.bind(b);
      b.put = (k: string, v: unknown, o?: { sublevel?: { prefix?: string } }) => {
        if (o?.sublevel?.prefix === '!outbox!') flowBatch = true;
        return put(k as never, v as never, o as never);
      };
      const write = b.write.bind(b);
      b.write = (async (...a: Parameters<typeof write>) => {
        if (flowBatch) {
          failed++;
          await b.close();
          throw new Error('injected write failure');
        }
        return write(...a);
      }) as typeof b.write;
      return b;
    };
    await upstreamSettled();
    const before = {
      rec: await s.role.store.get(r.residentCode),
      notify: received(PREF, 'identity.notify').length,
      audits: (await s.auditEntries()).length,
    };
    const body = { record: { ...r, address: `${r.address}の7`, changeReason: 'correct', changeDate: day(0), status: 'current' } };
    let reply: Envelope;
    try {
      reply = await rr.request('identity.update', body);
    } finally {
      (db as { batch: unknown }).batch = realBatch;
    }
    expect(failed).toBe(1);
    expect(reply).toMatchObject({ type: 'error', body: { code: 'internal' } });
    expect(await s.role.store.get(r.residentCode)).toEqual(before.rec);
    // The audit trail keeps the attempt, marks it void (its batch never committed), and records the refusal.
    const entries = await until(async () => {
      const e = (await s.auditEntries()).slice(before.audits);
      return e.length >= 3 && e;
    });
    const attempt = entries.find((e) => e.event.action === 'identity.update' && e.event.outcome === 'ok')!;
    expect(entries.find((e) => e.event.action === 'audit.void')?.event.detail).toEqual({ voidSeq: attempt.seq });
    expect(entries.filter((e) => e.event.action === 'identity.update' && e.event.outcome === 'refused').map((e) => e.event.code)).toEqual([
      'internal',
    ]);
    expect((await s.audit.verify()).ok).toBe(true);
    await s.role.idle();
    await new Promise((res) => setTimeout(res, 300));
    expect(received(PREF, 'identity.notify').length).toBe(before.notify);
    const again = await rr.request('identity.update', body);
    expect(again.type).toBe('identity.update.result');
    await until(() => received(PREF, 'identity.notify').length === before.notify + 1);
    expect((await s.role.store.get(r.residentCode))?.address).toBe(`${r.address}の7`);
  });
});

describe('upstream refusals, duplicates and look-up alarms', () => {
  it('passes an upstream refusal to the terminal, audited, with no push to the register', async () => {
    const unknown = recordOf(12);
    const pushes = rr.pushes.length;
    const r = await term.request('moveout.cert.request', {
      residentCode: unknown.residentCode,
      name: unknown.name,
      birthDate: unknown.birthDate,
      oldLgCode: OTHER,
      ...operator,
    });
    expect(r).toMatchObject({ type: 'error', body: { code: 'not_found' } });
    const audit = (await s.auditEntries()).filter((e) => e.event.action === 'moveout.cert.request' && e.event.outcome === 'error');
    expect(audit.at(-1)!.event.code).toBe('not_found');
    await s.role.idle();
    expect(rr.pushes.length).toBe(pushes);
  });

  it('applies a resent request once and answers the resend with the kept reply', async () => {
    const r = recordOf(13);
    const id = `resend-${r.residentCode}`;
    const body = { record: { ...r, address: `${r.address}の9`, changeReason: 'correct', changeDate: day(0), status: 'current' } };
    const first = await rr.request('identity.update', body, { id });
    await rr.client.publishAsync('req/identity.update', JSON.stringify({ v: 1, id, type: 'identity.update', body }), { qos: 1 });
    // PUBACK came after the resend was queued durably; it is handled once the queue is empty again.
    await until(() => s.broker.persistence.level.requests.depth() === 0);
    await s.role.idle();
    expect((await s.role.store.history(r.residentCode)).length).toBe(2); // the load and one update
    // The resend is answered again: the same reply (id, body, corr), sent at a new time.
    const replies = await until(() => {
      const r = rr.replies.filter((e) => e.corr === id);
      return r.length === 2 && r;
    });
    expect(replies.map(({ at: _at, ...rest }) => rest)).toEqual([first, first].map(({ at: _at, ...rest }) => rest));
  });

  it('raises the repeated-search alarm for an operator', async () => {
    const r = recordOf(14);
    for (let i = 0; i < 6; i++) {
      const rep = await term.request('identity.search', {
        dutyCode: 'JUKI-01',
        operatorId: 'op-0002',
        terminalId: 'tm-0002',
        name: r.name,
        birthDate: r.birthDate,
        lgCode: SERVED,
      });
      expect(rep.body.hitCount).toBe(1);
    }
    const alarm = await until(() => s.lookupAlerts.activeAlarms().find((a) => a.subject === 'op-0002' && a.rule === 'searches_per_minute'));
    expect(alarm.scope).toBe('operator');
  });
});

describe('bad input: precise error, audited, nothing changed', () => {
  async function expectRefused(send: () => Promise<Envelope>, code: string, path: string, action: string): Promise<void> {
    await upstreamSettled();
    const before = {
      audits: (await s.auditEntries()).length,
      notify: received(PREF, 'identity.notify').length,
      card: received('card', 'card.event').length + received('card', 'card.delivery').length,
      seq: s.role.store.lastSeq(),
      certs: await s.role.moveouts.count(),
    };
    const reply = await send();
    expect(reply.type).toBe('error');
    expect(reply.body.code).toBe(code);
    expect((reply.body.details as Array<{ path: string }>).map((d) => d.path)).toContain(path);
    const entries = (await s.auditEntries()).slice(before.audits);
    expect(entries.some((e) => e.event.action === action && e.event.outcome === 'refused' && e.event.code === code)).toBe(true);
    await s.role.idle();
    await new Promise((r) => setTimeout(r, 200));
    expect(received(PREF, 'identity.notify').length).toBe(before.notify);
    expect(received('card', 'card.event').length + received('card', 'card.delivery').length).toBe(before.card);
    expect(s.role.store.lastSeq()).toBe(before.seq);
    expect(await s.role.moveouts.count()).toBe(before.certs);
  }
  const update = (over: Record<string, unknown>) => ({
    record: { ...recordOf(9), changeReason: 'correct', changeDate: '2026-01-05', status: 'current', ...over },
  });

  it('wrong check digits', async () => {
    const rc = recordOf(9).residentCode;
    const bad = rc.slice(0, 10) + String((Number(rc[10]) + 1) % 10);
    await expectRefused(
      () => rr.request('identity.update', update({ residentCode: bad })),
      'invalid_request',
      'body.record.residentCode',
      'identity.update',
    );
    const mn = recordOf(9).myNumber;
    await expectRefused(
      () =>
        term.request('jlis.inquiry', {
          by: 'myNumber',
          myNumber: mn.slice(0, 11) + String((Number(mn[11]) + 1) % 10),
          dutyCode: 'JUKI-05',
          ...operator,
        }),
      'invalid_request',
      'body.myNumber',
      'jlis.inquiry',
    );
  });

  it('unknown and not-served municipality codes', async () => {
    await expectRefused(
      () => rr.request('identity.update', update({ lgCode: '249904' })),
      'invalid_request',
      'body.record.lgCode',
      'identity.update',
    );
    await expectRefused(
      () => rr.request('identity.update', update({ lgCode: SAME_PREF })),
      'invalid_request',
      'body.record.lgCode',
      'identity.update',
    );
    await expectRefused(
      () =>
        rr.request('card.delivery', {
          batchId: 'B-X',
          lgCode: OTHER,
          items: [
            {
              residentCode: recordOf(9).residentCode,
              myNumber: recordOf(9).myNumber,
              name: recordOf(9).name,
              birthDate: recordOf(9).birthDate,
              sex: '1',
              address: 'x',
              reason: 'newIssue',
            },
          ],
        }),
      'invalid_request',
      'body.lgCode',
      'card.delivery',
    );
  });

  it('an expired move-out certificate', async () => {
    const r = recordOf(15);
    const certificate = {
      certificateId: 'MO-EXPIRED',
      residentCode: r.residentCode,
      name: r.name,
      birthDate: r.birthDate,
      sex: r.sex,
      oldAddress: r.address,
      oldLgCode: SERVED,
      plannedMoveDate: day(-40),
      issuedOn: day(-41),
    };
    await expectRefused(
      () => rr.request('moveout.cert.store', { certificate }),
      'invalid_request',
      'body.certificate.plannedMoveDate',
      'moveout.cert.store',
    );
    await expectRefused(
      () => rr.request('moveout.cert.store', { certificate: { ...certificate, plannedMoveDate: day(1), expiresOn: day(-1) } }),
      'invalid_request',
      'body.certificate.expiresOn',
      'moveout.cert.store',
    );
  });

  it('impossible dates', async () => {
    await expectRefused(
      () => rr.request('identity.update', update({ birthDate: '2023-02-30' })),
      'invalid_request',
      'body.record.birthDate',
      'identity.update',
    );
    await expectRefused(
      () => rr.request('card.event', { event: 'issue', residentCode: recordOf(9).residentCode, eventDate: day(3) }),
      'invalid_request',
      'body.eventDate',
      'card.event',
    );
  });

  it('a from that disagrees with the authenticated system', async () => {
    await expectRefused(
      () => rr.request('identity.update', update({}), { from: SYSTEMS.terminal }),
      'unauthorized',
      'from',
      'identity.update',
    );
  });

  it('a search without duty code', async () => {
    const r = recordOf(2);
    await expectRefused(
      () => term.request('identity.search', { ...operator, name: r.name, birthDate: r.birthDate }),
      'invalid_request',
      'body.dutyCode',
      'identity.search',
    );
  });

  it('a body over the limit, with a per-record report', async () => {
    const r = recordOf(10);
    const item = {
      residentCode: r.residentCode,
      myNumber: r.myNumber,
      name: r.name,
      birthDate: r.birthDate,
      sex: r.sex,
      address: r.address,
      reason: 'newIssue',
    };
    const items = Array.from({ length: 1001 }, (_, i) => ({ ...item, residentCode: s.residents[i % s.residents.length]!.residentCode }));
    await expectRefused(
      () => rr.request('card.delivery', { batchId: 'B-BIG', lgCode: SERVED, items }),
      'invalid_request',
      'body.items',
      'card.delivery',
    );
    const bad = [item, { ...item, residentCode: recordOf(11).residentCode, myNumber: '123456789010' }];
    await expectRefused(
      () => rr.request('card.delivery', { batchId: 'B-BAD', lgCode: SERVED, items: bad }),
      'invalid_request',
      'body.items.1.myNumber',
      'card.delivery',
    );
  });

  it('broken JSON', async () => {
    await expectRefused(
      () => rr.raw('identity.update', '{"v":1,"id":"x", "type":', null),
      'invalid_request',
      '(payload)',
      'identity.update',
    );
  });

  it("a type smuggled under another type's topic", async () => {
    const id = 'smuggled-1';
    await expectRefused(
      () => term.raw('identity.search', JSON.stringify({ v: 1, id, type: 'identity.update', body: update({}) }), id),
      'invalid_request',
      'type',
      'identity.search',
    );
  });

  it('a role sending a type it may not send', async () => {
    // The contract answers every request: the broker admits req/{type} from an authenticated system
    // and the intake refuses the type for the role with `forbidden`, audited, nothing changed.
    await expectRefused(() => term.request('identity.update', update({})), 'forbidden', 'type', 'identity.update');
    // The system stays connected and served.
    const r = recordOf(2);
    const ok = await term.request('identity.search', {
      ...operator,
      dutyCode: 'JUKI-01',
      name: r.name,
      birthDate: r.birthDate,
      lgCode: SERVED,
    });
    expect(ok.type).toBe('identity.search.result');
  });

  it('a publish outside req/ is still a disconnect, audited as a broker denial', async () => {
    // MQTT 3.1.1 has no negative PUBACK: a topic no request can be answered on ends the connection.
    const intruder = term; // last test: the broker disconnects this client
    await upstreamSettled();
    const before = { audits: (await s.auditEntries()).length, seq: s.role.store.lastSeq(), replies: intruder.replies.length };
    const closed = new Promise<void>((r) => intruder.client.once('close', () => r()));
    intruder.client.publish(
      `res/${SYSTEMS.register}`,
      JSON.stringify({ v: 1, id: 'forged-reply', type: 'identity.update.result', body: {} }),
      { qos: 1 },
    );
    await closed;
    const denial = await until(async () => (await s.auditEntries()).slice(before.audits).find((e) => e.event.action === 'broker.denial'));
    expect(denial.event).toMatchObject({ outcome: 'refused', code: 'acl-publish', actor: { id: SYSTEMS.terminal } });
    await s.role.idle();
    expect(s.role.store.lastSeq()).toBe(before.seq);
    expect(rr.replies.filter((e) => e.id === 'forged-reply')).toEqual([]);
  });
});
