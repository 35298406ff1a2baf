// Where `juki-gw send --as SYSTEM` connects and how it authenticates, from the configuration the
// appliance runs with. Pure apart from reading the secret / certificate files it is told about.
import { readFileSync } from 'node:fs';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { readSecret } from '../../config/secrets.js';

export interface SendTarget {
  url: string;
  systemId: string;
  listener: string;
  /** Plain loopback listener: the system's password. */
  password?: string;
  /** TLS listener: client certificate, key and the CA the server certificate chains to. */
  tls?: { cert: Buffer; key: Buffer; ca: Buffer };
}

export interface TargetOptions {
  as: string;
  listener?: string;
  url?: string;
  passwordFile?: string;
  cert?: string;
  key?: string;
  ca?: string;
}

export class TargetError extends Error {}

const read = (what: string, file: string): Buffer => {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new TargetError(`${what}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
};

/** A wildcard bind address is reached on loopback from this machine. */
const reachable = (host: string): string => (host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host);
const hostPart = (host: string): string => (host.includes(':') ? `[${host}]` : host);

export function resolveTarget(config: ApplianceConfig, o: TargetOptions): SendTarget {
  const system = config.systems.find((s) => s.id === o.as);
  if (!system)
    throw new TargetError(
      `--as: no system "${o.as}" in the configuration (systems: ${config.systems.map((s) => s.id).join(', ') || 'none'})`,
    );
  if (!system.enabled) throw new TargetError(`--as: system "${o.as}" is disabled in the configuration`);
  // The number-linkage segment has listeners of its own; a system connects only on its segment.
  const segment = system.role === 'number-linkage' ? 'number-linkage' : 'local';
  const wantTls = o.cert !== undefined || o.key !== undefined;
  let listener: ApplianceConfig['listeners'][number] | undefined;
  if (o.listener !== undefined) {
    listener = config.listeners.find((l) => l.name === o.listener);
    if (!listener)
      throw new TargetError(
        `--listener: no listener "${o.listener}" (listeners: ${config.listeners.map((l) => l.name).join(', ') || 'none'})`,
      );
  } else {
    const onSegment = config.listeners.filter((l) => l.segment === segment);
    listener = onSegment.find((l) => l.type === (wantTls ? 'tls' : 'plain')) ?? onSegment[0];
    if (!listener && o.url === undefined)
      throw new TargetError(`no listener on the ${segment} segment for ${o.as} (role ${system.role}); give --url`);
  }
  const type = o.url !== undefined ? (/^(mqtts|ssl):/.test(o.url) ? 'tls' : 'plain') : listener!.type;
  const url = o.url ?? `${type === 'tls' ? 'mqtts' : 'mqtt'}://${hostPart(reachable(listener!.host))}:${listener!.port}`;
  const base = { url, systemId: system.id, listener: listener?.name ?? o.url! };
  if (type === 'tls') {
    if (o.cert === undefined || o.key === undefined || o.ca === undefined) {
      throw new TargetError(
        `${base.listener} is a TLS listener: give --cert, --key (the client certificate with CN ${system.id}) and --ca (the CA of the server certificate)`,
      );
    }
    return { ...base, tls: { cert: read('--cert', o.cert), key: read('--key', o.key), ca: read('--ca', o.ca) } };
  }
  if (o.passwordFile !== undefined)
    return {
      ...base,
      password: read('--password-file', o.passwordFile)
        .toString('utf8')
        .replace(/\r?\n$/, ''),
    };
  if (!system.password) throw new TargetError(`system ${system.id} has no password in the configuration: give --password-file`);
  try {
    return { ...base, password: readSecret(system.password) };
  } catch (e) {
    throw new TargetError(
      `password of ${system.id}: ${(e as Error).message.replace(/^secret: /, '')} (started the appliance once? give --password-file otherwise)`,
    );
  }
}
