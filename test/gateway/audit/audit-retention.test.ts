import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifySegmentFile, type CheckpointRecord } from '../../../gateway/audit/index.js';
import { auditStore } from '../../../gateway/audit/verify.js';
import { lookup, openFixture, type Fixture } from './audit-helpers.js';

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const NOW = new Date('2026-11-24T00:00:00Z');
const yearsAgo = (y: number, plusSeconds = 0) => new Date(Date.UTC(2026 - y, 10, 24) + plusSeconds * 1000).toISOString();

async function agedLog() {
  fx = await openFixture();
  // 1..20 are eight years old, 21..35 are recent.
  for (let i = 1; i <= 35; i++) {
    await fx.log.append(lookup(i, { at: i <= 20 ? yearsAgo(8, i) : yearsAgo(0, -3600 + i) }));
    if (i % 10 === 0) await fx.log.checkpoint();
  }
  return fx;
}

describe('audit export and retention', () => {
  it('exports the closed segment up to the last checkpoint before the date; the file verifies on its own', async () => {
    const f = await agedLog();
    const out = join(f.dir.path, 'segment-1.jsonl');
    const seg = await f.log.exportSegment({ before: new Date(yearsAgo(7)), out });
    expect(seg).toMatchObject({ fromSeq: 1, toSeq: 20, entries: 20, checkpoints: 2 });
    expect(seg!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await verifySegmentFile(out, { trustedKids: [f.signer.kid] })).toMatchObject({ ok: true, fromSeq: 1, toSeq: 20, entries: 20 });
    expect(await f.log.exportSegment({ before: new Date(yearsAgo(7)), out: join(f.dir.path, 'again.jsonl') })).toBeNull();
    await f.log.checkpoint();
    const next = await f.log.exportSegment({ before: NOW, out: join(f.dir.path, 'segment-2.jsonl') });
    expect(next).toMatchObject({ fromSeq: 21, toSeq: 35 });
    expect((await verifySegmentFile(next!.file)).ok).toBe(true);

    const lines = readFileSync(out, 'utf8').trim().split('\n');
    const tampered = lines.map((l, i) => (i === 5 ? l.replace('"hitCount":', '"hitCount":1') : l));
    writeFileSync(out, tampered.join('\n') + '\n');
    expect(await verifySegmentFile(out)).toMatchObject({ ok: false, problem: { seq: 5 } });
    writeFileSync(out, lines.filter((_, i) => i !== 20).join('\n') + '\n');
    expect((await verifySegmentFile(out)).problem?.message).toMatch(/should end at 20|checkpoint 20/);
  });

  it('prunes only exported entries older than the retention period, under a signed anchor', async () => {
    const f = await agedLog();
    expect(await f.log.applyRetention({ now: NOW })).toMatchObject({ deleted: 0, reason: 'nothing exported yet' });
    await f.log.exportSegment({ before: new Date(yearsAgo(7)), out: join(f.dir.path, 's.jsonl') });
    expect(await f.log.applyRetention({ now: NOW })).toMatchObject({ prunedThrough: 20, deleted: 20 });
    const report = await f.log.verify();
    expect(report).toMatchObject({ ok: true, prunedThrough: 20, firstSeq: 21, lastSeq: 35, entries: 15 });
    await f.log.append(lookup(36));
    expect((await f.log.verify()).ok).toBe(true);

    await auditStore(f.db).del('e/0000000000000021');
    expect((await f.log.verify()).firstBad).toMatchObject({ seq: 21, reason: 'deleted' });
  });

  it('a forged retention anchor is reported', async () => {
    const f = await agedLog();
    await f.log.exportSegment({ before: new Date(yearsAgo(7)), out: join(f.dir.path, 's.jsonl') });
    await f.log.applyRetention({ now: NOW });
    const store = auditStore(f.db);
    const anchor = (await store.get('anchor')) as CheckpointRecord;
    await store.put('anchor', { ...anchor, seq: 25 });
    expect((await f.log.verify()).firstBad).toMatchObject({ reason: 'bad_checkpoint' });
  });

  it('refuses to export a segment that fails verification', async () => {
    const f = await agedLog();
    const store = auditStore(f.db);
    await store.del('e/0000000000000007');
    await expect(f.log.exportSegment({ before: new Date(yearsAgo(7)), out: join(f.dir.path, 'x.jsonl') })).rejects.toThrow(
      /entry 7 is deleted/,
    );
    await expect(f.log.applyRetention({ now: NOW, requireExported: false })).rejects.toThrow(/refusing to prune/);
  });
});
