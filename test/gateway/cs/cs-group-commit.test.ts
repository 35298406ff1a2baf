// Group commit in the intake, end to end on the CS stack (appliance broker, intake, flows, uplink to
// Mosquitto, simulated prefecture, SoftHSM key): a burst of requests is written in fewer LevelDB
// batches than requests (each a synced write, one fsync), every request still answered once with its
// own outcome, a bad request refused alone while its batch-mates are applied, one person's updates
// interleaved with others' under load applied and notified in order, and the audit chain intact.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isoDateInJapan } from '../../../domain/dates.js';
import { myNumberCheckDigit } from '../../../domain/identifiers.js';
import type { Envelope } from '../../../platform/envelope.js';
import type { IdentityChange } from '../../../gateway/cs/identityStoreTypes.js';
import { SUBLEVELS } from '../../../platform/store/db.js';
import { PREF, SYSTEMS, startCsStack, until, type CsStack, type LocalClient } from '../../helpers/cs-harness.js';
import { recordWrites, type RecordedWrite } from '../../helpers/write-recorder.js';

let s: CsStack;
let rr: LocalClient;
const today = isoDateInJapan(Date.now());
const update = (r: IdentityChange, n: number, reason = 'correct') => ({
  record: { ...r, address: `${r.address}の${n}`, changeReason: reason, changeDate: today, status: 'current' },
});

beforeAll(async () => {
  s = await startCsStack({ residents: 300 });
  rr = await s.client(SYSTEMS.register);
}, 120_000);

afterAll(async () => {
  await s?.close();
});

const SEEN = `!${SUBLEVELS.seen}!`;
/** The intake's writes in `trace`: each takes requests (their dedupe records) and is synced. */
function intakeWrites(writes: RecordedWrite[]): RecordedWrite[] {
  return writes.filter((w) => w.ops.some((op) => op.type === 'put' && op.key.startsWith(SEEN)));
}

type LocalRequest = { type: string; body: Record<string, unknown> };

async function burst(requests: LocalRequest[]): Promise<{ replies: Envelope[]; writes: RecordedWrite[] }> {
  const recorder = recordWrites();
  try {
    const replies = await Promise.all(requests.map((q) => rr.request(q.type, q.body)));
    await s.role.idle();
    return { replies, writes: recorder.trace.filter((e): e is RecordedWrite => e.kind === 'write') };
  } finally {
    recorder.stop();
  }
}

const notifiesOf = (rc: string) =>
  s.sims
    .node(PREF)
    .received.filter((e) => e.type === 'identity.notify' && (e.body.record as IdentityChange).residentCode === rc)
    .map((e) => e.body.record as IdentityChange & { updateSeq: number });

describe('group commit of a burst of local requests', () => {
  it('reads whether the requests of a pass were taken in one getMany, not one read each', async () => {
    const people = s.residents.slice(96, 120);
    const get = vi.spyOn(s.db, 'get');
    const getMany = vi.spyOn(s.db, 'getMany');
    try {
      const { replies } = await burst(people.map((r) => ({ type: 'identity.update', body: update(r, 1) })));
      for (const [i, rep] of replies.entries())
        expect(rep).toMatchObject({ type: 'identity.update.result', body: { residentCode: people[i]!.residentCode } });
      const seenReads = get.mock.calls.filter(([k]) => String(k).startsWith(SEEN)).length;
      const seenPasses = getMany.mock.calls.filter(([ks]) => ks.some((k) => String(k).startsWith(SEEN))).length;
      console.info(`taken check: ${people.length} requests, ${seenReads} single reads, ${seenPasses} getMany`);
      expect(seenReads).toBe(0);
      expect(seenPasses).toBeGreaterThan(0);
      expect(seenPasses).toBeLessThan(people.length);
    } finally {
      get.mockRestore();
      getMany.mockRestore();
    }
  });

  it("reads the records a pass's updates change in one getMany, not one read each", async () => {
    const people = s.residents.slice(200, 224);
    const RECORDS = `!${SUBLEVELS.identity}!!rec!`;
    const get = vi.spyOn(s.db, 'get');
    const getMany = vi.spyOn(s.db, 'getMany');
    try {
      const { replies } = await burst(people.map((r) => ({ type: 'identity.update', body: update(r, 1) })));
      for (const [i, rep] of replies.entries())
        expect(rep).toMatchObject({ type: 'identity.update.result', body: { residentCode: people[i]!.residentCode } });
      const recordReads = get.mock.calls.filter(([k]) => String(k).startsWith(RECORDS)).length;
      const recordPasses = getMany.mock.calls.filter(([ks]) => ks.some((k) => String(k).startsWith(RECORDS))).length;
      console.info(`record reads: ${people.length} updates, ${recordReads} single reads, ${recordPasses} getMany`);
      expect(recordReads).toBe(0);
      expect(recordPasses).toBeGreaterThan(0);
      expect(recordPasses).toBeLessThan(people.length);
      for (const r of people) expect((await s.role.store.get(r.residentCode))?.address).toBe(`${r.address}の1`);
    } finally {
      get.mockRestore();
      getMany.mockRestore();
    }
  });

  it('writes a burst in fewer synced batches than requests, each request answered once', async () => {
    const people = s.residents.slice(0, 48);
    const { replies, writes } = await burst(people.map((r) => ({ type: 'identity.update', body: update(r, 1) })));
    for (const [i, rep] of replies.entries())
      expect(rep).toMatchObject({ type: 'identity.update.result', body: { residentCode: people[i]!.residentCode } });
    const taken = intakeWrites(writes);
    // Every request's dedupe record was written exactly once, always in a synced write.
    expect(taken.flatMap((w) => w.ops.filter((op) => op.key.startsWith(SEEN))).length).toBe(people.length);
    expect(taken.every((w) => w.sync)).toBe(true);
    // Grouped: fewer writes (fsyncs) than requests; one write carries several requests.
    console.info(`group commit: ${people.length} requests taken in ${taken.length} synced writes`);
    expect(taken.length).toBeLessThan(people.length);
    expect(Math.max(...taken.map((w) => w.ops.filter((op) => op.key.startsWith(SEEN)).length))).toBeGreaterThan(1);
    for (const r of people) expect((await s.role.store.get(r.residentCode))?.address).toBe(`${r.address}の1`);
    // The rest of the answers (no duplicates) came in by now.
    expect(rr.replies.filter((e) => replies.some((x) => x.corr === e.corr)).length).toBe(people.length);
  });

  it("hands a burst's replies to the broker in fewer synced writes than replies", async () => {
    const people = s.residents.slice(200, 248);
    const { replies, writes } = await burst(people.map((r) => ({ type: 'identity.update', body: update(r, 1) })));
    expect(replies.every((e) => e.type === 'identity.update.result')).toBe(true);
    // The broker's writes that queue a reply for the register system (its clean:false session).
    const queued = `!${SUBLEVELS.broker}!o!${SYSTEMS.register}!`;
    const replyWrites = writes.filter((w) => w.ops.some((op) => op.type === 'put' && op.key.startsWith(queued)));
    const stored = replyWrites.flatMap((w) => w.ops.filter((op) => op.type === 'put' && op.key.startsWith(queued)));
    console.info(`local replies: ${people.length} replies stored by the broker in ${replyWrites.length} writes`);
    expect(stored.length).toBeGreaterThanOrEqual(people.length);
    expect(replyWrites.every((w) => w.sync)).toBe(true);
    expect(replyWrites.length).toBeLessThan(people.length / 4);
  });

  it('records the upstream acknowledgements of a burst without an fsync each (they acknowledge nothing)', async () => {
    const people = s.residents.slice(250, 298);
    const recorder = recordWrites();
    try {
      const replies = await Promise.all(people.map((r) => rr.request('identity.update', update(r, 1))));
      expect(replies.every((e) => e.type === 'identity.update.result')).toBe(true);
      await until(() => people.every((r) => notifiesOf(r.residentCode).length === 1), 30_000);
      await until(() => Object.values(s.uplink.queueStats()).every((q) => q.depth === 0 && q.inFlight === 0), 30_000);
    } finally {
      recorder.stop();
    }
    const seenMark = `!${SUBLEVELS.inbox}!i!`;
    const acks = recorder.trace.filter(
      (e): e is RecordedWrite => e.kind === 'write' && e.ops.some((op) => op.type === 'put' && op.key.startsWith(seenMark)),
    );
    const marks = acks.flatMap((w) => w.ops.filter((op) => op.type === 'put' && op.key.startsWith(seenMark)));
    console.info(
      `upstream acknowledgements: ${marks.length} marks in ${acks.length} inbox writes, ${acks.filter((w) => w.sync).length} synced`,
    );
    expect(marks.length).toBeGreaterThanOrEqual(people.length);
    expect(acks.filter((w) => w.sync)).toEqual([]);
  });

  it('refuses a bad request alone while its batch-mates are applied', async () => {
    const people = s.residents.slice(50, 90);
    const conflicting = s.residents[95]!; // 'add' of a registered 住民票コード: the store refuses it in the flow
    const requests: LocalRequest[] = people.map((r) => ({ type: 'identity.update', body: update(r, 1) }));
    requests.splice(10, 0, { type: 'identity.update', body: update(conflicting, 1, 'add') });
    requests.splice(20, 0, { type: 'identity.update', body: { record: { residentCode: 'not-a-code' } } });
    const { replies, writes } = await burst(requests);
    expect(replies[10]).toMatchObject({ type: 'error', body: { code: 'conflict' } });
    expect(replies[20]).toMatchObject({ type: 'error', body: { code: 'invalid_request' } });
    const ok = replies.filter((_, i) => i !== 10 && i !== 20);
    expect(ok.every((e) => e.type === 'identity.update.result')).toBe(true);
    for (const r of people) expect((await s.role.store.get(r.residentCode))?.address).toBe(`${r.address}の1`);
    expect((await s.role.store.get(conflicting.residentCode))?.address).toBe(conflicting.address);
    // The request the flow refused shared its write with applied ones (they were batch-mates).
    const taken = intakeWrites(writes);
    expect(taken.length).toBeLessThan(requests.length);
    const refusedKey = `${SEEN}${SYSTEMS.register}!${replies[10]!.corr}`;
    const withRefused = taken.find((w) => w.ops.some((op) => op.key === refusedKey));
    expect(withRefused!.ops.filter((op) => op.key.startsWith(SEEN)).length).toBeGreaterThan(1);
  });

  it("keeps one person's updates in order when they are interleaved with others' under load", async () => {
    const person = s.residents[120]!;
    const others = s.residents.slice(121, 161);
    const rounds = 8;
    const requests: Array<{ type: string; body: Record<string, unknown> }> = [];
    for (let k = 1; k <= rounds; k++) {
      requests.push({ type: 'identity.update', body: update(person, k) });
      for (const o of others.slice((k - 1) * 5, k * 5)) requests.push({ type: 'identity.update', body: update(o, k) });
    }
    const { replies, writes } = await burst(requests);
    expect(replies.every((e) => e.type === 'identity.update.result')).toBe(true);
    expect(intakeWrites(writes).length).toBeLessThan(requests.length);
    const mine = replies.filter((e) => e.body.residentCode === person.residentCode).map((e) => e.body.updateSeq as number);
    expect(mine).toEqual([...mine].sort((a, b) => a - b));
    const stored = await s.role.store.history(person.residentCode);
    expect(stored.slice(-rounds).map((r) => r.address)).toEqual(Array.from({ length: rounds }, (_, i) => `${person.address}の${i + 1}`));
    expect((await s.role.store.get(person.residentCode))?.address).toBe(`${person.address}の${rounds}`);
    const notes = await until(() => {
      const n = notifiesOf(person.residentCode);
      return n.length === rounds && n;
    }, 30_000);
    expect(notes.map((n) => n.address)).toEqual(Array.from({ length: rounds }, (_, i) => `${person.address}の${i + 1}`));
    expect(notes.map((n) => n.updateSeq)).toEqual(mine);
  });

  it('lets a person take the 個人番号 another gave up earlier in the same burst', async () => {
    const [a, b] = [s.residents[170]!, s.residents[171]!];
    const fresh = '98765432101' + String(myNumberCheckDigit('98765432101'));
    const others: LocalRequest[] = s.residents.slice(172, 192).map((r) => ({ type: 'identity.update', body: update(r, 1) }));
    const requests = [
      ...others.slice(0, 10),
      { type: 'identity.update', body: { record: { ...update(a, 1).record, myNumber: fresh } } },
      // Sent one after the other: applied in this order, b's change finds a's old 個人番号 free.
      { type: 'identity.update', body: { record: { ...update(b, 1).record, myNumber: a.myNumber } } },
      ...others.slice(10),
    ];
    const { replies } = await burst(requests);
    expect(replies.map((e) => e.type)).toEqual(requests.map(() => 'identity.update.result'));
    expect((await s.role.store.get(a.residentCode))?.myNumber).toBe(fresh);
    expect((await s.role.store.get(b.residentCode))?.myNumber).toBe(a.myNumber);
  });

  it('keeps the audit chain verifiable, one entry per request in commit order', async () => {
    const report = await s.audit.verify();
    expect(report.ok).toBe(true);
    const entries = await s.auditEntries();
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => entries[0]!.seq + i));
    expect(entries.filter((e) => e.event.action === 'identity.update').length).toBeGreaterThanOrEqual(48 + 42 + 48 + 22);
  });
});
