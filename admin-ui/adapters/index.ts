// One call for the integrator: the services the admin UI needs, from whichever components the
// appliance runs. A component not passed leaves its part "not available in this build".
import type { BrokerHandle } from '../../broker/server.js';
import type { AuditLog } from '../../gateway/audit/index.js';
import type { Outbox, Uplink } from '../../gateway/uplink/index.js';
import type { DevCa } from '../../hsm/dev-ca.js';
import type { Signer } from '../../hsm/types.js';
import type { ConfigVersions } from '../../config/versions.js';
import type { Alarm, ApplianceServices, ConsistencyService, UplinkService } from '../services.js';
import { auditFromLog } from './audit.js';
import { devCaClientCertificates } from './devca.js';
import { keysFromHsm } from './keys.js';
import { describeLinkSigner, linkSigners } from '../../gateway/uplink/linkSigners.js';
import { queuesFromOutbox } from './queues.js';
import { queueDepthSampler, type QueueDepthSampler } from './queueDepth.js';
import { certificateExpiry, connectedClients, diskStatus, linkStatus, messageRateCounter, signerCertificate } from './status.js';
import { createSystemsService } from './systems.js';

export interface ApplianceParts {
  versions: ConfigVersions;
  auditLog: AuditLog;
  dataDir: string;
  broker?: BrokerHandle;
  uplink?: Uplink;
  /** When the outbox runs without a full Uplink (e.g. the CLI). */
  outbox?: Outbox;
  signer?: Signer;
  devCa?: DevCa;
  consistency?: ConsistencyService;
  uplinks?: UplinkService;
  dataKeys?: ApplianceServices['dataKeys'];
}

export function applianceServices(p: ApplianceParts): { services: ApplianceServices; stop(): void } {
  const running = () => p.versions.running();
  const rates = p.broker ? messageRateCounter(p.broker.aedes) : undefined;
  const outbox = p.uplink?.outbox ?? p.outbox;
  const services: ApplianceServices = {
    config: p.versions,
    systems: createSystemsService(p.versions, p.devCa ? { issueClientCert: devCaClientCertificates(p.devCa) } : {}),
    status: {
      disk: diskStatus(p.dataDir, () => running().limits.minFreeDiskBytes),
      certificates: async () => [...(p.signer ? [signerCertificate(p.signer)] : []), ...(await certificateExpiry(running)())],
    },
    audit: auditFromLog(p.auditLog),
    keys: keysFromHsm({
      hsm: () => running().hsm,
      dataDir: p.dataDir,
      trustAnchorFiles: () => running().trust.anchors,
      config: p.versions,
      links: () => linkSigners(running()).map(describeLinkSigner),
    }),
  };
  if (p.broker) {
    const broker = p.broker;
    services.status.connectedClients = connectedClients(broker, () => running().listeners.map((l) => l.name));
    services.status.messageRates = () => rates!.rates();
    services.status.alarms = async () =>
      broker.activeAlarms().map((a): Alarm => ({
        severity: a.kind === 'storage' || a.kind === 'disk-space' ? 'critical' : 'warning',
        source: `broker ${a.kind}`,
        message: a.message,
      }));
  }
  if (p.uplink) services.status.links = linkStatus(p.uplink);
  if (p.signer) {
    const s = p.signer;
    services.status.tokenStatus = async () => s.status();
  }
  // The uplink's own links: the simulated one of the embedded default is not in the configuration.
  const linkNames = () => [...running().upstreams.map((u) => u.name), ...(p.uplink?.linkStatus().map((l) => l.name) ?? [])];
  let depth: QueueDepthSampler | undefined;
  if (outbox) {
    const queues = queuesFromOutbox(outbox, linkNames);
    const sampler = (depth = queueDepthSampler(() => queues.list()));
    services.queues = { ...queues, depthHistory: async () => sampler.history() };
  }
  if (p.consistency) services.consistency = p.consistency;
  if (p.uplinks) services.uplinks = p.uplinks;
  if (p.dataKeys) services.dataKeys = p.dataKeys;
  return {
    services,
    stop: () => {
      rates?.stop();
      depth?.stop();
    },
  };
}
