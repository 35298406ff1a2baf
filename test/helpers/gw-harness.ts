// The GW role end to end: Mosquitto as the upstream broker with the simulated nodes (national, NWS,
// intermediate servers), the appliance's broker with a local listener AND a number-linkage listener
// (segment separation), SoftHSM signer certified by the simulated CA, uplink, audit log, the GW role
// attached in front of the CS role's intake. The appliance's log goes to a file the tests can scan.
// (Own harness: test/helpers/cs-harness.ts has no number-linkage listener and no GW hook.)
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { startBroker, type BrokerHandle } from '../../broker/server.js';
import { configSchema, type ApplianceConfig } from '../../config/schema/index.js';
import { DEFAULT_ROLES } from '../../config/schema/roles.js';
import { createAuditLog, type AuditEntry, type AuditLog } from '../../gateway/audit/index.js';
import { createKeyHasher, type KeyHasher } from '../../gateway/crypto/index.js';
import { IdentityStore } from '../../gateway/cs/identityStore.js';
import type { IdentityChange } from '../../gateway/cs/identityStoreTypes.js';
import { startCsRole, type CsRole } from '../../gateway/cs/role.js';
import { myNumberCheckDigit } from '../../domain/identifiers.js';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { createLogger, type Logger } from '../../platform/log/logger.js';
import { startGwRole, type GwRole } from '../../gateway/gw/role.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { createUplink, type Uplink } from '../../gateway/uplink/index.js';
import { reloadingVerifier } from '../../sim/pki.js';
import { generateResidents } from '../../sim/residents.js';
import { startSimulators, type Simulators } from '../../sim/run.js';
import { startMosquitto } from './mosquitto.js';
import { freePort } from './ports.js';
import { scannableBytes } from './gw-leveldb.js';
import { tempDir } from './tmp.js';
import { certifiedApplianceSigner, openSimPki, quietLogger, SERVED } from './uplink.js';

export { SERVED };
/** Another body (千代田区) whose intermediate server the NWS simulator asks. */
export const OTHER = '131016';
export const NL = 'nl-01';
export const TERMINAL = 'term-01';
export const PASSWORD = 'gw-e2e-password-not-a-secret';

export interface SegmentClient {
  id: string;
  client: MqttClient;
  replies: Envelope[];
  request(type: string, body: Record<string, unknown>, extra?: Record<string, unknown>): Promise<Envelope>;
  /** Publishes (PUBACK = stored by the broker) and returns a promise of the reply. */
  publish(type: string, body: Record<string, unknown>): Promise<{ id: string; reply: Promise<Envelope> }>;
}

export interface GwStack {
  dir: string;
  dataDir: string;
  logFile: string;
  config: ApplianceConfig;
  /** Metrics of the GW role. */
  registry: Registry;
  db: Db;
  broker: BrokerHandle;
  uplink: Uplink;
  audit: AuditLog;
  hashKey: KeyHasher;
  gw: GwRole;
  cs: CsRole;
  sims: Simulators;
  residents: IdentityChange[];
  /** Known to J-LIS (national simulator), not resident here. */
  nonResident: IdentityChange;
  /** A valid 個人番号 nobody holds. */
  unknownMyNumber: string;
  /** Connects on the number-linkage listener (nl-01) or the local one (term-01). */
  client(id: string): Promise<SegmentClient>;
  /** Starts the GW and CS roles (only needed with deferRoles). */
  startRoles(): Promise<void>;
  auditEntries(): Promise<AuditEntry[]>;
  /** Writes out what the appliance logged so far (the log file can then be scanned). */
  flushLog(): Promise<void>;
  /** Stops the appliance (DB closed, log flushed); the simulators and Mosquitto stay up until cleanup. */
  stopAppliance(): Promise<void>;
  close(): Promise<void>;
}

import { until } from './until.js';
export { until };

function unusedMyNumber(): string {
  const first11 = `9${randomBytes(6).readUIntBE(0, 6).toString().padStart(10, '0').slice(0, 10)}`;
  return first11 + String(myNumberCheckDigit(first11));
}

/** Every file under `dir` (LevelDB tables, logs, manifests, token files...). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Files under `dir` whose bytes (LevelDB tables decompressed, logs reassembled) contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  const n = Buffer.from(needle, 'utf8');
  return filesUnder(dir).filter((f) => scannableBytes(f).includes(n));
}

export interface GwStackOptions {
  residents?: number;
  logLevel?: string;
  purgeIntervalMs?: number;
  /** Start broker and uplink only; the test calls startRoles() (requests queued before the GW runs). */
  deferRoles?: boolean;
  /** Upstream reply timeouts per message type (merged over info.query 1.5 s; default 5 s otherwise). */
  timeoutsMs?: Record<string, number>;
  /** Outbox attempt limit (default 10): a low one dead-letters an unacknowledged relay quickly. */
  maxAttempts?: number;
}

export async function startGwStack(opts: GwStackOptions = {}): Promise<GwStack> {
  const t = tempDir('gw-e2e-');
  const dataDir = join(t.path, 'data');
  const logFile = join(t.path, 'appliance.log');
  const simLogger = quietLogger();
  const cleanups: Array<() => Promise<void> | void> = [() => t.cleanup()];
  const appliance: Array<() => Promise<void> | void> = [];
  const run = async (list: Array<() => Promise<void> | void>) => {
    for (const c of list.splice(0).reverse()) {
      try {
        await c();
      } catch {
        /* best effort */
      }
    }
  };
  let logger: Logger | undefined;
  const stopAppliance = async () => {
    await run(appliance);
    if (logger) await new Promise<void>((r) => logger!.flush(() => r()));
  };
  const close = async () => {
    await stopAppliance();
    await run(cleanups);
  };
  try {
    const residents = [...generateResidents('tsu', { count: opts.residents ?? 30 })];
    const [nonResident] = [...generateResidents('tsu', { count: 1, seed: 'gw-non-resident' })];
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.close());
    const pki = await openSimPki(join(t.path, 'pki'));
    const people = [...residents, nonResident!].map((r) => ({ ...r }));
    const sims = await startSimulators({
      brokerUrl: mosq.url,
      pkiDir: pki.dir,
      servedCodes: [SERVED],
      otherMunicipalities: [OTHER],
      people,
      logger: simLogger,
    });
    cleanups.push(() => sims.close());

    const signer = await certifiedApplianceSigner(dataDir, pki);
    appliance.push(() => signer.close());
    const pwFile = join(t.path, 'password');
    writeFileSync(pwFile, PASSWORD);
    const localPort = await freePort();
    const nlPort = await freePort();
    const config = configSchema.parse({
      municipalities: [SERVED],
      dataDir,
      listeners: [
        { name: 'local', type: 'plain', host: '127.0.0.1', port: localPort, segment: 'local' },
        { name: 'number-linkage', type: 'plain', host: '127.0.0.1', port: nlPort, segment: 'number-linkage' },
      ],
      // A misconfigured role table (identity.search for the number-linkage role) must still be stopped by the GW.
      roles: { ...DEFAULT_ROLES, 'number-linkage': { send: [...DEFAULT_ROLES['number-linkage']!.send, 'identity.search'] } },
      systems: [
        { id: NL, role: 'number-linkage', password: { file: pwFile } },
        { id: TERMINAL, role: 'terminal', password: { file: pwFile } },
      ],
      upstreams: [{ name: 'juki', url: mosq.url, nodes: ['*'] }],
      uplink: {
        defaultTimeoutMs: 5000,
        timeoutsMs: { 'info.query': 1500, ...opts.timeoutsMs },
        retry: { initialMs: 50, maxMs: 500, maxAttempts: opts.maxAttempts ?? 10 },
      },
      limits: { minFreeDiskBytes: 0, maxPayloadBytes: 256 * 1024 },
    });
    logger = createLogger({ level: opts.logLevel ?? 'debug', destination: logFile });
    const db = await openApplianceDb(join(dataDir, 'db'));
    appliance.push(() => db.close());
    const store = await IdentityStore.open(db);
    const b = db.batch();
    for (const r of residents) await store.apply(b, r, { mode: 'load' });
    await b.write();
    const broker = await startBroker(config, { logger, db, intakeAnswersRequests: true });
    appliance.push(() => broker.close());
    const uplink = await createUplink({ config, db, signer, verifier: reloadingVerifier(pki), logger });
    appliance.push(() => uplink.close());
    const audit = await createAuditLog({ db, signer, logger });
    appliance.push(() => audit.close());
    const hashKey = createKeyHasher(randomBytes(32));
    const registry = new Registry();
    const roles = { gw: undefined as GwRole | undefined, cs: undefined as CsRole | undefined };
    const startRoles = async () => {
      const gw = await startGwRole({
        config,
        db,
        logger: logger!,
        registry,
        audit: { log: audit, hashKey },
        purgeIntervalMs: opts.purgeIntervalMs ?? 60_000,
      });
      appliance.push(() => gw.close());
      const cs = await startCsRole({
        config,
        db,
        logger: logger!,
        broker,
        uplink,
        audit: { log: audit, hashKey },
        identityStore: store,
        gateway: gw.attach,
      });
      appliance.push(async () => {
        await cs.close();
      });
      roles.gw = gw;
      roles.cs = cs;
    };
    await until(() => uplink.linkStatus()[0]?.state === 'up');
    if (!opts.deferRoles) await startRoles();

    const client = async (id: string): Promise<SegmentClient> => {
      const port = id === NL ? nlPort : localPort;
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        clientId: id,
        username: id,
        password: PASSWORD,
        clean: false,
        protocolVersion: 4,
        reconnectPeriod: 0,
      });
      appliance.push(() => c.endAsync(true).then(() => undefined));
      const replies: Envelope[] = [];
      c.on('message', (_topic, payload) => {
        replies.push(JSON.parse(payload.toString('utf8')) as Envelope);
      });
      await c.subscribeAsync([`res/${id}`], { qos: 1 });
      return {
        id,
        client: c,
        replies,
        async request(type, body, extra = {}) {
          const env = { v: 1, id: uuidv7(), type, body, ...extra };
          await c.publishAsync(`req/${type}`, JSON.stringify(env), { qos: 1 });
          return until(() => replies.find((r) => r.corr === env.id), 15_000);
        },
        async publish(type, body) {
          const env = { v: 1, id: uuidv7(), type, body };
          await c.publishAsync(`req/${type}`, JSON.stringify(env), { qos: 1 });
          const reply = until(() => replies.find((r) => r.corr === env.id), 30_000);
          reply.catch(() => undefined);
          return { id: env.id, reply };
        },
      };
    };
    return {
      dir: t.path,
      dataDir,
      logFile,
      config,
      registry,
      db,
      broker,
      uplink,
      audit,
      hashKey,
      sims,
      residents,
      nonResident: nonResident!,
      get gw() {
        if (!roles.gw) throw new Error('roles not started');
        return roles.gw;
      },
      get cs() {
        if (!roles.cs) throw new Error('roles not started');
        return roles.cs;
      },
      unknownMyNumber: unusedMyNumber(),
      client,
      auditEntries: () => audit.query({}),
      startRoles,
      flushLog: () =>
        new Promise<void>((r) => {
          if (logger) logger.flush(() => r());
          else r();
        }),
      stopAppliance,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
