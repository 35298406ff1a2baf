// mTLS listener, certificate → system → role, and the contract ACL over real TLS connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IClientOptions } from 'mqtt';
import { createTestPki, type PemPair, type TestPki } from '../helpers/pki.js';
import { closed, collect, connectClient, endClient, refusal, subackCodes, subscribeGranted } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { startBrokerFixture, until, type BrokerFixture } from '../fixtures/broker-setup.js';

let pki: TestPki;
let f: BrokerFixture;
const pkiDir = tempDir('jukigw-pki-');

const tlsOpts = (pair: PemPair | undefined, clientId: string, extra: IClientOptions = {}): IClientOptions => ({
  clientId,
  ca: pki.caPem,
  rejectUnauthorized: true,
  ...(pair ? { cert: pair.cert, key: pair.key } : {}),
  ...extra,
});

beforeAll(async () => {
  pki = await createTestPki(pkiDir.path, { clients: ['rr-01', 'term-01', 'stranger', 'off-01'], expired: 'rr-01', revoked: 'term-01' });
  f = await startBrokerFixture({ pki });
});
afterAll(async () => {
  await f?.close();
  pkiDir.cleanup();
});

describe('mTLS listener', () => {
  it('accepts a client certificate of a configured system and maps CN → role', async () => {
    const c = await connectClient(f.tlsUrl, tlsOpts(pki.clients['rr-01'], 'rr-01'));
    const server = Object.values((f.broker.aedes as unknown as { clients: Record<string, never> }).clients)[0]!;
    expect(f.broker.identityOf(server)).toMatchObject({ systemId: 'rr-01', role: 'resident-register' });
    await endClient(c);
  });

  it.each([
    ['no client certificate', undefined, /no client certificate/],
    ['an unknown CA', 'rogue', /CERT_SIGNATURE_FAILURE|UNABLE_TO/],
    ['an expired certificate', 'expired', /CERT_HAS_EXPIRED|expired/i],
    ['a revoked certificate (CRL)', 'revoked', /CERT_REVOKED|revoked/i],
  ] as const)('refuses %s at the TLS handshake, logged with the reason', async (_label, which, pattern) => {
    const before = f.denials('tls').length;
    const pair = which === undefined ? undefined : pki[which];
    expect(await refusal(f.tlsUrl, tlsOpts(pair, 'rr-01'))).toBe('closed');
    await until(() => f.denials('tls').length > before, 3000, 'tls denial');
    expect(f.denials('tls').at(-1)!.detail).toMatch(pattern);
  });

  it('refuses a valid certificate whose CN is not a configured or enabled system (CONNACK 5)', async () => {
    expect(await refusal(f.tlsUrl, tlsOpts(pki.clients['stranger'], 'stranger'))).toBe(5);
    expect(await refusal(f.tlsUrl, tlsOpts(pki.clients['off-01'], 'off-01'))).toBe(5);
    expect(f.denials('not-authorized').map((d) => d.detail)).toEqual(
      expect.arrayContaining(['system stranger is not configured', 'system off-01 is disabled']),
    );
  });

  it('refuses a client ID other than the system ID (CONNACK 2): no session takeover', async () => {
    expect(await refusal(f.tlsUrl, tlsOpts(pki.clients['rr-01'], 'term-01'))).toBe(2);
    expect(await refusal(f.tlsUrl, tlsOpts(pki.clients['rr-01'], ''))).toBe(2);
  });
});

describe('contract ACL over TLS', () => {
  it('grants res/{own} and to/{own}/#, answers 0x80 for filters crossing systems', async () => {
    const c = await connectClient(f.tlsUrl, tlsOpts(pki.clients['rr-01'], 'rr-01'));
    const granted = await subackCodes(c, {
      'res/rr-01': { qos: 1 },
      'to/rr-01/#': { qos: 1 },
      'res/+': { qos: 1 },
      '#': { qos: 1 },
      '$SYS/#': { qos: 0 },
      'to/term-01/#': { qos: 1 },
      'req/#': { qos: 1 },
    });
    expect(granted).toEqual([1, 1, 128, 128, 128, 128, 128]);
    expect(c.connected).toBe(true);
    const reasons = f.denials('acl-subscribe').map((d) => d.topic);
    expect(reasons).toEqual(expect.arrayContaining(['res/+', '#', '$SYS/#', 'to/term-01/#', 'req/#']));
    await endClient(c);
  });

  it('delivers req/{type} of the role to the appliance and replies only to the owner', async () => {
    const rr = await connectClient(f.tlsUrl, tlsOpts(pki.clients['rr-01'], 'rr-01'));
    const term = await connectClient(f.tlsUrl, tlsOpts(pki.clients['term-01'], 'term-01'));
    expect(await subscribeGranted(rr, 'res/rr-01')).toBe(1);
    expect(await subscribeGranted(term, 'res/term-01')).toBe(1);
    const rrIn = collect(rr);
    const termIn = collect(term);
    const seen: string[] = [];
    const onReq = (packet: { topic: string }, cb: () => void) => {
      seen.push(packet.topic);
      cb();
    };
    await new Promise<void>((r) => f.broker.aedes.subscribe('req/#', onReq, () => r()));
    await rr.publishAsync('req/identity.update', '{"v":1}', { qos: 1 });
    await until(() => seen.includes('req/identity.update'), 3000, 'appliance receives the request');
    f.broker.aedes.publish({ cmd: 'publish', topic: 'res/rr-01', payload: Buffer.from('ok'), qos: 1, retain: false, dup: false }, () => {});
    expect((await rrIn.next(1))[0]!.topic).toBe('res/rr-01');
    expect(termIn.got).toHaveLength(0);
    await new Promise<void>((r) => f.broker.aedes.unsubscribe('req/#', onReq, () => r()));
    await endClient(rr);
    await endClient(term);
  });

  it('disconnects on a denied publish, logs it, and leaves other clients connected', async () => {
    const rr = await connectClient(f.tlsUrl, tlsOpts(pki.clients['rr-01'], 'rr-01'));
    const term = await connectClient(f.tlsUrl, tlsOpts(pki.clients['term-01'], 'term-01'));
    await subscribeGranted(term, 'res/term-01');
    const termIn = collect(term);
    const gone = closed(rr);
    rr.publish('req/identity.verify', 'not my type', { qos: 1 });
    await gone;
    const d = f.denials('acl-publish').at(-1)!;
    expect(d).toMatchObject({ systemId: 'rr-01', topic: 'req/identity.verify', listener: 'tls' });
    expect(d.detail).toContain('may not send message type');
    expect(term.connected).toBe(true);
    f.broker.aedes.publish(
      { cmd: 'publish', topic: 'res/term-01', payload: Buffer.from('still here'), qos: 1, retain: false, dup: false },
      () => {},
    );
    expect((await termIn.next(1))[0]!.payload.toString()).toBe('still here');
    await endClient(term);
    rr.end(true);
  });
});

describe('CRL reload', () => {
  it('refuses a certificate revoked after start once TLS material is reloaded (SIGHUP in the CLI)', async () => {
    const pair = pki.clients['term-01']!;
    const c = await connectClient(f.tlsUrl, tlsOpts(pair, 'term-01'));
    await endClient(c);
    pki.writeCrl([pki.revoked.serial, pair.serial]);
    try {
      f.broker.reloadTls();
      const before = f.denials('tls').length;
      expect(await refusal(f.tlsUrl, tlsOpts(pair, 'term-01'))).toBe('closed');
      await until(() => f.denials('tls').length > before, 3000, 'tls denial');
      expect(f.denials('tls').at(-1)!.detail).toMatch(/CERT_REVOKED/);
    } finally {
      pki.writeCrl([pki.revoked.serial]);
      f.broker.reloadTls();
    }
    const again = await connectClient(f.tlsUrl, tlsOpts(pair, 'term-01'));
    await endClient(again);
  });
});
