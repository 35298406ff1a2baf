import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toPem } from '../../../hsm/index.js';
import { openApplianceDb } from '../../../platform/store/db.js';
import { createAuditLog, type AuditEntry } from '../../../gateway/audit/index.js';
import { auditStore } from '../../../gateway/audit/verify.js';
import { lookup, testSigner } from './audit-helpers.js';
import { tempDir } from '../../helpers/tmp.js';
import { jukiGw } from '../../helpers/cli.js';

const cli = (...args: string[]) => jukiGw(['audit', ...args]);

const dir = tempDir('jukigw-audit-cli-');
const certFile = join(dir.path, 'signing.pem');
const otherCert = join(dir.path, 'other.pem');

beforeAll(async () => {
  const signer = await testSigner();
  writeFileSync(certFile, toPem(signer.certificateDer));
  writeFileSync(otherCert, toPem((await testSigner('CN=other')).certificateDer));
  const db = await openApplianceDb(join(dir.path, 'db'));
  const log = await createAuditLog({ db, signer, checkpointEvery: 10, checkpointSeconds: 3600 });
  for (let i = 1; i <= 30; i++) {
    await log.append(lookup(i, { at: i <= 20 ? `2017-01-01T00:00:${String(i).padStart(2, '0')}+09:00` : undefined }));
    if (i % 10 === 0) await log.checkpoint();
  }
  await log.close();
  await db.close();
});
afterAll(() => dir.cleanup());

describe('juki-gw audit', () => {
  it('verify passes on an intact log, pinned to the signing certificate', async () => {
    const r = await cli('verify', '--data-dir', dir.path, '--cert', certFile);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^audit log ok: 30 entries \(1\.\.30\), 3 checkpoints, last signed 30, 0 unsigned; signers .* \(pinned\)/);
  });

  it('verify fails when pinned to another certificate', async () => {
    const r = await cli('verify', '--data-dir', dir.path, '--cert', otherCert);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/first bad entry 10: bad_checkpoint — checkpoint 10: signed by an untrusted key/);
  });

  it('export writes the closed segment, which verifies on its own', async () => {
    const out = join(dir.path, 'seg.jsonl');
    const r = await cli('export', '--data-dir', dir.path, '--before', '2018-01-01', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/exported entries 1\.\.20 \(20 entries, 2 checkpoints\)/);
    const v = await cli('verify', '--segment', out, '--cert', certFile);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/segment ok: entries 1\.\.20, 2 checkpoints/);
    expect((await cli('export', '--data-dir', dir.path, '--before', '2018-01-01', '--out', out)).code).toBe(1);
  });

  it('verify names the first bad entry after tampering, with exit code 1', async () => {
    const db = await openApplianceDb(join(dir.path, 'db'));
    const store = auditStore(db);
    const e = (await store.get('e/0000000000000017')) as AuditEntry;
    await store.put('e/0000000000000017', { ...e, event: { ...e.event, dutyCode: 'X99' } });
    await db.close();
    const r = await cli('verify', '--data-dir', dir.path);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^audit log BROKEN: first bad entry 17: changed/);
    expect(r.stdout).toMatch(/NOT pinned/);
    const json = JSON.parse((await cli('verify', '--data-dir', dir.path, '--json')).stdout);
    expect(json.firstBad).toMatchObject({ seq: 17, reason: 'changed' });
  });

  it('usage errors are precise', async () => {
    expect((await cli('frobnicate')).code).toBe(2);
    const r = await cli('export', '--data-dir', dir.path, '--before', 'yesterday-ish', '--out', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--before: "yesterday-ish" is not a date/);
    const missing = await cli('verify', '--data-dir', join(dir.path, 'nope'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no appliance database at/);
  });
});

describe('juki-gw audit prune', () => {
  const d = tempDir('jukigw-audit-prune-');
  afterAll(() => d.cleanup());

  it('prunes exported entries past retention with the configured signer; verify --config stays clean', async () => {
    const configFile = join(d.path, 'juki-gw.yaml');
    writeFileSync(configFile, `municipalities: ['242012']\ndataDir: ${d.path}\nhsm:\n  kind: software\naudit:\n  retentionYears: 7\n`);
    const { createSigner } = await import('../../../hsm/index.js');
    const { loadConfig } = await import('../../../config/load.js');
    const loaded = loadConfig(configFile);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const signer = await createSigner(loaded.config.hsm, { dataDir: d.path });
    const db = await openApplianceDb(join(d.path, 'db'));
    const log = await createAuditLog({ db, signer, checkpointEvery: 1000, checkpointSeconds: 3600 });
    for (let i = 1; i <= 12; i++) {
      await log.append(lookup(i, { at: i <= 8 ? '2015-05-01T09:00:00+09:00' : undefined }));
      if (i === 8 || i === 12) await log.checkpoint();
    }
    await log.close();
    await db.close();
    await signer.close();

    expect((await cli('prune', '--config', configFile, '--now', '2026-11-24')).stdout).toMatch(/nothing pruned: nothing exported yet/);
    expect((await cli('export', '--data-dir', d.path, '--before', '2020-01-01', '--out', join(d.path, 'old.jsonl'))).code).toBe(0);
    const p = await cli('prune', '--config', configFile, '--now', '2026-11-24');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/pruned 8 entries through 8/);
    const v = await cli('verify', '--config', configFile);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/4 entries \(9\.\.12\).*pruned through 8.*\(pinned\)/);
  });
});
