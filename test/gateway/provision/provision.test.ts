import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../../config/schema/index.js';
import { createKeyHasher } from '../../../gateway/crypto/index.js';
import { startGwRole } from '../../../gateway/gw/role.js';
import { createLogger } from '../../../platform/log/logger.js';
import { openProvisionRecords, type ProvisionRecords } from '../../../gateway/provision/index.js';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { tempDir } from '../../helpers/tmp.js';
import { until } from '../../helpers/until.js';
import { jukiGw } from '../../helpers/cli.js';

const base = {
  requestId: 'r1',
  systemId: 'nl-01',
  type: 'info.query',
  infoType: 'TAX-01',
  procedure: 'P-100',
  targetOrg: 'ORG-131016',
  lgCode: '242012',
  addresseeKey: 'addressee:' + 'A'.repeat(43),
};

describe('情報提供等記録 (provision records)', () => {
  const dir = tempDir('jukigw-prov-');
  let db: Db;
  let p: ProvisionRecords;
  beforeAll(async () => {
    db = await openApplianceDb(join(dir.path, 'db'));
    p = openProvisionRecords(db, { retentionYears: 7 });
  });
  afterAll(async () => {
    await db.close();
    dir.cleanup();
  });

  it('records, lists by time, exports JSON lines and deletes only what is past retention', async () => {
    const b = db.batch();
    p.add(b, { ...base, requestId: 'old', kind: 'query', result: 'sent', at: '2018-01-10T10:00:00.000+09:00' });
    p.add(b, { ...base, requestId: 'edge', kind: 'answer', result: 'found', at: '2019-11-25T10:00:00.000+09:00' });
    p.add(b, { ...base, kind: 'query', result: 'sent' });
    p.add(b, { ...base, kind: 'answer', result: 'notFound' });
    await b.write();
    expect((await p.list()).map((r) => r.requestId)).toEqual(['old', 'edge', 'r1', 'r1']);
    expect((await p.list({ from: new Date('2019-01-01') })).length).toBe(3);
    const out = join(dir.path, 'export.jsonl');
    expect(await p.exportJsonLines(out)).toBe(4);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[3]).toMatchObject({ kind: 'answer', result: 'notFound', targetOrg: 'ORG-131016', systemId: 'nl-01' });
    expect(Object.keys(lines[0]!).sort()).toEqual([
      'addresseeKey',
      'at',
      'infoType',
      'kind',
      'lgCode',
      'procedure',
      'requestId',
      'result',
      'systemId',
      'targetOrg',
      'type',
    ]);
    // 7 years before 2026-11-24: the 2018 record goes, the 2019-11-25 one stays.
    expect(await p.purgeExpired(new Date('2026-11-24T00:00:00Z'))).toBe(1);
    expect((await p.list()).map((r) => r.requestId)).toEqual(['edge', 'r1', 'r1']);
    expect(await p.count()).toBe(3);
  });
  it('refuses to overwrite an existing export file', async () => {
    const out = join(dir.path, 'export.jsonl');
    await expect(p.exportJsonLines(out)).rejects.toThrow(/EEXIST/);
  });
});

describe('情報提供等記録: retention by configuration in the running GW role', () => {
  const dir = tempDir('jukigw-prov-role-');
  let db: Db;
  beforeAll(async () => {
    db = await openApplianceDb(join(dir.path, 'db'));
  });
  afterAll(async () => {
    vi.useRealTimers();
    await db.close();
    dir.cleanup();
  });

  const years = (n: number) => {
    const d = new Date();
    d.setUTCFullYear(d.getUTCFullYear() - n);
    return d.toISOString();
  };
  const roleWith = (provision: Record<string, number> | undefined) =>
    startGwRole({
      config: configSchema.parse({ municipalities: ['242012'], dataDir: dir.path, ...(provision ? { provision } : {}) }),
      db,
      logger: createLogger({ level: 'silent' }),
      audit: { log: undefined as never, hashKey: createKeyHasher(randomBytes(32)) },
    });

  it('defaults to 7 years, purged daily', () => {
    expect(configSchema.parse({ municipalities: ['242012'], dataDir: dir.path }).provision).toEqual({
      retentionYears: 7,
      purgeIntervalHours: 24,
    });
  });

  it('deletes on its schedule only what is older than provision.retentionYears', async () => {
    const p = openProvisionRecords(db, { retentionYears: 100 });
    const b = db.batch();
    p.add(b, { ...base, requestId: '11y', kind: 'query', result: 'sent', at: years(11) });
    p.add(b, { ...base, requestId: '8y', kind: 'answer', result: 'found', at: years(8) });
    p.add(b, { ...base, requestId: 'now', kind: 'query', result: 'sent' });
    await b.write();
    const ids = async () => (await p.list()).map((r) => r.requestId);

    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const ten = await roleWith({ retentionYears: 10, purgeIntervalHours: 2 });
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(await ids()).toEqual(['11y', '8y', 'now']); // not yet: every 2 hours
    await vi.advanceTimersByTimeAsync(3600_000);
    await until(async () => (await p.count()) === 2);
    expect(await ids()).toEqual(['8y', 'now']); // 8 years: within a 10-year retention
    await ten.close();

    const seven = await roleWith(undefined);
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    await until(async () => (await p.count()) === 1);
    expect(await ids()).toEqual(['now']);
    await seven.close();
    vi.useRealTimers();
  });
});

describe('情報提供等記録: operator export (juki-gw provision export)', () => {
  const dir = tempDir('jukigw-prov-cli-');
  const cli = (...args: string[]) => jukiGw(['provision', ...args]);
  beforeAll(async () => {
    const db = await openApplianceDb(join(dir.path, 'db'));
    const p = openProvisionRecords(db, { retentionYears: 7 });
    const b = db.batch();
    p.add(b, { ...base, requestId: 'a', kind: 'query', result: 'sent', at: '2020-04-01T09:00:00.000+09:00' });
    p.add(b, { ...base, requestId: 'b', kind: 'query', result: 'sent', at: '2025-04-01T09:00:00.000+09:00' });
    p.add(b, { ...base, requestId: 'b', kind: 'answer', result: 'found', at: '2025-04-01T09:00:01.000+09:00' });
    await b.write();
    await db.close();
  });
  afterAll(() => dir.cleanup());

  it('writes the records of a period as JSON lines, never overwrites, refuses bad dates and a database in use', async () => {
    const out = join(dir.path, 'since-2025.jsonl');
    const r = await cli('export', '--data-dir', dir.path, '--out', out, '--from', '2025-01-01T00:00:00+09:00');
    expect(r).toMatchObject({ code: 0, stdout: `exported 2 情報提供等記録 to ${out}\n` });
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.requestId, l.kind, l.result].join(':'))).toEqual(['b:query:sent', 'b:answer:found']);
    expect((await cli('export', '--data-dir', dir.path, '--out', out)).code).toBe(1);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
    const bad = await cli('export', '--data-dir', dir.path, '--out', join(dir.path, 'x.jsonl'), '--to', 'yesterday');
    expect(bad).toMatchObject({ code: 2, stderr: '--to: "yesterday" is not a date (ISO 8601 expected)\n' });
    const db = await openApplianceDb(join(dir.path, 'db'));
    try {
      const busy = await cli('export', '--data-dir', dir.path, '--out', join(dir.path, 'y.jsonl'));
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain('is the appliance running?');
    } finally {
      await db.close();
    }
  }, 60_000);
});
