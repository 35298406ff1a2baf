// The intake's priority lane: an interactive request (a search at a terminal) sent while a burst of
// durable updates is queued is answered before the burst drains, not behind it; the burst itself
// is answered completely, one person's updates still reach the prefecture in order, and the audit
// chain written by the batched burst is one hash link per event with valid signed checkpoints. A
// search that arrives while a pass runs is taken in that pass, not after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoDateInJapan } from '../../../domain/dates.js';
import { uuidv7, type Envelope } from '../../../platform/envelope.js';
import type { IdentityChange } from '../../../gateway/cs/identityStoreTypes.js';
import { SUBLEVELS } from '../../../platform/store/db.js';
import { PREF, SYSTEMS, startCsStack, until, type CsStack, type LocalClient } from '../../helpers/cs-harness.js';
import { recordWrites, type RecordedWrite } from '../../helpers/write-recorder.js';

let s: CsStack;
let rr: LocalClient;
let term: LocalClient;
const today = isoDateInJapan(Date.now());
const BURST = 3000;

beforeAll(async () => {
  s = await startCsStack({ residents: 300 });
  rr = await s.client(SYSTEMS.register);
  term = await s.client(SYSTEMS.terminal);
}, 120_000);

afterAll(async () => {
  await s?.close();
});

describe('priority lane for interactive requests', () => {
  it('answers a search sent behind a queued burst of updates before the burst drains', async () => {
    const person = s.residents[7]!;
    const others = s.residents.filter((r) => r !== person);
    const ids: string[] = [];
    const publishes: Array<Promise<unknown>> = [];
    // One person's updates interleaved with everyone else's: their upstream order is checked below.
    for (let k = 0; k < BURST; k++) {
      const r = k % 10 === 0 ? person : others[k % others.length]!;
      const record: IdentityChange = { ...r, address: `${r.address}の${k}`, changeReason: 'correct', changeDate: today, status: 'current' };
      const env = { v: 1, id: uuidv7(), type: 'identity.update', body: { record } };
      ids.push(env.id);
      publishes.push(rr.client.publishAsync('req/identity.update', JSON.stringify(env), { qos: 1 }));
    }
    // Every update is stored (PUBACKed) before the search is sent: the search is queued behind them.
    await Promise.all(publishes);
    const queuedAhead = s.broker.persistence.level.requests.depth();
    let answeredBefore = -1;
    const search = {
      v: 1,
      id: uuidv7(),
      type: 'identity.search',
      body: {
        dutyCode: 'JUKI-01',
        operatorId: 'op-0001',
        terminalId: 'tm-0001',
        name: person.name,
        birthDate: person.birthDate,
        address: '三重県津市',
      },
    };
    term.client.on('message', (_topic, payload) => {
      if ((JSON.parse(payload.toString('utf8')) as Envelope).corr === search.id) answeredBefore = rr.replies.length;
    });
    await term.client.publishAsync('req/identity.search', JSON.stringify(search), { qos: 1 });
    // Bad input in the lane keeps its precise refusal.
    const bad = { ...search, id: uuidv7(), body: { ...search.body, dutyCode: undefined } };
    await term.client.publishAsync('req/identity.search', JSON.stringify(bad), { qos: 1 });
    const reply = await until(() => term.replies.find((e) => e.corr === search.id), 60_000);
    expect(reply.type).toBe('identity.search.result');
    const refused = await until(() => term.replies.find((e) => e.corr === bad.id), 60_000);
    expect(refused).toMatchObject({ type: 'error', body: { code: 'invalid_request' } });
    expect((refused.body.details as Array<{ path: string }>).map((d) => d.path)).toContain('body.dutyCode');
    await until(() => rr.replies.length >= BURST, 120_000);
    console.info(`priority lane: ${queuedAhead} updates queued ahead of the search; ${answeredBefore} of ${BURST} answered before it`);
    // Without the lane the search waits for every update queued ahead of it.
    expect(queuedAhead).toBeGreaterThan(BURST / 2);
    expect(answeredBefore).toBeGreaterThanOrEqual(0);
    expect(answeredBefore).toBeLessThan(BURST - queuedAhead / 2);
    // The burst is answered completely, each update once, none refused.
    expect(new Set(rr.replies.map((e) => e.corr))).toEqual(new Set(ids));
    expect(rr.replies.every((e) => e.type === 'identity.update.result')).toBe(true);
    // One person's updates reach the prefecture in the order they were sent.
    const mine = Array.from({ length: BURST / 10 }, (_, i) => `${person.address}の${i * 10}`);
    const notes = await until(() => {
      const n = s.sims
        .node(PREF)
        .received.filter((e) => e.type === 'identity.notify' && (e.body.record as IdentityChange).residentCode === person.residentCode);
      return n.length >= mine.length && n;
    }, 120_000);
    expect(notes.map((e) => (e.body.record as IdentityChange).address)).toEqual(mine);
  }, 240_000);

  it('keeps the audit chain a chain under the batched burst: one link per event, checkpoints valid', async () => {
    await s.role.idle();
    await s.audit.checkpoint();
    const report = await s.audit.verify();
    expect(report.issues).toEqual([]);
    expect(report.ok).toBe(true);
    const entries = await s.audit.query({ limit: 10_000 });
    expect(entries.length).toBe(report.entries);
    // One entry per request of the burst (not one per group), each linked to the one before it.
    expect(entries.filter((e) => e.event.action === 'identity.update').length).toBe(BURST);
    expect(
      entries
        .filter((e) => e.event.action === 'identity.search')
        .map((e) => e.event.outcome)
        .sort(),
    ).toEqual(['ok', 'refused']);
    for (const [i, e] of entries.entries()) {
      if (i === 0) continue;
      expect(e.seq).toBe(entries[i - 1]!.seq + 1);
      expect(e.prev).toBe(entries[i - 1]!.hash);
    }
    // Checkpoints were signed while the burst was being written (one per 1,000 entries), and cover it all.
    expect(report.checkpoints).toBeGreaterThanOrEqual(Math.floor(BURST / 1000));
    expect(report.lastCheckpointSeq).toBe(entries.at(-1)!.seq);
    expect(report.unsignedTail).toBe(0);
  }, 60_000);

  it('takes a search in the pass that is running when it arrives, not after the pass', async () => {
    // A pass whose records were read ahead has no I/O of its own: without a turn of the event loop
    // between its requests, a search arriving meanwhile is not even read by the broker until the
    // pass (64 updates of distinct people, one write) is over. The search reads anything, so the
    // intake writes the group before it: taken mid-pass, that write holds part of a pass only.
    const SEEN = `!${SUBLEVELS.seen}!`;
    const PASS = 64;
    const updates = 1280;
    const ids = new Set<string>();
    const publishes: Array<Promise<unknown>> = [];
    for (let k = 0; k < updates; k++) {
      const r = s.residents[k % s.residents.length]!;
      const record: IdentityChange = {
        ...r,
        address: `${r.address}の二${k}`,
        changeReason: 'correct',
        changeDate: today,
        status: 'current',
      };
      const id = uuidv7();
      ids.add(id);
      publishes.push(
        rr.client.publishAsync('req/identity.update', JSON.stringify({ v: 1, id, type: 'identity.update', body: { record } }), { qos: 1 }),
      );
    }
    await Promise.all(publishes);
    const recorder = recordWrites();
    const searchIds: string[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const search = {
          v: 1,
          id: uuidv7(),
          type: 'identity.search',
          body: {
            dutyCode: 'JUKI-01',
            operatorId: 'op-0001',
            terminalId: 'tm-0001',
            name: s.residents[3]!.name,
            birthDate: s.residents[3]!.birthDate,
          },
        };
        searchIds.push(search.id);
        await term.client.publishAsync('req/identity.search', JSON.stringify(search), { qos: 1 });
        const reply = await until(() => term.replies.find((e) => e.corr === search.id), 60_000, `the reply to search ${i}`);
        expect(reply.type).toBe('identity.search.result');
      }
      await until(
        () => rr.replies.filter((e) => ids.has(e.corr ?? '')).length === updates,
        120_000,
        `the replies to the ${updates} updates`,
      );
    } finally {
      recorder.stop();
    }
    const updatesIn = (w: RecordedWrite) =>
      w.ops.filter((op) => op.type === 'put' && op.key.startsWith(`${SEEN}${SYSTEMS.register}!`)).length;
    const intakeWrites = recorder.trace.filter(
      (e): e is RecordedWrite => e.kind === 'write' && e.ops.some((op) => op.key.startsWith(SEEN)),
    );
    const ahead = searchIds.map((id) => {
      const at = intakeWrites.findIndex((w) => w.ops.some((op) => op.key === `${SEEN}${SYSTEMS.terminal}!${id}`));
      expect(at).toBeGreaterThan(0);
      return updatesIn(intakeWrites[at - 1]!);
    });
    console.info(`priority lane: updates in the intake's write just before each search: ${ahead.join(', ')} (a pass: ${PASS})`);
    expect(ahead.some((n) => n > 0 && n < PASS)).toBe(true);
  }, 240_000);
});
