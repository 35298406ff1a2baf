// Topic ACL escapes against the real broker: wildcard, $SYS and other systems' res/ and to/
// subscriptions are refused per filter (SUBACK 0x80); publishing outside req/{own types} ends the
// connection; nothing addressed to another system ever reaches the attacker; nothing is stored.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { collect, connectClient, connectPacket, endClient, publishPacketRawTopic, rawSocket, subackCodes } from '../helpers/mqtt.js';
import { PASSWORD, startBrokerFixture, type BrokerFixture } from '../fixtures/broker-setup.js';
import { storedRequestRecords } from '../fuzz/harness.js';

let f: BrokerFixture;
let victim: MqttClient;
const login = (id: string) => ({ clientId: id, username: id, password: PASSWORD });
beforeAll(async () => {
  f = await startBrokerFixture();
  victim = await connectClient(f.plainUrl, login('term-01'));
  await victim.subscribeAsync(['res/term-01', 'to/term-01/#'], { qos: 1 });
});
afterAll(async () => {
  await endClient(victim, true);
  await f?.close();
});

const push = (topic: string, payload: string) =>
  new Promise<void>((r) =>
    f.broker.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false } as never, () => r()),
  );

it('refuses every escaping subscription filter, grants only the own ones, and leaks nothing', async () => {
  const attacker = await connectClient(f.plainUrl, login('rr-01'));
  const got = collect(attacker);
  const escapes = [
    '#',
    '+',
    '+/#',
    '$SYS/#',
    '$SYS/broker/clients/+',
    '$share/g/res/term-01',
    'res/+',
    'res/#',
    'res/term-01',
    'to/+/#',
    'to/term-01/#',
    'to/+/identity.update',
    '+/term-01',
    '+/+/#',
    'req/#',
    'req/identity.update',
    'res/rr-01/#',
    'res/rr-01/+',
    'to/#',
  ];
  const codes = await subackCodes(
    attacker,
    Object.fromEntries([...escapes, 'res/rr-01', 'to/rr-01/#'].map((t) => [t, { qos: 1 as const }])),
  );
  const byFilter = Object.fromEntries([...escapes, 'res/rr-01', 'to/rr-01/#'].map((t, i) => [t, codes[i]]));
  for (const t of escapes) expect(byFilter[t], t).toBe(128);
  expect(byFilter['res/rr-01']).toBe(1);
  expect(byFilter['to/rr-01/#']).toBe(1);
  const seen = collect(victim);
  await push('res/term-01', 'secret for term-01');
  await push('to/term-01/identity.update', 'push for term-01');
  await push('res/rr-01', 'own reply');
  await got.next(1);
  await seen.next(2);
  await new Promise((r) => setTimeout(r, 300));
  expect(got.got.map((p) => p.topic)).toEqual(['res/rr-01']);
  await endClient(attacker, true);
});

it.each([
  ['res/term-01', 'a forged reply to another system'],
  ['to/term-01/identity.update', 'a forged push'],
  ['$SYS/broker/uptime', '$SYS'],
  ['req/identity.verify', 'a type the role may not send'],
  ['req/identity.update/x', 'a deeper req/ topic'],
  ['req/+', 'a wildcard topic name'],
  ['res/rr-01', 'its own reply topic'],
  ['other/topic', 'a topic outside the contract'],
])('publishing on %s (%s) ends the connection and delivers nothing', async (topic) => {
  const seen = collect(victim);
  const denials = f.denials().length;
  // Raw packets: mqtt.js would refuse a wildcard topic name itself and never send it.
  const raw = await rawSocket(f.broker.address('plain').port);
  raw.socket.write(connectPacket('rr-01', 'rr-01', PASSWORD));
  raw.socket.write(publishPacketRawTopic(Buffer.from(topic), Buffer.from(`escape via ${topic}`)));
  await raw.ended;
  expect(raw.data.length).toBeGreaterThan(0); // the CONNACK: it was a logged-in session that got cut
  // A wildcard in a topic name is a protocol violation: aedes drops it before the ACL, unaudited.
  expect(f.denials().length).toBe(topic.includes('+') ? denials : denials + 1);
  await new Promise((r) => setTimeout(r, 200));
  expect(seen.got).toEqual([]);
  expect((await storedRequestRecords(f.db)).filter((v) => v.includes(Buffer.from('escape via')))).toEqual([]);
});
