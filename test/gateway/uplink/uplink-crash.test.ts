// kill -9 of the appliance while it forwards, five times in a row: nothing is lost, and the only
// duplicates are resends that the receiver drops by id.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openApplianceDb } from '../../../platform/store/db.js';
import { nowIso, uuidv7, type Envelope } from '../../../platform/envelope.js';
import { Outbox } from '../../../gateway/uplink/outbox.js';
import { startSimulators, type Simulators } from '../../../sim/run.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import {
  certifiedApplianceSigner,
  notifyBody,
  openSimPki,
  PREF,
  quietLogger,
  SELF,
  SERVED,
  testResidentCode,
} from '../../helpers/uplink.js';

const dir = tempDir('uplink-crash-');
const dataDir = join(dir.path, 'data');
const pkiDir = join(dir.path, 'pki');
let mosq: Mosquitto;
let sims: Simulators;
const children = new Set<ChildProcess>();
const PERSONS = 40;
const PER_PERSON = 25;
const sent: Envelope[] = [];

beforeAll(async () => {
  mosq = await startMosquitto();
  const pki = await openSimPki(pkiDir);
  const signer = await certifiedApplianceSigner(dataDir, pki);
  expect(signer.status().kind).toBe('pkcs11'); // SoftHSM, not the software key
  await signer.close();
  sims = await startSimulators({ brokerUrl: mosq.url, pkiDir, servedCodes: [SERVED], logger: quietLogger() });
  // The flows' side, done before the appliance process runs: everything is queued on disk.
  const db = await openApplianceDb(join(dataDir, 'db'));
  const outbox = new Outbox({ db, route: () => 'juki', retry: { initialMs: 50, maxMs: 500, maxAttempts: 10 }, backoff: () => 50 });
  await outbox.open({ live: false });
  for (let n = 1; n <= PER_PERSON; n++) {
    const b = db.batch();
    for (let p = 0; p < PERSONS; p++) {
      const e: Envelope = {
        v: 1,
        id: uuidv7(),
        type: 'identity.notify',
        from: SELF,
        to: PREF,
        at: nowIso(),
        corr: null,
        body: notifyBody(testResidentCode(p), n),
      };
      outbox.enqueue(b, e);
      sent.push(e);
    }
    await outbox.commit(b);
  }
  outbox.close();
  await db.close();
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await sims?.close();
  await mosq?.close();
  dir.cleanup();
});

function startAppliance(): { child: ChildProcess; ready: Promise<void>; lastDepth: () => number; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/uplink-appliance.ts'], {
    env: { ...process.env, DATA_DIR: dataDir, PKI_DIR: pkiDir, BROKER_URL: mosq.url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  let depth = Number.NaN;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => {
    resolveReady = r;
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      if (line === 'ready') resolveReady();
      const m = /^depth (\d+)$/.exec(line);
      if (m) depth = Number(m[1]);
    }
  });
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      children.delete(child);
      r(code);
    }),
  );
  return { child, ready, lastDepth: () => depth, exited };
}

async function until(cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('loses nothing across five kill -9 during forwarding; duplicates are only resends dropped by id', async () => {
  const pref = sims.node(PREF);
  const total = sent.length;
  for (let k = 0; k < 5; k++) {
    const app = startAppliance();
    await app.ready;
    const before = pref.received.length;
    if (process.env.DEBUG_CRASH) process.stdout.write(`run ${k}: ready, received ${before} t=${Date.now() % 100000}\n`);
    // Kill mid-stream: after some progress, never after the end.
    await until(() => pref.received.length >= Math.min(total - 1, before + 60));
    if (process.env.DEBUG_CRASH)
      process.stdout.write(`run ${k}: kill at received ${pref.received.length} depth ${app.lastDepth()} t=${Date.now() % 100000}\n`);
    app.child.kill('SIGKILL');
    await app.exited;
    expect(pref.received.length).toBeLessThan(total);
  }
  const last = startAppliance();
  await last.ready;
  await until(() => pref.received.length === total && last.lastDepth() === 0, 90_000);
  last.child.kill('SIGTERM');
  expect(await last.exited).toBe(0);

  const ids = new Set(sent.map((e) => e.id));
  const got = pref.received.filter((e) => ids.has(e.id));
  expect(new Set(got.map((e) => e.id)).size).toBe(total);
  expect(got.length).toBe(total);
  const lastN = new Map<string, number>();
  for (const e of got) {
    const rec = e.body.record as { residentCode: string; updateSeq: number };
    expect(rec.updateSeq).toBe((lastN.get(rec.residentCode) ?? 0) + 1);
    lastN.set(rec.residentCode, rec.updateSeq);
  }
  const copies = [...pref.copies.entries()].filter(([id]) => ids.has(id)).reduce((s, [, c]) => s + c, 0);
  // Every duplicate is a resend of a message that was already received, never a new message.
  expect(copies).toBeGreaterThanOrEqual(total);
  process.stdout.write(`kill -9 x5: ${total} messages, ${copies - total} duplicate copies dropped by id at the receiver\n`);
});
