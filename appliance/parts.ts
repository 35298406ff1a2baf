// What the running appliance offers its callers (`juki-gw start`, tests): each component's product,
// undefined where this process does not run that component.
import type { AdminHandle } from '../broker/admin/server.js';
import type { BrokerHandle } from '../broker/server.js';
import type { ConfigVersions } from '../config/versions.js';
import type { AuditLog } from '../gateway/audit/index.js';
import type { EncryptionAtRest } from '../gateway/crypto/index.js';
import type { CsRole } from '../gateway/cs/role.js';
import type { GwRole } from '../gateway/gw/role.js';
import type { Uplink } from '../gateway/uplink/index.js';
import type { TokenSigner } from '../hsm/index.js';
import type { Db } from '../platform/store/db.js';
import type { LiveConfig } from './liveConfig.js';
import type { SimulatedUpstream } from './simulatedUpstream.js';

export interface ApplianceParts {
  db: Db;
  /** The configuration running now (the stored head version, then each version applied live). */
  liveConfig: LiveConfig;
  signer: TokenSigner | undefined;
  atRest: EncryptionAtRest | undefined;
  auditLog: AuditLog | undefined;
  versions: ConfigVersions | undefined;
  broker: BrokerHandle | undefined;
  uplink: Uplink | undefined;
  /** Present while no upstream is configured (the embedded default). */
  simulated: SimulatedUpstream | undefined;
  cs: CsRole | undefined;
  gw: GwRole | undefined;
  /** The admin UI's URL (undefined: the UI does not run). */
  uiUrl: string | undefined;
  /** The loopback admin HTTP port (health, readiness, metrics). */
  admin: AdminHandle | undefined;
}
