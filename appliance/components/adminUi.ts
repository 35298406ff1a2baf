// The admin web UI and /api/v1 (HTTPS): shows and operates whichever components this process runs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { applianceServices } from '../../admin-ui/adapters/index.js';
import { auditFromLog } from '../../admin-ui/adapters/audit.js';
import { consistencyFromChecker } from '../../admin-ui/adapters/consistency.js';
import { dataKeysFromKeyring } from '../../admin-ui/adapters/dataKeys.js';
import { onlineOperations } from '../../admin-ui/adapters/operations.js';
import { uplinkProbe } from '../../admin-ui/adapters/uplink-probe.js';
import { startAdminUi, type AdminUiHandle } from '../../admin-ui/server.js';
import type { ClusterService } from '../../admin-ui/services.js';
import type { BrokerHandle } from '../../broker/server.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type { ConfigVersions } from '../../config/versions.js';
import type { AuditLog } from '../../gateway/audit/index.js';
import type { EncryptionAtRest } from '../../gateway/crypto/index.js';
import type { CsRole } from '../../gateway/cs/role.js';
import type { Uplink } from '../../gateway/uplink/index.js';
import { createDevCa, loadDevCa } from '../../hsm/dev-ca.js';
import type { TokenSigner } from '../../hsm/index.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import type { Running } from '../lifecycle.js';
import { SIMULATED_LABEL } from '../simulatedUpstream.js';

export interface AdminUiNeeds {
  config: ApplianceConfig;
  /** Started with the embedded default: a development CA is made for the systems' client certificates. */
  embeddedDefault: boolean;
  db: Db;
  logger: Logger;
  /** Where the first-run admin password goes (undefined: stderr, never the log). */
  printOnce: ((text: string) => void) | undefined;
  versions: ConfigVersions;
  auditLog: AuditLog;
  // What the UI shows and operates when this process runs it (undefined: "not available").
  signer: TokenSigner | undefined;
  atRest: EncryptionAtRest | undefined;
  broker: BrokerHandle | undefined;
  uplink: Uplink | undefined;
  /** The upstreams are simulated: the UI says so on every page. */
  simulatedUpstreams: boolean;
  cs: CsRole | undefined;
  /** Cluster mode: this node's status and the switchover. */
  cluster: ClusterService | undefined;
}
export interface AdminUiPart extends Running {
  url: string;
}

export async function startAdminUiPart(n: AdminUiNeeds): Promise<AdminUiPart> {
  const { config, db, logger, versions, auditLog, signer, atRest, broker, uplink, cs } = n;
  const devCaDir = join(config.dataDir, 'dev-ca');
  const devCa = existsSync(join(devCaDir, 'ca.pem'))
    ? await loadDevCa(devCaDir)
    : n.embeddedDefault
      ? await createDevCa(devCaDir, 'juki-gw development CA (embedded default)')
      : undefined;
  const served = config.municipalities[0]!;
  const uiAudit = auditFromLog(auditLog);
  const consistency =
    cs &&
    consistencyFromChecker({
      checker: cs.consistency.checker,
      lgCode: () => served,
      peer: cs.consistency.peerOf(served),
      transport: cs.consistency.transportTo(cs.consistency.peerOf(served)),
      audit: (e) => uiAudit.append(e),
    });
  const { services, stop } = applianceServices({
    versions,
    auditLog,
    dataDir: config.dataDir,
    ...(broker ? { broker } : {}),
    ...(uplink ? { uplink } : {}),
    ...(signer ? { signer } : {}),
    ...(devCa ? { devCa } : {}),
    ...(consistency ? { consistency } : {}),
    uplinks: uplinkProbe(() => versions.running()),
    ...(atRest
      ? { dataKeys: dataKeysFromKeyring({ db, keyring: atRest.keyring, auditLog, logger: logger.child({ component: 'crypto' }) }) }
      : {}),
  });
  const cluster = n.cluster;
  if (signer) {
    services.operations = onlineOperations({
      db,
      dataDir: config.dataDir,
      signer,
      ...(uplink ? { outbox: uplink.outbox } : {}),
      identityStore: () => cs?.store,
      audit: (e) => services.audit.append(e),
      ...(cluster ? { holdLogForCopy: () => cluster.holdLogForCopy() } : {}),
    });
  }
  if (n.simulatedUpstreams) services.simulatedUpstreams = SIMULATED_LABEL;
  if (cluster) services.cluster = cluster;
  const closeServices = async () => {
    stop();
    await services.dataKeys?.close();
  };
  let ui: AdminUiHandle;
  try {
    ui = await startAdminUi({
      config: config.ui,
      services,
      logger,
      db,
      dataDir: config.dataDir,
      ...(n.printOnce ? { printOnce: n.printOnce } : {}),
    });
  } catch (e) {
    await closeServices();
    throw e;
  }
  logger.info({ url: ui.url }, 'admin UI ready');
  return {
    url: ui.url,
    stop: async () => {
      stop();
      await ui.close();
      await services.dataKeys?.close();
    },
  };
}
