// Replication through the storage port: the active node commits thousands of ops in many commits,
// the standby's applier follows into its own LevelDB, and both end byte-for-byte equal, also when
// etcd's own Raft leader is killed mid-stream; an applier that restarts resumes at its applied
// position and applies nothing twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPLIED_KEY } from '../../cluster/applier.js';
import { ETCD_MAX_REQUEST_BYTES } from '../../cluster/replicatedLog.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { digest, startNode, type TestNode } from '../helpers/cluster-node.js';
import { until } from '../helpers/until.js';
import { recordWrites, type RecordedWrite } from '../helpers/write-recorder.js';

const value = (i: number) => Buffer.from(`value-${i}-`.padEnd(200, 'x'));

describe('cluster replication (real etcd, three members)', () => {
  let etcd: EtcdCluster;
  const nodes: TestNode[] = [];
  beforeAll(async () => {
    etcd = await startEtcdCluster();
  });
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    for (const n of nodes) n.dir.cleanup();
    await etcd?.stop();
  });

  it("the standby ends equal to the active node; killing etcd's leader member mid-stream loses nothing acknowledged", async () => {
    const a = await startNode(etcd.endpoints, 'a', { prefix: '/rep', leaseTtlSeconds: 5 });
    nodes.push(a);
    await until(() => a.node.role === 'leader', 20_000, 'a leads');
    const b = await startNode(etcd.endpoints, 'b', { prefix: '/rep', leaseTtlSeconds: 5 });
    nodes.push(b);
    await until(() => b.node.role === 'standby', 20_000, 'b follows');

    const acked = new Map<string, Buffer | null>();
    const refused: string[] = [];
    const COMMITS = 600;
    let killed = false;
    // 16 writers, each commit 6 ops: puts of new keys, an overwrite and a delete of an earlier key.
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let c = w; c < COMMITS; c += 16) {
          if (c === COMMITS / 2 && !killed) {
            killed = true;
            await etcd.kill(await etcd.leader());
          }
          const ops = [
            ...Array.from({ length: 4 }, (_, j) => ({ type: 'put' as const, key: `!t!k${c}-${j}`, value: value(c * 10 + j) })),
            { type: 'put' as const, key: `!t!last-${w}`, value: value(c) },
            ...(c >= 16 ? [{ type: 'del' as const, key: `!t!k${c - 16}-0` }] : []),
          ];
          for (;;) {
            // Whichever node leads takes the write (etcd losing its leader may also move ours).
            const active = [a, b].find((n) => n.node.port.writable) ?? a;
            try {
              await active.node.port.commit(ops, { sync: true });
              for (const op of ops) acked.set(op.key, op.type === 'put' ? op.value : null);
              break;
            } catch (e) {
              // Refused with a reason (etcd lost its leader in flight): not acknowledged, the writer retries.
              refused.push((e as Error).message);
              await until(() => a.node.port.writable || b.node.port.writable, 30_000, 'a node writable again');
            }
          }
        }
      }),
    );
    expect(killed).toBe(true);
    const stopped = etcd.members.find((m) => !m.process)!;
    await etcd.restart(stopped);

    await until(() => b.node.applied === a.node.applied, 30_000, 'both nodes at the same position');
    expect(a.node.applied).toBeGreaterThanOrEqual(COMMITS);
    for (const [key, v] of acked) {
      const got = await b.db.get(key);
      if (v === null) expect(got, key).toBeUndefined();
      else expect(Buffer.from(got!).equals(v), key).toBe(true);
    }
    expect(await digest(b.db)).toBe(await digest(a.db));
    for (const why of refused) expect(why).toMatch(/outcome unknown|not the active node/);
  });

  it('an applier that restarts resumes after its applied position and applies nothing twice', async () => {
    const a = nodes.find((n) => n.node.role === 'leader')!;
    const b = nodes.find((n) => n !== a)!;
    for (let i = 0; i < 50; i++) await a.node.port.commit([{ type: 'put', key: `!r!before-${i}`, value: value(i) }], { sync: true });
    await until(() => b.node.applied === a.node.applied, 30_000, 'b caught up');
    const appliedBefore = b.node.applied;
    const dir = b.dir;
    await b.stop();
    nodes.splice(nodes.indexOf(b), 1);

    for (let i = 0; i < 50; i++) await a.node.port.commit([{ type: 'put', key: `!r!while-down-${i}`, value: value(i) }], { sync: true });
    const recorder = recordWrites();
    try {
      const b2 = await startNode(etcd.endpoints, b.node.nodeId, { prefix: '/rep', leaseTtlSeconds: 5 }, dir);
      nodes.push(b2);
      await until(() => b2.node.applied === a.node.applied, 30_000, 'b restarted and caught up');
      const writes = recorder.trace.filter((t): t is RecordedWrite => t.kind === 'write' && t.location === dir.path);
      const keys = writes.flatMap((w) => w.ops.map((o) => o.key)).filter((k) => k !== APPLIED_KEY);
      expect(keys.filter((k) => k.startsWith('!r!before-'))).toEqual([]);
      expect(new Set(keys.filter((k) => k.startsWith('!r!while-down-'))).size).toBe(50);
      expect(keys.length).toBe(new Set(keys).size);
      expect(Buffer.from((await b2.db.get(APPLIED_KEY))!).toString()).toBe(String(appliedBefore + 50));
      expect(await digest(b2.db)).toBe(await digest(a.db));

      // One write (a single value) larger than an entry is refused before anything is written, and says why.
      const head = a.node.applied;
      await expect(
        a.node.port.commit([{ type: 'put', key: '!r!huge', value: Buffer.alloc(ETCD_MAX_REQUEST_BYTES) }], { sync: true }),
      ).rejects.toThrow(/one write of \d+ bytes exceeds what one etcd request carries \(\d+ bytes for an entry\); nothing written/);
      // A commit of many writes larger than one request is split into parts and applied whole on both nodes.
      const split = Array.from({ length: 40 }, (_, i) => ({
        type: 'put' as const,
        key: `!r!split-${String(i).padStart(2, '0')}`,
        value: Buffer.alloc(100 * 1024, i),
      }));
      await a.node.port.commit(split, { sync: true });
      expect(a.node.applied).toBeGreaterThan(head + 1);
      await until(() => b2.node.applied === a.node.applied, 30_000, 'b applies the split commit');
      for (const db of [a.db, b2.db]) expect((await db.keys({ gte: '!r!split-', lt: '!r!split.' }).all()).length).toBe(40);
      // Just under it passes, also several at once (each its own transaction), and the standby applies them.
      const big = (i: number) => Buffer.alloc(ETCD_MAX_REQUEST_BYTES - 100 * 1024, i);
      const afterSplit = a.node.applied;
      await Promise.all([1, 2, 3].map((i) => a.node.port.commit([{ type: 'put', key: `!r!big-${i}`, value: big(i) }], { sync: true })));
      expect(a.node.applied).toBe(afterSplit + 3);
      expect(await a.db.get('!r!huge')).toBeUndefined();
      await until(() => b2.node.applied === a.node.applied, 30_000, 'b applies the big commits');
      expect(Buffer.from((await b2.db.get('!r!big-3'))!).equals(big(3))).toBe(true);

      // A standby that was down while big commits were made reads them in one page when it comes back.
      await b2.stop();
      nodes.splice(nodes.indexOf(b2), 1);
      await Promise.all([4, 5, 6].map((i) => a.node.port.commit([{ type: 'put', key: `!r!big-${i}`, value: big(i) }], { sync: true })));
      const b3 = await startNode(etcd.endpoints, b.node.nodeId, { prefix: '/rep', leaseTtlSeconds: 5 }, dir);
      nodes.push(b3);
      await until(() => b3.node.applied === a.node.applied, 30_000, 'b comes back and applies the big commits made while it was down');
      expect(await digest(b3.db)).toBe(await digest(a.db));
    } finally {
      recorder.stop();
    }
  });
});
