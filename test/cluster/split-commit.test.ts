// A commit larger than one etcd request goes into the log as consecutive parts and is applied only
// whole. When the active node loses its leadership between two parts, the parts already in the log
// are never applied on any node, the commit is refused to its caller, and the next leader goes on
// after them: both stores end identical, without a single write of the unfinished commit.
import { describe, expect, it } from 'vitest';
import { etcdClient } from '../../cluster/etcdClient.js';
import { clusterKeys, positionOf } from '../../cluster/keys.js';
import { MAX_ENTRY_BYTES } from '../../cluster/replicatedLog.js';
import { clusterFixture, digest, startNode } from '../helpers/cluster-node.js';
import { until } from '../helpers/until.js';

const keys = clusterKeys('/split');

describe('split commits (real etcd, three members)', () => {
  const c = clusterFixture();

  it('an unfinished split commit is applied nowhere; the next leader goes on after it', async () => {
    const settings = { prefix: '/split', leaseTtlSeconds: 3 };
    const a = await startNode(c.etcd.endpoints, 'a', settings);
    c.nodes.push(a);
    await until(() => a.node.role === 'leader', 20_000, 'a leads');
    const b = await startNode(c.etcd.endpoints, 'b', settings);
    c.nodes.push(b);
    await until(() => b.node.role === 'standby', 20_000, 'b follows');
    await a.node.port.commit([{ type: 'put', key: '!s!before', value: Buffer.from('1') }], { sync: true });
    const head = a.node.applied;

    // Sixteen parts of almost a full request each: one quorum round trip per part.
    const PARTS = 16;
    const value = (i: number) => Buffer.alloc(MAX_ENTRY_BYTES - 1024, i);
    const unfinished = Array.from({ length: PARTS }, (_, i) => ({ type: 'put' as const, key: `!s!part-${i}`, value: value(i) }));

    // As soon as the first part is in, the leader key goes (as when the lease runs out): the next
    // part's fenced transaction fails.
    const watcherClient = etcdClient({ endpoints: c.etcd.endpoints, prefix: '/split' });
    const watcher = await watcherClient.watch().key(keys.head).create();
    const cut = new Promise<void>((resolve) =>
      watcher.on('put', () => {
        void c.admin
          .delete()
          .key(keys.leader)
          .then(() => resolve());
      }),
    );
    const outcome = await a.node.port.commit(unfinished, { sync: true }).then(
      () => 'acknowledged',
      (e: Error) => e.message,
    );
    await cut;
    await watcher.cancel();
    watcherClient.close();
    expect(outcome).toMatch(/not the active node|outcome unknown/);
    const inLog = (await c.admin.getAll().prefix(keys.logPrefix).keys()).map(positionOf).filter((p) => p > head);
    expect(inLog.length).toBeGreaterThan(0);
    expect(inLog.length).toBeLessThan(PARTS);

    // Whoever leads now goes on after the parts; both nodes apply the new commit and nothing of the old.
    const leader = await until(() => [a, b].find((n) => n.node.role === 'leader' && n.node.port.writable), 30_000, 'a new leader');
    await leader.node.port.commit([{ type: 'put', key: '!s!after', value: Buffer.from('2') }], { sync: true });
    await until(() => a.node.applied === leader.node.applied && b.node.applied === leader.node.applied, 30_000, 'both applied');
    expect(leader.node.applied).toBeGreaterThan(head + inLog.length);
    for (const n of [a, b]) {
      expect(await n.db.keys({ gte: '!s!part-', lt: '!s!part.' }).all()).toEqual([]);
      expect(Buffer.from((await n.db.get('!s!after'))!).toString()).toBe('2');
    }
    expect(await digest(a.db)).toBe(await digest(b.db));
  }, 120_000);
});
