// An oversized request in the running CS role (intake, audit log, uplink to the simulated upstream):
// the local system gets the contract's error reply with its request's id as corr, stays connected,
// and its next request is answered as usual; the oversized one was never queued, and the refusal is
// in the hash-chained audit log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../platform/envelope.js';
import { SYSTEMS, startCsStack, type CsStack, type LocalClient } from '../helpers/cs-harness.js';

let s: CsStack;
let term: LocalClient;

beforeAll(async () => {
  s = await startCsStack({ residents: 20 });
  term = await s.client(SYSTEMS.terminal);
}, 120_000);

afterAll(async () => {
  await s?.close();
});

describe('an oversized local request', () => {
  it('is answered invalid_request (corr = its id), never queued, audited, and the connection serves the next request', async () => {
    const limit = s.config.limits.maxPayloadBytes;
    const id = uuidv7();
    const big = JSON.stringify({ v: 1, id, type: 'identity.verify', body: { by: 'residentCode', pad: 'x'.repeat(limit) } });
    const reply = await term.raw('identity.verify', big, id);
    expect(reply).toMatchObject({
      type: 'error',
      corr: id,
      to: SYSTEMS.terminal,
      body: {
        code: 'invalid_request',
        message: `payload of ${Buffer.byteLength(big)} bytes exceeds maxPayloadBytes ${limit}; the request was not accepted`,
        details: [{ path: 'payload', problem: `${Buffer.byteLength(big)} bytes; at most ${limit} bytes are accepted` }],
      },
    });
    expect(term.client.connected).toBe(true);
    expect(await s.broker.persistence.level.requests.read(0, 100)).toEqual([]);

    const r = s.residents[0]!;
    const ok = await term.request('identity.verify', {
      by: 'residentCode',
      residentCode: r.residentCode,
      operatorId: 'op-0001',
      terminalId: 'tm-0001',
    });
    expect(ok).toMatchObject({ type: 'identity.verify.result', body: { status: 'match' } });

    const refusals = (await s.auditEntries()).filter((e) => e.event.action === 'broker.denial' && e.event.code === 'payload-too-large');
    expect(refusals.map((e) => e.event.actor)).toEqual([{ kind: 'system', id: SYSTEMS.terminal }]);
  });
});
