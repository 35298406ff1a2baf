// The stack the CS crash tests share: Mosquitto with the simulated upstreams, a data dir with the
// appliance's certified signer and N residents loaded, and the appliance as a child process
// (test/gateway/cs/cs-crash-appliance.ts) that a test kills and restarts. Plus the checks every crash test makes
// afterwards: each update notified once and in order per person, applied exactly once, audit intact.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createAuditLog } from '../../gateway/audit/index.js';
import { IdentityStore } from '../../gateway/cs/identityStore.js';
import type { IdentityChange } from '../../gateway/cs/identityStoreTypes.js';
import { openApplianceDb } from '../../platform/store/db.js';
import { createSigner } from '../../hsm/index.js';
import { generateResidents } from '../../sim/residents.js';
import { startSimulators, type Simulators } from '../../sim/run.js';
import mqtt, { type MqttClient } from 'mqtt';
import type { Envelope } from '../../platform/envelope.js';
import { loadResidents, PASSWORD, PREF, SERVED, SYSTEMS, until } from './cs-harness.js';
import { startMosquitto, type Mosquitto } from './mosquitto.js';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';
import { applianceHsm, certifiedApplianceSigner, openSimPki, quietLogger } from './uplink.js';

export interface RunningAppliance {
  child: ChildProcess;
  ready: Promise<void>;
}

export interface CrashStack {
  readonly dir: string;
  readonly dataDir: string;
  readonly residents: IdentityChange[];
  readonly port: number;
  /** The upstream broker (Mosquitto) the appliance's uplink publishes to. */
  readonly upstreamUrl: string;
  readonly sims: Simulators;
  /** How many times the appliance was started. */
  readonly starts: number;
  startAppliance(env?: Record<string, string>): RunningAppliance;
  /** Every update of every person reached the prefecture, in 更新順番号 order per person. */
  expectNotifiedInOrder(updates: number): Promise<void>;
  /** With the appliance stopped: each update applied exactly once, the audit chain intact. */
  expectAppliedOnceAndAudited(updates: number): Promise<void>;
  close(): Promise<void>;
}

/** `update k` of a person sets its address to `${address}の${k}` (k from 1), as the tests send them. */
export const updatedAddress = (r: IdentityChange, k: number): string => `${r.address}の${k}`;

export async function startCrashStack(prefix: string, persons: number, prepare?: (dataDir: string) => void): Promise<CrashStack> {
  const tmp = tempDir(prefix);
  const dataDir = join(tmp.path, 'data');
  const pkiDir = join(tmp.path, 'pki');
  const pwFile = join(tmp.path, 'password');
  const residents: IdentityChange[] = [...generateResidents('tsu', { count: persons })];
  const children = new Set<ChildProcess>();
  const mosq: Mosquitto = await startMosquitto();
  let sims: Simulators | undefined;
  let port: number;
  try {
    const pki = await openSimPki(pkiDir);
    const signer = await certifiedApplianceSigner(dataDir, pki);
    await signer.close();
    sims = await startSimulators({
      brokerUrl: mosq.url,
      pkiDir,
      servedCodes: [SERVED],
      people: residents.map((r) => ({ ...r })),
      logger: quietLogger(),
    });
    writeFileSync(pwFile, PASSWORD);
    port = await freePort();
    const db = await openApplianceDb(join(dataDir, 'db'));
    await loadResidents(db, await IdentityStore.open(db), residents);
    await db.close();
    prepare?.(dataDir);
  } catch (e) {
    // No stack is returned to close: stop what was started.
    await sims?.close().catch(() => undefined);
    await mosq.close();
    tmp.cleanup();
    throw e;
  }
  const simulators = sims;
  let starts = 0;

  return {
    dir: tmp.path,
    dataDir,
    residents,
    port,
    upstreamUrl: mosq.url,
    sims: simulators,
    get starts() {
      return starts;
    },
    startAppliance(env = {}) {
      starts++;
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/gateway/cs/cs-crash-appliance.ts'], {
        env: { ...process.env, DATA_DIR: dataDir, PKI_DIR: pkiDir, BROKER_URL: mosq.url, PORT: String(port), PW_FILE: pwFile, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('ready')) resolve();
        });
        child.once('exit', (code, sig) => reject(new Error(`appliance exited (${code ?? sig}) before ready`)));
      });
      return { child, ready };
    },
    async expectNotifiedInOrder(updates) {
      const notes = () => simulators.node(PREF).received.filter((e) => e.type === 'identity.notify');
      await until(() => notes().length >= residents.length * updates, 60_000);
      for (const r of residents) {
        const mine = notes()
          .filter((e) => (e.body.record as IdentityChange).residentCode === r.residentCode)
          .map((e) => e.body.record as IdentityChange & { updateSeq: number });
        expect(mine.map((x) => x.address)).toEqual(Array.from({ length: updates }, (_, i) => updatedAddress(r, i + 1)));
        expect(mine.map((x) => x.updateSeq)).toEqual([...mine.map((x) => x.updateSeq)].sort((a, b) => a - b));
      }
    },
    async expectAppliedOnceAndAudited(updates) {
      const db = await openApplianceDb(join(dataDir, 'db'));
      try {
        const store = await IdentityStore.open(db);
        for (const r of residents) {
          const h = await store.history(r.residentCode);
          expect(h.length).toBe(1 + updates);
          expect(h.at(-1)!.address).toBe(updatedAddress(r, updates));
        }
        const auditSigner = await createSigner(applianceHsm, { dataDir });
        const audit = await createAuditLog({ db, signer: auditSigner, logger: quietLogger() });
        expect((await audit.verify()).ok).toBe(true);
        expect((await audit.query({ action: 'identity.update', outcome: 'ok' })).length).toBeGreaterThanOrEqual(residents.length * updates);
        await audit.close();
        await auditSigner.close();
      } finally {
        await db.close();
      }
    },
    async close() {
      for (const c of children) c.kill('SIGKILL');
      await simulators.close();
      await mosq.close();
      tmp.cleanup();
    },
  };
}

/** The register system's persistent session on the stack's broker, with every reply kept by its `corr`. */
export interface RegisterSession {
  client: MqttClient;
  /** Replies received for each request id (more than one: a resend answered again). */
  replies: Map<string, Envelope[]>;
  /** How often the connection was (re)established after the first. */
  reconnects(): number;
}

export async function connectRegister(stack: CrashStack): Promise<RegisterSession> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.port}`, {
    clientId: SYSTEMS.register,
    username: SYSTEMS.register,
    password: PASSWORD,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 200,
  });
  let reconnects = 0;
  client.on('connect', () => {
    reconnects++;
  });
  const replies = new Map<string, Envelope[]>();
  client.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    replies.set(e.corr ?? '', [...(replies.get(e.corr ?? '') ?? []), e]);
  });
  await client.subscribeAsync(`res/${SYSTEMS.register}`, { qos: 1 });
  return { client, replies, reconnects: () => reconnects };
}
