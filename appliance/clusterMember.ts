// Cluster mode (docs/cluster.md): this process is one of two appliance nodes. It opens its store with
// the cluster node's replicated port, then waits as standby — its store follows the log, its MQTT
// listeners refuse CONNECT with "server unavailable", its admin port answers not-ready — until it wins
// the election. Only then do the components start, over the same store: every write from then on is
// in etcd's log before it is applied here and before anything that depends on it goes out.
// Losing the leadership ends the process (fail-stop, see `ended`): the components would otherwise run
// on with every write refused; systemd restarts it, as standby.
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { ReadinessCheck } from '../broker/admin/checks.js';
import { startAdminServer } from '../broker/admin/server.js';
import type { ClusterConfig } from '../config/schema/cluster.js';
import type { ApplianceConfig } from '../config/schema/index.js';
import { COPY_HOLD_SECONDS } from '../cluster/compaction.js';
import { etcdClient } from '../cluster/etcdClient.js';
import { LogCompactedError } from '../cluster/applier.js';
import { ClusterNode, type Role } from '../cluster/node.js';
import type { ClusterService } from '../admin-ui/services.js';
import type { AuditLog } from '../gateway/audit/index.js';
import type { Logger } from '../platform/log/logger.js';
import { openApplianceDb, type Db } from '../platform/store/db.js';
import { catchUpAdvice } from './catchUpAdvice.js';
import { observeCluster } from './clusterStatus.js';
import type { ApplianceParts } from './parts.js';
import { startStandbyRefuser } from './standbyRefuser.js';

export interface ClusterMemberNeeds {
  config: ApplianceConfig;
  /** The configuration's `cluster` section. */
  cluster: ClusterConfig;
  logger: Logger;
  registry: Registry;
  /** Starts the components over `db` once this node leads; `checks` join its /readyz, `cluster` is shown in the UI. */
  lead(db: Db, checks: ReadinessCheck[], cluster: ClusterService): Promise<{ parts: ApplianceParts; close(): Promise<void> }>;
}

export interface ClusterMember {
  parts: ApplianceParts;
  close(): Promise<void>;
  /** Resolves with the reason when this node stops leading: the caller ends the process. */
  ended: Promise<string>;
}

function auditRole(
  auditLog: AuditLog | undefined,
  nodeId: string,
  role: Role,
  why: string,
  applied: number,
  logger: Logger,
): Promise<void> {
  if (!auditLog) return Promise.resolve();
  return auditLog
    .append({
      actor: { kind: 'appliance', id: nodeId },
      action: 'cluster.role',
      outcome: 'ok',
      code: role,
      detail: { nodeId, why: why.slice(0, 512), applied },
    })
    .then(
      () => undefined,
      (e: Error) => logger.warn({ err: e.message, role }, 'cluster: role change not audited'),
    );
}

export async function startClusterMember({ config, cluster: c, logger, registry, lead }: ClusterMemberNeeds): Promise<ClusterMember> {
  const log = logger.child({ component: 'cluster', nodeId: c.nodeId });
  const client = etcdClient(c.etcd);
  let node: ClusterNode | undefined;
  const db = await openApplianceDb(join(config.dataDir, 'db'), {
    sync: config.broker.syncWrites,
    port: (opened) => {
      node = new ClusterNode({
        client,
        db: opened,
        nodeId: c.nodeId,
        advertise: c.advertise,
        prefix: c.etcd.prefix,
        leaseTtlSeconds: c.leaseTtlSeconds,
        bounds: c.log,
        // This process ends when it stops leading; it must not lead again meanwhile (see failStop).
        failStop: true,
        onAlarm: (a) =>
          log.warn(
            { entries: a.entries, bytes: a.bytes, bounds: a.bounds },
            'cluster: replicated log over its bounds (a node is not applying)',
          ),
      });
      return node.port;
    },
  });
  if (!node) {
    await db.close();
    throw new Error("the store was opened without the cluster node's port");
  }
  const member: ClusterNode = node;
  const observer = observeCluster(member, client, c, registry);
  member.onRoleChange((role, why) => log.info({ role, why, applied: member.applied }, `cluster: this node is now ${role}`));
  const release = async () => {
    await member.stop();
    observer.close();
    client.close();
    await db.close();
  };

  // Standby: refuse MQTT clients, answer the admin port, follow the log until this node wins.
  let role: Role;
  try {
    const refuser = await startStandbyRefuser(config, logger);
    const admin = await startAdminServer({ host: config.admin.host, port: config.admin.port, registry, checks: [observer.check] }).catch(
      async (e: unknown) => {
        await refuser.close();
        throw e;
      },
    );
    let following = false;
    const decided = new Promise<Role>((resolve) =>
      member.onRoleChange((r) => {
        if (r === 'standby' && !following) {
          following = true;
          log.info(
            { listeners: config.listeners.map((l) => l.name), admin: admin.address(), applied: member.applied },
            'cluster: standby until this node wins the election',
          );
        }
        if (r === 'leader' || r === 'failed' || r === 'stopped') resolve(r);
      }),
    );
    await member.start();
    // Where this store stands in the log (a store restored from a backup: the backup's position); nothing at or before it is applied again.
    log.info(
      { applied: member.applied },
      `cluster: this node's store has applied the log up to ${member.applied}; it reads on from ${member.applied + 1}`,
    );
    role = await decided;
    await refuser.close();
    await admin.close();
  } catch (e) {
    await release();
    throw e;
  }
  if (role !== 'leader') {
    let why = member.failure?.message ?? role;
    if (member.failure instanceof LogCompactedError)
      why += `; ${catchUpAdvice(config.dataDir, config.hsm.keyLabel, await member.leader().catch(() => undefined))}`;
    await release();
    throw new Error(`cluster node ${c.nodeId} stopped before leading: ${why}`);
  }

  let ended!: (why: string) => void;
  const endedPromise = new Promise<string>((r) => {
    ended = r;
  });
  let app: { parts: ApplianceParts; close(): Promise<void> };
  try {
    app = await lead(db, [observer.check], {
      status: async () => {
        const st = await observer.status();
        return { nodeId: st.nodeId, role: st.role, applied: st.applied, lag: st.lag ?? null, members: st.members, log: st.log ?? null };
      },
      // The process ends on the loss of leadership that follows (fail-stop) and comes back as standby.
      switchover: () => member.resign(),
      holdLogForCopy: () => member.holdLogForCopy(COPY_HOLD_SECONDS),
    });
  } catch (e) {
    await release();
    throw e;
  }
  await auditRole(app.parts.auditLog, c.nodeId, 'leader', 'won the election', member.applied, log);
  member.onRoleChange((r, why) => {
    // Nothing is audited here: this node can no longer write (its port refuses); the new active node audits its takeover.
    if (r !== 'leader') {
      log.error({ role: r, why }, 'cluster: leadership lost; this process ends (fail-stop) and restarts as standby');
      ended(why);
    }
  });
  if (member.role !== 'leader') ended(`leadership lost while starting: ${member.failure?.message ?? member.role}`);
  return {
    parts: app.parts,
    ended: endedPromise,
    close: async () => {
      await app.close();
      await release();
    },
  };
}
