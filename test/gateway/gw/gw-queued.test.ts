// Requests the broker stored (PUBACK) before the GW runs are screened and answered once it starts:
// nothing accepted is lost, and nothing bypasses the whitelist on the way in.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NL, SERVED, startGwStack, until, type GwStack } from '../../helpers/gw-harness.js';

describe('GW: requests queued before the roles start', () => {
  let s: GwStack;
  beforeAll(async () => {
    s = await startGwStack({ deferRoles: true, residents: 10 });
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  }, 60_000);

  it('are screened and answered at start', async () => {
    const nl = await s.client(NL);
    const good = `GWQ-${randomBytes(8).toString('hex')}`;
    const ok = await nl.publish('code.request', { lgCode: SERVED, serialNo: good, myNumber: s.residents[0]!.myNumber });
    const smuggled = await nl.publish('code.request', {
      lgCode: SERVED,
      serialNo: `GWQ-${randomBytes(8).toString('hex')}`,
      myNumber: s.residents[1]!.myNumber,
      name: '津 花子',
    });
    const relay = await nl.publish('addressee.update', { lgCode: SERVED, addresseeNo: 'Q-1', operation: 'delete' });
    expect(s.broker.persistence.level.requests.depth()).toBe(3);
    expect(s.sims.node('national').received.filter((e) => e.type === 'code.request')).toHaveLength(0);

    await s.startRoles();
    expect((await ok.reply).body).toEqual({ accepted: true });
    expect((await smuggled.reply).body).toMatchObject({
      code: 'invalid_request',
      details: [{ path: 'body.name', problem: 'field.smuggled: "name" is personal data not allowed in code.request' }],
    });
    expect((await relay.reply).body).toEqual({ accepted: true });
    await until(() => s.sims.node(`ims:${SERVED}`).received.find((e) => e.type === 'code.deliver' && e.body.serialNo === good));
    await until(() => s.sims.node(`ims:${SERVED}`).received.find((e) => e.type === 'addressee.update' && e.body.addresseeNo === 'Q-1'));
    await until(() => s.broker.persistence.level.requests.depth() === 0);
    expect(s.sims.node('national').received.filter((e) => e.type === 'code.request')).toHaveLength(1);
  });
});
