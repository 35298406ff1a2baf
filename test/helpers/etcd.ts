// Three real etcd members on loopback for the cluster tests: ephemeral client and peer ports, one temp
// data dir each, every member stopped by its own pid. A member can be killed (SIGKILL), frozen
// (SIGSTOP: alive but silent, like a stalled machine), thawed and restarted on the same ports and data.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';
import { until } from './until.js';

const ETCD = '/usr/bin/etcd';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process?: ChildProcess;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs of every member (what the `cluster.etcd.endpoints` setting lists). */
  endpoints: string[];
  /** The member currently leading etcd's Raft group. */
  leader(): Promise<EtcdMember>;
  kill(m: EtcdMember): Promise<void>;
  freeze(m: EtcdMember): void;
  thaw(m: EtcdMember): void;
  restart(m: EtcdMember): Promise<void>;
  stop(): Promise<void>;
}

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
}

/** Client TLS of the members (server certificate for 127.0.0.1, client certificates required). */
export interface EtcdTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

export async function startEtcdCluster(size = 3, tls?: EtcdTls): Promise<EtcdCluster> {
  const scheme = tls ? 'https' : 'http';
  const dir = tempDir('jukigw-etcd-');
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    const dataDir = join(dir.path, `m${i}`);
    mkdirSync(dataDir, { mode: 0o700 });
    members.push({
      name: `m${i}`,
      clientUrl: `${scheme}://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');

  const launch = (m: EtcdMember): void => {
    const p = spawn(
      ETCD,
      [
        '--name',
        m.name,
        '--data-dir',
        m.dataDir,
        '--listen-client-urls',
        m.clientUrl,
        '--advertise-client-urls',
        m.clientUrl,
        '--listen-peer-urls',
        m.peerUrl,
        '--initial-advertise-peer-urls',
        m.peerUrl,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        `jukigw-${process.pid}`,
        '--logger',
        'zap',
        '--log-level',
        'error',
        ...(tls ? ['--cert-file', tls.certFile, '--key-file', tls.keyFile, '--trusted-ca-file', tls.caFile, '--client-cert-auth'] : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    p.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    p.once('exit', (code, signal) => {
      if (code !== 0 && code !== null && signal === null) process.stderr.write(`etcd ${m.name} exited ${code}: ${err}\n`);
    });
    m.process = p;
  };

  const endpoints = members.map((m) => m.clientUrl);
  const credentials = tls && {
    rootCertificate: readFileSync(tls.caFile),
    certChain: readFileSync(tls.clientCertFile),
    privateKey: readFileSync(tls.clientKeyFile),
  };
  const clientOf = (m: EtcdMember) => new Etcd3({ hosts: m.clientUrl, dialTimeout: 1000, ...(credentials ? { credentials } : {}) });
  const healthy = async (m: EtcdMember): Promise<boolean> => {
    const c = clientOf(m);
    try {
      await c.maintenance.status();
      return true;
    } catch {
      return false;
    } finally {
      c.close();
    }
  };

  const cluster: EtcdCluster = {
    members,
    endpoints,
    async leader() {
      return until(
        async () => {
          for (const m of members) {
            if (!m.process || m.process.exitCode !== null || m.process.signalCode !== null) continue;
            const c = clientOf(m);
            try {
              const s = await c.maintenance.status();
              if (s.leader !== '0' && s.leader === s.header.member_id) return m;
            } catch {
              /* not reachable now */
            } finally {
              c.close();
            }
          }
          return undefined;
        },
        20_000,
        'an etcd leader',
      );
    },
    async kill(m) {
      const p = m.process;
      if (!p) return;
      p.kill('SIGKILL');
      await exited(p);
      m.process = undefined;
    },
    freeze(m) {
      m.process?.kill('SIGSTOP');
    },
    thaw(m) {
      m.process?.kill('SIGCONT');
    },
    async restart(m) {
      await cluster.kill(m);
      launch(m);
      await until(() => healthy(m), 20_000, `etcd ${m.name} healthy again`);
    },
    async stop() {
      await Promise.all(
        members.map(async (m) => {
          m.process?.kill('SIGCONT');
          await cluster.kill(m);
        }),
      );
      dir.cleanup();
    },
  };

  members.forEach(launch);
  try {
    await until(async () => (await Promise.all(members.map(healthy))).every(Boolean), 30_000, 'three etcd members healthy');
    await cluster.leader();
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
