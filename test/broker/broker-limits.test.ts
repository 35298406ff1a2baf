// Bad input and limits on the plain loopback listener (appliance mode): refused with the right
// CONNACK code or a disconnect, logged with the reason, other clients unaffected.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { startListener } from '../../broker/listeners.js';
import { configSchema } from '../../config/schema/index.js';
import {
  closed,
  collect,
  connectClient,
  connectPacket,
  endClient,
  publishPacketRawTopic,
  rawSocket,
  refusal,
  sleep,
  subscribeGranted,
} from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { leadingEnvelopeId, OVERSIZE_ANSWER_FACTOR } from '../../broker/oversize.js';
import { PASSWORD, startBrokerFixture, until, type BrokerFixture } from '../fixtures/broker-setup.js';

const login = (id: string, extra = {}) => ({ clientId: id, username: id, password: PASSWORD, ...extra });

describe('authentication on the plain loopback listener', () => {
  let f: BrokerFixture;
  beforeAll(async () => {
    f = await startBrokerFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it('accepts username = system ID with its password', async () => {
    const c = await connectClient(f.plainUrl, login('rr-01'));
    await endClient(c);
  });
  it.each([
    ['an unknown user', 4, { clientId: 'nobody', username: 'nobody', password: PASSWORD }],
    ['a wrong password', 4, { clientId: 'rr-01', username: 'rr-01', password: 'wrong' }],
    ['no credentials', 4, { clientId: 'rr-01' }],
    ['a disabled system', 5, login('off-01')],
    ['a client ID other than the system ID', 2, { ...login('rr-01'), clientId: 'term-01' }],
    ['a zero-length client ID (appliance mode)', 2, { ...login('rr-01'), clientId: '' }],
  ])('refuses %s with CONNACK %i and logs it', async (_l, code, opts) => {
    const before = f.denials().length;
    expect(await refusal(f.plainUrl, opts)).toBe(code);
    expect(f.denials().length).toBe(before + 1);
  });
  it('never logs the password', async () => {
    expect(JSON.stringify(f.audits)).not.toContain(PASSWORD);
  });
});

describe('limits', () => {
  let f: BrokerFixture | undefined;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await f?.close();
    f = undefined;
  });

  it('disconnects a QoS 0 publish over maxPayloadBytes (nothing to answer it on); a small one passes, other clients unaffected', async () => {
    f = await startBrokerFixture({ limits: { maxPayloadBytes: 2048 } });
    const rr = await connectClient(f.plainUrl, login('rr-01'));
    const term = await connectClient(f.plainUrl, login('term-01'));
    clients.push(rr, term);
    await rr.publishAsync('req/identity.update', Buffer.alloc(2048, 'a'), { qos: 1 });
    const gone = closed(rr);
    rr.publish('req/identity.update', Buffer.alloc(2049, 'a'), { qos: 0 });
    await gone;
    expect(f.denials('payload-too-large').at(-1)!.detail).toBe('payload of 2049 bytes exceeds maxPayloadBytes 2048');
    expect(term.connected).toBe(true);
    await term.publishAsync('req/identity.verify', 'x', { qos: 1 });
  });

  it('answers an oversized QoS 1 request with invalid_request on res/, stores nothing, audits it and keeps the connection', async () => {
    f = await startBrokerFixture({ limits: { maxPayloadBytes: 2048 } });
    const rr = await connectClient(f.plainUrl, login('rr-01'));
    clients.push(rr);
    expect(await subscribeGranted(rr, 'res/rr-01')).toBe(1);
    const replies = collect(rr);
    const id = '01890a5d-ac96-774b-bcce-b302099a8057';
    const big = Buffer.from(JSON.stringify({ v: 1, id, type: 'identity.update', body: { note: 'x'.repeat(3000), id: 'nested-not-this' } }));
    await rr.publishAsync('req/identity.update', big, { qos: 1 }); // PUBACKed
    const [reply] = await replies.next(1);
    expect(reply!.topic).toBe('res/rr-01');
    const env = JSON.parse(reply!.payload.toString());
    expect(env).toMatchObject({
      v: 1,
      type: 'error',
      from: 'lg:242012',
      to: 'rr-01',
      corr: id,
      body: {
        code: 'invalid_request',
        message: `payload of ${big.length} bytes exceeds maxPayloadBytes 2048; the request was not accepted`,
        details: [{ path: 'payload', problem: `${big.length} bytes; at most 2048 bytes are accepted` }],
      },
    });
    expect(rr.connected).toBe(true);
    expect(await f.broker.persistence.level.requests.read(0, 10)).toEqual([]);
    const denial = f.denials('payload-too-large').at(-1)!;
    expect(denial).toMatchObject({ systemId: 'rr-01', topic: 'req/identity.update' });
    expect(denial.detail).toBe(
      `payload of ${big.length} bytes exceeds maxPayloadBytes 2048; acknowledged without storing it, answered invalid_request on res/rr-01 (corr ${id}), connection kept`,
    );

    // the connection goes on: a normal request is stored for the intake
    await rr.publishAsync('req/identity.update', Buffer.from('{"v":1}'), { qos: 1 });
    const stored = await f.broker.persistence.level.requests.read(0, 10);
    expect(stored.map((r) => [r.topic, Buffer.from(r.payload).toString()])).toEqual([['req/identity.update', '{"v":1}']]);

    // an id the payload's start does not give cheaply: corr null
    await rr.publishAsync('req/identity.update', Buffer.alloc(2049, 'a'), { qos: 1 });
    const [, second] = await replies.next(2);
    expect(JSON.parse(second!.payload.toString())).toMatchObject({ type: 'error', corr: null, body: { code: 'invalid_request' } });
    expect(rr.connected).toBe(true);
    expect(await f.broker.persistence.level.requests.read(0, 10)).toHaveLength(1);
  });

  it('still disconnects a request beyond the hard cap (OVERSIZE_ANSWER_FACTOR x maxPayloadBytes), audited', async () => {
    f = await startBrokerFixture({ limits: { maxPayloadBytes: 2048 } });
    const rr = await connectClient(f.plainUrl, login('rr-01'));
    clients.push(rr);
    const gone = closed(rr);
    rr.publish('req/identity.update', Buffer.alloc(OVERSIZE_ANSWER_FACTOR * 2048 + 65540, 'a'), { qos: 1 });
    await gone;
    expect(f.denials('payload-too-large').at(-1)!.detail).toMatch(/^publish of \d+ bytes exceeds the limit of 73731$/);
    expect(await f.broker.persistence.level.requests.read(0, 10)).toEqual([]);
  });

  it('closes a connection that announces a huge packet before buffering it', async () => {
    f = await startBrokerFixture({ limits: { maxPayloadBytes: 2048 } });
    const raw = await rawSocket(Number(new URL(f.plainUrl).port));
    raw.socket.write(connectPacket('rr-01', 'rr-01', PASSWORD));
    await until(() => raw.data.length > 0, 3000, 'CONNACK');
    // PUBLISH with a remaining length of 200 MB; only the header is sent.
    raw.socket.write(Buffer.from([0x30, 0x80, 0x80, 0xe4, 0x5f]));
    await raw.ended;
    expect(f.denials('payload-too-large').at(-1)!.detail).toMatch(/^publish of \d{9} bytes exceeds the limit of 73731$/);
  });

  it('answers CONNACK 3 beyond maxConnections, and admits again once a client leaves', async () => {
    f = await startBrokerFixture({ limits: { maxConnections: 2 } });
    const a = await connectClient(f.plainUrl, login('rr-01'));
    const b = await connectClient(f.plainUrl, login('term-01'));
    clients.push(a, b);
    expect(await refusal(f.plainUrl, login('mon-01'))).toBe(3);
    expect(f.denials('max-connections')).toHaveLength(1);
    await endClient(a);
    await sleep(100);
    const c = await connectClient(f.plainUrl, login('mon-01'));
    clients.push(c);
    expect(b.connected && c.connected).toBe(true);
  });

  it('raises the queue alarm near the bound and refuses (never drops) beyond it', async () => {
    f = await startBrokerFixture({ limits: { maxOfflineQueue: 5, offlineQueueAlarmRatio: 0.6 } });
    const rr = await connectClient(f.plainUrl, login('rr-01', { clean: false }));
    expect(await subscribeGranted(rr, 'to/rr-01/#')).toBe(1);
    await endClient(rr);
    const push = (i: number) =>
      new Promise<void>((resolve, reject) =>
        f!.broker.aedes.publish(
          { cmd: 'publish', topic: 'to/rr-01/moveout.cert', payload: Buffer.from(String(i)), qos: 1, retain: false, dup: false },
          (e?: Error) => (e ? reject(e) : resolve()),
        ),
      );
    const admitted: number[] = [];
    for (let i = 1; i <= 7; i++) {
      const d = await f.broker.admitOffline('to/rr-01/moveout.cert', 1);
      if (d.ok) {
        await push(i);
        admitted.push(i);
      } else expect(d.reason).toBe('offline queue of rr-01 is full (5/5)');
    }
    expect(admitted).toEqual([1, 2, 3, 4, 5]);
    expect(f.alarms.filter((a) => a.kind === 'offline-queue' && a.state === 'raised')).toHaveLength(1);
    expect(f.alarms[0]).toMatchObject({ subject: 'rr-01', message: 'offline queue of rr-01 at 3/5' });
    expect(await f.registry.getSingleMetricAsString('jukigw_broker_queue_depth')).toContain(
      'jukigw_broker_queue_depth{client_id="rr-01"} 5',
    );
    const back = await connectClient(f.plainUrl, login('rr-01', { clean: false }));
    clients.push(back);
    const got = await collect(back).next(5);
    expect(got.map((p) => p.payload.toString())).toEqual(['1', '2', '3', '4', '5']);
    await until(() => f!.alarms.some((a) => a.kind === 'offline-queue' && a.state === 'cleared'), 5000, 'alarm cleared');
  });

  it('refuses new publishes while free disk space is below the minimum (alarm, no PUBACK)', async () => {
    f = await startBrokerFixture({ limits: { minFreeDiskBytes: Number.MAX_SAFE_INTEGER } });
    expect(f.alarms).toEqual([]); // alarm raised during start, before the fixture subscribed
    expect(f.broker.activeAlarms().map((a) => a.kind)).toEqual(['disk-space']);
    const rr = await connectClient(f.plainUrl, login('rr-01'));
    clients.push(rr);
    let acked = false;
    const gone = closed(rr);
    rr.publish('req/identity.update', 'x', { qos: 1 }, (err) => {
      acked = !err;
    });
    await gone;
    expect(acked).toBe(false);
    expect(f.denials('storage').at(-1)!.detail).toMatch(/free disk space below/);
  });
});

describe('per-client inflight window', () => {
  it('sends at most maxInflight unacknowledged QoS 1 messages, the next one after a PUBACK, in order', async () => {
    const f = await startBrokerFixture({ mode: 'standalone', limits: { maxInflight: 2 } });
    try {
      const raw = await rawSocket(Number(new URL(f.plainUrl).port));
      const received: Array<{ cmd: string; messageId?: number; payload?: Buffer }> = [];
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p) => received.push(p as never));
      raw.socket.on('data', (d) => parser.parse(d));
      raw.socket.write(connectPacket('slow'));
      raw.socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'w/#', qos: 1 }] }));
      await until(() => received.some((p) => p.cmd === 'suback'), 3000, 'SUBACK');
      const pub = await connectClient(f.plainUrl, { clientId: 'fast' });
      for (let i = 1; i <= 5; i++) await pub.publishAsync('w/x', String(i), { qos: 1 });
      const publishes = () => received.filter((p) => p.cmd === 'publish');
      await until(() => publishes().length >= 2, 3000, 'two deliveries');
      await sleep(200);
      expect(publishes().map((p) => p.payload!.toString())).toEqual(['1', '2']);
      raw.socket.write(mqttPacket.generate({ cmd: 'puback', messageId: publishes()[0]!.messageId! }));
      await until(() => publishes().length >= 3, 3000, 'third delivery');
      await sleep(100);
      expect(publishes().map((p) => p.payload!.toString())).toEqual(['1', '2', '3']);
      for (const p of publishes().slice(1)) raw.socket.write(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId! }));
      await until(() => publishes().length >= 5, 3000, 'all delivered');
      expect(publishes().map((p) => p.payload!.toString())).toEqual(['1', '2', '3', '4', '5']);
      raw.socket.destroy();
      await endClient(pub);
    } finally {
      await f.close();
    }
  });
});

describe('storage failure', () => {
  it('refuses publishes without PUBACK and raises the storage alarm when LevelDB writes fail', async () => {
    const f = await startBrokerFixture();
    try {
      const rr = await connectClient(f.plainUrl, login('rr-01'));
      await rr.publishAsync('req/identity.update', 'stored', { qos: 1 });
      await f.db.close(); // every later write fails, as on an I/O error
      let acked = false;
      const gone = closed(rr);
      rr.publish('req/identity.update', 'not stored', { qos: 1 }, (err) => {
        acked = !err;
      });
      await gone;
      expect(acked).toBe(false);
      expect(f.denials('storage').at(-1)!.detail).toMatch(/ingress write failed/);
      await until(() => f.alarms.some((a) => a.kind === 'storage' && a.state === 'raised'), 3000, 'storage alarm');
      rr.end(true);
    } finally {
      await f.close();
    }
  });
});

describe('malformed input', () => {
  let f: BrokerFixture;
  beforeAll(async () => {
    f = await startBrokerFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it('closes a socket sending garbage, logs it, other clients unaffected', async () => {
    const term = await connectClient(f.plainUrl, login('term-01'));
    await subscribeGranted(term, 'res/term-01');
    const raw = await rawSocket(Number(new URL(f.plainUrl).port));
    raw.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]));
    await raw.ended;
    expect(f.denials('malformed').length).toBeGreaterThan(0);
    expect(term.connected).toBe(true);
    const inbox = collect(term);
    f.broker.aedes.publish(
      { cmd: 'publish', topic: 'res/term-01', payload: Buffer.from('ok'), qos: 1, retain: false, dup: false },
      () => {},
    );
    await inbox.next(1);
    await endClient(term);
  });

  it('closes a connection whose topic is not well-formed UTF-8', async () => {
    const before = f.denials('malformed').length;
    const raw = await rawSocket(Number(new URL(f.plainUrl).port));
    raw.socket.write(connectPacket('rr-01', 'rr-01', PASSWORD));
    await until(() => raw.data.length > 0, 3000, 'CONNACK');
    expect([...raw.data[0]!]).toEqual([0x20, 2, 0, 0]);
    raw.socket.write(publishPacketRawTopic(Buffer.from([0x72, 0x65, 0x71, 0x2f, 0xc3, 0x28]), Buffer.from('x')));
    await raw.ended;
    expect(f.denials('malformed').length).toBe(before + 1);
    expect(f.denials('malformed').at(-1)!.detail).toBe('string field is not well-formed UTF-8');
  });

  it('closes a connection that sends a second CONNECT', async () => {
    const before = f.denials('malformed').length;
    const raw = await rawSocket(Number(new URL(f.plainUrl).port));
    raw.socket.write(connectPacket('rr-01', 'rr-01', PASSWORD));
    await until(() => raw.data.length > 0, 3000, 'CONNACK');
    raw.socket.write(connectPacket('rr-01', 'rr-01', PASSWORD));
    await raw.ended;
    expect(f.denials('malformed').length).toBe(before + 1);
  });
});

describe('plain listener only on loopback', () => {
  it('is refused by the configuration schema', () => {
    const r = configSchema.safeParse({
      municipalities: ['242012'],
      listeners: [{ name: 'p', type: 'plain', host: '0.0.0.0', port: 1883 }],
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/only on loopback/);
  });
  it('is refused again at start-up if a config bypassed the schema', async () => {
    const port = await freePort();
    await expect(
      startListener(
        { name: 'p', type: 'plain', host: '0.0.0.0', port, segment: 'local' },
        { opened: () => {}, accept: () => {}, refused: () => {}, maxSockets: 10 },
      ),
    ).rejects.toThrow(/allowed only on loopback/);
  });
});

describe('the id of an oversized request, read from the payload start', () => {
  it.each([
    ['the top-level id', '{"v":1,"id":"abc-1","body":{}}', 'abc-1'],
    ['after a nested object holding an "id"', '{"body":{"id":"inner","a":[{"id":"x"}]},"id":"outer"}', 'outer'],
    ['after strings with escaped quotes and braces', '{"note":"a\\"}{\\"id\\":\\"no","id":"yes"}', 'yes'],
    ['not a string', '{"id":42}', null],
    ['not an envelope id', '{"id":"has space"}', null],
    ['not JSON', 'aaaa', null],
    ['beyond the scanned prefix', `{"pad":"${'x'.repeat(5000)}","id":"late"}`, null],
    ['cut off inside the prefix', '{"body":{"a":"', null],
  ])('%s', (_l, text, id) => {
    expect(leadingEnvelopeId(Buffer.from(text))).toBe(id);
  });
});
