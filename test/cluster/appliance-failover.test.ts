// Two appliance nodes (`juki-gw start`, each its own data dir, signing key and ports) over three real
// etcd members: the standby refuses MQTT CONNECT with "server unavailable" and answers /readyz not
// ready with its role; a terminal sends QoS 1 requests while the active node is SIGKILLed; the standby
// takes over, and every request the dead node PUBACKed gets its reply from the new one. After settling
// (each store applies the rest of the log), both stores are identical.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import mqtt from 'mqtt';
import { uuidv7 } from '../../platform/envelope.js';
import { openApplianceDb } from '../../platform/store/db.js';
import { Applier, APPLIED_KEY } from '../../cluster/applier.js';
import { clusterKeys } from '../../cluster/keys.js';
import { ReplicatedLog } from '../../cluster/replicatedLog.js';
import { KEK_FILE } from '../../gateway/crypto/index.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { jukiGw } from '../helpers/cli.js';
import { uiLogin } from '../helpers/ui-session.js';
import { spawnAppliance, type ApplianceProcess } from '../helpers/appliance-process.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { digest } from '../helpers/cluster-node.js';
import { nodeEnv, nodeFiles, readyz, STANDBY, type NodeFiles } from '../helpers/cluster-appliance.js';
import { connectClient, endClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const tmp = tempDir('jukigw-cluster-app-');
const prefix = '/juki-gw-app';
const env = () => nodeEnv();
let apiToken = '';
const UI_PASSWORD = 'cluster watcher password 1';
const cli = (args: string[]) => jukiGw(args, { env: { ...env(), JUKIGW_API_TOKEN: apiToken } });

/** The CONNACK return code a node answers (0: accepted). */
function connackCode(n: NodeFiles): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${n.mqttPort}`, {
      clientId: `probe-${n.id}`,
      username: 'term-01',
      password: 'term-01 test password',
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    c.once('connect', () => {
      c.end(true);
      resolve(0);
    });
    c.once('error', (e: Error & { code?: number }) => {
      c.end(true);
      if (typeof e.code === 'number') resolve(e.code);
      else reject(e);
    });
  });
}

describe('two appliance nodes: standby, failover by SIGKILL, nothing acknowledged lost', () => {
  let etcd: EtcdCluster;
  let a: NodeFiles;
  let b: NodeFiles;
  const procs: ApplianceProcess[] = [];

  beforeAll(async () => {
    etcd = await startEtcdCluster();
    const pw = join(tmp.path, 'term-01.pw');
    writeFileSync(pw, 'term-01 test password\n', { mode: 0o600 });
    a = await nodeFiles(tmp.path, 'gw-a', etcd.endpoints, pw, prefix);
    b = await nodeFiles(tmp.path, 'gw-b', etcd.endpoints, pw, prefix);
  }, 120_000);
  afterAll(async () => {
    for (const p of procs) await p.stop();
    await etcd?.stop();
    tmp.cleanup();
  });

  it('the standby refuses CONNECT with "server unavailable"; after each of two kills it leads and answers every acknowledged request; the dashboard shows the cluster in both languages; a manual switchover hands over', async () => {
    // Installing the second node (docs/cluster.md): the first one's store, copied while it is stopped,
    // and the installation's KEK (the data keys in the replicated store are wrapped by it).
    const seed = await spawnAppliance(a.config, env());
    await seed.stop();
    const offline = await openApplianceDb(join(a.dataDir, 'db'));
    try {
      const auth = await openAuthStore({ db: offline, idleMinutes: 15 });
      apiToken = (await auth.createApiToken('admin', 'cluster test')).token;
      for (const [name, lang] of [
        ['watcher-ja', 'ja'],
        ['watcher-en', 'en'],
      ] as const) {
        expect(await auth.createAccount(name, 'monitor', `${UI_PASSWORD} first`, lang)).toBeUndefined();
        expect(await auth.changePassword(name, `${UI_PASSWORD} first`, UI_PASSWORD)).toBeUndefined();
      }
    } finally {
      await offline.close();
    }
    cpSync(join(a.dataDir, 'db'), join(b.dataDir, 'db'), { recursive: true });
    mkdirSync(join(b.dataDir, 'keys'), { recursive: true });
    copyFileSync(join(a.dataDir, KEK_FILE), join(b.dataDir, KEK_FILE));
    // Until the second node has published its applied position, the first could compact the log up to
    // its own (the offline installation, docs/cluster.md): its place is held here until it follows.
    const holder = new Etcd3({ hosts: etcd.endpoints });
    const hold = holder.lease(30, { autoKeepAlive: false });
    await hold.put(`${prefix}/applied/gw-b`).value('0');
    const first = await spawnAppliance(a.config, env());
    procs.push(first);
    const standby = await spawnAppliance(b.config, env(), 90_000, STANDBY);
    procs.push(standby);
    await hold.revoke();
    holder.close();

    expect(await connackCode(b)).toBe(3);
    const notReady = await readyz(b);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatch(/node gw-b: role standby, applied \d+, lag \d+, etcd members up 3\/3/);
    expect(await (await fetch(`http://127.0.0.1:${b.adminPort}/metrics`)).text()).toContain(
      'jukigw_cluster_role{node="gw-b",role="standby"} 1',
    );
    const active = await readyz(a);
    expect(active.body).toMatch(/node gw-a: role leader/);

    // Two rounds: a terminal with a persistent session sends requests one by one, the active node is
    // SIGKILLed mid-stream, the standby takes over and answers every request the dead node PUBACKed;
    // the killed node comes back as standby and follows.
    const replies: string[] = [];
    const acked: string[] = [];
    const answered = () => acked.filter((id) => replies.some((r) => r.includes(id))).length;
    const request = (id: string) =>
      JSON.stringify({
        v: 1,
        id,
        type: 'jlis.inquiry',
        body: { by: 'myNumber', myNumber: '123456789018', dutyCode: 'J05', operatorId: 'op-1', terminalId: 'term-01' },
      });
    const terminal = async (n: NodeFiles) => {
      const c = await connectClient(`mqtt://127.0.0.1:${n.mqttPort}`, {
        clientId: 'term-01',
        username: 'term-01',
        password: 'term-01 test password',
        clean: false,
        reconnectPeriod: 0,
      });
      c.on('message', (_t, p) => replies.push(p.toString('utf8')));
      await c.subscribeAsync('res/term-01', { qos: 1 });
      return c;
    };
    let leading = { proc: first, files: a };
    let following = { proc: standby, files: b };
    for (let round = 1; round <= 2; round++) {
      const term = await terminal(leading.files);
      let killed = false;
      const before = acked.length;
      const sending = (async () => {
        for (let i = 0; i < 400 && !killed; i++) {
          const id = uuidv7();
          try {
            await term.publishAsync('req/jlis.inquiry', request(id), { qos: 1 });
            acked.push(id);
          } catch {
            return;
          }
        }
      })();
      await until(() => acked.length >= before + 20, 60_000, `round ${round}: 20 acknowledged requests`);
      process.kill(leading.proc.pid, 'SIGKILL');
      killed = true;
      // A publish in flight when the node died is never acknowledged: it is not counted.
      await endClient(term, true);
      await Promise.race([sending, new Promise((r) => setTimeout(r, 2000))]);

      await until(() => /"msg":"appliance ready"/.test(following.proc.log()), 60_000, `round ${round}: the standby leads`);
      expect((await readyz(following.files)).body).toMatch(new RegExp(`node ${following.files.id}: role leader`));
      const again = await terminal(following.files);
      await until(() => answered() === acked.length, 90_000, `round ${round}: a reply to every acknowledged request`);
      await endClient(again);

      const back = await spawnAppliance(leading.files.config, env(), 90_000, STANDBY);
      procs.push(back);
      await until(async () => /lag 0,/.test((await readyz(leading.files)).body), 60_000, `round ${round}: ${leading.files.id} caught up`);
      expect(await connackCode(leading.files)).toBe(3);
      [leading, following] = [following, { proc: back, files: leading.files }];
    }
    expect(answered()).toBe(acked.length);

    // The dashboard's cluster block, in both languages.
    const base = `https://127.0.0.1:${leading.files.uiPort}`;
    const ca = join(leading.files.dataDir, 'ui-tls', 'ui.pem');
    const ja = await (await uiLogin(base, ca, 'watcher-ja', UI_PASSWORD)).get('/');
    expect(ja.text).toMatch(
      new RegExp(`<section[^>]*id="cluster"[\\s\\S]*ノード ${leading.files.id}: 稼働系 — ログ適用位置 \\d+、遅れ 0 件`),
    );
    expect(ja.text.match(/data-member="http:\/\/127\.0\.0\.1:\d+"><td>[^<]+<\/td><td class="ok">/g)).toHaveLength(3);
    const en = await (await uiLogin(base, ca, 'watcher-en', UI_PASSWORD)).get('/');
    expect(en.text).toMatch(new RegExp(`Node ${leading.files.id}: active — applied log position \\d+, 0 behind`));

    // Manual switchover on the active node: it hands over and ends (exit 3, restarted as standby by systemd).
    const status = await cli(['cluster', 'status', '--config', leading.files.config]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^node ${leading.files.id}: leader, applied \\d+, lag 0`, 'm'));
    expect(status.stdout.match(/^etcd \S+: up/gm)).toHaveLength(3);
    const handover = await cli(['cluster', 'switchover', '--config', leading.files.config]);
    expect(handover.code, handover.stderr).toBe(0);
    expect(await leading.proc.stop()).toBe(3);
    await until(() => /"msg":"appliance ready"/.test(following.proc.log()), 60_000, 'the standby leads after the switchover');
    const rejoined = await spawnAppliance(leading.files.config, env(), 90_000, STANDBY);
    procs.push(rejoined);
    await until(
      async () => /lag 0,/.test((await readyz(leading.files)).body),
      60_000,
      `${leading.files.id} caught up after the switchover`,
    );
    [leading, following] = [following, { proc: rejoined, files: leading.files }];
    // keepalived's track script (deploy/keepalived) passes on the active node only.
    const track = (n: NodeFiles) =>
      new Promise<number | null>((resolve) => {
        execFile(join(import.meta.dirname, '..', '..', 'deploy', 'keepalived', 'check-juki-gw-active.sh'), [String(n.adminPort)], (e) =>
          resolve(e ? (e.code as number) : 0),
        );
      });
    expect(await track(leading.files)).toBe(0);
    expect(await track(following.files)).toBe(1);

    // Settle: stop both at once, let each store apply what the log still holds, compare every key and value.
    process.kill(leading.proc.pid, 'SIGKILL');
    process.kill(following.proc.pid, 'SIGKILL');
    await leading.proc.stop();
    await following.proc.stop();
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      const keys = clusterKeys(prefix);
      const head = await ReplicatedLog.head(client, keys);
      const digests: string[] = [];
      for (const n of [a, b]) {
        const db = await openApplianceDb(join(n.dataDir, 'db'));
        try {
          const applier = await Applier.open(db, client, keys);
          await applier.catchUp();
          expect(Number(Buffer.from((await db.get(APPLIED_KEY))!).toString())).toBe(head);
          digests.push(await digest(db));
          // Both takeovers are in the audit trail (the store both nodes share).
          const roleEvents: string[] = [];
          let switchovers = 0;
          for await (const [, v] of db.iterator({ gte: '!audit!', lt: '!audit!~' })) {
            const text = Buffer.from(v).toString('utf8');
            if (text.includes('"cluster.role"')) roleEvents.push(text);
            if (text.includes('"cluster.switchover"') && text.includes('"ok"')) switchovers++;
          }
          // gw-a: seed start, first start, takeover in round 2; gw-b: takeover in round 1 and after the switchover.
          expect(roleEvents.filter((t) => t.includes('"gw-a"') && t.includes('"leader"')).length).toBe(3);
          expect(roleEvents.filter((t) => t.includes('"gw-b"') && t.includes('"leader"')).length).toBe(2);
          expect(switchovers).toBe(1);
        } finally {
          await db.close();
        }
      }
      expect(acked.length).toBeGreaterThanOrEqual(40);
      expect(head).toBeGreaterThan(acked.length);
      expect(digests[0]).toBe(digests[1]);
    } finally {
      client.close();
    }
  }, 400_000);
});
