// Two `juki-gw start` cluster nodes over real etcd members, each on its own data-dir SoftHSM token,
// relaying to a real Mosquitto upstream where the simulated prefecture (sim/) receives identity.notify.
// Installed as docs/cluster.md says: the first node's store and token copied to the second (the KEK
// is the installation's), the second node with its own signing key on its token; both keys certified
// by the simulated CA through `keys csr` and `keys import`, so the prefecture verifies
// either node. The failover tests and `npm run bench:cluster` share it.
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { signCsr } from '../../hsm/dev-ca.js';
import { toPem } from '../../hsm/certs.js';
import { openSimPki, type SimPki } from '../../sim/pki.js';
import { generateResidents } from '../../sim/residents.js';
import { startSimulators, type Simulators } from '../../sim/run.js';
import type { IdentityChange } from '../../gateway/cs/identityStoreTypes.js';
import { spawnAppliance, type ApplianceProcess } from './appliance-process.js';
import { jukiGw } from './cli.js';
import type { EtcdCluster } from './etcd.js';
import { startMosquitto, type Mosquitto } from './mosquitto.js';
import { freePort } from './ports.js';
import { startTcpProxy, type TcpProxy } from './tcpProxy.js';
import { quietLogger, SELF, SERVED } from './uplink.js';
import { until } from './until.js';

export const REGISTER = 'rr-01';
/** A second register system, for a probe connected to one node only (a client id is its system's id). */
export const PROBE = 'rr-02';
export const PASSWORD = 'failover register password 1';
export const STANDBY = /cluster: standby until this node wins the election/;
/** The data-dir token of each node is found through the data dir: no process-wide SoftHSM config. */
export const nodeEnv = () => {
  const e = { ...process.env };
  delete e.SOFTHSM2_CONF;
  return e;
};

export interface FailoverNode {
  id: string;
  dataDir: string;
  config: string;
  mqttPort: number;
  adminPort: number;
  /** The node's signing certificate (issued by the simulated CA). */
  certFile: string;
  proc: ApplianceProcess;
  /** Cuts the node off from every etcd member (its connections stay open, nothing passes), and back. */
  cutOff(): void;
  reconnect(): void;
}

export interface FailoverRig {
  nodes: [FailoverNode, FailoverNode];
  sims: Simulators;
  pki: SimPki;
  residents: IdentityChange[];
  prefix: string;
  /** Every appliance process started (stopped by close). */
  procs: ApplianceProcess[];
  close(): Promise<void>;
}

async function writeConfig(
  dir: string,
  id: string,
  o: { keyLabel: string; etcd: string[]; prefix: string; ttl: number; upstream: string; anchors: string[]; peers: string[]; pw: string },
) {
  const dataDir = join(dir, id);
  const config = join(dir, `${id}.yaml`);
  const mqttPort = await freePort();
  const adminPort = await freePort();
  const list = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
  writeFileSync(
    config,
    [
      `municipalities: ['${SERVED}']`,
      `dataDir: ${dataDir}`,
      `hsm: { kind: auto, keyLabel: ${o.keyLabel} }`,
      `listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: ${mqttPort} }]`,
      `systems: [${[REGISTER, PROBE].map((id) => `{ id: ${id}, role: resident-register, password: { file: ${o.pw} } }`).join(', ')}]`,
      `upstreams: [{ name: juki, url: '${o.upstream}', nodes: ['*'] }]`,
      `trust: { anchors: ${list(o.anchors)}, peers: ${list(o.peers)} }`,
      `admin: { host: 127.0.0.1, port: ${adminPort} }`,
      'ui: { enabled: false }',
      'limits: { minFreeDiskBytes: 0 }',
      // Checkpoints every 2 s: each node signs the shared chain during its own short tenure.
      'audit: { checkpointSeconds: 2 }',
      `cluster: { nodeId: ${id}, advertise: '127.0.0.1:${mqttPort}', leaseTtlSeconds: ${o.ttl}, etcd: { endpoints: ${list(o.etcd)}, prefix: ${o.prefix} } }`,
      '',
    ].join('\n'),
  );
  return { id, dataDir, config, mqttPort, adminPort };
}

async function cli(args: string[]): Promise<string> {
  const r = await jukiGw(args, { env: nodeEnv(), timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`juki-gw ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/** The node's key on its token, certified by the simulated CA for this municipality; returns the certificate file. */
async function certifyNodeKey(dir: string, node: { id: string; config: string }, pki: SimPki): Promise<string> {
  const csr = join(dir, `${node.id}.csr`);
  const cert = join(dir, `${node.id}.pem`);
  // On the data-dir token the key is made when first needed (here: for the CSR).
  await cli(['keys', 'csr', '--config', node.config, '--subject', `CN=${SELF}`, '--out', csr]);
  writeFileSync(cert, toPem(await signCsr(pki.ca, readFileSync(csr, 'utf8'), { kind: 'signing', commonName: SELF, days: 825 })));
  await cli(['keys', 'import', '--config', node.config, '--cert', cert, '--chain', join(pki.dir, 'ca', 'ca.pem')]);
  // The prefecture's verifier looks a signer up by kid among the certificates it was given.
  writeFileSync(join(pki.dir, 'peers', `node-${node.id}.pem`), readFileSync(cert));
  return cert;
}

/** The token files of `from`'s data-dir SoftHSM, as the second node's token (its config names its own token dir). */
function copyToken(fromDataDir: string, toDataDir: string): void {
  const from = join(fromDataDir, 'hsm', 'softhsm');
  const to = join(toDataDir, 'hsm', 'softhsm');
  mkdirSync(join(toDataDir, 'hsm'), { recursive: true, mode: 0o700 });
  cpSync(from, to, { recursive: true });
  writeFileSync(
    join(to, 'softhsm2.conf'),
    `directories.tokendir = ${join(to, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    {
      mode: 0o600,
    },
  );
}

export async function startFailoverRig(o: {
  dir: string;
  etcd: EtcdCluster;
  persons: number;
  leaseTtlSeconds: number;
  seed: string;
}): Promise<FailoverRig> {
  const procs: ApplianceProcess[] = [];
  const prefix = '/juki-gw-failover';
  const residents = [...generateResidents('tsu', { count: o.persons, seed: o.seed })];
  const mosq: Mosquitto = await startMosquitto();
  let sims: Simulators | undefined;
  const proxies: TcpProxy[] = [];
  const close = async () => {
    for (const p of procs) await p.stop();
    for (const p of proxies) await p.close();
    // FAILOVER_LOG_DIR: every node process's log kept for a look after the run.
    const keep = process.env.FAILOVER_LOG_DIR;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      procs.forEach((p, i) => writeFileSync(join(keep, `${String(i).padStart(2, '0')}-${p.pid}.log`), p.log()));
    }
    await sims?.close();
    await mosq.close();
  };
  try {
    const pkiDir = join(o.dir, 'pki');
    const pki = await openSimPki(pkiDir);
    sims = await startSimulators({ brokerUrl: mosq.url, pkiDir, servedCodes: [SERVED], people: [], logger: quietLogger() });
    const peersDir = join(pkiDir, 'peers');
    // Each node reaches the members through relays of its own, so a test can cut one node off.
    const relays = async () => {
      const mine = await Promise.all(o.etcd.endpoints.map((e) => startTcpProxy({ host: '127.0.0.1', port: Number(new URL(e).port) })));
      proxies.push(...mine);
      return mine;
    };
    const relaysA = await relays();
    const relaysB = await relays();
    const settings = {
      prefix,
      ttl: o.leaseTtlSeconds,
      upstream: mosq.url,
      anchors: [join(pkiDir, 'ca', 'ca.pem')],
      peers: readdirSync(peersDir).map((f) => join(peersDir, f)),
      pw: join(o.dir, 'register.pw'),
    };
    writeFileSync(settings.pw, `${PASSWORD}\n`, { mode: 0o600 });
    const a = await writeConfig(o.dir, 'gw-a', { ...settings, keyLabel: 'gw-a-signing', etcd: relaysA.map((r) => r.url) });
    const b = await writeConfig(o.dir, 'gw-b', { ...settings, keyLabel: 'gw-b-signing', etcd: relaysB.map((r) => r.url) });

    const certA = await certifyNodeKey(o.dir, a, pki);
    // First start: the store and the KEK on the token come into being; then both are the second node's too.
    const seed = await spawnAppliance(a.config, nodeEnv());
    procs.push(seed);
    await seed.stop();
    cpSync(join(a.dataDir, 'db'), join(b.dataDir, 'db'), { recursive: true });
    copyToken(a.dataDir, b.dataDir);
    const certB = await certifyNodeKey(o.dir, b, pki);

    // Holds b's place in the log until it publishes its own applied position (docs/cluster.md).
    const holder = new Etcd3({ hosts: o.etcd.endpoints });
    let procA: ApplianceProcess;
    let procB: ApplianceProcess;
    try {
      const hold = holder.lease(60, { autoKeepAlive: false });
      await hold.put(`${prefix}/applied/${b.id}`).value('0');
      procA = await spawnAppliance(a.config, nodeEnv());
      procs.push(procA);
      procB = await spawnAppliance(b.config, nodeEnv(), 90_000, STANDBY);
      procs.push(procB);
      await hold.revoke();
    } finally {
      holder.close();
    }
    const cut = (rs: TcpProxy[]) => ({ cutOff: () => rs.forEach((r) => r.freeze()), reconnect: () => rs.forEach((r) => r.thaw()) });
    const nodes: [FailoverNode, FailoverNode] = [
      { ...a, certFile: certA, proc: procA, ...cut(relaysA) },
      { ...b, certFile: certB, proc: procB, ...cut(relaysB) },
    ];
    await until(async () => /lag 0,/.test(await readyz(nodes[1])), 60_000, 'gw-b following');
    return { nodes, sims, pki, residents, prefix, procs, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The node's /readyz text ('' while it does not answer). */
export async function readyz(n: Pick<FailoverNode, 'adminPort'>): Promise<string> {
  try {
    return await (await fetch(`http://127.0.0.1:${n.adminPort}/readyz`, { signal: AbortSignal.timeout(2000) })).text();
  } catch {
    return '';
  }
}

export const alive = (p: ApplianceProcess): boolean => {
  try {
    process.kill(p.pid, 0);
    return true;
  } catch {
    return false;
  }
};
