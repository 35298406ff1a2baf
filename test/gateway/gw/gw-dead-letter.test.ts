// Durable relays (addressee.update 1-③, copy.update 3-③) that the intermediate server never
// acknowledges: after the outbox's attempt limit each is dead-lettered (listed in the DLQ), audited,
// and its caller, who had `{accepted: true}`, gets an `error` (upstream_unavailable, same corr).
// Nothing is lost: the operator's retry of the dead letter delivers it once the server is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../platform/envelope.js';
import { RELAYS_SUBLEVEL } from '../../../gateway/gw/deadRelays.js';
import { NL, SERVED, startGwStack, until, type GwStack, type SegmentClient } from '../../helpers/gw-harness.js';

describe('GW durable relays: dead-lettered after the attempt limit', () => {
  let s: GwStack;
  let nl: SegmentClient;
  const ims = `ims:${SERVED}`;
  const callers = async () => {
    const out: string[] = [];
    for await (const k of s.db.sublevel(RELAYS_SUBLEVEL).keys()) out.push(k);
    return out;
  };

  beforeAll(async () => {
    s = await startGwStack({ residents: 3, maxAttempts: 3, timeoutsMs: { 'addressee.update': 200, 'copy.update': 200 } });
    nl = await s.client(NL);
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  }, 60_000);

  it('the caller is told, the dead letter is listed and audited, and an operator retry delivers it', async () => {
    await s.sims.node(ims).close(); // silent: no `.result` ever comes back
    const ad = await nl.publish('addressee.update', {
      lgCode: SERVED,
      addresseeNo: 'D-0001',
      operation: 'add',
      myNumber: s.residents[0]!.myNumber,
    });
    const cp = await nl.publish('copy.update', {
      lgCode: SERVED,
      addresseeNo: 'D-0001',
      infoType: 'TAX-01',
      operation: 'add',
      data: { income: 1 },
    });
    expect((await ad.reply).body).toEqual({ accepted: true });
    expect((await cp.reply).body).toEqual({ accepted: true });
    expect(await callers()).toHaveLength(2);

    // After the accepted ack, a second reply with the same corr: the error.
    const later = (id: string) =>
      until(() => nl.replies.find((r: Envelope) => r.corr === id && r.type === 'error'), 20_000, `error for ${id}`);
    const [adErr, cpErr] = await Promise.all([later(ad.id), later(cp.id)]);
    for (const [err, type] of [
      [adErr, 'addressee.update'],
      [cpErr, 'copy.update'],
    ] as const) {
      expect(err.body).toMatchObject({ code: 'upstream_unavailable' });
      expect(String(err.body.message)).toContain(`accepted ${type} was not acknowledged by ${ims}`);
      expect(String(err.body.message)).toContain('gave up after 3 attempts');
      expect(nl.replies.filter((r) => r.corr === (type === 'copy.update' ? cp.id : ad.id)).map((r) => r.type)).toEqual([
        `${type}.result`,
        'error',
      ]);
    }

    const dead = await s.uplink.outbox.list({ dead: true });
    expect(dead.map((e) => e.type).sort()).toEqual(['addressee.update', 'copy.update']);
    for (const e of dead) {
      expect(e).toMatchObject({ to: ims, attempts: 3 });
      expect(e.reason).toMatch(/^gave up after 3 attempts: ack_timeout/);
    }
    expect(await s.uplink.outbox.list()).toEqual([]);
    expect(s.uplink.queueStats().juki?.dead).toBe(2);
    const audited = (await s.auditEntries()).map((e) => e.event).filter((e) => e.outcome === 'error' && e.code === 'upstream_unavailable');
    expect(audited.map((e) => e.action).sort()).toEqual(['addressee.update', 'copy.update']);
    for (const e of audited) {
      expect(e.actor).toEqual({ kind: 'system', id: NL });
      expect(e.keys).toEqual([s.hashKey('addressee', `${SERVED}:D-0001`)]);
      expect(String(e.detail?.message)).toMatch(/^relay .+ dead-lettered \(seq \d+\): gave up after 3 attempts: ack_timeout/);
      expect(JSON.stringify(e)).not.toContain('D-0001');
    }
    expect(await callers()).toEqual([]); // answered; the retention job has nothing left to do
    expect(await s.gw.purgeExpired()).toMatchObject({ relaysDead: 0, relaysDelivered: 0 });

    // Nothing lost: the server comes back, the operator sends the dead letters again; each arrives once.
    await s.sims.node(ims).start();
    for (const e of dead) expect(await s.uplink.outbox.retry(e.seq, { dead: true })).toBe(true);
    await until(
      async () => (await s.uplink.outbox.list()).length === 0 && (await s.uplink.outbox.list({ dead: true })).length === 0,
      15_000,
      'queues empty',
    );
    const at = (type: string) => s.sims.node(ims).received.filter((e: Envelope) => e.type === type && e.body.addresseeNo === 'D-0001');
    await until(() => at('addressee.update').length === 1 && at('copy.update').length === 1);
    expect(dead.map((e) => e.id).sort()).toEqual([at('addressee.update')[0]!.id, at('copy.update')[0]!.id].sort());
  });

  it('a delivered relay leaves no caller record behind once the retention job ran', async () => {
    const ad = await nl.request('addressee.update', {
      lgCode: SERVED,
      addresseeNo: 'D-0002',
      operation: 'add',
      myNumber: s.residents[1]!.myNumber,
    });
    expect(ad.body).toEqual({ accepted: true });
    await until(async () => (await s.uplink.outbox.list()).length === 0, 15_000, 'delivered');
    expect(await callers()).toHaveLength(1);
    expect(await s.gw.purgeExpired()).toMatchObject({ relaysDelivered: 1, relaysDead: 0 });
    expect(await callers()).toEqual([]);
    expect(nl.replies.filter((r) => r.corr === ad.corr).map((r) => r.type)).toEqual(['addressee.update.result']);
  });

  it('a relay dead-lettered while the GW was not listening (stopped in between) is answered by the reconciliation', async () => {
    // As when the uplink starts and dead-letters before the GW role has attached: nobody hears the event.
    s.uplink.outbox.removeAllListeners('dead');
    await s.sims.node(ims).close();
    const ad = await nl.publish('addressee.update', {
      lgCode: SERVED,
      addresseeNo: 'D-0003',
      operation: 'add',
      myNumber: s.residents[2]!.myNumber,
    });
    expect((await ad.reply).body).toEqual({ accepted: true });
    await until(async () => (await s.uplink.outbox.list({ dead: true })).length === 1, 20_000, 'dead-lettered');
    await new Promise((r) => setTimeout(r, 200));
    expect(nl.replies.filter((r) => r.corr === ad.id).map((r) => r.type)).toEqual(['addressee.update.result']);
    expect(await callers()).toHaveLength(1);

    expect(await s.gw.purgeExpired()).toMatchObject({ relaysDead: 1, relaysDelivered: 0 });
    const err = await until(() => nl.replies.find((r: Envelope) => r.corr === ad.id && r.type === 'error'));
    expect(err.body).toMatchObject({ code: 'upstream_unavailable' });
    expect(await callers()).toEqual([]);
    const audited = (await s.auditEntries())
      .map((e) => e.event)
      .filter((e) => e.code === 'upstream_unavailable' && e.keys?.includes(s.hashKey('addressee', `${SERVED}:D-0003`)));
    expect(audited).toHaveLength(1);
    // Once only: a second run finds nothing to answer.
    expect(await s.gw.purgeExpired()).toMatchObject({ relaysDead: 0 });
    await s.sims.node(ims).start();
  });
});
