// Configuration versions store: validation, atomic apply, history, diff, rollback, signed backups.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hsmSection } from '../../config/schema/hsm.js';
import { openConfigVersions, type ConfigVersions } from '../../config/versions.js';
import { lineDiff } from '../../config/versions-diff.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { createSigner } from '../../hsm/create-signer.js';
import type { Signer } from '../../hsm/types.js';
import type { Actor, ApplyPlan } from '../../admin-ui/services.js';
import { tempDir } from '../helpers/tmp.js';

const actor: Actor = { user: 'admin', role: 'admin', via: 'cli' };
const BASE = [
  '# test appliance',
  "municipalities: ['242012']",
  'listeners:',
  '  - { name: a, type: plain, host: 127.0.0.1, port: 18831 }',
  '  - { name: b, type: plain, host: 127.0.0.1, port: 18832 }',
  'systems:',
  '  - { id: rr-01, role: resident-register }',
  '',
].join('\n');

let dir: ReturnType<typeof tempDir>;
let db: Db;
let signer: Signer;
const applied: { plan: ApplyPlan; port: number }[] = [];
let refuse = false;

async function open(extra: Partial<Parameters<typeof openConfigVersions>[0]> = {}): Promise<ConfigVersions> {
  return openConfigVersions({
    db,
    initialText: BASE,
    signer,
    activeFile: join(dir.path, 'active.yaml'),
    applyLive: async (next, plan) => {
      if (refuse) throw new Error('listener b cannot bind');
      applied.push({ plan, port: next.listeners[1]!.port });
    },
    ...extra,
  });
}

beforeEach(async () => {
  dir = tempDir('jukigw-versions-');
  db = await openApplianceDb(join(dir.path, 'db'));
  signer = await createSigner(hsmSection.parse({ kind: 'software' }), { dataDir: dir.path });
  applied.length = 0;
  refuse = false;
});
afterEach(async () => {
  await signer.close();
  await db.close();
  dir.cleanup();
});

describe('configuration versions', () => {
  it('stores the running configuration as version 1 and validates changes at the exact path', async () => {
    const v = await open();
    expect((await v.current()).version).toBe(1);
    const r = await v.apply(BASE.replace('port: 18832', 'port: 70000'), actor);
    expect(r).toEqual({ ok: false, problems: [{ path: 'listeners[1].port', message: 'expected 1..65535' }] });
    expect((await v.versions()).map((x) => x.version)).toEqual([1]);
    expect(applied).toHaveLength(0);
  });

  it('applies a change as a new version, restarting only the changed listener, and survives reopening', async () => {
    const v = await open();
    const text = BASE.replace('port: 18832', 'port: 18833').replace(
      'role: resident-register }',
      'role: resident-register, enabled: false }',
    );
    const r = await v.apply(text, actor, 'move listener b');
    expect(r.ok && r.version.version).toBe(2);
    expect(r.ok && r.plan).toEqual({ changed: ['listeners', 'systems'], live: ['systems'], restartListeners: ['b'], restartRequired: [] });
    expect(applied).toEqual([{ plan: expect.objectContaining({ restartListeners: ['b'] }), port: 18833 }]);
    expect(readFileSync(join(dir.path, 'active.yaml'), 'utf8')).toBe(text);
    // Restarted with the unchanged file: the version applied through the UI is what runs.
    const again = await open();
    expect((await again.current()).text).toBe(text);
    expect(again.running().listeners[1]!.port).toBe(18833);
    expect((await again.versions()).map((x) => [x.version, x.author, x.comment])).toEqual([
      [2, 'admin', 'move listener b'],
      [1, 'system', 'configuration at first start'],
    ]);
  });

  it('records a configuration file edited outside the UI as the next version at start', async () => {
    await (await open()).apply(BASE.replace('port: 18832', 'port: 18860'), actor);
    const handEdited = BASE.replace('port: 18832', 'port: 18861');
    const v = await open({ initialText: handEdited });
    expect(await v.current()).toMatchObject({
      version: 3,
      author: 'system',
      comment: 'configuration file changed outside the UI',
      text: handEdited,
    });
    await v.rollback(2, actor);
    // The same file again: the UI's rollback (version 4) stays what runs.
    const after = await open({ initialText: handEdited });
    expect(await after.current()).toMatchObject({ version: 4, comment: 'rollback to version 2' });
    expect(after.running().listeners[1]!.port).toBe(18860);
    await expect(open({ initialText: 'municipalities: []\n' })).rejects.toThrow(
      'the running configuration is not valid: municipalities: serve at least one municipality code',
    );
  });

  it('does not store a version the running appliance refused, and restores the previous state', async () => {
    const v = await open();
    refuse = true;
    const r = await v.apply(BASE.replace('port: 18832', 'port: 18834'), actor);
    expect(r).toEqual({ ok: false, problems: [{ path: '(apply)', message: 'refused by the running appliance: listener b cannot bind' }] });
    expect((await v.current()).version).toBe(1);
  });

  it('diffs versions line by line and rolls back as a new version', async () => {
    const v = await open();
    await v.apply(BASE.replace('port: 18832', 'port: 18835'), actor);
    const d = await v.diff(1, 2);
    expect(d.filter((l) => l.op !== ' ')).toEqual([
      { op: '-', text: '  - { name: b, type: plain, host: 127.0.0.1, port: 18832 }', oldNo: 5 },
      { op: '+', text: '  - { name: b, type: plain, host: 127.0.0.1, port: 18835 }', newNo: 5 },
    ]);
    const r = await v.rollback(1, actor);
    expect(r.ok && [r.version.version, r.version.comment]).toEqual([3, 'rollback to version 1']);
    expect((await v.current()).text).toBe(BASE);
    expect((await v.rollback(9, actor)).ok).toBe(false);
    await expect(v.diff(1, 9)).rejects.toThrow('no configuration version 9');
  });

  it('serialises concurrent applies', async () => {
    const v = await open();
    const rs = await Promise.all([18840, 18841, 18842].map((p) => v.apply(BASE.replace('port: 18832', `port: ${p}`), actor)));
    expect(rs.map((r) => r.ok && r.version.version)).toEqual([2, 3, 4]);
    expect(v.running().listeners[1]!.port).toBe(18842);
  });

  it('exports a backup signed by the appliance key and imports it; altered or foreign backups are refused', async () => {
    const v = await open();
    await v.apply(BASE.replace('port: 18832', 'port: 18850'), actor);
    const doc = await v.exportSignedBackup!(actor);
    await v.apply(BASE, actor);
    const r = await v.importSignedBackup!(doc, actor);
    expect(r.ok && r.version.comment).toMatch(/^import of signed backup \(version 2 of /);
    expect(v.running().listeners[1]!.port).toBe(18850);

    const parsed = JSON.parse(doc);
    const payload = JSON.parse(Buffer.from(parsed.jws.payload, 'base64url').toString());
    payload.body.text = payload.body.text.replace('18850', '18851');
    const altered = JSON.stringify({
      ...parsed,
      jws: { ...parsed.jws, payload: Buffer.from(JSON.stringify(payload)).toString('base64url') },
    });
    expect(await v.importSignedBackup!(altered, actor)).toEqual({
      ok: false,
      problems: [{ path: '(backup)', message: 'signature does not verify (document altered or not ours)' }],
    });

    const otherDir = tempDir('jukigw-other-');
    const other = await createSigner(hsmSection.parse({ kind: 'software' }), { dataDir: otherDir.path });
    const otherDb = await openApplianceDb(join(otherDir.path, 'db'));
    const foreign = await (await openConfigVersions({ db: otherDb, initialText: BASE, signer: other })).exportSignedBackup!(actor);
    expect(await v.importSignedBackup!(foreign, actor)).toEqual({
      ok: false,
      problems: [{ path: '(backup)', message: 'signed by a certificate this appliance does not trust' }],
    });
    await other.close();
    await otherDb.close();
    otherDir.cleanup();
    expect((await v.importSignedBackup!('not json', actor)).ok).toBe(false);
  });

  it('offers no signed backup without a signer', async () => {
    const v = await openConfigVersions({ db, initialText: BASE });
    expect(v.exportSignedBackup).toBeUndefined();
    expect(v.importSignedBackup).toBeUndefined();
  });

  it('line diff keeps unchanged lines and orders removals before additions', () => {
    expect(lineDiff('a\nb\nc', 'a\nx\nc').map((l) => `${l.op}${l.text}`)).toEqual([' a', '-b', '+x', ' c']);
  });
});
