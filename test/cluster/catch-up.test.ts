// A node the log's compaction left behind, and a brand-new node, start from a copy of the active
// node's store (docs/cluster.md, "A node behind compaction"), with the real components: three etcd
// members, `juki-gw start` processes, the online `backup create` on the active node and
// `backup restore --cluster` on the other. gw-b is down while gw-a commits and compacts past it: gw-b
// refuses to start and names the commands; after backup and restore it reads the log on from the
// backup's position; gw-c joins from an empty data dir the same way. Settled, the three stores are equal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Etcd3 } from 'etcd3';
import { uuidv7 } from '../../platform/envelope.js';
import { openApplianceDb } from '../../platform/store/db.js';
import { Applier, APPLIED_KEY } from '../../cluster/applier.js';
import { clusterKeys } from '../../cluster/keys.js';
import { ReplicatedLog } from '../../cluster/replicatedLog.js';
import { KEK_FILE } from '../../gateway/crypto/index.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { jukiGw } from '../helpers/cli.js';
import { spawnAppliance, type ApplianceProcess } from '../helpers/appliance-process.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { digest } from '../helpers/cluster-node.js';
import { nodeEnv, nodeFiles, readyz, STANDBY, type NodeFiles } from '../helpers/cluster-appliance.js';
import { connectClient, endClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const tmp = tempDir('jukigw-cluster-catchup-');
const prefix = '/juki-gw-catchup';
const keys = clusterKeys(prefix);
let apiToken = '';
const cli = (args: string[]) => jukiGw(args, { env: nodeEnv({ JUKIGW_API_TOKEN: apiToken }), timeoutMs: 120_000 });

/** The applied position a (stopped) node's store holds. */
async function storedPosition(n: NodeFiles): Promise<number> {
  const db = await openApplianceDb(join(n.dataDir, 'db'));
  try {
    return Number(Buffer.from((await db.get(APPLIED_KEY))!).toString('utf8'));
  } finally {
    await db.close();
  }
}

/** Every file of a data dir outside its store, with its content's hash: what is the node's own. */
function filesOutsideDb(dataDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    const rel = relative(dataDir, path);
    if (e.isFile() && !rel.startsWith(`db${sep}`)) out[rel] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

/** `count` QoS 1 requests of the terminal to the active node, each answered (every one is several commits). */
async function commits(n: NodeFiles, count: number): Promise<void> {
  const replies = new Set<string>();
  const term = await connectClient(`mqtt://127.0.0.1:${n.mqttPort}`, {
    clientId: 'term-01',
    username: 'term-01',
    password: 'term-01 test password',
    clean: false,
  });
  try {
    term.on('message', (_t, p) => replies.add(p.toString('utf8')));
    await term.subscribeAsync('res/term-01', { qos: 1 });
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = uuidv7();
      ids.push(id);
      const body = { by: 'myNumber', myNumber: '123456789018', dutyCode: 'J05', operatorId: 'op-1', terminalId: 'term-01' };
      await term.publishAsync('req/jlis.inquiry', JSON.stringify({ v: 1, id, type: 'jlis.inquiry', body }), { qos: 1 });
    }
    await until(() => ids.every((id) => [...replies].some((r) => r.includes(id))), 60_000, `${count} replies`);
  } finally {
    await endClient(term);
  }
}

describe('catch-up: a node behind compaction and a new node start from a backup of the active node', () => {
  let etcd: EtcdCluster;
  let admin: Etcd3;
  let a: NodeFiles;
  let b: NodeFiles;
  let c: NodeFiles;
  const procs: ApplianceProcess[] = [];
  const pass = join(tmp.path, 'backup.pass');
  const cert = () => join(a.dataDir, 'hsm', 'juki-gw-signing.cert.pem');

  beforeAll(async () => {
    etcd = await startEtcdCluster();
    admin = new Etcd3({ hosts: etcd.endpoints });
    const pw = join(tmp.path, 'term-01.pw');
    writeFileSync(pw, 'term-01 test password\n', { mode: 0o600 });
    writeFileSync(pass, 'catch-up backup passphrase\n', { mode: 0o600 });
    a = await nodeFiles(tmp.path, 'gw-a', etcd.endpoints, pw, prefix);
    b = await nodeFiles(tmp.path, 'gw-b', etcd.endpoints, pw, prefix);
    c = await nodeFiles(tmp.path, 'gw-c', etcd.endpoints, pw, prefix);
  }, 120_000);
  afterAll(async () => {
    for (const p of procs) await p.stop();
    admin?.close();
    await etcd?.stop();
    tmp.cleanup();
  });

  /** Backup on the running active node (its admin API), restore --cluster into `to`; returns the backup's position. */
  async function copyStore(to: NodeFiles, name: string): Promise<{ position: number; restored: string }> {
    const file = join(tmp.path, `${name}.jgwb`);
    const made = await cli(['backup', 'create', '--config', a.config, '--out', file, '--passphrase-file', pass]);
    expect(made.code, made.stderr).toBe(0);
    const position = Number(/cluster log position (\d+)/.exec(made.stdout)?.[1]);
    expect(position).toBeGreaterThan(0);
    const verified = await cli(['backup', 'verify', '--in', file, '--passphrase-file', pass, '--trust', cert()]);
    expect(verified.stdout).toMatch(new RegExp(`^backup ok: .*; cluster log position ${position}\n$`));
    const args = ['backup', 'restore', '--cluster', '--in', file, '--data-dir', to.dataDir, '--passphrase-file', pass];
    const restored = await cli([...args, '--trust', cert()]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`log position ${position}) into ${to.dataDir}/db; signed by`);
    expect(restored.stdout).toContain(`start the node: it applies the log from position ${position + 1} on`);
    // The store carries the backup's position: the node resumes after it, so nothing is applied twice.
    expect(await storedPosition(to)).toBe(position);
    return { position, restored: restored.stdout };
  }

  it('gw-b, compacted away while down, names the commands; restored from a backup of gw-a it reads on from its position; gw-c joins from an empty data dir; the stores are equal', async () => {
    // Installing the second node (docs/cluster.md): the first one's store and KEK, copied while it is stopped.
    const seed = await spawnAppliance(a.config, nodeEnv());
    await seed.stop();
    const offline = await openApplianceDb(join(a.dataDir, 'db'));
    try {
      apiToken = (await (await openAuthStore({ db: offline, idleMinutes: 15 })).createApiToken('admin', 'catch-up test')).token;
    } finally {
      await offline.close();
    }
    cpSync(join(a.dataDir, 'db'), join(b.dataDir, 'db'), { recursive: true });
    mkdirSync(join(b.dataDir, 'keys'), { recursive: true });
    copyFileSync(join(a.dataDir, KEK_FILE), join(b.dataDir, KEK_FILE));
    // Until gw-b has published its applied position, gw-a could compact the log up to its own: its place is held meanwhile.
    const hold = admin.lease(30, { autoKeepAlive: false });
    await hold.put(`${prefix}/applied/gw-b`).value('0').exec();
    const first = await spawnAppliance(a.config, nodeEnv());
    procs.push(first);
    const standby = await spawnAppliance(b.config, nodeEnv(), 90_000, STANDBY);
    procs.push(standby);
    await hold.revoke();
    await until(async () => /lag 0,/.test((await readyz(b)).body), 60_000, 'gw-b follows');

    // gw-b is down while gw-a commits; once gw-b's applied position no longer holds the log (its lease
    // ended, then the 60 s grace), gw-a compacts past it.
    await standby.stop();
    const behind = await storedPosition(b);
    await commits(a, 20);
    await until(
      async () => (await ReplicatedLog.head(admin, keys)) > behind && (await admin.get(keys.entry(behind + 1)).string()) === null,
      150_000,
      `entry ${behind + 1} compacted away`,
    );
    const refused = await cli(['start', '--config', b.config]);
    expect(refused.code).toBe(1);
    const said = refused.stdout + refused.stderr;
    expect(said).toMatch(
      new RegExp(
        `cluster node gw-b stopped before leading: this node applied the log up to ${behind} but the log now starts at \\d+: entries ${behind + 1}\\.\\.\\d+ were compacted away; this node needs a full copy from the active node; ` +
          `to start it from a copy of the active node's store: on the active node \\(gw-a at 127\\.0\\.0\\.1:${a.mqttPort}\\) run ` +
          '"juki-gw backup create --config CONFIG --out catch-up\\.jgwb --passphrase-file PASSPHRASE-FILE"',
      ),
    );
    expect(said).toContain(
      `here run "juki-gw backup restore --cluster --in catch-up.jgwb --data-dir ${b.dataDir} --trust SIGNING-CERT.pem --passphrase-file PASSPHRASE-FILE" (SIGNING-CERT.pem: hsm/juki-gw-signing.cert.pem in the active node's data dir`,
    );
    expect(await storedPosition(b)).toBe(behind);

    // Refused before anything is written: no --trust; a signer --trust does not name; the running node's own data dir.
    const file = join(tmp.path, 'refused.jgwb');
    expect((await cli(['backup', 'create', '--config', a.config, '--out', file, '--passphrase-file', pass])).code).toBe(0);
    const restore = ['backup', 'restore', '--cluster', '--in', file, '--passphrase-file', pass];
    const untrusted = await cli([...restore, '--data-dir', b.dataDir]);
    expect([untrusted.code, untrusted.stderr]).toEqual([
      2,
      "backup: restore --cluster needs --trust CERT: the active node's signing certificate (or the CA that issued it)\n",
    ]);
    const wrongSigner = await cli([...restore, '--data-dir', b.dataDir, '--trust', join(a.dataDir, 'ui-tls', 'ui.pem')]);
    expect(wrongSigner.code).toBe(1);
    expect(wrongSigner.stderr).toMatch(
      /^backup: refused: backup signed by ".+" \(kid \S+\), which no --trust certificate names or issued\n$/,
    );
    const running = await cli([...restore, '--data-dir', a.dataDir, '--trust', cert()]);
    expect([running.code, running.stderr]).toEqual([
      1,
      `backup: an appliance is running on ${a.dataDir}: stop this node first (systemctl stop juki-gw)\n`,
    ]);
    expect(await storedPosition(b)).toBe(behind);

    // Backup on gw-a, restore on gw-b: the node's previous store is moved beside its data dir, its own files stay.
    const ownFiles = filesOutsideDb(b.dataDir);
    const copied = await copyStore(b, 'catch-up-b');
    expect(copied.position).toBeGreaterThan(behind);
    expect(copied.restored).toMatch(/the node's previous store moved to .+\.pre-restore-db-\d+ /);
    expect(copied.restored).not.toContain('KEK');
    expect(filesOutsideDb(b.dataDir)).toEqual(ownFiles);
    // Entries after the backup's position: gw-a's compaction keeps them for gw-b (the backup's hold).
    await commits(a, 10);
    const rejoined = await spawnAppliance(b.config, nodeEnv(), 90_000, STANDBY);
    procs.push(rejoined);
    expect(rejoined.log()).toContain(
      `cluster: this node's store has applied the log up to ${copied.position}; it reads on from ${copied.position + 1}`,
    );
    await until(async () => /lag 0,/.test((await readyz(b)).body), 60_000, 'gw-b caught up');

    // A brand-new node: an empty data dir, the store and the installation's KEK from a backup.
    expect(existsSync(c.dataDir)).toBe(false);
    const joined = await copyStore(c, 'join-c');
    expect(joined.restored).toContain('the KEK file came from the backup (this node had none)');
    expect(readdirSync(c.dataDir).sort()).toEqual(['db', 'keys']);
    await commits(a, 10);
    const fresh = await spawnAppliance(c.config, nodeEnv(), 90_000, STANDBY);
    procs.push(fresh);
    expect(fresh.log()).toContain(`it reads on from ${joined.position + 1}`);
    await until(async () => /lag 0,/.test((await readyz(c)).body), 60_000, 'gw-c caught up');
    await commits(a, 5);

    // Settle: stop all at once, let each store apply what the log still holds, compare every key and value.
    for (const p of [first, rejoined, fresh]) process.kill(p.pid, 'SIGKILL');
    for (const p of [first, rejoined, fresh]) await p.stop();
    const head = await ReplicatedLog.head(admin, keys);
    const digests: string[] = [];
    for (const n of [a, b, c]) {
      const db = await openApplianceDb(join(n.dataDir, 'db'));
      try {
        const applier = await Applier.open(db, admin, keys);
        await applier.catchUp();
        expect(Number(Buffer.from((await db.get(APPLIED_KEY))!).toString())).toBe(head);
        digests.push(await digest(db));
      } finally {
        await db.close();
      }
    }
    expect(new Set(digests).size).toBe(1);
  }, 600_000);
});
