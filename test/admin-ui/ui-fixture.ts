// A running admin UI over real components for the UI tests: appliance LevelDB, versions store,
// software signer (hsm/), dev CA (hsm/), aedes broker (broker/) on a loopback plain listener,
// the uplink (gateway/uplink: one real link per upstream, `sim` up on Mosquitto, the others down) with a
// dead letter in its outbox, hash-chained audit log (gateway/audit).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hsmSection } from '../../config/schema/hsm.js';
import { createSigner } from '../../hsm/create-signer.js';
import { createDevCa } from '../../hsm/dev-ca.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { createLogger } from '../../platform/log/logger.js';
import { nowIso, uuidv7 } from '../../platform/envelope.js';
import { createUplink, type Outbox, type Uplink } from '../../gateway/uplink/index.js';
import { verifierFromConfig } from '../../hsm/verifier-config.js';
import { startBroker, type BrokerHandle } from '../../broker/server.js';
import { openConfigVersions, type ConfigVersions } from '../../config/versions.js';
import { startAdminUi, type AdminUiHandle } from '../../admin-ui/server.js';
import type { AuditRecord } from '../../admin-ui/services.js';
import { createAuditLog, type AuditLog } from '../../gateway/audit/index.js';
import { selfSignedUiCertificate } from '../../admin-ui/tls.js';
import { IdentityStore } from '../../gateway/cs/identityStore.js';
import { ConsistencyChecker } from '../../gateway/cs/consistency/session.js';
import { StoreConsistencyPeer } from '../../gateway/cs/consistency/peer.js';
import { consistencyFromChecker } from '../../admin-ui/adapters/consistency.js';
import { generateResidents } from '../../sim/residents.js';
import { uplinkProbe } from '../../admin-ui/adapters/uplink-probe.js';
import { applianceServices } from '../../admin-ui/adapters/index.js';
import { auditFromLog } from '../../admin-ui/adapters/audit.js';
import { onlineOperations, type OnlineOperations } from '../../admin-ui/adapters/operations.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

export interface UiFixture {
  url: string;
  dir: string;
  db: Db;
  versions: ConfigVersions;
  outbox: Outbox;
  uplink: Uplink;
  /** The upstream broker of the link `sim` (stop it to take the link down). */
  mosquitto: Mosquitto;
  broker(): BrokerHandle;
  plainUrl(): string;
  /** Backup, audit verification, import on this appliance (the Jobs page). */
  operations: OnlineOperations;
  firstPassword: string;
  auditLog: AuditLog;
  auditRecords(): Promise<AuditRecord[]>;
  deadSeq: number;
  close(): Promise<void>;
}

export async function startUiFixture(): Promise<UiFixture> {
  // What was started before a failure is stopped here: the caller gets no fixture to close.
  const started: Array<() => Promise<void> | void> = [];
  try {
    return await startUiFixtureParts(started);
  } catch (e) {
    for (const stop of started.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    throw e;
  }
}

async function startUiFixtureParts(started: Array<() => Promise<void> | void>): Promise<UiFixture> {
  const tmp = tempDir('jukigw-ui-');
  const dir = tmp.path;
  const logger = createLogger({ level: 'warn', destination: 2 });
  const db = await openApplianceDb(join(dir, 'db'));
  started.push(async () => {
    await db.close();
    tmp.cleanup();
  });
  const plainPort = await freePort();
  const closedPort = await freePort();
  // The uplink really connects: every upstream stays on loopback (juki-net's port refuses, as Juki-net
  // would be out of reach here).
  const jukiNetPort = await freePort();
  // An upstream broker to test the connection against (Mosquitto), and one that refuses.
  const mosquitto: Mosquitto = await startMosquitto();
  started.push(() => mosquitto.close());
  mkdirSync(join(dir, 'broker'), { recursive: true });
  process.env.JUKIGW_TEST_PW_RR01 = 'rr-01 loopback password';
  const initialText = [
    '# juki-gw test appliance',
    "municipalities: ['242012']",
    `dataDir: ${join(dir, 'broker')}`,
    'listeners:',
    `  - { name: local-dev, type: plain, host: 127.0.0.1, port: ${plainPort} }`,
    'systems:',
    '  - { id: rr-01, role: resident-register, description: 住民基本台帳システム, password: { env: JUKIGW_TEST_PW_RR01 } }',
    '  - { id: term-01, role: terminal, description: 統合端末 窓口1 }',
    'upstreams:',
    `  - { name: juki-net, url: 'mqtts://127.0.0.1:${jukiNetPort}', nodes: ['pref:240001', 'national'] }`,
    `  - { name: sim, url: '${mosquitto.url}', nodes: ['card'] }`,
    `  - { name: closed, url: 'mqtt://127.0.0.1:${closedPort}', nodes: ['nws'] }`,
    // Quick reconnects, so a link comes back within a second of its broker.
    'uplink: { retry: { initialMs: 100, maxMs: 500, maxAttempts: 3 } }',
    'limits:',
    '  maxPayloadBytes: 1048576',
    'hsm: { kind: software }',
    `trust: { anchors: ['${join(dir, 'dev-ca', 'ca.pem')}'] }`,
    '',
  ].join('\n');

  const signer = await createSigner(hsmSection.parse({ kind: 'software' }), { dataDir: dir });
  // The dev CA doubles as the trust anchor shown on the HSM page.
  const ca = await createDevCa(join(dir, 'dev-ca'));

  let broker: BrokerHandle | undefined;
  const versions = await openConfigVersions({
    db,
    initialText,
    signer,
    // As the appliance does (appliance/components/broker.ts): ACL and limits live, connected clients
    // kept, only a listener whose own settings changed is restarted.
    applyLive: async (next, plan) => {
      await broker?.reconfigure(next, { restartListeners: plan.restartListeners });
    },
  });
  broker = await startBroker(versions.running(), { logger });

  // As appliance/components/uplinks.ts does with configured upstreams; `juki-net` and
  // `closed` never connect, so what is queued for them stays.
  const uplink = await createUplink({
    config: versions.running(),
    db,
    signer,
    verifier: verifierFromConfig(versions.running().trust),
    logger: createLogger({ level: 'error', destination: 2 }),
  });
  const outbox = uplink.outbox;
  const b = db.batch();
  const deadSeq = outbox.enqueue(b, {
    v: 1,
    id: uuidv7(),
    type: 'identity.notify',
    from: 'lg:242012',
    to: 'pref:240001',
    at: nowIso(),
    corr: null,
    body: {},
  });
  await outbox.commit(b);
  outbox.takeReady('juki-net', 10);
  await outbox.failed(deadSeq, 'invalid_request: rejected by the upstream', { permanent: true });

  const auditLog = await createAuditLog({ db, signer, checkpointEvery: 20 });

  // Consistency check: our CS store against a peer store that differs by a few residents.
  const peerDb = await openApplianceDb(join(dir, 'peer-db'));
  const residents = [...generateResidents('tsu', { seed: 'ui', count: 205 })];
  const load = async (d: Db, rs: typeof residents) => {
    const st = await IdentityStore.open(d, { indexKey: Buffer.alloc(32, 7) });
    const b = d.batch();
    for (const r of rs) await st.apply(b, r, { mode: 'load', fresh: true });
    await b.write();
    return st;
  };
  const store = await load(db, residents.slice(0, 202));
  const peerStore = await load(peerDb, [...residents.slice(0, 200), ...residents.slice(202)]);
  const peerServer = new StoreConsistencyPeer(peerStore);
  const consistency = consistencyFromChecker({
    checker: new ConsistencyChecker(db, store, { bucketsPerPage: 4 }),
    lgCode: () => '242012',
    peer: 'pref:240001',
    bits: 6,
    audit: (e) => auditFromLog(auditLog).append(e),
    // A little latency per exchange, as over the uplink, so the progress bar has something to show.
    transport: async (req) => {
      await new Promise((r) => setTimeout(r, 40));
      return peerServer.handle(req);
    },
  });
  // The same wiring as `juki-gw start` (appliance/components/adminUi.ts).
  const wired = applianceServices({
    versions,
    auditLog,
    dataDir: dir,
    broker,
    uplink,
    signer,
    devCa: ca,
    consistency,
    uplinks: uplinkProbe(() => versions.running(), 3000),
  });
  const services = wired.services;
  const operations = onlineOperations({
    db,
    dataDir: dir,
    signer,
    outbox,
    identityStore: () => store,
    audit: (e) => services.audit.append(e),
  });
  services.operations = operations;
  let firstPassword = '';
  const uiPort = await freePort();
  const ui: AdminUiHandle = await startAdminUi({
    config: { enabled: true, host: '127.0.0.1', port: uiPort, sessionIdleMinutes: 15, timeZone: 'Asia/Tokyo' },
    services,
    logger,
    db,
    dataDir: dir,
    tls: await selfSignedUiCertificate(['127.0.0.1', 'localhost']),
    printOnce: (t) => {
      firstPassword = /one-time password: (\S+)/.exec(t)![1]!;
    },
  });
  return {
    url: ui.url,
    dir,
    db,
    versions,
    outbox,
    uplink,
    mosquitto,
    operations,
    firstPassword,
    auditLog,
    deadSeq,
    auditRecords: () => services.audit.query!({ limit: 5000 }),
    broker: () => broker,
    plainUrl: () => `mqtt://127.0.0.1:${broker.address('local-dev').port}`,
    async close() {
      await ui.close();
      wired.stop();
      await broker?.close();
      await uplink.close();
      await auditLog.close();
      await peerDb.close();
      await mosquitto.close();
      await signer.close();
      await db.close();
      tmp.cleanup();
    },
  };
}
