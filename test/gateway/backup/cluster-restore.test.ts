// The backup side of a cluster node's catch-up (docs/cluster.md, "A node behind compaction"): the
// signed manifest names the log position the store reflects; restoring for a cluster node replaces
// only its store (and gives it the installation's KEK when it has none), and refuses a backup without
// a position, a manifest with a bad one, and a node whose KEK is another installation's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenSigner } from '../../../hsm/index.js';
import { APPLIED_KEY } from '../../../cluster/keys.js';
import { openApplianceDb } from '../../../platform/store/db.js';
import { KEK_FILE } from '../../../gateway/crypto/index.js';
import { createBackup, restoreClusterStore, signParts, verifyBackup, type Part } from '../../../gateway/backup/index.js';
import { sealContainer } from '../../../gateway/backup/container.js';
import { testSigner } from '../audit/audit-helpers.js';
import { digest } from '../../helpers/cluster-node.js';
import { tempDir } from '../../helpers/tmp.js';

const tmp = tempDir('jukigw-cluster-restore-');
let signer: TokenSigner;

/** A data dir as a node holds it: a store (with a log position unless `applied` is undefined), the KEK, a file of its own. */
async function dataDir(name: string, applied: number | undefined, kek: Buffer): Promise<string> {
  const dir = join(tmp.path, name);
  const db = await openApplianceDb(join(dir, 'db'));
  try {
    for (let i = 0; i < 50; i++) await db.put(`!t!${name}-${i}`, Buffer.alloc(64, i));
    if (applied !== undefined) await db.put(APPLIED_KEY, Buffer.from(String(applied)));
  } finally {
    await db.close();
  }
  mkdirSync(join(dir, 'keys'), { recursive: true });
  writeFileSync(join(dir, KEK_FILE), kek, { mode: 0o600 });
  mkdirSync(join(dir, 'hsm'));
  writeFileSync(join(dir, 'hsm', 'own.cert.pem'), `${name}'s own certificate`);
  return dir;
}

async function storeDigest(dir: string): Promise<string> {
  const db = await openApplianceDb(join(dir, 'db'));
  try {
    return await digest(db);
  } finally {
    await db.close();
  }
}

const kek = Buffer.alloc(32, 7);

beforeAll(async () => {
  signer = await testSigner('CN=juki-gw active node');
});
afterAll(() => tmp.cleanup());

describe('backup restore for a cluster node', () => {
  it('the manifest names the log position of the store; a new node gets the store and the KEK, a lagging one only the store', async () => {
    const active = await dataDir('active', 42, kek);
    const made = await createBackup({ dataDir: active, signer, plaintext: true });
    expect(made.clusterApplied).toBe(42);
    const backup = verifyBackup(made.file, { trust: [] });
    expect(backup.manifest.cluster).toEqual({ applied: 42 });

    const fresh = join(tmp.path, 'new-node');
    expect(await restoreClusterStore(backup, fresh)).toEqual({ records: 51, applied: 42, kekWritten: true });
    expect(readdirSync(fresh).sort()).toEqual(['db', 'keys']);
    expect(readFileSync(join(fresh, KEK_FILE))).toEqual(kek);
    expect(await storeDigest(fresh)).toBe(await storeDigest(active));

    const lagging = await dataDir('lagging', 7, kek);
    const r = await restoreClusterStore(backup, lagging);
    expect(r).toMatchObject({ records: 51, applied: 42, kekWritten: false });
    expect(r.movedAside).toMatch(/lagging\.pre-restore-db-\d+$/);
    expect(await storeDigest(lagging)).toBe(await storeDigest(active));
    expect(readFileSync(join(lagging, 'hsm', 'own.cert.pem'), 'utf8')).toBe("lagging's own certificate");
    expect(readdirSync(lagging).sort()).toEqual(['db', 'hsm', 'keys']);
  });

  it('refuses a single-box backup, a bad position in the manifest, and a node with another KEK — writing nothing', async () => {
    const single = await dataDir('single', undefined, kek);
    const made = await createBackup({ dataDir: single, signer, plaintext: true });
    expect(made.clusterApplied).toBeUndefined();
    const target = join(tmp.path, 'target-single');
    await expect(restoreClusterStore(verifyBackup(made.file), target)).rejects.toThrow(
      'this backup names no cluster log position: it was not taken on a cluster node (take it on the active node: juki-gw backup create there)',
    );
    expect(existsSync(target)).toBe(false);

    const parts: Part[] = [{ name: 'db.records', kind: 'db', mode: 0o600, data: Buffer.alloc(0) }];
    for (const bad of [-1, 1.5]) {
      const file = sealContainer(await signParts(parts, signer, new Date(), bad));
      expect(() => verifyBackup(file)).toThrow('manifest: cluster.applied is not a log position (a whole number, 0 or more)');
    }

    const other = await dataDir('other-installation', 3, Buffer.alloc(32, 8));
    const before = await storeDigest(other);
    const active = await dataDir('active-2', 9, kek);
    const backup = verifyBackup((await createBackup({ dataDir: active, signer, plaintext: true })).file);
    await expect(restoreClusterStore(backup, other)).rejects.toThrow(
      `${join(other, KEK_FILE)} differs from the KEK in the backup: the nodes of a cluster share one key-encryption key (the store's data keys are wrapped by it), so this data dir is not a node of the installation the backup comes from`,
    );
    expect(await storeDigest(other)).toBe(before);
    expect(readdirSync(other).sort()).toEqual(['db', 'hsm', 'keys']);
  });
});
