// A new configuration applied to the running broker: systems, roles (ACL) and limits live. A
// connected client whose system was removed, disabled, given another role or registered with another
// client certificate is disconnected; only the listeners named are restarted.
import type { ApplianceConfig } from '../config/schema/index.js';
import type { BrokerIdentity } from './acl.js';
import { identityOf } from './auth.js';
import type { Authentication } from './hooks/authenticate.js';
import { connectedClients, type BrokerContext } from './hooks/context.js';
import type { DiskGuard } from './limits.js';
import type { RunningListener } from './listeners.js';

export interface Reconfigurable {
  authentication: Authentication;
  disk: DiskGuard;
  /** The running listeners, changed in place. */
  listeners: RunningListener[];
  openListener(l: ApplianceConfig['listeners'][number]): Promise<RunningListener>;
}

export async function reconfigure(
  ctx: BrokerContext,
  parts: Reconfigurable,
  next: ApplianceConfig,
  opts: { restartListeners?: string[] } = {},
): Promise<{ disconnected: string[] }> {
  const { connections, log } = ctx;
  const { listeners } = parts;
  ctx.current = next;
  parts.authentication.reconfigure(next);
  Object.assign(ctx.limits, next.limits);
  parts.disk.setMinFreeBytes(next.limits.minFreeDiskBytes);
  const disconnected: string[] = [];
  for (const client of Object.values(connectedClients(ctx.aedes))) {
    const who = connections.identities.get(client);
    if (!who || who.systemId === null) continue;
    const why = reasonToDisconnect(next, who, connections.fingerprints.get(client));
    if (why) {
      ctx.deny('not-authorized', `configuration changed: system ${who.systemId} ${why}`, { client });
      disconnected.push(who.systemId);
      client.close();
    } else {
      connections.identities.set(client, identityOf(next, who.systemId, who.role));
    }
  }
  for (const name of opts.restartListeners ?? []) {
    const i = listeners.findIndex((l) => l.name === name);
    if (i >= 0) {
      await listeners[i]!.close();
      listeners.splice(i, 1);
    }
    const l = next.listeners.find((x) => x.name === name);
    if (l) {
      listeners.push(await parts.openListener(l));
      log.info({ listener: l.name, address: listeners.at(-1)!.address() }, 'listener restarted with its new settings');
    } else {
      log.info({ listener: name }, 'listener removed');
    }
  }
  log.info({ disconnected, restartedListeners: opts.restartListeners ?? [] }, 'configuration applied');
  return { disconnected };
}

/** Why this client may no longer stay connected under `next`, or null. */
function reasonToDisconnect(next: ApplianceConfig, who: BrokerIdentity, presented: string | undefined): string | null {
  const sys = next.systems.find((x) => x.id === who.systemId);
  if (!sys) return 'removed';
  if (!sys.enabled) return 'disabled';
  if (sys.role !== who.role) return `now has role ${sys.role}`;
  const certChanged = sys.certificateSha256 !== undefined && presented !== undefined && presented !== sys.certificateSha256.toLowerCase();
  return certChanged ? 'registered with another client certificate' : null;
}
