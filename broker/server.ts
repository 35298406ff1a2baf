// The appliance's MQTT broker: aedes 1.x behind our listeners, authentication, ACL and limits.
// startBroker wires the jobs, one file each as aedes splits its packet handlers:
//   hooks/authenticate.ts       CONNECT: preConnect, authenticate, login backoff
//   hooks/authorizePublish.ts   PUBLISH: will re-check, ACL → size → disk → offline queue, durable ingress
//   hooks/authorizeSubscribe.ts SUBSCRIBE: ACL per filter
//   hooks/clientEvents.ts       forwarded/published counts, acks, errors
//   hooks/accept.ts             a listener's sockets handed to aedes
//   preAuthBudget.ts            unauthenticated connections; alarms.ts; reconfigure.ts;
//   willsOfEarlierRun.ts        wills stored by a run that ended without closing them
import { mkdirSync } from 'node:fs';
import { Aedes } from 'aedes';
import { Registry } from 'prom-client';
import type { ApplianceConfig } from '../config/schema/index.js';
import { MAX_CONNECT_TIMEOUT_MS } from '../config/schema/broker.js';
import { BrokerAlarms } from './alarms.js';
import { Connections } from './connections.js';
import { createDeny } from './denials.js';
import { createAuthentication } from './hooks/authenticate.js';
import { createAuthorizePublish, installDurableIngress } from './hooks/authorizePublish.js';
import { createAuthorizeSubscribe } from './hooks/authorizeSubscribe.js';
import { createAuthorizeForward, watchClientEvents } from './hooks/clientEvents.js';
import { openListener } from './hooks/accept.js';
import type { BrokerContext } from './hooks/context.js';
import { DiskGuard, OfflineQueueGuard, type QueuedSubscriber } from './limits.js';
import type { RunningListener } from './listeners.js';
import { createBrokerMetrics } from './metrics.js';
import { createBrokerPersistence } from './persistenceFactory.js';
import { clearPreAuthAlarms, createPreAuthGate } from './preAuthBudget.js';
import { reconfigure } from './reconfigure.js';
import { markRedeliveries } from './redelivery.js';
import type { WillPersistence } from './stored-wills.js';
import type { BrokerDeps, BrokerHandle } from './types.js';
import { publishWillsOfEarlierRun } from './willsOfEarlierRun.js';

export type { BrokerAuditEvent, BrokerDeps, BrokerHandle } from './types.js';

export async function startBroker(config: ApplianceConfig, deps: BrokerDeps): Promise<BrokerHandle> {
  const log = deps.logger.child({ component: 'broker' });
  const registry = deps.registry ?? new Registry();
  const metrics = createBrokerMetrics(registry);
  mkdirSync(config.dataDir, { recursive: true });
  const ownPersistence = deps.persistence === undefined;
  const persistence =
    deps.persistence ??
    (await createBrokerPersistence({
      ...(deps.db ? { db: deps.db } : { dataDir: config.dataDir }),
      sync: config.broker.syncWrites,
      ...(deps.sealer ? { sealer: deps.sealer } : {}),
    }));
  const connections = new Connections();
  const alarms = new BrokerAlarms({ log, metrics, audit: deps.audit });
  let created: Aedes | undefined;
  const ctx: BrokerContext = {
    log,
    deps,
    current: config,
    limits: { ...config.limits },
    metrics,
    connections,
    alarms,
    deny: createDeny({ log, metrics, connections, audit: deps.audit }),
    // aedes takes the hooks at construction, so it is created below, after them; no hook runs before that.
    get aedes(): Aedes {
      if (!created) throw new Error('broker: a hook ran before aedes was created');
      return created;
    },
  };
  const { limits } = ctx;
  const gate = createPreAuthGate(ctx);
  const authentication = createAuthentication(ctx, gate);

  const disk = new DiskGuard(config.dataDir, limits.minFreeDiskBytes, alarms.raise);
  await disk.start();
  const queues = new OfflineQueueGuard(
    limits,
    (topic) => (persistence.aedes as { subscriptionsByTopic(t: string): Promise<QueuedSubscriber[]> }).subscriptionsByTopic(topic),
    (id) => persistence.outgoingDepth(id),
    alarms.raise,
  );

  markRedeliveries(persistence.aedes);
  const aedes = (created = await Aedes.createBroker({
    persistence: persistence.aedes,
    maxInflightInbound: limits.maxInflight,
    // aedes' own deadline runs from a connection's first bytes and cannot change live: set to the
    // longest limits.preAuth.connectTimeoutMs allows, so the gate's (from TCP accept, live) always decides.
    connectTimeout: MAX_CONNECT_TIMEOUT_MS,
    preConnect: authentication.preConnect,
    authenticate: authentication.authenticate,
    authorizePublish: createAuthorizePublish(ctx, { disk, queues }),
    authorizeSubscribe: createAuthorizeSubscribe(ctx),
    authorizeForward: createAuthorizeForward(ctx),
  }));

  const level = persistence.level;
  installDurableIngress(ctx, level);
  level.onAlarm((a) =>
    alarms.raise({
      kind: 'storage',
      state: a.kind === 'write-failed' ? 'raised' : 'cleared',
      subject: 'leveldb',
      message: a.message,
    }),
  );
  const replayed = await level.replayIngress(aedes);
  if (replayed > 0) log.info({ replayed }, 'ingress replayed after restart');
  await publishWillsOfEarlierRun(ctx, persistence.aedes as WillPersistence);
  watchClientEvents(ctx);

  const listeners: RunningListener[] = [];
  const open = (l: ApplianceConfig['listeners'][number]) => openListener(ctx, gate, l);
  try {
    for (const l of config.listeners) {
      listeners.push(await open(l));
      log.info({ listener: l.name, type: l.type, address: listeners.at(-1)!.address() }, 'listener up');
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    await new Promise<void>((r) => aedes.close(() => r()));
    disk.stop();
    throw e;
  }

  const sweep = setInterval(() => {
    queues.sweep().catch(() => {
      /* next sweep */
    });
    authentication.sweep(Date.now());
    clearPreAuthAlarms(ctx, gate);
  }, 1000);
  sweep.unref();
  metrics.setSamplers({
    connections: () => aedes.connectedClients,
    queueDepths: async () => {
      const out = new Map<string, number>();
      for (const id of await persistence.queuedClients()) out.set(id, await persistence.outgoingDepth(id));
      return out;
    },
  });

  let closed = false;
  return {
    aedes,
    persistence,
    registry,
    address(name) {
      const l = listeners.find((x) => x.name === name);
      if (!l) throw new Error(`no listener named ${name}`);
      return l.address();
    },
    identityOf: (client) => connections.identities.get(client),
    onAlarm: (fn) => alarms.onAlarm(fn),
    activeAlarms: () => alarms.active(),
    listenersUp: () => !closed && listeners.length === ctx.current.listeners.length && listeners.every((l) => l.listening()),
    admitOffline: (topic, qos) => queues.admit(topic, qos),
    freeDiskBytes: () => disk.sample(),
    reloadTls() {
      for (const l of listeners) if (l.type === 'tls') l.reloadTls();
    },
    reconfigure: (next, opts) => reconfigure(ctx, { authentication, disk, listeners, openListener: open }, next, opts),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      disk.stop();
      // Clients first (wills, session state), then the sockets that never completed CONNECT.
      await new Promise<void>((r) => aedes.close(() => r()));
      await Promise.all(listeners.map((l) => l.close()));
      if (ownPersistence) await persistence.close();
      log.info('broker closed');
    },
  };
}
