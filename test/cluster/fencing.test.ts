// Split brain: a node whose lease ended in etcd, but which has not noticed yet, commits nothing once
// the other node leads (the fencing compare on the leader key's create revision fails in etcd); and
// a node cut off from etcd while still running acknowledges nothing and applies nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { Election } from '../../cluster/election.js';
import { NotLeaderError } from '../../cluster/errors.js';
import { clusterKeys } from '../../cluster/keys.js';
import { ClusterNode } from '../../cluster/node.js';
import { ReplicatedLog } from '../../cluster/replicatedLog.js';
import { Session } from '../../cluster/session.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const put = (key: string, text: string) => ({ type: 'put' as const, key, value: Buffer.from(text) });

describe('cluster fencing (real etcd, three members)', () => {
  let etcd: EtcdCluster;
  let admin: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcdCluster();
    admin = new Etcd3({ hosts: etcd.endpoints });
  });
  afterAll(async () => {
    admin?.close();
    await etcd?.stop();
  });

  it('an old leader whose lease ended in etcd cannot append a single entry after the new leader won', async () => {
    const keys = clusterKeys('/fence1');
    const clientA = new Etcd3({ hosts: etcd.endpoints });
    const clientB = new Etcd3({ hosts: etcd.endpoints });
    const sessionA = await Session.open(clientA, 30);
    const sessionB = await Session.open(clientB, 30);
    try {
      const fenceA = await new Election(clientA, keys.leader, 'a', 'a:1').campaign(sessionA);
      const logA = new ReplicatedLog(clientA, keys, fenceA, 1, async () => undefined);
      await logA.append(Buffer.from('first'));

      // A's lease ends in etcd; A's own renewals have not told it yet (its TTL is 30 s).
      await admin.leaseClient.leaseRevoke({ ID: sessionA.leaseId });
      const fenceB = await new Election(clientB, keys.leader, 'b', 'b:1').campaign(sessionB);
      expect(BigInt(fenceB.token)).toBeGreaterThan(BigInt(fenceA.token));
      expect(sessionA.alive).toBe(true);

      const stale = await Promise.allSettled([logA.append(Buffer.from('split-1')), logA.append(Buffer.from('split-2'))]);
      for (const r of stale) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(NotLeaderError);
        expect(String((r as PromiseRejectedResult).reason)).toContain(`create revision ${fenceA.token}`);
      }
      expect(await admin.getAll().prefix(keys.logPrefix).keys()).toEqual([keys.entry(1)]);
      expect(await ReplicatedLog.head(admin, keys)).toBe(1);

      // The new leader continues the log right after what the old one committed.
      const logB = new ReplicatedLog(clientB, keys, fenceB, 2, async () => undefined);
      await logB.append(Buffer.from('second'));
      expect(await admin.getAll().prefix(keys.logPrefix).keys()).toEqual([keys.entry(1), keys.entry(2)]);
    } finally {
      await sessionA.close();
      await sessionB.close();
      clientA.close();
      clientB.close();
    }
  });

  describe('partition', () => {
    const dirs = [tempDir(), tempDir()];
    let dbA: Db;
    let dbB: Db;
    let proxies: TcpProxy[] = [];
    let clientA: Etcd3;
    let clientB: Etcd3;
    let a: ClusterNode;
    let b: ClusterNode;
    afterAll(async () => {
      for (const p of proxies) p.thaw();
      await a?.stop();
      await b?.stop();
      clientA?.close();
      clientB?.close();
      for (const p of proxies) await p.close();
      await dbA?.close();
      await dbB?.close();
      for (const d of dirs) d.cleanup();
    });

    it('the active node cut off from etcd, still running, acknowledges nothing and applies nothing; the other node takes over', async () => {
      proxies = await Promise.all(
        etcd.members.map((m) => {
          const u = new URL(m.clientUrl);
          return startTcpProxy({ host: u.hostname, port: Number(u.port) });
        }),
      );
      clientA = new Etcd3({ hosts: proxies.map((p) => p.url) });
      clientB = new Etcd3({ hosts: etcd.endpoints });
      dbA = await openApplianceDb(dirs[0]!.path);
      dbB = await openApplianceDb(dirs[1]!.path);
      const common = { prefix: '/fence2', leaseTtlSeconds: 2, bounds: { alarmEntries: 1000, alarmBytes: 1 << 30 } };
      a = new ClusterNode({ ...common, client: clientA, db: dbA, nodeId: 'a', advertise: 'a:1' });
      b = new ClusterNode({ ...common, client: clientB, db: dbB, nodeId: 'b', advertise: 'b:1' });
      await a.start();
      await until(() => a.role === 'leader', 20_000, 'a leads');
      await b.start();
      await until(() => b.role === 'standby', 20_000, 'b follows');
      await a.port.commit([put('!t!before', 'acked')], { sync: true });

      for (const p of proxies) p.freeze();
      const cutOff = [a.port.commit([put('!t!cut1', 'x')], { sync: true }), a.port.commit([put('!t!cut2', 'x')], { sync: true })];
      const settled = Promise.allSettled(cutOff);

      await until(() => b.role === 'leader', 30_000, 'b takes over');
      await until(() => a.role === 'standby', 30_000, 'a notices it lost its lease');
      await expect(a.port.commit([put('!t!after', 'x')], { sync: true })).rejects.toBeInstanceOf(NotLeaderError);

      for (const p of proxies) p.thaw();
      for (const r of await settled) expect(r.status).toBe('rejected');
      for (const key of ['!t!cut1', '!t!cut2', '!t!after']) {
        expect(await dbA.get(key)).toBeUndefined();
        expect(await dbB.get(key)).toBeUndefined();
      }
      expect(Buffer.from((await dbB.get('!t!before'))!).toString()).toBe('acked');

      // The old leader follows the new one from here.
      await b.port.commit([put('!t!new', 'from b')], { sync: true });
      await until(async () => (await dbA.get('!t!new')) !== undefined, 20_000, "a applies b's entry");
    });
  });
});
