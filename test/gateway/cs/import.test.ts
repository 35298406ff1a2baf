import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { IdentityStore, IdentityStoreOpenError } from '../../../gateway/cs/identityStore.js';
import { openEncryptionAtRest } from '../../../gateway/crypto/index.js';
import { importFile, ImportError } from '../../../gateway/cs/import/importer.js';
import { IMPORT_FIELDS, splitCsvLine, type ImportProblem } from '../../../gateway/cs/import/format.js';
import { generateResidents } from '../../../sim/residents.js';
import { tempDir } from '../../helpers/tmp.js';

const run = promisify(execFile);

function csvOf(rows: Array<Record<string, unknown>>): string {
  const cell = (v: unknown) => (v === undefined ? '' : /[",]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [IMPORT_FIELDS.join(','), ...rows.map((r) => IMPORT_FIELDS.map((f) => cell(r[f])).join(','))].join('\n') + '\n';
}

const people = (n: number, start = 0) => [...generateResidents('tsu', { seed: 'import', count: n, start })];

describe('register import', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let store: IdentityStore;

  beforeEach(async () => {
    dir = tempDir('cs-import-');
    db = await openApplianceDb(join(dir.path, 'db'));
    store = await IdentityStore.open(db);
  });
  afterEach(async () => {
    if (db.status === 'open') await db.close();
    dir.cleanup();
  });

  it('splits CSV lines with RFC 4180 quoting', () => {
    expect(splitCsvLine('a,"b,c","d ""q""",')).toEqual(['a', 'b,c', 'd "q"', '']);
    expect(splitCsvLine('"open')).toMatch(/^csv.quote/);
  });

  it('stores valid lines, converts 和暦 and Japanese reasons, and reports each bad line by field and rule', async () => {
    const [a, b, c, d, e] = people(5);
    const rows: Array<Record<string, unknown>> = [
      { ...a, address: a!.address + '、東棟' },
      { ...b, birthDate: '昭和64年1月7日', changeReason: '記載' },
      { ...c, myNumber: c!.myNumber.slice(0, 11) + String((Number(c!.myNumber[11]) + 1) % 10) },
      { ...d, birthDate: '1990-02-30', sex: '3' },
      { ...e, lgCode: undefined },
    ];
    const file = join(dir.path, 'extract.csv');
    writeFileSync(file, csvOf(rows) + 'too,few\n');
    const problems: ImportProblem[] = [];
    const s = await importFile(db, store, file, 'csv', { onProblem: (p) => problems.push(p) });
    expect(s).toMatchObject({ lines: 6, accepted: 2, unchanged: 0, rejected: 4 });
    expect((await store.get(b!.residentCode))?.birthDate).toBe('1989-01-07');
    expect((await store.get(a!.residentCode))?.address).toContain('、東棟');
    expect(problems.map((p) => [p.line, p.field, p.rule])).toEqual([
      [4, 'myNumber', 'myNumber.checkDigit'],
      [5, 'birthDate', 'birthDate.impossible'],
      [5, 'sex', 'sex.code'],
      [6, 'lgCode', 'lgCode.required'],
      [7, 'line', 'csv.columns'],
    ]);
  });

  it('reads JSONL and rejects unknown fields and broken JSON', async () => {
    const [a, b] = people(2);
    const file = join(dir.path, 'extract.jsonl');
    writeFileSync(file, [JSON.stringify(a), '{"residentCode": 1', JSON.stringify({ ...b, shoeSize: 27 }), ''].join('\n'));
    const problems: ImportProblem[] = [];
    const s = await importFile(db, store, file, 'jsonl', { onProblem: (p) => problems.push(p) });
    expect(s).toMatchObject({ accepted: 1, rejected: 2 });
    expect(problems.map((p) => p.rule)).toEqual(['json.syntax', 'field.unknown']);
  });

  it('resumes after the last committed line: nothing twice, nothing lost; a re-run changes nothing', async () => {
    const rows = people(50);
    const file = join(dir.path, 'big.csv');
    writeFileSync(file, csvOf(rows));
    let commits = 0;
    const crash = () => {
      if (++commits === 3) throw new Error('power cut');
    };
    await expect(importFile(db, store, file, 'csv', { batchSize: 7, onProgress: crash })).rejects.toThrow('power cut');
    const stored = store.lastSeq();
    expect(stored).toBe(21);
    await expect(importFile(db, store, file, 'csv')).rejects.toBeInstanceOf(ImportError);
    const s = await importFile(db, store, file, 'csv', { resume: true, batchSize: 7 });
    expect(s).toMatchObject({ accepted: 50, rejected: 0, resumedFromLine: 22 });
    for (const r of rows) expect((await store.history(r.residentCode)).length).toBe(1);
    const again = await importFile(db, store, file, 'csv');
    expect(again).toMatchObject({ accepted: 0, unchanged: 50 });
    expect(store.lastSeq()).toBe(50);
  });

  it('runs from the CLI with a report file and loads generated populations', async () => {
    await db.close();
    const file = join(dir.path, 'cli.csv');
    const [a] = people(1);
    writeFileSync(file, csvOf([...people(3, 100), { ...a, postcode: 'x' }]));
    const bin = join(process.cwd(), 'bin/juki-gw.js');
    const first = await run('node', [bin, 'import', file, '--data-dir', dir.path]).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect((first as { code?: number }).code).toBe(1);
    expect((first as { stdout: string }).stdout).toMatch(/4 lines: 3 stored, 0 unchanged, 1 rejected/);
    expect((first as { stderr: string }).stderr).toMatch(/line 5: postcode: postcode.format/);
    expect((first as { stderr: string }).stderr).toMatch(/import 100%/);
    const report = readFileSync(`${file}.report.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(report).toEqual([{ line: 5, field: 'postcode', rule: 'postcode.format', message: expect.any(String) }]);
    const gen = await run('node', [bin, 'import', '--generate', '300', '--data-dir', dir.path]);
    expect(gen.stdout).toMatch(/300 lines: 300 stored/);
    const bad = await run('node', [bin, 'import', join(dir.path, 'nope.csv'), '--data-dir', dir.path]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((bad as { code: number }).code).toBe(1);
    expect(existsSync(join(dir.path, 'db'))).toBe(true);
  }, 60_000);

  it("imports into an appliance's data dir sealed and keyed with its data keys, as the appliance opens it", async () => {
    await db.close();
    const dataDir = join(dir.path, 'appliance');
    const cfg = join(dir.path, 'appliance.yaml');
    writeFileSync(
      cfg,
      [
        'municipalities: ["242012"]',
        `dataDir: ${JSON.stringify(dataDir)}`,
        'hsm: { kind: software }',
        'listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: 1883 }]',
        'systems: []',
        'ui: { enabled: false }',
      ].join('\n'),
    );
    const bin = join(process.cwd(), 'bin/juki-gw.js');
    const done = await run('node', [bin, 'import', '--generate', '40', '--config', cfg]);
    expect(done.stdout).toMatch(/40 lines: 40 stored/);
    const [first] = [...generateResidents('tsu', { count: 1 })];
    db = await openApplianceDb(join(dataDir, 'db'));
    for await (const [k, v] of db.iterator({ gt: '!identity!', lt: '!identity"' })) {
      expect(k.includes(first!.residentCode) || Buffer.from(v).includes(Buffer.from(first!.name))).toBe(false);
    }
    // a plain open (another code key) is refused, not read as an empty store
    await expect(IdentityStore.open(db)).rejects.toBeInstanceOf(IdentityStoreOpenError);
    const atRest = await openEncryptionAtRest({ hsm: { kind: 'software' } as never, dataDir, db });
    try {
      const store = await IdentityStore.open(db, {
        codec: atRest.keyring.valueEncoding('json'),
        indexKey: await atRest.keyring.secret('identity-index'),
        codeKey: await atRest.keyring.secret('identity-code'),
      });
      expect((await store.get(first!.residentCode))?.name).toBe(first!.name);
      expect(
        (await store.search({ name: first!.name, birthDate: first!.birthDate }, { limit: 10 })).hits.map((h) => h.residentCode),
      ).toContain(first!.residentCode);
    } finally {
      await atRest.close();
    }
  }, 60_000);
});
