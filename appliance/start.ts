// Composition of the running appliance. Each component is one entry in `components`: it starts with
// what the earlier ones provide and is closed in reverse order. The gateway, HSM and uplinks join here.
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { ApplianceConfig } from '../config/schema/index.js';
import type { Logger } from '../platform/log/logger.js';
import { openApplianceDb, type Db, type StoragePortFactory } from '../platform/store/db.js';
import { prepareDataDir } from '../platform/store/dataDir.js';
import { dbWritableCheck, diskSpaceCheck, listenersCheck, type ReadinessCheck } from '../broker/admin/checks.js';
import { startAdminServer, type AdminHandle } from '../broker/admin/server.js';
import { startBroker, type BrokerAuditEvent, type BrokerHandle } from '../broker/server.js';
import { frontComponents, gatewayComponents, upstreamComponents, type GatewayParts } from './components.js';

export interface ApplianceContext {
  config: ApplianceConfig;
  logger: Logger;
  registry: Registry;
  db: Db;
  /** Readiness checks collected from the components; served on /readyz. */
  checks: ReadinessCheck[];
  audit: (e: BrokerAuditEvent) => void;
  broker?: BrokerHandle;
  admin?: AdminHandle;
  /** The configuration file's text as loaded (undefined: the embedded default). */
  configText?: string;
  /** Component names this process runs (undefined: all). */
  only?: readonly string[];
  /** Where the first-run admin password goes (default: stderr, never the log). */
  printOnce?: (text: string) => void;
  /** What the gateway components (HSM, audit, uplinks, CS role, UI) add. */
  gw: GatewayParts;
}

interface Component { name: string; start(ctx: ApplianceContext): Promise<() => Promise<void>> }

const components: Component[] = [
  ...gatewayComponents,
  { name: 'broker', async start(ctx) {
    // Queued requests, replies and pushes carry personal data: sealed like the gateway's stores.
    const sealer = ctx.gw.atRest?.keyring;
    // The roles' intake answers every req/ publish, so the broker lets it refuse forbidden types.
    const intakeAnswersRequests = ctx.config.broker.mode === 'appliance' && (!ctx.only || ctx.only.includes('roles'));
    ctx.broker = await startBroker(ctx.config, { logger: ctx.logger, db: ctx.db, registry: ctx.registry, audit: (e) => ctx.audit(e), intakeAnswersRequests, ...(sealer ? { sealer } : {}) });
    ctx.checks.push(listenersCheck(ctx.broker));
    return () => ctx.broker!.close();
  } },
  ...upstreamComponents,
  ...frontComponents,
  { name: 'admin', async start(ctx) {
    ctx.admin = await startAdminServer({ host: ctx.config.admin.host, port: ctx.config.admin.port, registry: ctx.registry, checks: ctx.checks });
    return () => ctx.admin!.close();
  } },
];

export interface ApplianceHandle {
  ctx: ApplianceContext;
  close(): Promise<void>;
}

/**
 * `only`: component names to run (e.g. ['broker', 'admin'] for `juki-gw broker`); default all.
 * `port`: where every write of the store goes (platform/store/port.ts); default LevelDB itself.
 */
export async function startAppliance(config: ApplianceConfig, opts: { logger: Logger; audit?: (e: BrokerAuditEvent) => void; only?: string[]; configText?: string; printOnce?: (text: string) => void; port?: StoragePortFactory }): Promise<ApplianceHandle> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'jukigw_process_' });
  prepareDataDir(config.dataDir, opts.logger);
  const db = await openApplianceDb(join(config.dataDir, 'db'), { sync: config.broker.syncWrites, ...(opts.port ? { port: opts.port } : {}) });
  const ctx: ApplianceContext = {
    config, logger: opts.logger, registry, db, audit: opts.audit ?? (() => {}), gw: { extra: {} }, ...(opts.only ? { only: opts.only } : {}), ...(opts.configText !== undefined ? { configText: opts.configText } : {}),
    ...(opts.printOnce ? { printOnce: opts.printOnce } : {}),
    checks: [dbWritableCheck(db)],
  };
  // limits apply live: the check reads the running configuration each time.
  ctx.checks.push(diskSpaceCheck(config.dataDir, () => ctx.config.limits.minFreeDiskBytes));
  const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
  const close = async () => {
    for (const s of stops.splice(0).reverse()) {
      try { await s.stop(); } catch (e) { opts.logger.error({ component: s.name, err: (e as Error).message }, 'component failed to stop cleanly'); }
    }
    await db.close(); // flushes LevelDB
  };
  try {
    for (const c of components.filter((x) => !opts.only || opts.only.includes(x.name))) stops.push({ name: c.name, stop: await c.start(ctx) });
  } catch (e) {
    await close();
    throw e;
  }
  return { ctx, close };
}
