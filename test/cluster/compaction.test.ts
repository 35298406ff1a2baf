// Compaction: the active node deletes the log entries every live node has applied, and no others;
// the log's size is counted and an alarm is raised over its bound.
import { describe, expect, it } from 'vitest';
import { appliedPositions, Compactor, heldPositions, holdLog, publishApplied, type LogAlarm } from '../../cluster/compaction.js';
import { Election } from '../../cluster/election.js';
import { clusterKeys, positionOf } from '../../cluster/keys.js';
import { ReplicatedLog } from '../../cluster/replicatedLog.js';
import { Session } from '../../cluster/session.js';
import { clusterFixture, startNode } from '../helpers/cluster-node.js';
import { until } from '../helpers/until.js';

const keys = clusterKeys('/cmp');

describe('cluster log compaction (real etcd, three members)', () => {
  const c = clusterFixture();

  const logPositions = async () => (await c.admin.getAll().prefix(keys.logPrefix).keys()).map(positionOf);

  it('deletes only what every live node has applied; counts the log; alarms over the bound', async () => {
    const alarms: LogAlarm[] = [];
    const settings = {
      prefix: '/cmp',
      leaseTtlSeconds: 5,
      compactEveryMs: 100,
      compactGraceMs: 0,
      bounds: { alarmEntries: 20, alarmBytes: 1 << 30 },
      onAlarm: (a: LogAlarm) => alarms.push(a),
    };
    const a = await startNode(c.etcd.endpoints, 'a', settings);
    c.nodes.push(a);
    await until(() => a.node.role === 'leader', 20_000, 'a leads');
    const b = await startNode(c.etcd.endpoints, 'b', settings);
    c.nodes.push(b);
    await until(() => b.node.role === 'standby', 20_000, 'b follows');

    const commit = (i: number) => a.node.port.commit([{ type: 'put', key: `!t!${i}`, value: Buffer.alloc(100, i) }], { sync: true });
    for (let i = 0; i < 10; i++) await commit(i);

    // A third, lagging node: live (its key is bound to its lease) and applied up to 10.
    const lagging = await Session.open(c.admin, 30);
    try {
      await publishApplied(c.admin, keys, 'c', lagging.leaseId, 10);
      for (let i = 10; i < 40; i++) await commit(i);
      await until(async () => (await appliedPositions(c.admin, keys)).get('b') === 40, 20_000, 'b publishes 40');
      expect([...(await appliedPositions(c.admin, keys)).keys()].sort()).toEqual(['a', 'b', 'c']);

      await until(async () => (await logPositions())[0] === 11, 20_000, 'entries 1..10 compacted');
      expect(await logPositions()).toEqual(Array.from({ length: 30 }, (_, i) => 11 + i));
      // The compactor counts the deletion once etcd has answered it; another client can see it first.
      await until(() => a.node.logSize?.entries === 30, 20_000, 'the deletion counted');
      const stored = await c.admin.getAll().prefix(keys.logPrefix).buffers();
      expect(a.node.logSize!.bytes).toBe(Object.values(stored).reduce((n, v) => n + v.length, 0));
      await until(() => alarms.at(-1)?.entries === 30, 20_000, 'an alarm over 20 entries');
      expect(alarms.at(-1)).toMatchObject({ bytes: a.node.logSize!.bytes, bounds: { alarmEntries: 20 } });
      expect(alarms.every((x) => x.entries > 20)).toBe(true);
      expect(b.node.logSize).toBeUndefined();

      // The lagging node catches up to 25: entries up to 25 go, the rest stays.
      await publishApplied(c.admin, keys, 'c', lagging.leaseId, 25);
      await until(async () => (await logPositions())[0] === 26, 20_000, 'entries up to 25 compacted');
      expect(await logPositions()).toHaveLength(15);
    } finally {
      await lagging.close();
    }

    // Gone (its lease ended; no grace here): it no longer holds the log back.
    await until(async () => (await logPositions()).length === 0, 20_000, 'log empty once every live node applied all');
    await until(() => a.node.logSize?.entries === 0, 20_000, 'the deletion counted');
    expect(a.node.logSize).toEqual({ entries: 0, bytes: 0 });
    expect(await ReplicatedLog.head(c.admin, keys)).toBe(40);
    await commit(40);
    await until(() => b.node.applied === 41, 20_000, 'b applies position 41 after compaction');
    expect(Buffer.from((await b.db.get('!t!40'))!)).toEqual(Buffer.alloc(100, 40));

    // b is down (its lease went with it) while the log is compacted past its position: on restart
    // it refuses to go on from a gap, names it, and neither campaigns nor serves as a current copy.
    await b.stop();
    c.nodes.splice(c.nodes.indexOf(b), 1);
    for (let i = 41; i < 45; i++) await commit(i);
    await until(async () => (await logPositions()).length === 0, 20_000, 'entries 42..45 compacted without b');
    const b2 = await startNode(c.etcd.endpoints, 'b', settings, b.dir);
    c.nodes.push(b2);
    await until(() => b2.node.role === 'failed', 20_000, 'b refuses the gap');
    expect(b2.node.failure?.message).toBe(
      'this node applied the log up to 41 but the log now starts at 46: entries 42..45 were compacted away; this node needs a full copy from the active node',
    );
    expect(await b2.db.get('!t!41')).toBeUndefined();
    expect(a.node.role).toBe('leader');
  });

  it('a node seen while compaction is held after a takeover, which vanishes at the end of the hold, keeps the grace period', async () => {
    // A node that took over holds compaction for one grace period; the standby's position it reads
    // meanwhile must count like any other sighting, or a standby stopped as the hold ends (restarted,
    // or paused) loses its next entries to the first compaction and needs a full copy.
    const k = clusterKeys('/held');
    const session = await Session.open(c.admin, 30);
    const standby = await Session.open(c.admin, 30);
    try {
      const fence = await new Election(c.admin, k.leader, 'a', 'a:1').campaign(session);
      const log = new ReplicatedLog(c.admin, k, fence, 1, async () => undefined);
      for (let i = 0; i < 20; i++) await log.append(Buffer.from(`e${i}`));
      await publishApplied(c.admin, k, 'b', standby.leaseId, 5);
      const heldUntil = Date.now() + 500;
      const compactor = new Compactor(c.admin, k, fence, 3_600_000, undefined, heldUntil);
      expect(await compactor.compact(20)).toBe(0); // held
      await standby.close(); // its applied key vanishes with its lease
      await until(() => Date.now() > heldUntil, 5_000, 'the hold over');
      expect(await compactor.compact(20)).toBe(5);
      expect((await c.admin.getAll().prefix(k.logPrefix).keys()).map(positionOf)[0]).toBe(6);
    } finally {
      await standby.close();
      await session.close();
    }
  });

  it('a node that vanished keeps holding the log back for the grace period, then no longer', async () => {
    const k = clusterKeys('/grace');
    const session = await Session.open(c.admin, 30);
    const lagging = await Session.open(c.admin, 30);
    try {
      const fence = await new Election(c.admin, k.leader, 'a', 'a:1').campaign(session);
      const log = new ReplicatedLog(c.admin, k, fence, 1, async () => undefined);
      for (let i = 0; i < 20; i++) await log.append(Buffer.from(`e${i}`));
      await publishApplied(c.admin, k, 'c', lagging.leaseId, 5);
      const withGrace = new Compactor(c.admin, k, fence, 3_600_000);
      const noGrace = new Compactor(c.admin, k, fence, 0);
      expect(await withGrace.compact(20)).toBe(5);
      expect(await noGrace.compact(20)).toBe(5);
      await lagging.close(); // its applied key vanishes with its lease
      expect(await appliedPositions(c.admin, k)).toEqual(new Map());
      expect(await withGrace.compact(20)).toBe(5);
      expect((await c.admin.getAll().prefix(k.logPrefix).keys()).map(positionOf)[0]).toBe(6);
      expect(await noGrace.compact(20)).toBe(20);
      expect(await c.admin.getAll().prefix(k.logPrefix).count()).toBe(0);
    } finally {
      await lagging.close();
      await session.close();
    }
  });

  it("a copy's hold (a backup to start a node from) keeps the log after its position until its lease ends", async () => {
    const k = clusterKeys('/hold');
    const session = await Session.open(c.admin, 30);
    try {
      const fence = await new Election(c.admin, k.leader, 'a', 'a:1').campaign(session);
      const log = new ReplicatedLog(c.admin, k, fence, 1, async () => undefined);
      for (let i = 0; i < 20; i++) await log.append(Buffer.from(`e${i}`));
      await holdLog(c.admin, k, 'copy-a-1', 5, 2);
      expect(await heldPositions(c.admin, k)).toEqual([5]);
      const compactor = new Compactor(c.admin, k, fence, 0);
      expect(await compactor.compact(20)).toBe(5);
      expect((await c.admin.getAll().prefix(k.logPrefix).keys()).map(positionOf)[0]).toBe(6);
      await until(async () => (await heldPositions(c.admin, k)).length === 0, 20_000, 'the hold ends with its lease');
      expect(await compactor.compact(20)).toBe(20);
      expect(await c.admin.getAll().prefix(k.logPrefix).count()).toBe(0);
    } finally {
      await session.close();
    }
  });
});
