// Issue 16, item 7, the short run (the long one is a phase of `npm run bench:cluster`): three etcd
// members, two `juki-gw start` nodes on their own SoftHSM tokens, a real Mosquitto upstream with the
// simulated prefecture. The register system sends a bounded load of identity.update (unique ids,
// several updates per person, one after the other) listing both nodes, while the active node is
// SIGKILLed, etcd's Raft leader is SIGKILLed, the active node is frozen (SIGSTOP) until the other took
// over and then woken (SIGCONT), and the active node is SIGKILLed again, each at a random point of
// the load, and at last the active node is cut off from etcd while it keeps running (a probe sends it
// updates meanwhile). Pass: no acknowledged request lost (its reply and its identity.notify upstream), a notify
// twice only as a resend of the same envelope id, per-person order kept at the prefecture, the woken
// node ends with code 3, the cut-off node acknowledges, answers and commits nothing, both stores identical after
// settling, and `juki-gw audit verify` finds the shared audit chain intact with both nodes' keys pinned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IdentityChange } from '../../gateway/cs/identityStoreTypes.js';
import { generateResidents } from '../../sim/residents.js';
import { PREF } from '../helpers/cs-harness.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { freezeActive, killActive, killEtcdLeader, newEventLog, partitionActive, type PartitionProbe } from '../helpers/failover-events.js';
import { settledLedger } from '../helpers/failover-ledger.js';
import { startRegisterLoad, type RegisterLoad } from '../helpers/failover-load.js';
import { startFailoverRig, type FailoverRig } from '../helpers/failover-nodes.js';
import { settle } from '../helpers/failover-settle.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const tmp = tempDir('jukigw-failover-up-');
const PERSONS = 6;
const UPDATES = 40;

describe('failover under identity.update load with a real upstream: nothing acknowledged lost, order kept, stores identical', () => {
  let etcd: EtcdCluster;
  let rig: FailoverRig;
  let load: RegisterLoad | undefined;

  beforeAll(async () => {
    etcd = await startEtcdCluster();
    rig = await startFailoverRig({ dir: tmp.path, etcd, persons: PERSONS, leaseTtlSeconds: 3, seed: 'failover-short' });
  }, 300_000);
  afterAll(async () => {
    await load?.close();
    await rig?.close();
    await etcd?.stop();
    tmp.cleanup();
  });

  it('two SIGKILLs of the active node, one of the etcd leader, one SIGSTOP/SIGCONT of the active node, one partition of the active node from etcd', async () => {
    const t0 = performance.now();
    const l = startRegisterLoad({ ports: rig.nodes.map((n) => n.mqttPort), residents: rig.residents, updates: UPDATES, pauseMs: 100 });
    load = l;
    let finished = false;
    void l.done.then(() => (finished = true));
    const log = newEventLog();
    // Someone the load does not touch: the probe's updates to the cut-off node are about them alone.
    const [probed] = generateResidents('tsu', { count: 1, seed: 'failover-probe' });
    let partition: PartitionProbe | undefined;
    const events = [
      ['SIGKILL active', () => killActive(rig, log, l)],
      ['SIGKILL etcd leader', () => killEtcdLeader(rig, log, l, etcd)],
      ['SIGSTOP/SIGCONT active', () => freezeActive(rig, log, l)],
      ['SIGKILL active', () => killActive(rig, log, l)],
      ['active cut off from etcd', async () => void (partition = await partitionActive(rig, log, l, probed!))],
    ] as const;
    for (const [what, event] of events) {
      // A random point of the load: 3 to 14 more acknowledged requests after the cluster was whole again.
      const at = l.acked() + 3 + Math.floor(Math.random() * 12);
      await until(() => l.acked() >= at || finished, 120_000, `${at} acknowledged before "${what}"`);
      expect(finished, `the load ended before "${what}"`).toBe(false);
      console.log(`${what} at ${l.acked()} acknowledged`);
      await event();
    }
    await until(() => finished, 180_000, 'every update answered');

    const result = await settledLedger(l.sent, rig.residents, rig.sims.node(PREF));
    console.log(
      `acknowledged ${result.acknowledged}/${result.sent}, lost ${result.lost.length}, duplicates ${result.duplicates.length}, ` +
        `resends ${result.resends}, order violations ${result.orderViolations.length}, failovers ${log.failoverMs.map((m) => (m / 1000).toFixed(1)).join(' ')} s`,
    );
    expect(result.sent).toBe(PERSONS * UPDATES);
    expect(result.acknowledged).toBe(result.sent);
    expect(result.lost).toEqual([]);
    expect(result.refused).toEqual([]);
    expect(result.duplicates).toEqual([]);
    expect(result.orderViolations).toEqual([]);
    expect(result.unverified).toBe(0);
    // The woken node (and any node the etcd leader's loss cost its lease) ended by itself with code 3.
    expect(log.exits.length).toBeGreaterThanOrEqual(1);
    expect(log.exits.filter((e) => e.code !== 3)).toEqual([]);
    expect(log.failoverMs).toHaveLength(4);
    // The cut-off node, still running, acknowledged and answered nothing, and ended by itself.
    expect(partition!.sent).toHaveLength(5);
    expect(partition!.acked).toEqual([]);
    expect(partition!.replies).toEqual([]);
    expect(log.exits.filter((e) => e.node === partition!.node).length).toBeGreaterThanOrEqual(1);

    // ...and committed nothing: a committed update's notify sits in the replicated outbox, which the node
    // that took over sends on; the prefecture never heard of the probe's person.
    expect(
      rig.sims.node(PREF).received.filter((e) => (e.body.record as IdentityChange | undefined)?.residentCode === probed!.residentCode),
    ).toEqual([]);
    const s = await settle(rig, etcd);

    expect(s.stores.map((x) => x.applied)).toEqual([s.head, s.head]);
    expect(s.stores[0]!.digest).toBe(s.stores[1]!.digest);
    expect(s.audit.code, s.audit.stdout + s.audit.stderr).toBe(0);
    expect(s.audit.stdout).toMatch(/^audit log ok: .*\(pinned\)/m);
    // Each node, and only they, signed checkpoints of the shared chain, each with its own token key.
    const kid = (file: string) =>
      createHash('sha256')
        .update(new X509Certificate(readFileSync(file)).raw)
        .digest('base64url');
    const signers = /; signers (.*) \(pinned\)$/m.exec(s.audit.stdout)?.[1]?.split(', ');
    expect(signers?.sort()).toEqual(rig.nodes.map((n) => kid(n.certFile)).sort());
    console.log(`failover test: ${((performance.now() - t0) / 1000).toFixed(0)} s after the set-up`);
  }, 900_000);
});
