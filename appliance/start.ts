// The composition root: the appliance's components in the order they start, each given exactly what it
// needs from the ones before it. They stop in reverse order (listeners first), the DB last.
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { ApplianceConfig } from '../config/schema/index.js';
import type { Logger } from '../platform/log/logger.js';
import { openApplianceDb, type Db, type StoragePortFactory } from '../platform/store/db.js';
import { prepareDataDir } from '../platform/store/dataDir.js';
import { dbWritableCheck, diskSpaceCheck, type ReadinessCheck } from '../broker/admin/checks.js';
import type { BrokerAuditEvent } from '../broker/server.js';
import { lifecycle, needs, type ComponentName } from './lifecycle.js';
import { fixedConfig } from './liveConfig.js';
import type { ApplianceParts } from './parts.js';
import { startClusterMember } from './clusterMember.js';
import type { ClusterService } from '../admin-ui/services.js';
import { startTokenSigner } from './components/tokenSigner.js';
import { startEncryptionAtRest } from './components/encryptionAtRest.js';
import { startAuditTrail } from './components/auditTrail.js';
import { startConfigVersions } from './components/configVersions.js';
import { startBrokerPart } from './components/broker.js';
import { startUplinks } from './components/uplinks.js';
import { startRoles } from './components/roles.js';
import { startAdminUiPart } from './components/adminUi.js';
import { startAdminHttp } from './components/adminHttp.js';

export type { ComponentName } from './lifecycle.js';
export type { ApplianceParts } from './parts.js';

export interface ApplianceOptions {
  logger: Logger;
  /** Where every write of the store goes (platform/store/port.ts); default LevelDB itself. */
  port?: StoragePortFactory;
  /** Where broker refusals and alarms go when the audit trail does not run. */
  audit?: (e: BrokerAuditEvent) => void;
  /** The components this process runs (`juki-gw broker`: broker, admin); default all. */
  only?: readonly ComponentName[];
  /** The configuration file's text as loaded (undefined: the embedded default). */
  configText?: string;
  /** Where the first-run admin password goes (default: stderr, never the log). */
  printOnce?: (text: string) => void;
}

export interface ApplianceHandle {
  /** What the running components provide (undefined: not run in this process). */
  parts: ApplianceParts;
  close(): Promise<void>;
  /** Cluster mode: resolves with the reason when this node stops leading; the process must end then. */
  ended?: Promise<string>;
}

/**
 * Single-box mode: the components over the local store. Cluster mode (a `cluster` section): resolves
 * only once this node leads (clusterMember.ts); until then it is the standby.
 */
export async function startAppliance(config: ApplianceConfig, opts: ApplianceOptions): Promise<ApplianceHandle> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'jukigw_process_' });
  prepareDataDir(config.dataDir, opts.logger);
  if (config.cluster) {
    return startClusterMember({
      config,
      cluster: config.cluster,
      logger: opts.logger,
      registry,
      lead: (db, checks, cluster) => startComponents(config, opts, registry, db, checks, cluster),
    });
  }
  const db = await openApplianceDb(join(config.dataDir, 'db'), {
    sync: config.broker.syncWrites,
    ...(opts.port ? { port: opts.port } : {}),
  });
  try {
    const app = await startComponents(config, opts, registry, db, [], undefined);
    return {
      parts: app.parts,
      close: async () => {
        await app.close();
        await db.close(); /* flushes LevelDB */
      },
    };
  } catch (e) {
    await db.close();
    throw e;
  }
}

async function startComponents(
  config: ApplianceConfig,
  opts: ApplianceOptions,
  registry: Registry,
  db: Db,
  extraChecks: ReadinessCheck[],
  cluster: ClusterService | undefined,
): Promise<ApplianceHandle> {
  const { logger } = opts;
  const run = lifecycle(opts.only, logger);
  const close = () => run.stopAll();
  try {
    // Signer, sealing keys and audit trail first: everything after signs, seals or audits.
    const token = await run.start('hsm', () => startTokenSigner({ config, logger }));
    const crypto = await run.start('crypto', () => startEncryptionAtRest({ config, db, logger }));
    const audit = await run.start('audit', () =>
      startAuditTrail({ config, db, signer: needs('audit', 'hsm', token?.signer), logger, registry }),
    );
    // The stored head version is what runs from here on (a UI change survives a restart).
    const versions = await run.start('config-versions', () =>
      startConfigVersions({ config, configText: opts.configText, db, signer: token?.signer, logger }),
    );
    const liveConfig = versions?.liveConfig ?? fixedConfig(config);
    const running = liveConfig.current();

    const broker = await run.start('broker', () =>
      startBrokerPart({
        liveConfig,
        db,
        logger,
        registry,
        audit: audit?.brokerEvents ?? opts.audit ?? (() => {}),
        sealer: crypto?.atRest.keyring,
        intakeAnswersRequests: running.broker.mode === 'appliance' && run.runs('roles'),
      }),
    );
    const uplinks = await run.start('uplink', () =>
      startUplinks({
        config: running,
        db,
        signer: needs('uplink', 'hsm', token?.signer),
        atRest: crypto?.atRest,
        auditLog: audit?.log,
        logger,
        registry,
      }),
    );
    const roles = await run.start('roles', () =>
      startRoles({
        liveConfig,
        db,
        logger,
        registry,
        broker: needs('roles', 'broker', broker?.broker),
        uplink: needs('roles', 'uplink', uplinks?.uplink),
        auditLog: needs('roles', 'audit', audit?.log),
        atRest: needs('roles', 'crypto', crypto?.atRest),
      }),
    );
    if (roles?.cs) uplinks?.simulated?.compareConsistencyWith(roles.cs.store);
    const ui = running.ui.enabled
      ? await run.start('ui', () =>
          startAdminUiPart({
            config: running,
            embeddedDefault: opts.configText === undefined,
            db,
            logger,
            printOnce: opts.printOnce,
            versions: needs('ui', 'config-versions', versions?.versions),
            auditLog: needs('ui', 'audit', audit?.log),
            signer: token?.signer,
            atRest: crypto?.atRest,
            broker: broker?.broker,
            uplink: uplinks?.uplink,
            simulatedUpstreams: uplinks?.simulated !== undefined,
            cs: roles?.cs,
            cluster,
          }),
        )
      : undefined;

    // Last, so that /readyz answers only once everything it checks runs. Limits apply live: the disk check reads them each time.
    const checks = [
      dbWritableCheck(db),
      diskSpaceCheck(config.dataDir, () => liveConfig.current().limits.minFreeDiskBytes),
      ...(token ? [token.check] : []),
      ...(broker ? [broker.check] : []),
      ...(uplinks?.checks ?? []),
      ...extraChecks,
    ];
    const admin = await run.start('admin', () => startAdminHttp({ config: running, registry, checks }));

    const parts: ApplianceParts = {
      db,
      liveConfig,
      signer: token?.signer,
      atRest: crypto?.atRest,
      auditLog: audit?.log,
      versions: versions?.versions,
      broker: broker?.broker,
      uplink: uplinks?.uplink,
      simulated: uplinks?.simulated,
      cs: roles?.cs,
      gw: roles?.gw,
      uiUrl: ui?.url,
      admin: admin?.admin,
    };
    return { parts, close };
  } catch (e) {
    await close();
    throw e;
  }
}
