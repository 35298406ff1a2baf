// What befalls the two-node cluster under load, and the way back to "one active node, the other
// following": SIGKILL of the active node, SIGSTOP/SIGCONT of it (a frozen machine that wakes up after
// the other took over), SIGKILL of etcd's Raft leader (restarted on its data). A node that ended is
// started again as standby, as systemd does; its exit code is kept (3: it lost the leadership and
// stopped itself; 1 would be a failure and is reported).
import mqtt from 'mqtt';
import type { IdentityChange } from '../../gateway/cs/identityStoreTypes.js';
import { uuidv7 } from '../../platform/envelope.js';
import { spawnAppliance } from './appliance-process.js';
import type { EtcdCluster } from './etcd.js';
import { alive, nodeEnv, PASSWORD, PROBE, readyz, STANDBY, type FailoverNode, type FailoverRig } from './failover-nodes.js';
import { addressOf, type RegisterLoad } from './failover-load.js';
import { until } from './until.js';

export interface EventLog {
  /** kill (or freeze) → first reply from the other node, ms, per node failover. */
  failoverMs: number[];
  /** Exit codes of nodes that ended on their own (not SIGKILLed by the driver). */
  exits: { node: string; code: number | null }[];
}

export const newEventLog = (): EventLog => ({ failoverMs: [], exits: [] });

export async function activeNode(rig: FailoverRig, timeoutMs = 90_000): Promise<FailoverNode> {
  return until(
    async () => {
      for (const n of rig.nodes) if (alive(n.proc) && /: role leader/.test(await readyz(n))) return n;
      return undefined;
    },
    timeoutMs,
    'an active node',
  );
}

const other = (rig: FailoverRig, n: FailoverNode) => (rig.nodes[0] === n ? rig.nodes[1] : rig.nodes[0]);

/** The first reply delivered by `port`'s node, from now on. */
async function firstReplyFrom(load: RegisterLoad, port: number): Promise<number> {
  for (;;) {
    const r = await load.nextReply();
    if (r.port === port) return r.at;
  }
}

/** Back to one active node and a caught-up standby: a node that ended is started again as standby. */
export async function recover(rig: FailoverRig, log: EventLog, load: RegisterLoad): Promise<void> {
  const active = await activeNode(rig);
  const standby = other(rig, active);
  // A node that lost the leadership is 'stopped' while it closes its components (up to 5 s) and then
  // exits: not a standby yet. Taken for one, it was never started again and the next event found no
  // node to take over.
  await until(
    async () => !alive(standby.proc) || /: role standby,/.test(await readyz(standby)),
    60_000,
    `${standby.id} following or ended`,
  );
  if (!alive(standby.proc)) {
    load.pause(); // a restart under full load only slows the catch-up; the failover itself ran under load
    try {
      const code = await standby.proc.stop();
      if (code !== null) log.exits.push({ node: standby.id, code });
      standby.proc = await spawnAppliance(standby.config, nodeEnv(), 90_000, STANDBY);
      rig.procs.push(standby.proc);
      await until(async () => /lag 0,/.test(await readyz(standby)), 90_000, `${standby.id} caught up`);
    } finally {
      load.resume();
    }
  }
}

/** SIGKILL of the active node; the failover time is the kill to the first reply from the other node. */
export async function killActive(rig: FailoverRig, log: EventLog, load: RegisterLoad): Promise<void> {
  const active = await activeNode(rig);
  const next = other(rig, active);
  const reply = firstReplyFrom(load, next.mqttPort);
  const at = performance.now();
  process.kill(active.proc.pid, 'SIGKILL');
  await active.proc.stop();
  log.failoverMs.push((await reply) - at);
  await recover(rig, log, load);
}

/**
 * SIGSTOP of the active node until the other has taken over and answered, then SIGCONT: the woken node
 * finds its lease gone, writes nothing (the fence), and ends with exit code 3.
 */
export async function freezeActive(rig: FailoverRig, log: EventLog, load: RegisterLoad): Promise<void> {
  const active = await activeNode(rig);
  const next = other(rig, active);
  const reply = firstReplyFrom(load, next.mqttPort);
  const at = performance.now();
  process.kill(active.proc.pid, 'SIGSTOP');
  try {
    // Frozen longer than the compaction grace (60 s), it would come back behind the log: bounded well below.
    const late = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no reply from ${next.id} within 30 s of freezing ${active.id}`)), 30_000),
    );
    log.failoverMs.push((await Promise.race([reply, late])) - at);
  } finally {
    process.kill(active.proc.pid, 'SIGCONT');
  }
  await until(() => !alive(active.proc), 60_000, `${active.id} ends after waking up`);
  await recover(rig, log, load);
}

/** SIGKILL of etcd's Raft leader, restarted on its own data; the nodes ride it out (or one hands over). */
export async function killEtcdLeader(rig: FailoverRig, log: EventLog, load: RegisterLoad, etcd: EtcdCluster): Promise<void> {
  await etcd.restart(await etcd.leader());
  await recover(rig, log, load);
}

/** What the cut-off node did with the probe's requests. */
export interface PartitionProbe {
  node: string;
  sent: string[];
  /** PUBACKs and replies the cut-off node gave the probe (both must stay empty). */
  acked: string[];
  replies: string[];
}

/**
 * The active node cut off from every etcd member while it keeps running and serving MQTT: a probe
 * (its own system, connected to that node only, no resend elsewhere) sends `person` updates to it
 * meanwhile. The other node takes over; the cut-off node ends by itself once its lease has run out
 * on its own clock; then the network is restored and it comes back as standby.
 */
export async function partitionActive(
  rig: FailoverRig,
  log: EventLog,
  load: RegisterLoad,
  person: IdentityChange,
): Promise<PartitionProbe> {
  const active = await activeNode(rig);
  const next = other(rig, active);
  const probe = await mqtt.connectAsync(`mqtt://127.0.0.1:${active.mqttPort}`, {
    clientId: PROBE,
    username: PROBE,
    password: PASSWORD,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const result: PartitionProbe = { node: active.id, sent: [], acked: [], replies: [] };
  probe.on('message', (_t, payload) => result.replies.push(payload.toString('utf8')));
  probe.on('error', () => undefined);
  await probe.subscribeAsync(`res/${PROBE}`, { qos: 1 });
  const reply = firstReplyFrom(load, next.mqttPort);
  const at = performance.now();
  active.cutOff();
  try {
    for (let k = 1; k <= 5; k++) {
      const id = uuidv7();
      result.sent.push(id);
      const record = { ...person, address: addressOf(person, k), status: 'current' };
      probe.publish('req/identity.update', JSON.stringify({ v: 1, id, type: 'identity.update', body: { record } }), { qos: 1 }, (e) => {
        if (!e) result.acked.push(id);
      });
    }
    log.failoverMs.push((await reply) - at);
    await until(() => !alive(active.proc), 60_000, `${active.id} ends once cut off`);
  } finally {
    await probe.endAsync(true).catch(() => undefined);
    active.reconnect();
  }
  await recover(rig, log, load);
  return result;
}
