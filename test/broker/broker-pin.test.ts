// Pinned client certificates (certificateSha256): over real mTLS, a system whose certificate is
// registered connects only with that one; another valid certificate with the same CN from the same CA
// is refused with CONNACK 5. A reconfigure pins or unpins live.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IClientOptions } from 'mqtt';
import { configSchema } from '../../config/schema/index.js';
import { certificateFingerprint } from '../../broker/client-cert.js';
import { createTestPki, type PemPair, type TestPki } from '../helpers/pki.js';
import { connectClient, endClient, refusal } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { startBrokerFixture, type BrokerFixture } from '../fixtures/broker-setup.js';

let pki: TestPki;
let f: BrokerFixture;
const pkiDir = tempDir('jukigw-pin-pki-');
const fp = (pair: PemPair) => certificateFingerprint(new X509Certificate(pair.cert).raw);

const tlsOpts = (pair: PemPair, clientId: string): IClientOptions => ({
  clientId,
  ca: pki.caPem,
  rejectUnauthorized: true,
  cert: pair.cert,
  key: pair.key,
});

beforeAll(async () => {
  // `revoked` gives a second certificate for CN pin-01 from the same CA; an empty CRL makes it valid.
  pki = await createTestPki(pkiDir.path, { clients: ['pin-01', 'free-01'], expired: 'pin-01', revoked: 'pin-01' });
  pki.writeCrl([]);
  f = await startBrokerFixture({
    pki,
    extra: {
      systems: [
        { id: 'pin-01', role: 'resident-register', certificateSha256: fp(pki.clients['pin-01']!).toUpperCase() },
        { id: 'free-01', role: 'terminal' },
      ],
    },
  });
});
afterAll(async () => {
  await f?.close();
  pkiDir.cleanup();
});

describe('pinned client certificate', () => {
  it('the two pin-01 certificates are distinct, both chain to the CA', () => {
    const ca = new X509Certificate(pki.caPem);
    for (const p of [pki.clients['pin-01']!, pki.revoked]) expect(new X509Certificate(p.cert).verify(ca.publicKey)).toBe(true);
    expect(fp(pki.revoked)).not.toBe(fp(pki.clients['pin-01']!));
  });

  it('connects with the registered certificate (fingerprint compared case-insensitively)', async () => {
    const c = await connectClient(f.tlsUrl, tlsOpts(pki.clients['pin-01']!, 'pin-01'));
    expect(c.connected).toBe(true);
    await endClient(c);
  });

  it('refuses another valid certificate with the same CN from the same CA: CONNACK 5 and a clear denial', async () => {
    expect(await refusal(f.tlsUrl, tlsOpts(pki.revoked, 'pin-01'))).toBe(5);
    expect(f.denials('not-authorized').at(-1)!.detail).toBe('certificate does not match the one registered for system pin-01');
  });

  it('a system without a pin keeps accepting any certificate of its CN from the CA', async () => {
    const c = await connectClient(f.tlsUrl, tlsOpts(pki.clients['free-01']!, 'free-01'));
    await endClient(c);
  });

  it('reconfigure re-pins live: the other certificate then connects and the first is refused', async () => {
    const next = configSchema.parse({
      ...f.config,
      systems: f.config.systems.map((s) => (s.id === 'pin-01' ? { ...s, certificateSha256: fp(pki.revoked) } : s)),
    });
    await f.broker.reconfigure(next);
    const c = await connectClient(f.tlsUrl, tlsOpts(pki.revoked, 'pin-01'));
    await endClient(c);
    expect(await refusal(f.tlsUrl, tlsOpts(pki.clients['pin-01']!, 'pin-01'))).toBe(5);
    await f.broker.reconfigure(f.config);
  });

  it('disconnects a connected client when another certificate is registered for its system', async () => {
    const c = await connectClient(f.tlsUrl, tlsOpts(pki.clients['pin-01']!, 'pin-01'));
    const gone = new Promise<void>((r) => c.once('close', () => r()));
    const next = configSchema.parse({
      ...f.config,
      systems: f.config.systems.map((s) => (s.id === 'pin-01' ? { ...s, certificateSha256: fp(pki.revoked) } : s)),
    });
    const r = await f.broker.reconfigure(next);
    expect(r.disconnected).toEqual(['pin-01']);
    await gone;
    c.end(true);
    expect(f.denials('not-authorized').some((d) => d.detail.includes('another client certificate'))).toBe(true);
    await f.broker.reconfigure(f.config);
  });
});

describe('certificateSha256 in the schema', () => {
  it('refuses a fingerprint that is not 64 hex characters, with the path', () => {
    const r = configSchema.safeParse({ ...f.config, systems: [{ id: 'pin-01', role: 'resident-register', certificateSha256: 'AB:CD' }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['systems', 0, 'certificateSha256'] });
    expect(r.error!.issues[0]!.message).toMatch(/64 hex characters/);
  });
});
