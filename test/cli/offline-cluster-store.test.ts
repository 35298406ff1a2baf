// An offline command on a cluster node's data dir: the node's store follows the replicated log, so a
// write made there with the node stopped would reach this node only. The command refuses to write and
// says what to do; reading still works.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openApplianceDb } from '../../platform/store/db.js';
import { clusterFixture, digest, startNode } from '../helpers/cluster-node.js';
import { jukiGw } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

describe('offline commands on a cluster node store (real etcd, three members)', () => {
  const c = clusterFixture();

  it('import refuses to write, names the cause and writes nothing; queue list still reads', async () => {
    const dataDir = tempDir('jukigw-offline-cluster-');
    const store = { path: join(dataDir.path, 'db'), cleanup: () => rmSync(dataDir.path, { recursive: true, force: true }) };
    const a = await startNode(c.etcd.endpoints, 'a', { prefix: '/off', leaseTtlSeconds: 5 }, store);
    c.nodes.push(a);
    await until(() => a.node.role === 'leader', 20_000, 'a leads');
    for (let i = 0; i < 5; i++) await a.node.port.commit([{ type: 'put', key: `!t!${i}`, value: Buffer.from(`v${i}`) }], { sync: true });
    await until(() => a.node.applied === 5, 20_000, 'a applied its commits');
    await a.stop();

    const before = await digestOf(store.path);
    const env = { ...process.env, JUKIGW_dataDir: dataDir.path };
    const imported = await jukiGw(['import', '--generate', 'tsu', '--count', '3', '--data-dir', dataDir.path], { env });
    expect(imported.code, imported.stderr).not.toBe(0);
    expect(imported.stderr).toContain(
      `juki-gw import: ${store.path} is the store of a cluster node (it has applied the replicated log up to 5)`,
    );
    expect(imported.stderr).toContain('Nothing was written.');
    expect(imported.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(await digestOf(store.path)).toBe(before);

    const listed = await jukiGw(['queue', 'list'], { env });
    expect(listed.code, listed.stderr).toBe(0);
  }, 120_000);
});

async function digestOf(path: string): Promise<string> {
  const db = await openApplianceDb(path);
  try {
    return await digest(db);
  } finally {
    await db.close();
  }
}
