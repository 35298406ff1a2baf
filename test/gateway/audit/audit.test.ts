import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { AuditEventError, verifyAuditLog, type AuditEntry } from '../../../gateway/audit/index.js';
import { auditStore } from '../../../gateway/audit/verify.js';
import { createAuditLog } from '../../../gateway/audit/index.js';
import { SUBLEVELS } from '../../../platform/store/db.js';
import { eventually, hashKey, lookup, openFixture, testSigner, type Fixture } from './audit-helpers.js';

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('audit log', () => {
  it('chains appends, checkpoints them and verifies clean', async () => {
    fx = await openFixture();
    const results = [];
    for (let i = 0; i < 25; i++) results.push(await fx.log.append(lookup(i)));
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const cp = await fx.log.checkpoint();
    expect(cp?.seq).toBe(25);
    expect(cp?.kid).toBe(fx.signer.kid);
    expect(await fx.log.checkpoint()).toBeNull();
    const report = await fx.log.verify();
    expect(report).toMatchObject({
      ok: true,
      entries: 25,
      firstSeq: 1,
      lastSeq: 25,
      checkpoints: 1,
      lastCheckpointSeq: 25,
      unsignedTail: 0,
      pinned: true,
    });
    expect(report.signers).toEqual([fx.signer.kid]);
  });

  it('records the access in the same atomic batch as the flow change', async () => {
    fx = await openFixture();
    const identity = fx.db.sublevel<string, unknown>(SUBLEVELS.identity, { valueEncoding: 'json' });
    const b = fx.db.batch();
    b.put('rec-1', { v: 1 }, { sublevel: identity as never });
    const a = fx.log.appendToBatch(b, lookup(1, { action: 'identity.update' }));
    const c = fx.log.appendToBatch(b, lookup(2, { action: 'identity.update' }));
    expect([a.seq, c.seq]).toEqual([1, 2]);
    expect(await auditStore(fx.db).get('e/0000000000000001')).toBeUndefined();
    await b.write();
    expect(await identity.get('rec-1')).toEqual({ v: 1 });
    expect(((await auditStore(fx.db).get('e/0000000000000002')) as AuditEntry).event.action).toBe('identity.update');
    expect((await fx.log.verify()).ok).toBe(true);
  });

  it('keeps the chain intact when batches run concurrently and one is abandoned', async () => {
    fx = await openFixture();
    const b1 = fx.db.batch();
    const b2 = fx.db.batch();
    const b3 = fx.db.batch();
    fx.log.appendToBatch(b1, lookup(1));
    const abandoned = fx.log.appendToBatch(b2, lookup(2));
    fx.log.appendToBatch(b3, lookup(3));
    await Promise.all([b3.write(), b1.write(), b2.close()]);
    await eventually(async () => (await fx!.log.query()).length === 4);
    const entries = await fx.log.query();
    expect(entries.map((e) => e.event.action)).toEqual(['identity.search', 'identity.search', 'identity.search', 'audit.void']);
    expect(entries[3]!.event.detail).toEqual({ voidSeq: abandoned.seq });
    expect((await fx.log.verify()).ok).toBe(true);
  });

  it('refuses malformed events and clear identifiers with a precise error', async () => {
    fx = await openFixture();
    await expect(fx.log.append(lookup(1, { keys: ['12345678901'] }))).rejects.toThrow(/keys\.0: expected a keyed hash/);
    await expect(fx.log.append({ ...lookup(1), outcome: 'maybe' as never })).rejects.toThrow(AuditEventError);
    await expect(fx.log.append({ ...lookup(1), actor: { kind: 'operator', id: '' } })).rejects.toThrow(/actor\.id/);
    expect(fx.log.head().seq).toBe(0);
    expect((await fx.log.verify()).entries).toBe(0);
  });

  it('signs checkpoints automatically every N entries and counts them in metrics', async () => {
    const registry = new Registry();
    fx = await openFixture({ checkpointEvery: 5, registry });
    for (let i = 0; i < 12; i++) await fx.log.append(lookup(i));
    await eventually(async () => (await fx!.log.verify()).checkpoints >= 2);
    const report = await fx.log.verify();
    expect(report.ok).toBe(true);
    expect(report.checkpoints).toBeGreaterThanOrEqual(2);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/jukigw_audit_entries_total\{outcome="ok"\} 12/);
    expect(metrics).toMatch(/jukigw_audit_checkpoints_total [2-9]/);
  });

  it('signs a checkpoint after T seconds with unsigned entries', async () => {
    fx = await openFixture({ checkpointSeconds: 1 });
    await fx.log.append(lookup(1));
    expect((await fx.log.verify()).lastCheckpointSeq).toBeNull();
    await eventually(async () => (await fx!.log.verify()).lastCheckpointSeq === 1);
  });

  it('continues the chain after a restart and queries by operator, terminal, key and outcome', async () => {
    fx = await openFixture();
    for (let i = 0; i < 6; i++) await fx.log.append(lookup(i));
    await fx.log.append(lookup(6, { outcome: 'refused', code: 'forbidden', hitCount: 0 }));
    await fx.log.close();
    const again = await createAuditLog({ db: fx.db, signer: fx.signer, checkpointEvery: 1000, checkpointSeconds: 3600 });
    expect(again.head().seq).toBe(7);
    await again.append(lookup(7, { actor: { kind: 'admin', id: 'admin-1' }, action: 'admin.role.update' }));
    expect((await again.verify()).ok).toBe(true);
    expect((await again.query({ actorId: 'op-0' })).map((e) => e.seq)).toEqual([1, 4, 7]);
    expect((await again.query({ terminalId: 'term-1', limit: 2 })).map((e) => e.seq)).toEqual([2, 4]);
    expect((await again.query({ key: hashKey('rc', '12345678903') })).map((e) => e.seq)).toEqual([4]);
    expect((await again.query({ outcome: 'refused' }))[0]?.event.code).toBe('forbidden');
    expect((await again.query({ action: 'admin.role.update' }))[0]?.seq).toBe(8);
    expect((await again.query({ reverse: true, limit: 1 }))[0]?.seq).toBe(8);
    await again.close();
  });

  it('verify pins the signer: checkpoints by another key fail unless trusted', async () => {
    fx = await openFixture();
    await fx.log.append(lookup(1));
    await fx.log.checkpoint();
    await expect(createAuditLog({ db: fx.db, signer: fx.signer })).rejects.toThrow(/already open on this database/);
    await fx.log.close();
    const other = await testSigner('CN=renewed');
    const log2 = await createAuditLog({ db: fx.db, signer: other, checkpointEvery: 1000, checkpointSeconds: 3600 });
    await log2.append(lookup(2));
    await log2.checkpoint();
    expect((await log2.verify()).firstBad).toMatchObject({ seq: 1, reason: 'bad_checkpoint' });
    await log2.close();
    const trusting = await createAuditLog({ db: fx.db, signer: other, trustedKids: [fx.signer.kid] });
    expect((await trusting.verify()).ok).toBe(true);
    expect((await verifyAuditLog(fx.db)).pinned).toBe(false);
    await trusting.close();
  });

  it('keeps appending when the token cannot sign; the failure is counted and the tail stays unsigned', async () => {
    const registry = new Registry();
    const real = await testSigner();
    let down = true;
    const flaky = Object.create(real, {
      signEnvelope: {
        value: (e: Parameters<typeof real.signEnvelope>[0]) =>
          down ? Promise.reject(new Error('token unavailable')) : real.signEnvelope(e),
      },
    }) as typeof real;
    fx = await openFixture({ signer: flaky, registry, checkpointEvery: 2 });
    for (let i = 0; i < 5; i++) await fx.log.append(lookup(i));
    await expect(fx.log.checkpoint()).rejects.toThrow(/token unavailable/);
    expect(await fx.log.verify()).toMatchObject({ ok: true, entries: 5, checkpoints: 0, unsignedTail: 5 });
    expect(await registry.metrics()).toMatch(/jukigw_audit_checkpoint_failures_total [1-9]/);
    expect(await registry.metrics()).toMatch(/jukigw_audit_unsigned_entries 5/);
    down = false;
    expect((await fx.log.checkpoint())?.seq).toBe(5);
    expect(await fx.log.verify()).toMatchObject({ ok: true, unsignedTail: 0 });
  });
});

describe('audit verify while appending', () => {
  it('reports no false truncation when appends and checkpoints run during verify', async () => {
    fx = await openFixture({ checkpointEvery: 7 });
    for (let i = 0; i < 50; i++) await fx.log.append(lookup(i));
    let stop = false;
    const writer = (async () => {
      let i = 0;
      while (!stop) await fx.log.append(lookup(i++));
    })();
    const reports = [];
    for (let k = 0; k < 5; k++) reports.push(await fx.log.verify());
    stop = true;
    await writer;
    for (const r of reports) expect(r.issues).toEqual([]);
  });
});
