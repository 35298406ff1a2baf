// Contract points of the local request path, end to end through the CS stack (local broker, durable
// request queue, intake, flows, uplink to Mosquitto, simulated upstream nodes): resent requests are
// answered again with the kept reply; upstream bodies are validated before a flow or a terminal sees
// them; unknown types and other refusals name a field; the envelope's `at` must be inside the window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowIso, uuidv7, type Envelope, type ErrorBody } from '../../../platform/envelope.js';
import { isoDateInJapan } from '../../../domain/dates.js';
import { validateBody } from '../../../gateway/messages/index.js';
import { OTHER, SAME_PREF, SYSTEMS, startCsStack, until, type CsStack, type LocalClient } from '../../helpers/cs-harness.js';

let s: CsStack;
let rr: LocalClient;
let term: LocalClient;
let mon: LocalClient;
const operator = { operatorId: 'op-0101', terminalId: 'tm-0101' };
const today = () => isoDateInJapan(Date.now());

beforeAll(async () => {
  s = await startCsStack({ residents: 60 });
  rr = await s.client(SYSTEMS.register);
  term = await s.client(SYSTEMS.terminal);
  mon = await s.client(SYSTEMS.monitor);
}, 120_000);
afterAll(async () => {
  await s?.close();
});

const updateOf = (i: number, n: number) => ({
  record: {
    ...s.residents[i]!,
    address: `${s.residents[i]!.address}の${n}`,
    changeReason: 'correct',
    changeDate: today(),
    status: 'current',
  },
});
const repliesTo = (c: LocalClient, id: string) => c.replies.filter((e) => e.corr === id);
/** Publishes the exact bytes again (a resend) and waits for the `count`-th reply to that id. */
async function resend(c: LocalClient, type: string, envelope: Record<string, unknown>, count: number): Promise<Envelope> {
  await c.client.publishAsync(`req/${type}`, JSON.stringify(envelope), { qos: 1 });
  return until(() => repliesTo(c, String(envelope.id))[count - 1], 15_000, `reply ${count} to ${String(envelope.id)}`);
}
const errorOf = (e: Envelope) => e.body as unknown as ErrorBody;

describe('7: a resent request is answered again with the kept reply', () => {
  it('identity.update: the same reply (id, body, corr) again; applied once; the resend is audited', async () => {
    const env = { v: 1, id: uuidv7(), type: 'identity.update', body: updateOf(3, 1) };
    await rr.client.publishAsync('req/identity.update', JSON.stringify(env), { qos: 1 });
    const first = await until(() => repliesTo(rr, env.id)[0]);
    expect(first.type).toBe('identity.update.result');
    const again = await resend(rr, 'identity.update', env, 2);
    expect(again).toMatchObject({ id: first.id, type: first.type, corr: env.id, body: first.body, to: first.to, from: first.from });
    await s.role.idle();
    expect((await s.role.store.history(s.residents[3]!.residentCode)).length).toBe(2); // the load and one update
    const resent = (await s.auditEntries()).filter((e) => e.event.action === 'identity.update' && e.event.code === 'resent');
    expect(resent).toHaveLength(1);
  });

  it('an interactive request (identity.verify): the kept answer again, upstream asked once', async () => {
    const r = s.residents[4]!;
    const asked = () =>
      s.sims.node('national').received.filter((e) => e.type === 'identity.verify' && e.body.residentCode === r.residentCode).length;
    const env = { v: 1, id: uuidv7(), type: 'identity.verify', body: { by: 'residentCode', residentCode: r.residentCode, ...operator } };
    await term.client.publishAsync('req/identity.verify', JSON.stringify(env), { qos: 1 });
    const first = await until(() => repliesTo(term, env.id)[0]);
    expect(first.type).toBe('identity.verify.result');
    const again = await resend(term, 'identity.verify', env, 2);
    expect(again).toMatchObject({ id: first.id, corr: env.id, body: first.body });
    expect(asked()).toBe(1);
  });

  it('a resend while the first still awaits its upstream answer: that one answer replies to both, and is kept', async () => {
    // Yokohama's CS is not simulated: the certificate request waits for the uplink's timeout.
    const r = s.residents[12]!;
    const env = {
      v: 1,
      id: uuidv7(),
      type: 'moveout.cert.request',
      body: { residentCode: r.residentCode, name: r.name, birthDate: r.birthDate, oldLgCode: '141003', ...operator },
    };
    await term.client.publishAsync('req/moveout.cert.request', JSON.stringify(env), { qos: 1 });
    await term.client.publishAsync('req/moveout.cert.request', JSON.stringify(env), { qos: 1 });
    await until(() => s.broker.persistence.level.requests.depth() === 0);
    const answer = await until(() => repliesTo(term, env.id)[0], 15_000);
    expect(errorOf(answer)).toMatchObject({ code: 'timeout', details: [{ path: '(upstream)' }] });
    await s.role.idle();
    expect(repliesTo(term, env.id)).toHaveLength(1); // the resend was taken without a reply of its own
    const again = await resend(term, 'moveout.cert.request', env, 2);
    expect(again).toMatchObject({ id: answer.id, body: answer.body });
  });

  it('a refusal decided by a flow is kept and answered again the same way', async () => {
    const env = { v: 1, id: uuidv7(), type: 'identity.update', body: updateOf(5, 1) };
    (env.body.record as Record<string, unknown>).lgCode = SAME_PREF; // not served: refused by the flow
    await rr.client.publishAsync('req/identity.update', JSON.stringify(env), { qos: 1 });
    const first = await until(() => repliesTo(rr, env.id)[0]);
    expect(first.type).toBe('error');
    const again = await resend(rr, 'identity.update', env, 2);
    expect(again).toMatchObject({ id: first.id, body: first.body });
  });

  it('after the dedupe window the reply is gone: a resend gets conflict naming the id, nothing applied', async () => {
    const env = { v: 1, id: uuidv7(), type: 'identity.update', body: updateOf(6, 1) };
    await rr.client.publishAsync('req/identity.update', JSON.stringify(env), { qos: 1 });
    await until(() => repliesTo(rr, env.id)[0]);
    const windowMs = s.config.trust.dedupeWindowSeconds * 1000;
    expect(await s.role.answers.expire(Date.now() + windowMs - 60_000)).toBe(0); // still inside the window
    expect(await s.role.answers.expire(Date.now() + windowMs + 1000)).toBeGreaterThan(0);
    const late = await resend(rr, 'identity.update', env, 2);
    expect(late.type).toBe('error');
    expect(errorOf(late)).toMatchObject({ code: 'conflict', details: [{ path: 'id' }] });
    expect(errorOf(late).details[0]!.problem).toMatch(/^id\.answered: /);
    await s.role.idle();
    expect((await s.role.store.history(s.residents[6]!.residentCode)).length).toBe(2);
  });
});

describe('8: upstream bodies are validated before a flow or a terminal sees them', () => {
  const asTerminalSees = (e: Envelope) => validateBody(e.type, e.body);

  it('the simulated national server and prefecture answer per the contract (records carry status)', async () => {
    const r = s.residents[7]!;
    const replies = [
      await term.request('identity.verify', { by: 'residentCode', residentCode: r.residentCode, ...operator }),
      await term.request('jlis.inquiry', { by: 'myNumber', myNumber: r.myNumber, dutyCode: 'JUKI-05', ...operator }),
      await term.request('identity.search', {
        dutyCode: 'JUKI-01',
        ...operator,
        name: s.elsewhere.samePref.name,
        birthDate: s.elsewhere.samePref.birthDate,
        lgCode: SAME_PREF,
      }),
      await term.request('identity.search', {
        dutyCode: 'JUKI-01',
        ...operator,
        name: s.elsewhere.otherPref.name,
        birthDate: s.elsewhere.otherPref.birthDate,
        lgCode: OTHER,
      }),
    ];
    expect(replies.map((e) => e.type)).toEqual([
      'identity.verify.result',
      'jlis.inquiry.result',
      'identity.search.result',
      'identity.search.result',
    ]);
    expect(replies.map((e) => e.body.route ?? 'n/a')).toEqual(['n/a', 'n/a', 'pref', 'national']);
    expect(replies[2]!.body.hitCount).toBe(1);
    for (const e of replies) expect(asTerminalSees(e), JSON.stringify(e.body).slice(0, 200)).toMatchObject({ ok: true });
  });

  it('an invalid upstream answer never reaches the terminal: upstream_unavailable naming the path, audited', async () => {
    const national = s.sims.node('national');
    national.alterResult = (_env, body) => {
      const record = { ...(body.record as Record<string, unknown>) };
      delete record.status;
      return { ...body, record };
    };
    try {
      const r = s.residents[8]!;
      const reply = await term.request('identity.verify', { by: 'residentCode', residentCode: r.residentCode, ...operator });
      expect(reply.type).toBe('error');
      expect(errorOf(reply).code).toBe('upstream_unavailable');
      expect(errorOf(reply).details.map((d) => d.path)).toContain('upstream.body.record.status');
      const refusal = await until(async () =>
        (await s.auditEntries()).find((e) => e.event.action === 'upstream.refusal' && e.event.code === 'invalid_body'),
      );
      expect(JSON.stringify(refusal.event.detail)).toContain('body.record.status');
      // Nothing of the invalid record was passed on.
      expect(JSON.stringify(reply.body)).not.toContain(r.residentCode);
    } finally {
      national.alterResult = undefined;
    }
  });

  it('an upstream error without details reaches the terminal with a detail naming where it came from', async () => {
    const national = s.sims.node('national');
    national.rejectWhen = () => ({ code: 'internal', message: 'simulated outage' });
    try {
      const reply = await term.request('identity.verify', { by: 'residentCode', residentCode: s.residents[9]!.residentCode, ...operator });
      expect(errorOf(reply).code).toBe('internal');
      expect(errorOf(reply).details.length).toBeGreaterThan(0);
      expect(errorOf(reply).details.every((d) => d.path.length > 0)).toBe(true);
    } finally {
      national.rejectWhen = undefined;
    }
  });
});

describe('9: unknown message types and refusals name the field', () => {
  it('req/foo.bar is invalid_request "unknown message type" for every role', async () => {
    for (const c of [term, rr, mon]) {
      const id = uuidv7();
      const reply = await c.raw('foo.bar', JSON.stringify({ v: 1, id, type: 'foo.bar', body: {} }), id);
      expect(reply.type).toBe('error');
      expect(errorOf(reply).code, c.id).toBe('invalid_request');
      expect(errorOf(reply).message).toMatch(/unknown message type/);
      expect(errorOf(reply).details).toEqual([{ path: 'type', problem: expect.stringMatching(/^type\.unknown: /) }]);
    }
  });

  it('a contract type the role may not send is still forbidden', async () => {
    const reply = await mon.request('identity.update', updateOf(10, 1));
    expect(errorOf(reply)).toMatchObject({ code: 'forbidden', details: [{ path: 'type' }] });
  });
});

describe('10: the envelope `at` must be inside the freshness window', () => {
  it('a request stamped 2020 or 2099 is refused naming `at`; one stamped now or 4 minutes ago is served', async () => {
    for (const at of ['2020-01-01T00:00:00+09:00', '2099-01-01T00:00:00+09:00', nowIso(Date.now() + 6 * 60_000)]) {
      const reply = await rr.request('identity.update', updateOf(11, 1), { at });
      expect(reply.type, at).toBe('error');
      expect(errorOf(reply)).toMatchObject({
        code: 'invalid_request',
        details: [{ path: 'at', problem: expect.stringMatching(/^at\.window: /) }],
      });
    }
    await s.role.idle();
    expect((await s.role.store.history(s.residents[11]!.residentCode)).length).toBe(1);
    const fresh = await rr.request('identity.update', updateOf(11, 2), { at: nowIso() });
    expect(fresh.type).toBe('identity.update.result');
    const recent = await rr.request('identity.update', updateOf(11, 3), { at: nowIso(Date.now() - 4 * 60_000) });
    expect(recent.type).toBe('identity.update.result');
    const refused = (await s.auditEntries()).filter(
      (e) => e.event.action === 'identity.update' && e.event.outcome === 'refused' && e.event.code === 'invalid_request',
    );
    expect(refused.length).toBeGreaterThanOrEqual(3);
  });
});
