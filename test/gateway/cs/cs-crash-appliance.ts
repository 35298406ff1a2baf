// The CS role in its own process, for kill -9 tests: appliance broker (loopback plain listener),
// uplink to the upstream broker, audit log and startCsRole on a data dir. Prints `ready` once it
// takes requests. Environment: DATA_DIR, PKI_DIR, BROKER_URL (upstream), PORT, PW_FILE.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker } from '../../../broker/server.js';
import { createAuditLog } from '../../../gateway/audit/index.js';
import { createKeyHasher } from '../../../gateway/crypto/index.js';
import { startCsRole } from '../../../gateway/cs/role.js';
import { openApplianceDb } from '../../../platform/store/db.js';
import { createUplink } from '../../../gateway/uplink/index.js';
import { createSigner } from '../../../hsm/index.js';
import { reloadingVerifier } from '../../../sim/pki.js';
import { csTestConfig, SERVED } from '../../helpers/cs-harness.js';
import { applianceHsm, quietLogger } from '../../helpers/uplink.js';

const dataDir = process.env.DATA_DIR!;
const pkiDir = process.env.PKI_DIR!;
const config = csTestConfig({
  served: [SERVED],
  dataDir,
  port: Number(process.env.PORT),
  pwFile: process.env.PW_FILE!,
  upstreamUrl: process.env.BROKER_URL!,
});
const logger = quietLogger();
const signer = await createSigner(applianceHsm, { dataDir });
const db = await openApplianceDb(join(dataDir, 'db'));
const broker = await startBroker(config, { logger, db });
const uplink = await createUplink({
  config,
  db,
  signer,
  logger,
  verifier: reloadingVerifier({ dir: pkiDir, caPem: readFileSync(join(pkiDir, 'ca', 'ca.pem'), 'utf8') }),
});
const audit = await createAuditLog({ db, signer, logger });
await startCsRole({ config, db, logger, broker, uplink, audit: { log: audit, hashKey: createKeyHasher(Buffer.alloc(32, 3)) } });
process.stdout.write('ready\n');
