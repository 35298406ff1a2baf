// Every kind of tampering with the stored log is pinpointed by verify: seq of the first bad entry and why.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entryHash, signCheckpoint, type AuditEntry, type CheckpointRecord } from '../../../gateway/audit/index.js';
import { auditStore } from '../../../gateway/audit/verify.js';
import { lookup, openFixture, testSigner, type Fixture } from './audit-helpers.js';

let fx: Fixture;
const N = 40;
const ek = (s: number) => `e/${s.toString().padStart(16, '0')}`;
const ck = (s: number) => `c/${s.toString().padStart(16, '0')}`;

beforeEach(async () => {
  fx = await openFixture();
  for (let i = 0; i < N; i++) {
    await fx.log.append(lookup(i));
    if ((i + 1) % 10 === 0) await fx.log.checkpoint();
  }
  expect((await fx.log.verify()).ok).toBe(true);
});
afterEach(async () => {
  await fx.close();
});

const store = () => auditStore(fx.db);
const get = async (s: number) => (await store().get(ek(s))) as AuditEntry;
const put = (s: number, e: unknown) => store().put(ek(s), e);
const first = async () => (await fx.log.verify()).firstBad;

/** Moves entries from..to by `delta` positions, optionally rewriting their seq fields too. */
async function shift(from: number, to: number, delta: number, renumber: boolean) {
  const order =
    delta > 0 ? Array.from({ length: to - from + 1 }, (_, i) => to - i) : Array.from({ length: to - from + 1 }, (_, i) => from + i);
  for (const s of order) {
    const e = await get(s);
    await put(s + delta, renumber ? { ...e, seq: s + delta } : e);
  }
}

describe('audit verify pinpoints tampering', () => {
  it('a changed field', async () => {
    const e = await get(13);
    await put(13, { ...e, event: { ...e.event, hitCount: 999 } });
    expect(await first()).toMatchObject({ seq: 13, reason: 'changed' });
  });

  it('a changed field with its own hash recomputed', async () => {
    const e = await get(13);
    const event = { ...e.event, actor: { kind: 'operator', id: 'someone-else' } };
    await put(13, { ...e, event, hash: entryHash(e.prev, 13, event) });
    expect(await first()).toMatchObject({ seq: 13, reason: 'changed' });
  });

  it('an altered seq field', async () => {
    const e = await get(13);
    await put(13, { ...e, seq: 99 });
    expect(await first()).toMatchObject({ seq: 13, reason: 'changed' });
  });

  it('a deleted entry', async () => {
    await store().del(ek(13));
    expect(await first()).toMatchObject({ seq: 13, reason: 'deleted' });
  });

  it('a deleted entry with the later entries renumbered to close the gap', async () => {
    await shift(14, N, -1, true);
    await store().del(ek(N));
    expect(await first()).toMatchObject({ seq: 13, reason: 'deleted' });
  });

  it('deleted entries at the end (truncation)', async () => {
    for (const s of [38, 39, 40]) await store().del(ek(s));
    await store().del(ck(40));
    expect(await first()).toMatchObject({ seq: 38, reason: 'deleted' });
  });

  it('an inserted entry (later entries moved up, seq fields untouched)', async () => {
    await shift(13, N, +1, false);
    const prev = await get(12);
    const event = { ...prev.event, detail: { messageId: 'forged' } };
    await put(13, { seq: 13, prev: prev.hash, hash: entryHash(prev.hash, 13, event), event });
    expect(await first()).toMatchObject({ seq: 13, reason: 'inserted' });
  });

  it('an inserted entry (later entries moved up and renumbered)', async () => {
    await shift(13, N, +1, true);
    const prev = await get(12);
    const event = { ...prev.event, detail: { messageId: 'forged' } };
    await put(13, { seq: 13, prev: prev.hash, hash: entryHash(prev.hash, 13, event), event });
    expect(await first()).toMatchObject({ seq: 13, reason: 'inserted' });
  });

  it('two entries reordered', async () => {
    const [a, b] = [await get(13), await get(14)];
    await put(13, b);
    await put(14, a);
    expect(await first()).toMatchObject({ seq: 13, reason: 'reordered' });
  });

  it('two entries reordered with their seq fields swapped too', async () => {
    const [a, b] = [await get(13), await get(14)];
    await put(13, { ...b, seq: 13 });
    await put(14, { ...a, seq: 14 });
    expect(await first()).toMatchObject({ seq: 13, reason: 'reordered' });
  });

  it('a forged checkpoint (hash edited)', async () => {
    const cp = (await store().get(ck(20))) as CheckpointRecord;
    await store().put(ck(20), { ...cp, hash: 'f'.repeat(64) });
    expect(await first()).toMatchObject({ seq: 20, reason: 'bad_checkpoint' });
    expect((await first())!.message).toMatch(/signed \(seq, hash\) differs|signature/);
  });

  it('a forged checkpoint signed by another key', async () => {
    const attacker = await testSigner('CN=attacker');
    const e = await get(20);
    await store().put(ck(20), await signCheckpoint(attacker, 'audit.checkpoint', 20, e.hash));
    await store().put(`cert/${attacker.kid}`, Buffer.from(attacker.certificateDer).toString('base64'));
    expect(await first()).toMatchObject({ seq: 20, reason: 'bad_checkpoint' });
    expect((await first())!.message).toMatch(/untrusted key/);
  });

  it('the whole chain rewritten from an entry on: caught by the next signed checkpoint', async () => {
    let prev = (await get(22)).hash;
    for (let s = 23; s <= N; s++) {
      const e = await get(s);
      const event = s === 23 ? { ...e.event, hitCount: 0, keys: [] } : e.event;
      const hash = entryHash(prev, s, event);
      await put(s, { seq: s, prev, hash, event });
      prev = hash;
    }
    expect(await first()).toMatchObject({ seq: 21, reason: 'checkpoint_mismatch' });
    expect((await first())!.message).toMatch(/entries 21\.\.30 were rewritten/);
  });

  it('an untouched log stays clean after reopening', async () => {
    await fx.log.close();
    expect((await fx.log.verify()).ok).toBe(true);
  });
});
