// What operators see of the cluster on this node (/readyz, /metrics, the UI, `juki-gw cluster`):
// its role, how far it applied the log, how far behind the log's head it is, and each etcd member's health.
import type { Etcd3 } from 'etcd3';
import { Gauge, type Registry } from 'prom-client';
import type { ReadinessCheck } from '../broker/admin/checks.js';
import type { ClusterConfig } from '../config/schema/cluster.js';
import { etcdClient } from '../cluster/etcdClient.js';
import type { ClusterNode, Role } from '../cluster/node.js';
import { ReplicatedLog } from '../cluster/replicatedLog.js';

const ROLES: Role[] = ['starting', 'standby', 'leader', 'stopped', 'failed'];
/** A member that does not answer its status call within this counts as down. */
const MEMBER_TIMEOUT_MS = 2000;

export interface ClusterStatus {
  nodeId: string;
  role: Role;
  applied: number;
  /** Last position in the log (undefined: etcd not reachable). */
  head: number | undefined;
  lag: number | undefined;
  members: { endpoint: string; healthy: boolean; detail: string }[];
  log: { entries: number; bytes: number } | undefined;
  failure: string | undefined;
}

export interface ClusterObserver {
  status(): Promise<ClusterStatus>;
  check: ReadinessCheck;
  close(): void;
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  const late = new Promise<T>((_, reject) => {
    setTimeout(() => reject(new Error(`no answer within ${MEMBER_TIMEOUT_MS} ms`)), MEMBER_TIMEOUT_MS).unref();
  });
  return Promise.race([p, late]);
}

export function observeCluster(node: ClusterNode, client: Etcd3, config: ClusterConfig, registry: Registry): ClusterObserver {
  // One client per member: a status call through the shared client would ask whichever member it picks.
  const perMember = config.etcd.endpoints.map((endpoint) => ({ endpoint, client: etcdClient({ ...config.etcd, endpoints: [endpoint] }) }));
  const status = async (): Promise<ClusterStatus> => {
    const [head, members] = await Promise.all([
      withTimeout(ReplicatedLog.head(client, node.keys)).catch(() => undefined),
      Promise.all(
        perMember.map(async ({ endpoint, client: c }) => {
          try {
            const s = await withTimeout(c.maintenance.status());
            return { endpoint, healthy: true, detail: `etcd ${s.version}, raft term ${s.raftTerm}` };
          } catch (e) {
            return { endpoint, healthy: false, detail: (e as Error).message };
          }
        }),
      ),
    ]);
    const applied = node.applied;
    return {
      nodeId: node.nodeId,
      role: node.role,
      applied,
      head,
      lag: head === undefined ? undefined : Math.max(0, head - applied),
      members,
      log: node.logSize,
      failure: node.failure?.message,
    };
  };
  // Each scrape reads the status once for all the gauges.
  let pending: Promise<ClusterStatus> | undefined;
  const once = () =>
    (pending ??= status().finally(() =>
      setTimeout(() => {
        pending = undefined;
      }, 0),
    ));
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: ClusterStatus) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        fill(this, await once());
      },
    });
  gauge('jukigw_cluster_role', "This node's role in the cluster (1 for the current one)", ['node', 'role'], (g, s) => {
    for (const r of ROLES) g.set({ node: s.nodeId, role: r }, r === s.role ? 1 : 0);
  });
  gauge('jukigw_cluster_applied_position', 'Last log position this node applied to its store', [], (g, s) => g.set(s.applied));
  gauge('jukigw_cluster_lag_entries', 'Log entries appended but not applied on this node (-1: etcd not reachable)', [], (g, s) =>
    g.set(s.lag ?? -1),
  );
  gauge('jukigw_cluster_etcd_member_up', 'etcd member answers its status call', ['endpoint'], (g, s) => {
    for (const m of s.members) g.set({ endpoint: m.endpoint }, m.healthy ? 1 : 0);
  });
  gauge('jukigw_cluster_log_entries', 'Entries in the replicated log (counted by the active node; 0 on a standby)', [], (g, s) =>
    g.set(s.log?.entries ?? 0),
  );
  gauge('jukigw_cluster_log_bytes', 'Bytes in the replicated log (counted by the active node; 0 on a standby)', [], (g, s) =>
    g.set(s.log?.bytes ?? 0),
  );
  const check: ReadinessCheck = {
    name: 'cluster',
    async run() {
      const s = await once();
      const where = `node ${s.nodeId}: role ${s.role}, applied ${s.applied}, lag ${s.lag ?? 'unknown (etcd not reachable)'}, etcd members up ${s.members.filter((m) => m.healthy).length}/${s.members.length}`;
      return { ok: s.role === 'leader', detail: s.failure ? `${where}; failed: ${s.failure}` : where };
    },
  };
  return {
    status,
    check,
    close: () => {
      for (const m of perMember) m.client.close();
    },
  };
}
