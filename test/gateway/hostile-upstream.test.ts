// Hostile upstream traffic through the real uplink inbox (Mosquitto, simulated nodes, SoftHSM-signed
// appliance): replayed and re-signed messages, stale/future timestamps, certificates from an unknown
// CA, expired and revoked certificates, a forged `from`, and topic/addressee mismatches. Each is
// refused with its own reason (audited), none reaches a flow, legitimate traffic keeps flowing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { nowIso, uuidv7, type Envelope } from '../../platform/envelope.js';
import { EXAMPLE_BODIES } from '../../gateway/messages/index.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { createUplink, type Uplink } from '../../gateway/uplink/index.js';
import type { InboxAuditEvent } from '../../gateway/uplink/inbox.js';
import {
  createDevCa,
  createVerifier,
  issueWithNewKey,
  pemBlocks,
  revoke,
  signerFromToken,
  softwareTokenFromKey,
  type TokenSigner,
} from '../../hsm/index.js';
import { openSimPki, peerCertificates, simSigner, type SimPki } from '../../sim/pki.js';
import { startSimulators, type Simulators } from '../../sim/run.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { certifiedApplianceSigner, quietLogger, SELF, SERVED, testConfig } from '../helpers/uplink.js';
import { tempDir } from '../helpers/tmp.js';

const OTHER = '141003';
const PEER = `lg:${OTHER}`;
const dir = tempDir('jukigw-hostile-up-');
let mosq: Mosquitto;
let pki: SimPki;
let sims: Simulators;
let db: Db;
let appliance: TokenSigner;
let uplink: Uplink;
let intruder: MqttClient;
const audits: InboxAuditEvent[] = [];
const handled: Envelope[] = [];
const captured: Buffer[] = [];
let expiredSigner: TokenSigner;
let revokedSigner: TokenSigner;
let foreignSigner: TokenSigner;

async function signerFor(keyPem: string, certPem: string): Promise<TokenSigner> {
  return signerFromToken(softwareTokenFromKey(createPrivateKey(keyPem), 'ES256'), pemBlocks(certPem)[0]!);
}

async function until(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

// A valid body: the inbox checks every body against its schema before a flow sees it.
const MOVE_IN = JSON.parse(JSON.stringify(EXAMPLE_BODIES['movein.notice'].request)) as Record<string, unknown>;
const notice = (over: Partial<Envelope> = {}): Envelope => ({
  v: 1,
  id: uuidv7(),
  type: 'movein.notice',
  from: PEER,
  to: SELF,
  at: nowIso(),
  corr: null,
  body: MOVE_IN,
  ...over,
});

beforeAll(async () => {
  mosq = await startMosquitto();
  pki = await openSimPki(join(dir.path, 'pki'));
  appliance = await certifiedApplianceSigner(join(dir.path, 'data'), pki);
  sims = await startSimulators({
    brokerUrl: mosq.url,
    pkiDir: pki.dir,
    servedCodes: [SERVED],
    otherMunicipalities: [OTHER],
    logger: quietLogger(),
  });
  // Certificates from the right CA that must still be refused: one expired, one revoked (CRL).
  const expired = await issueWithNewKey(pki.ca, {
    kind: 'signing',
    commonName: PEER,
    notBefore: new Date(Date.now() - 10 * 86400_000),
    notAfter: new Date(Date.now() - 86400_000),
  });
  const revoked = await issueWithNewKey(pki.ca, { kind: 'signing', commonName: PEER, days: 30 });
  writeFileSync(join(pki.dir, 'peers', 'hostile-expired.pem'), expired.certPem);
  writeFileSync(join(pki.dir, 'peers', 'hostile-revoked.pem'), revoked.certPem);
  const crlPem = await revoke(pki.ca, revoked.certPem);
  expiredSigner = await signerFor(expired.keyPem, expired.certPem);
  revokedSigner = await signerFor(revoked.keyPem, revoked.certPem);
  const otherCa = await createDevCa(join(dir.path, 'rogue-ca'), 'rogue CA');
  const foreign = await issueWithNewKey(otherCa, { kind: 'signing', commonName: PEER, days: 30 });
  writeFileSync(join(pki.dir, 'peers', 'hostile-foreign.pem'), foreign.certPem);
  foreignSigner = await signerFor(foreign.keyPem, foreign.certPem);
  db = await openApplianceDb(join(dir.path, 'data', 'db'));
  const verifier = createVerifier({
    trustAnchorsPem: pki.caPem,
    peerCertificatesPem: peerCertificates(pki),
    crlPem,
    replayWindowSeconds: 300,
    acceptX5c: false,
  });
  uplink = await createUplink({
    config: testConfig(mosq.url),
    db,
    signer: appliance,
    verifier,
    logger: quietLogger(),
    audit: (e) => {
      audits.push(e);
    },
  });
  uplink.on('movein.notice', async (e) => {
    handled.push(e);
    return { v: 1, id: uuidv7(), type: 'movein.notice.result', from: SELF, to: e.from, at: nowIso(), corr: e.id, body: { accepted: true } };
  });
  await until(() => uplink.linkStatus()[0]?.state === 'up');
  intruder = connect(mosq.url, { clientId: 'intruder', protocolVersion: 4, reconnectPeriod: 0 });
  await new Promise((r) => intruder.once('connect', r));
  // Anyone on the upstream network can listen to what is addressed to the appliance: the replay source.
  await intruder.subscribeAsync(`to/${SELF}/#`, { qos: 1 });
  intruder.on('message', (_t, p) => captured.push(Buffer.from(p)));
}, 120_000);

afterAll(async () => {
  await intruder?.endAsync(true);
  await uplink?.close();
  await db?.close();
  await sims?.close();
  await appliance?.close();
  await mosq?.close();
  dir.cleanup();
});

async function inject(payload: string | Buffer, topic = `to/${SELF}/movein.notice`): Promise<InboxAuditEvent | 'not refused'> {
  const before = audits.length;
  const handledBefore = handled.length;
  await intruder.publishAsync(topic, payload, { qos: 1 });
  try {
    await until(() => audits.length > before || handled.length > handledBefore, 5000);
  } catch {
    /* neither: a silent drop */
  }
  return audits.length > before ? audits[before]! : 'not refused';
}

it('legitimate traffic is handled; each hostile variant is refused with its own reason and never handled', async () => {
  const peer = sims.node(PEER);
  const reply = await peer.request(SELF, 'movein.notice', MOVE_IN);
  expect(reply).toMatchObject({ type: 'movein.notice.result', body: { accepted: true } });
  expect(handled).toHaveLength(1);
  await until(() => captured.length >= 1);
  const original = captured[0]!;
  const legit = await simSigner(pki, PEER);

  const cases: Array<[string, () => Promise<string | Buffer>, string | RegExp, string?]> = [
    ['a replay of the captured message', async () => original, 'dropped'],
    [
      'the same id re-signed by the legitimate key with another body',
      async () => {
        const e = JSON.parse(Buffer.from(JSON.parse(original.toString()).payload, 'base64url').toString()) as Envelope;
        return JSON.stringify(await legit.signEnvelope({ ...e, body: { residentCode: '24201200020' } }));
      },
      'dropped',
    ],
    ['a stale timestamp', async () => JSON.stringify(await legit.signEnvelope(notice({ at: nowIso(Date.now() - 3600_000) }))), 'stale'],
    ['a future timestamp', async () => JSON.stringify(await legit.signEnvelope(notice({ at: nowIso(Date.now() + 3600_000) }))), 'future'],
    [
      'a certificate from an unknown CA',
      async () => JSON.stringify(await foreignSigner.signEnvelope(notice())),
      /untrusted_chain|unknown_key/,
    ],
    ['an expired certificate', async () => JSON.stringify(await expiredSigner.signEnvelope(notice())), 'certificate_expired'],
    ['a revoked certificate', async () => JSON.stringify(await revokedSigner.signEnvelope(notice())), 'certificate_revoked'],
    [
      'a forged from (signed by lg:141003, claims the prefecture)',
      async () => JSON.stringify(await legit.signEnvelope(notice({ from: 'pref:240001' }))),
      'forged_from',
    ],
    [
      'a flipped signature byte',
      async () => {
        const j = await legit.signEnvelope(notice());
        const sig = Buffer.from(j.signature, 'base64url');
        sig[5]! ^= 1;
        return JSON.stringify({ ...j, signature: sig.toString('base64url') });
      },
      'bad_signature',
    ],
    [
      'an addressee that is not the appliance',
      async () => JSON.stringify(await legit.signEnvelope(notice({ to: 'lg:131016' }))),
      'misrouted',
    ],
    // Published to another node's topic: the appliance does not even subscribe there.
    [
      "a topic that is not the appliance's",
      async () => JSON.stringify(await legit.signEnvelope(notice())),
      'dropped',
      `to/lg:131016/movein.notice`,
    ],
    ['an unsigned envelope', async () => JSON.stringify(notice()), 'malformed'],
    [
      'a well-signed body that breaks the message schema',
      async () => JSON.stringify(await legit.signEnvelope(notice({ body: { residentCode: '24201200012' } }))),
      'invalid_body',
    ],
    [
      'alg none',
      async () => {
        const j = await legit.signEnvelope(notice());
        return JSON.stringify({
          ...j,
          protected: Buffer.from(JSON.stringify({ alg: 'none', typ: 'jn+json', kid: 'x' })).toString('base64url'),
          signature: '',
        });
      },
      /unsupported_alg|malformed/,
    ],
  ];
  const outcomes: Record<string, string> = {};
  for (const [label, make, reason, topic] of cases) {
    const handledBefore = handled.length;
    const r = await inject(await make(), topic);
    // A duplicate is not an attack by itself (senders resend): it is dropped silently, never handled twice.
    const got = r === 'not refused' ? (handled.length === handledBefore ? 'dropped' : 'handled') : r.reason;
    outcomes[label] = got;
    expect(handled.length, label).toBe(handledBefore);
    if (typeof reason === 'string') expect(got, label).toBe(reason);
    else expect(got, label).toMatch(reason);
  }
  console.log('[hostile:upstream]', JSON.stringify(outcomes));
  // Legitimate traffic still flows after all of it.
  const again = await peer.request(SELF, 'movein.notice', MOVE_IN);
  expect(again).toMatchObject({ type: 'movein.notice.result', body: { accepted: true } });
  expect(handled).toHaveLength(2);
}, 120_000);
