// The relays' timeouts through the simulators: the intermediate server goes silent. An interactive relay
// (serial.request, 2-①…④) answers the caller `timeout`; the durable relays (addressee.update 1-③,
// copy.update 3-③) wait for the `.result` correlated with their id, resend after the ack timeout,
// and are delivered (once, the receiver deduplicating the resends) when the server is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../platform/envelope.js';
import { SUBLEVELS } from '../../../platform/store/db.js';
import { NL, SERVED, startGwStack, until, type GwStack, type SegmentClient } from '../../helpers/gw-harness.js';

describe('GW relays: timeouts, resends and correlation with a silent intermediate server', () => {
  let s: GwStack;
  let nl: SegmentClient;
  const ims = `ims:${SERVED}`;
  const at = (type: string, addresseeNo: string) =>
    s.sims.node(ims).received.filter((e: Envelope) => e.type === type && e.body.addresseeNo === addresseeNo);

  beforeAll(async () => {
    s = await startGwStack({ residents: 5, timeoutsMs: { 'serial.request': 800, 'addressee.update': 500, 'copy.update': 500 } });
    nl = await s.client(NL);
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  }, 60_000);

  it('serial.request: the caller gets timeout, audited, nothing left pending', async () => {
    await s.sims.node(ims).close();
    const t0 = Date.now();
    const r = await nl.request('serial.request', { lgCode: SERVED, addresseeNo: 'T-0001' });
    expect(r.type).toBe('error');
    expect(r.body).toMatchObject({ code: 'timeout' });
    expect(String(r.body.message)).toContain('800 ms');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(800);
    const audited = (await s.auditEntries())
      .map((e) => e.event)
      .filter((e) => e.action === 'serial.request' && e.outcome === 'error' && e.code === 'timeout');
    expect(audited).toHaveLength(1);
    await s.gw.idle();
    const pending: string[] = [];
    for await (const k of s.db.sublevel(SUBLEVELS.pending).keys()) pending.push(k);
    expect(pending).toEqual([]);
  });

  it('addressee.update and copy.update: accepted, resent after the ack timeout, delivered once when the server is back', async () => {
    const ad = await nl.request('addressee.update', {
      lgCode: SERVED,
      addresseeNo: 'T-0002',
      operation: 'add',
      myNumber: s.residents[0]!.myNumber,
    });
    const cp = await nl.request('copy.update', {
      lgCode: SERVED,
      addresseeNo: 'T-0002',
      infoType: 'TAX-01',
      operation: 'add',
      data: { income: 1 },
    });
    expect(ad.body).toEqual({ accepted: true });
    expect(cp.body).toEqual({ accepted: true });
    // No `.result` comes back: each waits out its ack timeout and is scheduled again, still queued.
    const queued = await until(
      async () => {
        const l = await s.uplink.outbox.list();
        const relays = l.filter((e) => e.type === 'addressee.update' || e.type === 'copy.update');
        return relays.length === 2 && relays.every((e) => e.attempts >= 2 && String(e.lastError).startsWith('ack_timeout')) && relays;
      },
      15_000,
      'two timed-out attempts of each relay',
    );
    expect(queued.map((e) => e.to)).toEqual([ims, ims]);

    await s.sims.node(ims).start();
    const adAt = await until(() => at('addressee.update', 'T-0002')[0]);
    const cpAt = await until(() => at('copy.update', 'T-0002')[0]);
    // Correlated: the queue entry goes only once the `.result` for that id arrived.
    await until(async () => (await s.uplink.outbox.list()).length === 0, 15_000, 'outbox empty');
    expect(at('addressee.update', 'T-0002')).toHaveLength(1);
    expect(at('copy.update', 'T-0002')).toHaveLength(1);
    // The sent copies the broker held for the silent server are resends of the same signed message.
    expect(s.sims.node(ims).copies.get(adAt.id)).toBeGreaterThanOrEqual(2);
    expect(s.sims.node(ims).copies.get(cpAt.id)).toBeGreaterThanOrEqual(2);
    expect(s.sims.node(ims).refused).toEqual([]); // every copy carried a valid appliance signature
    expect(await s.uplink.outbox.list({ dead: true })).toEqual([]);
  });
});
