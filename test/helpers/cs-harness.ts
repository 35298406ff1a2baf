// The CS role end to end, shared by the cs-e2e tests: Mosquitto as the upstream broker, the simulated
// upstream nodes on it, the appliance's own broker (loopback plain listener, systems with passwords),
// the appliance key on SoftHSM certified by the simulated CA, the uplink, the audit log, and
// startCsRole. Local systems talk MQTT to the appliance exactly as the contract says.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { configSchema, type ApplianceConfig } from '../../config/schema/index.js';
import { startBroker, type BrokerHandle } from '../../broker/server.js';
import { createAuditLog, createLookupAlerts, type AuditEntry, type AuditLog, type LookupAlerts } from '../../gateway/audit/index.js';
import { createKeyHasher, type KeyHasher } from '../../gateway/crypto/index.js';
import { IdentityStore } from '../../gateway/cs/identityStore.js';
import type { IdentityChange } from '../../gateway/cs/identityStoreTypes.js';
import { StoreConsistencyPeer } from '../../gateway/cs/consistency/peer.js';
import { startCsRole, type CsRole } from '../../gateway/cs/role.js';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { createUplink, type Uplink } from '../../gateway/uplink/index.js';
import { upstreamRefusalEntry } from '../../gateway/uplink/refusalAudit.js';
import type { Signer, TokenSigner, Verifier } from '../../hsm/index.js';
import type { SimPerson } from '../../sim/directory.js';
import { reloadingVerifier } from '../../sim/pki.js';
import { generateResidents } from '../../sim/residents.js';
import { prefectureCodeOf } from '../../domain/identifiers.js';
import { startSimulators, type Simulators } from '../../sim/run.js';
import { startMosquitto, type Mosquitto } from './mosquitto.js';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';
import { certifiedApplianceSigner, openSimPki, quietLogger, SERVED } from './uplink.js';

export { SERVED };
export const SELF = `lg:${SERVED}`;
export const PREF = 'pref:240001';
/** Another municipality of Mie (四日市市): searches for it go to the prefectural server. */
export const SAME_PREF = '242021';
/** Another prefecture (千代田区): its CS is simulated (move-out certificates, move-in notices). */
export const OTHER = '131016';
export const PASSWORD = 'cs-e2e-password-not-a-secret';
export const SYSTEMS = { register: 'rr-01', terminal: 'term-01', monitor: 'mon-01' } as const;

export interface LocalClient {
  id: string;
  client: MqttClient;
  /** Everything received on res/{id}. */
  replies: Envelope[];
  /** Everything received on to/{id}/#. */
  pushes: Envelope[];
  /** Publishes a request envelope on req/{type} (QoS 1) and waits for the reply that answers it. */
  request(type: string, body: Record<string, unknown>, extra?: Partial<Envelope>): Promise<Envelope>;
  /** Publishes raw bytes on req/{type} and waits for the next reply with `corr` = expectCorr (null when none). */
  raw(type: string, payload: Buffer | string, expectCorr: string | null): Promise<Envelope>;
  waitPush(pred: (e: Envelope) => boolean, timeoutMs?: number): Promise<Envelope>;
}

/** The appliance configuration of the CS e2e tests (also used by the kill -9 fixture). */
export function csTestConfig(o: { served: string[]; dataDir: string; port: number; pwFile: string; upstreamUrl: string }): ApplianceConfig {
  return configSchema.parse({
    municipalities: o.served,
    dataDir: o.dataDir,
    listeners: [{ name: 'plain', type: 'plain', host: '127.0.0.1', port: o.port }],
    systems: Object.values(SYSTEMS).map((id) => ({
      id,
      role: id === SYSTEMS.register ? 'resident-register' : id === SYSTEMS.terminal ? 'terminal' : 'monitor',
      password: { file: o.pwFile },
    })),
    upstreams: [{ name: 'juki', url: o.upstreamUrl, nodes: ['*'] }],
    uplink: { defaultTimeoutMs: 5000, retry: { initialMs: 50, maxMs: 500, maxAttempts: 10 } },
    limits: { minFreeDiskBytes: 0, maxPayloadBytes: 256 * 1024 },
  });
}

export interface CsStack {
  config: ApplianceConfig;
  db: Db;
  /** The appliance's SoftHSM key (certified by the simulated CA); the uplink signs with it unless `crypto` replaced it. */
  signer: TokenSigner;
  broker: BrokerHandle;
  uplink: Uplink;
  audit: AuditLog;
  lookupAlerts: LookupAlerts;
  hashKey: KeyHasher;
  role: CsRole;
  sims: Simulators;
  /** The prefectural server's own copy of the population (consistency peer). */
  prefStore: IdentityStore;
  /** Residents of the served municipality, loaded into both the CS store and the prefecture's copy. */
  residents: IdentityChange[];
  /** People the simulators know in other municipalities. */
  elsewhere: { samePref: IdentityChange; otherPref: IdentityChange };
  client(id: string, clientId?: string): Promise<LocalClient>;
  auditEntries(): Promise<AuditEntry[]>;
  close(): Promise<void>;
}

import { until } from './until.js';
export { until };

async function load(db: Db, store: IdentityStore, people: Iterable<IdentityChange>): Promise<void> {
  let b = db.batch();
  let n = 0;
  for (const p of people) {
    await store.apply(b, p, { mode: 'load' });
    if (++n % 200 === 0) {
      await b.write();
      b = db.batch();
    }
  }
  await b.write();
}

export interface StackOptions {
  residents?: number;
  /** Municipality codes served (default Tsu); the population is generated for them. */
  served?: string[];
  /** Resident generator population (default 'tsu'), filtered to the served codes. */
  population?: string;
  /** Changes the prefecture's copy after the common load (planted differences). */
  plant?: (prefDb: Db, prefStore: IdentityStore, residents: IdentityChange[]) => Promise<void>;
  /** broker.syncWrites (default: the configuration's default, true); false only to measure the opt-out (bench:uplink). */
  syncWrites?: boolean;
  /** Benchmarks only (bench:uplink's unsigned baseline): the uplink's signer and the verifier of both the uplink and the simulators. Default: SoftHSM key + CA chain. */
  crypto?: { uplinkSigner: Signer; verifier: Verifier };
}

export { load as loadResidents };

export async function startCsStack(opts: StackOptions = {}): Promise<CsStack> {
  const dir = tempDir('cs-e2e-');
  const logger = quietLogger();
  const cleanups: Array<() => Promise<void> | void> = [() => dir.cleanup()];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch {
        /* best effort */
      }
    }
  };
  try {
    const servedCodes = opts.served ?? [SERVED];
    const prefNode = `pref:${prefectureCodeOf(servedCodes[0]!)}`;
    const residents = [...generateResidents(opts.population ?? 'tsu', { count: opts.residents ?? 300 })].filter((r) =>
      servedCodes.includes(r.lgCode),
    );
    const [samePref] = [
      ...generateResidents(
        {
          ...(await import('../../sim/residents.js')).populationSpec('tsu'),
          municipalities: [{ lgCode: SAME_PREF, label: '四日市市', weight: 1, towns: [{ name: '諏訪町', chome: 0, postcode: '5100085' }] }],
        },
        { count: 1, seed: 'yokkaichi' },
      ),
    ];
    const [otherPref] = [
      ...generateResidents(
        {
          ...(await import('../../sim/residents.js')).populationSpec('tsu'),
          prefecture: '東京都',
          prefCode: '130001',
          municipalities: [{ lgCode: OTHER, label: '千代田区', weight: 1, towns: [{ name: '丸の内', chome: 3, postcode: '1000005' }] }],
        },
        { count: 1, seed: 'chiyoda' },
      ),
    ];

    // The prefecture's copy: same population, then the planted differences.
    const prefDb = await openApplianceDb(`${dir.path}/pref-db`);
    cleanups.push(() => prefDb.close());
    const prefStore = await IdentityStore.open(prefDb);
    // The last resident is held by the CS only (a planted cs_only difference).
    await load(prefDb, prefStore, residents.slice(0, -1));
    await opts.plant?.(prefDb, prefStore, residents);
    const peer = new StoreConsistencyPeer(prefStore);

    const mosq: Mosquitto = await startMosquitto();
    cleanups.push(() => mosq.close());
    const pki = await openSimPki(`${dir.path}/pki`);
    const people: SimPerson[] = [...residents, samePref!, otherPref!].map((r) => ({ ...r }));
    const sims = await startSimulators({
      brokerUrl: mosq.url,
      pkiDir: pki.dir,
      servedCodes,
      otherMunicipalities: [OTHER],
      people,
      logger,
      consistencyPeers: { [prefNode]: (req) => peer.handle(req) },
      ...(opts.crypto ? { verifier: opts.crypto.verifier } : {}),
    });
    cleanups.push(() => sims.close());

    const signer: TokenSigner = await certifiedApplianceSigner(`${dir.path}/data`, pki);
    cleanups.push(() => signer.close());
    const pwFile = `${dir.path}/password`;
    writeFileSync(pwFile, PASSWORD);
    const port = await freePort();
    const config = csTestConfig({ served: servedCodes, dataDir: `${dir.path}/data`, port, pwFile, upstreamUrl: mosq.url });
    if (opts.syncWrites !== undefined) config.broker.syncWrites = opts.syncWrites;
    const db = await openApplianceDb(`${dir.path}/data/db`, { sync: config.broker.syncWrites });
    cleanups.push(() => db.close());
    const store = await IdentityStore.open(db);
    await load(db, store, residents);

    let auditLog: AuditLog | undefined;
    // Broker refusals (ACL, limits) are disconnects in MQTT 3.1.1; they reach the audit log this way.
    const broker = await startBroker(config, {
      logger,
      db,
      intakeAnswersRequests: true,
      audit: (e) => {
        if (e.kind !== 'denial') return;
        void auditLog?.append({
          actor: { kind: 'system', id: e.systemId ?? e.clientId ?? 'unknown' },
          action: 'broker.denial',
          outcome: 'refused',
          code: e.reason,
          detail: { topic: e.topic ?? null },
        });
      },
    });
    cleanups.push(() => broker.close());
    const uplink = await createUplink({
      config,
      db,
      signer: opts.crypto?.uplinkSigner ?? signer,
      verifier: opts.crypto?.verifier ?? reloadingVerifier(pki),
      logger,
      // As the appliance records refused upstream messages (appliance/components/uplinks.ts).
      audit: (e) => auditLog?.append(upstreamRefusalEntry(e)).then(() => undefined),
    });
    cleanups.push(() => uplink.close());
    // Low thresholds so a test can trip the repeated-search alarm with a handful of searches.
    const lookupAlerts = createLookupAlerts({ config: { ...config.audit.lookupAlerts, searchesPerMinute: 5 }, logger });
    const audit = await createAuditLog({ db, signer, logger, lookupAlerts });
    auditLog = audit;
    cleanups.push(() => audit.close());
    const hashKey = createKeyHasher(randomBytes(32));
    const role = await startCsRole({
      config,
      db,
      logger,
      broker,
      uplink,
      audit: { log: audit, hashKey },
      identityStore: store,
      consistency: { bucketsPerPage: 4 },
    });
    cleanups.push(() => role.close());
    await until(() => uplink.linkStatus()[0]?.state === 'up');

    const url = `mqtt://127.0.0.1:${port}`;
    const client = async (id: string, clientId = id): Promise<LocalClient> => {
      const c = await mqtt.connectAsync(url, {
        clientId,
        username: id,
        password: PASSWORD,
        clean: false,
        protocolVersion: 4,
        reconnectPeriod: 0,
      });
      cleanups.push(() => c.endAsync(true).then(() => undefined));
      const replies: Envelope[] = [];
      const pushes: Envelope[] = [];
      const waiting = new Map<string | null, (e: Envelope) => void>();
      c.on('message', (topic, payload) => {
        const e = JSON.parse(payload.toString('utf8')) as Envelope;
        (topic.startsWith('res/') ? replies : pushes).push(e);
        if (topic.startsWith('res/')) waiting.get(e.corr)?.(e);
      });
      // Requests are small and latency-bound: no Nagle delay on the client side.
      (c.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
      await c.subscribeAsync([`res/${id}`, `to/${id}/#`], { qos: 1 });
      const waitReply = (corr: string | null, seen?: Set<Envelope>) => {
        const have = replies.find((r) => r.corr === corr && !seen?.has(r));
        if (have) return Promise.resolve(have);
        return new Promise<Envelope>((resolve, reject) => {
          const t = setTimeout(() => {
            waiting.delete(corr);
            reject(new Error(`no reply to ${corr} in time`));
          }, 15_000);
          waiting.set(corr, (e) => {
            clearTimeout(t);
            waiting.delete(corr);
            resolve(e);
          });
        });
      };
      return {
        id,
        client: c,
        replies,
        pushes,
        async request(type, body, extra = {}) {
          const env = { v: 1, id: uuidv7(), type, body, ...extra };
          const reply = waitReply(env.id);
          await c.publishAsync(`req/${type}`, JSON.stringify(env), { qos: 1 });
          return reply;
        },
        async raw(type, payload, expectCorr) {
          const reply = waitReply(expectCorr, new Set(replies));
          await c.publishAsync(`req/${type}`, payload, { qos: 1 });
          return reply;
        },
        waitPush: (pred, timeoutMs = 15_000) => until(() => pushes.find(pred), timeoutMs),
      };
    };
    return {
      config,
      db,
      signer,
      broker,
      uplink,
      audit,
      lookupAlerts,
      hashKey,
      role,
      sims,
      prefStore,
      residents,
      elsewhere: { samePref: samePref!, otherPref: otherPref! },
      client,
      auditEntries: () => audit.query({}),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
