// The simulators as an appliance sees them: `juki-gw sim` as its own process on Mosquitto with a
// generated population, and the multi-hop relays (ims → NWS → other body, national → NWS → ims).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowIso, uuidv7, type Envelope } from '../../platform/envelope.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { createUplink, type Uplink } from '../../gateway/uplink/index.js';
import type { TokenSigner } from '../../hsm/index.js';
import { reloadingVerifier } from '../../sim/pki.js';
import { generateResidents } from '../../sim/residents.js';
import { startSimulators, type Simulators } from '../../sim/run.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';
import { certifiedApplianceSigner, openSimPki, quietLogger, SELF, SERVED, testConfig } from '../helpers/uplink.js';

const dir = tempDir('sim-');
let mosq: Mosquitto;
let signer: TokenSigner;
let db: Db;
const logger = quietLogger();
const OPERATOR = { operatorId: 'op-0017', terminalId: 'term-01' };
const env = (type: string, to: string, body: Record<string, unknown>): Envelope => ({
  v: 1,
  id: uuidv7(),
  type,
  from: SELF,
  to,
  at: nowIso(),
  corr: null,
  body,
});

async function until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  mosq = await startMosquitto();
  db = await openApplianceDb(join(dir.path, 'data', 'db'));
});
afterAll(async () => {
  await db?.close();
  await signer?.close();
  await mosq?.close();
  dir.cleanup();
});

describe('juki-gw sim (own process)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('answers per the contract from its generated population, and stops on SIGTERM', async () => {
    const pkiDir = join(dir.path, 'cli-pki');
    child = spawn(
      process.execPath,
      ['bin/juki-gw.js', 'sim', '--broker', mosq.url, '--pki', pkiDir, '--population', 'mie:300', '--seed', 'sim-test'],
      { env: { ...process.env, LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    await until(() => stdout.includes('simulated upstream CA'));
    signer = await certifiedApplianceSigner(join(dir.path, 'data'), await openSimPki(pkiDir));
    const uplink: Uplink = await createUplink({
      config: testConfig(mosq.url),
      db,
      signer,
      verifier: reloadingVerifier(await openSimPki(pkiDir)),
      logger,
    });
    try {
      await until(() => uplink.linkStatus()[0]?.state === 'up');
      const [person] = [...generateResidents('mie', { count: 1, seed: 'sim-test' })];
      const verified = await uplink.request(
        env('identity.verify', 'national', { by: 'residentCode', residentCode: person!.residentCode, ...OPERATOR }),
      );
      expect(verified).toMatchObject({
        type: 'identity.verify.result',
        body: { status: 'match', record: { residentCode: person!.residentCode, name: person!.name } },
      });
      const inquiry = await uplink.request(
        env('jlis.inquiry', 'national', { by: 'myNumber', myNumber: person!.myNumber, dutyCode: 'J05', ...OPERATOR }),
      );
      expect(inquiry).toMatchObject({ type: 'jlis.inquiry.result', body: { records: [{ residentCode: person!.residentCode }] } });
    } finally {
      await uplink.close();
    }
    const exited = new Promise<number | null>((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
  });
});

describe('relays through the simulated number-linkage side', () => {
  let sims: Simulators;
  let uplink: Uplink;
  beforeAll(async () => {
    const pki = await openSimPki(join(dir.path, 'relay-pki'));
    const s2 = await certifiedApplianceSigner(join(dir.path, 'data2'), pki);
    sims = await startSimulators({ brokerUrl: mosq.url, pkiDir: pki.dir, servedCodes: [SERVED], otherMunicipalities: ['141011'], logger });
    const db2 = await openApplianceDb(join(dir.path, 'data2', 'db'));
    uplink = await createUplink({
      config: testConfig(mosq.url),
      db: db2,
      signer: s2,
      verifier: reloadingVerifier(pki),
      logger,
      clientIdPrefix: 'relay',
    });
    await until(() => uplink.linkStatus()[0]?.state === 'up');
    return async () => {
      await uplink.close();
      await db2.close();
      await sims.close();
      await s2.close();
    };
  });

  it('serial.request: ims → NWS → back', async () => {
    const r = await uplink.request(env('serial.request', `ims:${SERVED}`, { lgCode: SERVED, addresseeNo: 'A000123456' }));
    expect(r).toMatchObject({ type: 'serial.request.result', body: { serialNo: expect.stringMatching(/^SN-\d{8}-/) } });
  });

  it("info.query: ims → NWS → the other body's ims → back", async () => {
    const copy = await uplink.request(
      env('copy.update', 'ims:141011', {
        lgCode: '141011',
        addresseeNo: 'A000000777',
        infoType: 'INS-03',
        operation: 'update',
        data: { insured: true },
      }),
    );
    expect(copy).toMatchObject({ body: { accepted: true } });
    const r = await uplink.request(
      env('info.query', `ims:${SERVED}`, {
        lgCode: SERVED,
        addresseeNo: 'A000000777',
        infoType: 'INS-03',
        targetOrg: 'ORG-141011',
        procedure: 'P-0107',
      }),
    );
    expect(r).toMatchObject({ type: 'info.query.result', body: { found: true, data: { insured: true } } });
  });

  it('code.request: national → NWS → code.deliver at our ims; the code never reaches the CS', async () => {
    const r = await uplink.request(
      env('code.request', 'national', { lgCode: SERVED, serialNo: 'SN-20261124-000001', myNumber: '123456789018' }),
    );
    expect(r).toMatchObject({ type: 'code.request.result', body: { accepted: true } });
    const ims = sims.node(`ims:${SERVED}`);
    await until(() => ims.received.some((e) => e.type === 'code.deliver'));
    const delivered = ims.received.find((e) => e.type === 'code.deliver')!;
    expect(delivered).toMatchObject({ from: 'nws', body: { serialNo: 'SN-20261124-000001', code: expect.any(String) } });
    expect(JSON.stringify(r)).not.toContain(String(delivered.body.code));
  });
});
