// A link over mutual TLS to Mosquitto: the upstream broker demands a client certificate from the
// simulated CA; the appliance's link comes up with one and stays down (with the reason) without.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nowIso, uuidv7 } from '../../../platform/envelope.js';
import { EXAMPLE_RECORD } from '../../../gateway/messages/index.js';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { createUplink, type Uplink } from '../../../gateway/uplink/index.js';
import { createDevCa, issueWithNewKey, type TokenSigner } from '../../../hsm/index.js';
import { reloadingVerifier, type SimPki } from '../../../sim/pki.js';
import { startSimulators, type Simulators } from '../../../sim/run.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { certifiedApplianceSigner, openSimPki, quietLogger, SELF, SERVED, testConfig, testResidentCode } from '../../helpers/uplink.js';

const dir = tempDir('uplink-tls-');
const logger = quietLogger();
let pki: SimPki;
let mosq: Mosquitto;
let sims: Simulators;
let signer: TokenSigner;
let db: Db;
const uplinks: Uplink[] = [];

async function issue(kind: 'server' | 'client', cn: string, ca = pki.ca, prefix = cn): Promise<{ cert: string; key: string }> {
  const i = await issueWithNewKey(ca, { kind, commonName: cn, ...(kind === 'server' ? { altNames: ['127.0.0.1', 'localhost'] } : {}) });
  const cert = join(dir.path, `${prefix}.pem`),
    key = join(dir.path, `${prefix}-key.pem`);
  writeFileSync(cert, i.certPem);
  writeFileSync(key, i.keyPem, { mode: 0o600 });
  return { cert, key };
}

async function until(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  pki = await openSimPki(join(dir.path, 'pki'));
  const caFile = join(pki.dir, 'ca', 'ca.pem');
  const server = await issue('server', '127.0.0.1', pki.ca, 'server');
  mosq = await startMosquitto({ tls: { ...server, ca: caFile, requireClientCert: true } });
  const simClient = await issue('client', 'sim-upstream');
  const { readFileSync } = await import('node:fs');
  sims = await startSimulators({
    brokerUrl: mosq.url,
    pkiDir: pki.dir,
    servedCodes: [SERVED],
    logger,
    tls: { cert: readFileSync(simClient.cert), key: readFileSync(simClient.key), ca: readFileSync(caFile) },
    // A whole identity record: the uplink refuses an answer that does not match the contract.
    people: [{ ...EXAMPLE_RECORD, residentCode: testResidentCode(1), lgCode: SERVED }],
  });
  signer = await certifiedApplianceSigner(join(dir.path, 'data'), pki);
  db = await openApplianceDb(join(dir.path, 'data', 'db'));
});

afterAll(async () => {
  for (const u of uplinks) await u.close();
  await db?.close();
  await sims?.close();
  await signer?.close();
  await mosq?.close();
  dir.cleanup();
});

it('connects with a client certificate from the upstream CA and exchanges signed messages', async () => {
  expect(mosq.url).toMatch(/^mqtts:/);
  const client = await issue('client', `juki-gw-${SERVED}`);
  const uplink = await createUplink({
    config: testConfig(mosq.url, { tls: { ...client, ca: join(pki.dir, 'ca', 'ca.pem') } }),
    db,
    signer,
    verifier: reloadingVerifier(pki),
    logger,
  });
  uplinks.push(uplink);
  await until(() => uplink.linkStatus()[0]?.state === 'up');
  const r = await uplink.request({
    v: 1,
    id: uuidv7(),
    type: 'identity.verify',
    from: SELF,
    to: 'national',
    at: nowIso(),
    corr: null,
    body: { by: 'residentCode', residentCode: testResidentCode(1), operatorId: 'op-0017', terminalId: 'term-01' },
  });
  expect(r).toMatchObject({ type: 'identity.verify.result', body: { status: 'match' } });
});

it('stays down, with the reason, when its client certificate is from another CA', async () => {
  const rogueCa = await createDevCa(join(dir.path, 'rogue-ca'), 'not the upstream CA');
  const rogue = await issue('client', 'rogue', rogueCa, 'rogue');
  const uplink = await createUplink({
    config: testConfig(mosq.url, { tls: { ...rogue, ca: join(pki.dir, 'ca', 'ca.pem') } }),
    db,
    signer,
    verifier: reloadingVerifier(pki),
    logger,
    clientIdPrefix: 'rogue',
  });
  uplinks.push(uplink);
  await until(() => (uplink.linkStatus()[0]?.reconnectAttempts ?? 0) >= 2);
  const s = uplink.linkStatus()[0]!;
  expect(s.state).not.toBe('up');
  expect(s.lastError).toMatch(/\S/); // the TLS refusal's reason, shown in health and the UI
  const down = await uplink.request({
    v: 1,
    id: uuidv7(),
    type: 'identity.verify',
    from: SELF,
    to: 'national',
    at: nowIso(),
    corr: null,
    body: {},
  });
  expect(down).toMatchObject({ type: 'error', body: { code: 'upstream_unavailable' } });
});
