// 情報提供等記録: the answer record of an information query is written in the same LevelDB batch as the
// reply to the caller (and the removal of the pending record). If that batch cannot be written, the
// caller gets no unrecorded answer: the query stays pending, and after a restart the caller is answered
// upstream_unavailable with the matching answer record.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../platform/envelope.js';
import { startGwRole } from '../../../gateway/gw/role.js';
import { createInteractive } from '../../../gateway/local/interactive.js';
import { createLocalOutbox } from '../../../gateway/local/localOutbox.js';
import { createLogger } from '../../../platform/log/logger.js';
import { openProvisionRecords, type ProvisionRecord } from '../../../gateway/provision/index.js';
import { openApplianceDb, SUBLEVELS } from '../../../platform/store/db.js';
import { NL, OTHER, SERVED, startGwStack, until, type GwStack, type SegmentClient } from '../../helpers/gw-harness.js';

interface WriteOp {
  type: 'put' | 'del';
  key: string;
  value?: unknown;
}
const decoded = (v: unknown): Record<string, unknown> =>
  (v instanceof Uint8Array ? JSON.parse(Buffer.from(v).toString('utf8')) : typeof v === 'string' ? JSON.parse(v) : v) as Record<
    string,
    unknown
  >;
const provisionOf = (op: WriteOp) =>
  op.type === 'put' && op.key.startsWith(`!${SUBLEVELS.provision}!`) ? (decoded(op.value) as unknown as ProvisionRecord) : undefined;

describe('情報提供等記録: the answer record commits with the reply', () => {
  let s: GwStack;
  let nl: SegmentClient;
  const query = (addresseeNo: string) => ({
    lgCode: SERVED,
    addresseeNo,
    infoType: 'TAX-01',
    targetOrg: `ORG-${OTHER}`,
    procedure: 'P-100',
  });
  const recordsOf = async (list: () => Promise<ProvisionRecord[]>, requestId: string) =>
    (await list()).filter((r) => r.requestId === requestId).map((r) => `${r.kind}:${r.result}`);

  beforeAll(async () => {
    s = await startGwStack({ residents: 3 });
    nl = await s.client(NL);
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  }, 60_000);

  it('an answer (result or error) is written in one batch with the reply and the pending record removal', async () => {
    const writes: WriteOp[][] = [];
    const onWrite = (ops: WriteOp[]) => {
      writes.push(ops);
    };
    s.db.on('write', onWrite);
    const notFound = await nl.request('info.query', query('R-0001'));
    expect(notFound.body).toEqual({ found: false });
    s.sims.node(`ims:${OTHER}`).rejectWhen = () => ({ code: 'internal', message: 'other body refused' });
    const refused = await nl.request('info.query', query('R-0002'));
    s.sims.node(`ims:${OTHER}`).rejectWhen = undefined;
    expect(refused.body).toMatchObject({ code: 'internal' });
    s.db.off('write', onWrite);

    for (const [reply, result] of [
      [notFound, 'notFound'],
      [refused, 'internal'],
    ] as const) {
      const batch = writes.find((ops) => ops.some((op) => provisionOf(op)?.kind === 'answer' && provisionOf(op)?.requestId === reply.corr));
      expect(batch, `answer record of ${String(reply.corr)}`).toBeDefined();
      expect(batch!.map(provisionOf).filter(Boolean)).toMatchObject([{ kind: 'answer', result, requestId: reply.corr, systemId: NL }]);
      // The reply to the caller (local delivery queue) and the end of the pending record, same batch.
      const replies = batch!.filter((op) => op.type === 'put' && op.key.startsWith(`!${SUBLEVELS.local}!`)).map((op) => decoded(op.value));
      expect(JSON.stringify(replies)).toContain(String(reply.corr));
      expect(batch!.some((op) => op.type === 'del' && op.key === `!${SUBLEVELS.pending}!${NL}!${String(reply.corr)}`)).toBe(true);
    }
  });

  it('a failed write of the answer sends no unrecorded answer; after a restart the caller and the record get upstream_unavailable', async () => {
    let failedId: string | undefined;
    // The write carrying this query's answer record fails, as a full disk or a crash at that moment would.
    s.db.hooks.prewrite.add((op) => {
      const o = op as unknown as { type: string; sublevel?: { prefix: string }; value?: unknown };
      if (o.type !== 'put' || o.sublevel?.prefix !== `!${SUBLEVELS.provision}!`) return;
      const rec = o.value as ProvisionRecord;
      if (rec.kind === 'answer' && rec.requestId === failedId) throw new Error('injected write failure');
    });
    const { id, reply } = await nl.publish('info.query', query('R-0003'));
    failedId = id;
    await until(() =>
      s.sims.node(`ims:${OTHER}`).received.find((e: Envelope) => e.type === 'info.query' && e.body.addresseeNo === 'R-0003'),
    );
    await s.gw.idle(); // the answer came back and its write was attempted (and failed)
    expect(await recordsOf(() => s.gw.listProvision(), id)).toEqual(['query:sent']);
    expect(await s.db.sublevel(SUBLEVELS.pending).get(`${NL}!${id}`)).toBeDefined();
    const early = await Promise.race([reply.then(() => 'answered'), new Promise((r) => setTimeout(() => r('no answer'), 300))]);
    expect(early).toBe('no answer');

    // The appliance stops (the failing write is the last thing it did) and starts again on the same data dir.
    await s.stopAppliance();
    const logger = createLogger({ level: 'silent' });
    const db = await openApplianceDb(join(s.dataDir, 'db'));
    const published: Array<{ topic: string; envelope: Envelope }> = [];
    const localOutbox = await createLocalOutbox({
      db,
      logger,
      publish: async (topic, payload) => {
        published.push({ topic, envelope: JSON.parse(payload.toString('utf8')) as Envelope });
      },
    });
    try {
      const gw = await startGwRole({ config: s.config, db, logger, audit: { log: undefined as never, hashKey: s.hashKey } });
      // What the CS role's start does next: answer the requests left pending.
      const recovered = await createInteractive({
        db,
        requester: { request: () => new Promise(() => undefined) },
        localOutbox,
        audit: () => undefined,
        logger,
        selfAddress: () => `lg:${SERVED}`,
      }).recover();
      expect(recovered).toBe(1);
      await localOutbox.drained();
      const answered = published.filter((p) => p.envelope.corr === id);
      expect(answered).toHaveLength(1);
      expect(answered[0]).toMatchObject({ topic: `res/${NL}`, envelope: { type: 'error', body: { code: 'upstream_unavailable' } } });
      const provision = openProvisionRecords(db, { retentionYears: 7 });
      expect(await recordsOf(() => provision.list(), id)).toEqual(['query:sent', 'answer:upstream_unavailable']);
      // Every query in this run has exactly one answer record.
      const all = await provision.list();
      for (const q of all.filter((r) => r.kind === 'query')) {
        expect(
          all.filter((r) => r.kind === 'answer' && r.requestId === q.requestId),
          q.requestId,
        ).toHaveLength(1);
      }
      await gw.close();
    } finally {
      await localOutbox.close();
      await db.close();
    }
  });
});
