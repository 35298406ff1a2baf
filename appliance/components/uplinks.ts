// The uplinks to the upstream tiers: to the configured upstream brokers, or — none configured, the
// embedded default — to simulated upstreams on an in-process broker, clearly labelled.
import type { Registry } from 'prom-client';
import type { ReadinessCheck } from '../../broker/admin/checks.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type { AuditLog } from '../../gateway/audit/index.js';
import type { EncryptionAtRest } from '../../gateway/crypto/index.js';
import { createUplink, type Uplink } from '../../gateway/uplink/index.js';
import { upstreamRefusalEntry } from '../../gateway/uplink/refusalAudit.js';
import { describeLinkSigner, linkSigners } from '../../gateway/uplink/linkSigners.js';
import { levelDedupeStore, verifierFromConfig, type TokenSigner } from '../../hsm/index.js';
import type { Verifier } from '../../hsm/types.js';
import type { Logger } from '../../platform/log/logger.js';
import { SUBLEVELS, type Db } from '../../platform/store/db.js';
import type { Running } from '../lifecycle.js';
import { startSimulatedUpstream, SIMULATED_LABEL, type SimulatedUpstream } from '../simulatedUpstream.js';

export interface UplinksNeeds {
  config: ApplianceConfig;
  db: Db;
  signer: TokenSigner;
  /** Seals the outbox and inbox (undefined: stored plain). */
  atRest: EncryptionAtRest | undefined;
  /** Records refused upstream messages (undefined: not recorded). */
  auditLog: AuditLog | undefined;
  logger: Logger;
  registry: Registry;
}
export interface UplinksPart extends Running {
  uplink: Uplink;
  /** Present while no upstream is configured. */
  simulated: SimulatedUpstream | undefined;
  checks: ReadinessCheck[];
}

export async function startUplinks({
  config,
  db,
  signer: tokenSigner,
  atRest,
  auditLog,
  logger,
  registry,
}: UplinksNeeds): Promise<UplinksPart> {
  const checks: ReadinessCheck[] = [];
  let upstreams = config.upstreams;
  let signer = tokenSigner;
  let verifier: Verifier;
  let simulated: SimulatedUpstream | undefined;
  if (upstreams.length === 0) {
    simulated = await startSimulatedUpstream({ dataDir: config.dataDir, served: config.municipalities, signer, logger });
    upstreams = [simulated.upstream];
    signer = simulated.signer;
    verifier = simulated.verifier;
    checks.push({ name: 'upstream', run: async () => ({ ok: true, detail: SIMULATED_LABEL }) });
  } else {
    const dedupe = levelDedupeStore(db.sublevel(SUBLEVELS.inbox + '-ids', { valueEncoding: 'json' }));
    verifier = verifierFromConfig(config.trust, { dedupe, logger: logger.child({ component: 'verifier' }) });
  }
  const outboxEncoding = atRest?.keyring.valueEncoding('json');
  let uplink: Uplink;
  try {
    uplink = await createUplink({
      config: { ...config, upstreams },
      db,
      signer,
      verifier,
      logger: logger.child({ component: 'uplink' }),
      registry,
      ...(outboxEncoding ? { valueEncodings: { outbox: outboxEncoding, inbox: outboxEncoding } } : {}),
      // Refused upstream messages: the verifier's reason is the audit code; no body is recorded.
      audit: (e) => auditLog?.append(upstreamRefusalEntry(e)).then(() => undefined),
    });
  } catch (e) {
    await simulated?.close();
    throw e;
  }
  // The certificate each link presents (upstream teams verify with it), checked against the signer in use.
  for (const l of linkSigners(config)) {
    const d = describeLinkSigner(l);
    const entry = { link: l.link, kid: signer.kid, certificate: l.certificateFile, issuer: d.issuerFile };
    if (d.kid === signer.kid) logger.info(entry, 'upstream link signs with');
    else
      logger.warn(
        { ...entry, fileKid: d.kid ?? null },
        'upstream link signs with a certificate other than the file names (hsm.certFile changed since the start?)',
      );
  }
  checks.push({
    name: 'uplinks',
    run: async () => {
      const down = uplink.linkStatus().filter((l) => l.state !== 'up');
      return {
        ok: down.length === 0,
        detail: down.length ? `not connected: ${down.map((l) => l.name).join(', ')}` : 'all links connected',
      };
    },
  });
  return {
    uplink,
    simulated,
    checks,
    stop: async () => {
      await uplink.close();
      await simulated?.close();
    },
  };
}
