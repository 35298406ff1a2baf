// Contract points seen from the number-linkage segment (GW screen → CS intake → relays → simulators):
// an unknown type is invalid_request there too, refusals name their field, and resends are answered
// again — except a 処理通番, which is never kept once delivered.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7, type Envelope, type ErrorBody } from '../../../platform/envelope.js';
import { SUBLEVELS } from '../../../platform/store/db.js';
import { NL, SERVED, startGwStack, until, type GwStack, type SegmentClient } from '../../helpers/gw-harness.js';

let s: GwStack;
let nl: SegmentClient;
beforeAll(async () => {
  s = await startGwStack();
  nl = await s.client(NL);
}, 120_000);
afterAll(async () => {
  await s?.close();
}, 60_000);

const errorOf = (e: Envelope) => e.body as unknown as ErrorBody;
const repliesTo = (id: string) => nl.replies.filter((e) => e.corr === id);
async function sendTwice(type: string, body: Record<string, unknown>): Promise<[Envelope, Envelope]> {
  const env = { v: 1, id: uuidv7(), type, body };
  await nl.client.publishAsync(`req/${type}`, JSON.stringify(env), { qos: 1 });
  const first = await until(() => repliesTo(env.id)[0], 15_000);
  await nl.client.publishAsync(`req/${type}`, JSON.stringify(env), { qos: 1 });
  const second = await until(() => repliesTo(env.id)[1], 15_000);
  return [first, second];
}

describe('9 (number-linkage segment): unknown types and refusals name the field', () => {
  it('req/foo.bar is invalid_request "unknown message type", not forbidden', async () => {
    const reply = await nl.request('foo.bar', {});
    expect(errorOf(reply)).toMatchObject({
      code: 'invalid_request',
      details: [{ path: 'type', problem: expect.stringMatching(/^type\.unknown: /) }],
    });
    expect(errorOf(reply).message).toMatch(/unknown message type/);
  });

  it('a contract type the segment may not use is still forbidden', async () => {
    const reply = await nl.request('identity.search', {
      dutyCode: 'D',
      operatorId: 'o',
      terminalId: 't',
      name: 'x',
      birthDate: '2000-01-01',
    });
    expect(errorOf(reply)).toMatchObject({ code: 'forbidden', details: [{ path: 'type' }] });
  });

  it('info.query for a body that does not exist: the refusal names body.targetOrg', async () => {
    const reply = await nl.request('info.query', {
      lgCode: SERVED,
      addresseeNo: 'A-0901',
      infoType: 'TAX-01',
      targetOrg: 'NO-SUCH-BODY',
      procedure: 'P-100',
    });
    expect(errorOf(reply).code).toBe('invalid_request');
    expect(errorOf(reply).details.map((d) => d.path)).toEqual(['body.targetOrg']);
  });

  it('code.request for an unknown person names body.myNumber; a terse upstream refusal still names where', async () => {
    const unknown = await nl.request('code.request', {
      lgCode: SERVED,
      serialNo: `GWS-${randomBytes(8).toString('hex')}`,
      myNumber: s.unknownMyNumber,
    });
    expect(errorOf(unknown)).toMatchObject({ code: 'not_found', details: [{ path: 'body.myNumber' }] });
    const national = s.sims.node('national');
    national.rejectWhen = (e) => (e.type === 'code.request' ? { code: 'not_found', message: 'no such person' } : undefined);
    try {
      const terse = await nl.request('code.request', {
        lgCode: SERVED,
        serialNo: `GWS-${randomBytes(8).toString('hex')}`,
        myNumber: s.residents[0]!.myNumber,
      });
      expect(errorOf(terse).code).toBe('not_found');
      expect(errorOf(terse).details).toEqual([{ path: '(upstream)', problem: 'not_found: national gave no details' }]);
    } finally {
      national.rejectWhen = undefined;
    }
  });
});

describe('7 (number-linkage segment): resends', () => {
  it('a resent code.request gets the same acknowledgement again; national is asked once', async () => {
    const serialNo = `GWS-${randomBytes(8).toString('hex')}`;
    const [first, second] = await sendTwice('code.request', { lgCode: SERVED, serialNo, myNumber: s.residents[1]!.myNumber });
    expect(first.body).toEqual({ accepted: true });
    expect(second).toMatchObject({ id: first.id, type: first.type, body: first.body });
    expect(s.sims.node('national').received.filter((e) => e.type === 'code.request' && e.body.serialNo === serialNo)).toHaveLength(1);
  });

  it('a resent serial.request: conflict, because the issued 処理通番 is not kept; nothing of it is stored', async () => {
    const [first, second] = await sendTwice('serial.request', { lgCode: SERVED, addresseeNo: 'A-0902' });
    expect(first.type).toBe('serial.request.result');
    const serialNo = String(first.body.serialNo);
    expect(errorOf(second)).toMatchObject({
      code: 'conflict',
      details: [{ path: 'id', problem: expect.stringMatching(/^reply\.withheld: /) }],
    });
    expect(
      s.sims.node(`ims:${SERVED}`).received.filter((e) => e.type === 'serial.request' && e.body.addresseeNo === 'A-0902'),
    ).toHaveLength(1);
    await s.cs.idle();
    let kept = 0;
    for await (const [, v] of s.db.sublevel(SUBLEVELS.answers, { valueEncoding: 'utf8' }).iterator()) {
      kept++;
      expect(v.includes(serialNo)).toBe(false);
    }
    expect(kept).toBeGreaterThan(0); // the control: replies are kept there
  });

  it('a resent relay (copy.update) gets its acknowledgement again and is relayed once', async () => {
    const [first, second] = await sendTwice('copy.update', {
      lgCode: SERVED,
      addresseeNo: 'A-0903',
      infoType: 'TAX-01',
      operation: 'add',
      data: { income: 1 },
    });
    expect(first.body).toEqual({ accepted: true });
    expect(second).toMatchObject({ id: first.id, body: first.body });
    await until(() => s.sims.node(`ims:${SERVED}`).received.some((e) => e.type === 'copy.update' && e.body.addresseeNo === 'A-0903'));
    await s.cs.idle();
    expect(s.sims.node(`ims:${SERVED}`).received.filter((e) => e.type === 'copy.update' && e.body.addresseeNo === 'A-0903')).toHaveLength(
      1,
    );
  });
});
