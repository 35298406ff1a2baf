// juki-gw cluster: this node's place in the cluster, and the manual switchover, through the running
// node's admin API (a standby runs no admin UI: ask the active node).
import { commandConfig } from '../commandConfig.js';
import { parseCommandArgs } from '../args.js';
import { ONLINE_OPTIONS, onlineUsage, refusal, runningAppliance } from '../online.js';

export const summary =
  'cluster status|switchover: role, applied position, lag and etcd members of the active node; hand the leadership to the standby';

export const USAGE = `juki-gw cluster status | switchover  [--config FILE]
  status: the active node's id, role, applied log position, lag and each etcd member's health.
  switchover: the active node gives up its leadership; the standby takes over within about one lease
  TTL, and this node's process ends and restarts (systemd) as standby. Needs an admin account's token.
${onlineUsage('both go')}`;

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { config: { type: 'string' }, ...ONLINE_OPTIONS }, USAGE);
  if (!parsed) return 2;
  const [sub, extra] = parsed.positionals;
  if ((sub !== 'status' && sub !== 'switchover') || extra !== undefined) {
    err(`usage: ${USAGE}`);
    return 2;
  }
  const r = commandConfig(parsed.values.config);
  if (!r.ok) {
    err(r.message);
    return 1;
  }
  if (!r.config.cluster) {
    err(`juki-gw cluster ${sub}: the configuration has no cluster section (this appliance runs as a single box)`);
    return 1;
  }
  const online = runningAppliance(r.config, parsed.values);
  if ('error' in online) {
    err(`juki-gw cluster ${sub}: ${online.error}`);
    return 1;
  }
  try {
    if (sub === 'status') {
      const res = await online.api.call('GET', '/cluster');
      if (res.status !== 200) {
        err(`juki-gw cluster status: ${refusal(res.status, res.json, 'the token may not view')}`);
        return 1;
      }
      const s = res.json as {
        nodeId: string;
        role: string;
        applied: number;
        lag: number | null;
        members: { endpoint: string; healthy: boolean; detail: string }[];
        log: { entries: number; bytes: number } | null;
      };
      out(`node ${s.nodeId}: ${s.role}, applied ${s.applied}, lag ${s.lag ?? 'unknown (etcd not reachable)'}`);
      if (s.log) out(`replicated log: ${s.log.entries} entries, ${s.log.bytes} bytes`);
      for (const m of s.members) out(`etcd ${m.endpoint}: ${m.healthy ? 'up' : 'DOWN'} (${m.detail})`);
      return 0;
    }
    const res = await online.api.call('POST', '/cluster/switchover', {});
    if (res.status !== 200) {
      err(`juki-gw cluster switchover: ${refusal(res.status, res.json, "a switchover needs an admin account's token")}`);
      return 1;
    }
    out(String(res.json.detail));
    return 0;
  } catch (e) {
    err(`juki-gw cluster ${sub}: ${(e as Error).message}`);
    return 1;
  }
}
