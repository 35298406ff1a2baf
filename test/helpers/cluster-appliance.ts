// Appliance nodes of a cluster as `juki-gw start` runs them, for tests: each its own data dir,
// configuration, software token (its own signing key) and loopback ports, over the given etcd members.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface NodeFiles {
  id: string;
  dataDir: string;
  config: string;
  mqttPort: number;
  adminPort: number;
  uiPort: number;
}

/** The log line a node writes once it follows the log as standby (it never logs "appliance ready" until it leads). */
export const STANDBY = /cluster: standby until this node wins the election/;

/** The test process's environment without a SoftHSM configuration: each node keeps its own software token. */
export function nodeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e = { ...process.env, ...extra };
  delete e.SOFTHSM2_CONF;
  return e;
}

/** Writes `<dir>/<id>.yaml`: terminal term-01 (password in `password`), one plain listener, the admin and UI ports. */
export function nodeFiles(dir: string, id: string, endpoints: string[], password: string, prefix: string): Promise<NodeFiles> {
  return applianceNodeFiles(dir, id, password, {
    system: { id: 'term-01', role: 'terminal' },
    cluster: { endpoints, prefix, leaseTtlSeconds: 2 },
  });
}

/** Writes `<dir>/<id>.yaml`: one system (password in `password`), one plain listener, the admin and UI ports; `cluster` absent: single-box. */
export async function applianceNodeFiles(
  dir: string,
  id: string,
  password: string,
  o: { system: { id: string; role: string }; cluster?: { endpoints: string[]; prefix: string; leaseTtlSeconds: number } | undefined },
): Promise<NodeFiles> {
  const dataDir = join(dir, id);
  const config = join(dir, `${id}.yaml`);
  const mqttPort = await freePort();
  const adminPort = await freePort();
  const uiPort = await freePort();
  const cluster = o.cluster;
  writeFileSync(
    config,
    [
      "municipalities: ['242012']",
      `dataDir: ${dataDir}`,
      // One software token per node: its own signing key; the KEK is the installation's (copied).
      'hsm: { kind: software }',
      `listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: ${mqttPort} }]`,
      `systems: [{ id: ${o.system.id}, role: ${o.system.role}, password: { file: ${password} } }]`,
      `admin: { host: 127.0.0.1, port: ${adminPort} }`,
      `ui: { port: ${uiPort} }`,
      'limits: { minFreeDiskBytes: 0 }',
      ...(cluster
        ? [
            `cluster: { nodeId: ${id}, advertise: '127.0.0.1:${mqttPort}', leaseTtlSeconds: ${cluster.leaseTtlSeconds}, etcd: { endpoints: [${cluster.endpoints.map((e) => `'${e}'`).join(', ')}], prefix: ${cluster.prefix} } }`,
          ]
        : []),
      '',
    ].join('\n'),
  );
  return { id, dataDir, config, mqttPort, adminPort, uiPort };
}

export async function readyz(n: NodeFiles): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${n.adminPort}/readyz`);
  return { status: r.status, body: await r.text() };
}
