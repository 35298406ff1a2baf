// Standalone broker mode: MQTT 3.1.1 behaviours a generic conformance suite exercises.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closed,
  collect,
  connectClient,
  connectPacket,
  endClient,
  rawSocket,
  sleep,
  subackCodes,
  subscribeGranted,
} from '../helpers/mqtt.js';
import { startBrokerFixture, until, type BrokerFixture } from '../fixtures/broker-setup.js';

let f: BrokerFixture;

async function retained(pattern: string): Promise<number> {
  let n = 0;
  for await (const _ of f.broker.persistence.level.createRetainedStream(pattern)) n++;
  return n;
}
async function untilAsync(pred: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}
beforeAll(async () => {
  f = await startBrokerFixture({ mode: 'standalone' });
});
afterAll(async () => {
  await f.close();
});

describe('standalone broker (MQTT 3.1.1)', () => {
  it('accepts a zero-length client ID with a clean session, refuses it without (MQTT-3.1.3-8)', async () => {
    const c = await connectClient(f.plainUrl, { clientId: '', clean: true });
    expect(c.connected).toBe(true);
    await endClient(c);
    // mqtt.js will not send this CONNECT, so it goes over a raw socket.
    const raw = await rawSocket(Number(new URL(f.plainUrl).port));
    const connect = connectPacket('');
    connect[9] = 0x00; // connect flags: clean session off
    raw.socket.write(connect);
    await raw.ended;
    expect([...Buffer.concat(raw.data)]).toEqual([0x20, 2, 0, 2]);
    expect(f.denials('client-id').at(-1)!.detail).toBe('zero-length client ID needs clean session (MQTT-3.1.3-8)');
  });

  it('keeps the contract ACL for $SYS and grants arbitrary topics to the role', async () => {
    const c = await connectClient(f.plainUrl, { clientId: 'acl' });
    expect(await subackCodes(c, { 'any/thing': { qos: 1 }, '$SYS/#': { qos: 0 } })).toEqual([1, 128]);
    const gone = closed(c);
    c.publish('$SYS/broker/fake', 'x', { qos: 1 });
    await gone;
    expect(f.denials('acl-publish').at(-1)!.detail).toBe('publishing to $SYS is reserved to the broker');
  });

  it('stores retained messages, delivers them on subscribe, clears them with an empty payload', async () => {
    const pub = await connectClient(f.plainUrl, { clientId: 'ret-pub' });
    await pub.publishAsync('ret/a', 'kept', { qos: 1, retain: true });
    // aedes stores the retained message after the PUBACK; a subscriber arriving in between gets it live.
    await untilAsync(async () => (await retained('ret/#')) === 1);
    const sub = await connectClient(f.plainUrl, { clientId: 'ret-sub' });
    const inbox = collect(sub);
    await subscribeGranted(sub, 'ret/#');
    const [m] = await inbox.next(1);
    expect(m!.retain).toBe(true);
    expect(m!.payload.toString()).toBe('kept');
    await pub.publishAsync('ret/a', '', { qos: 1, retain: true });
    await untilAsync(async () => (await retained('ret/#')) === 0);
    const late = await connectClient(f.plainUrl, { clientId: 'ret-late' });
    const lateIn = collect(late);
    await subscribeGranted(late, 'ret/#');
    await sleep(200);
    expect(lateIn.got).toHaveLength(0);
    await Promise.all([endClient(pub), endClient(sub), endClient(late)]);
  });

  it('delivers to overlapping subscriptions (once or once per match, never lost)', async () => {
    const c = await connectClient(f.plainUrl, { clientId: 'overlap' });
    const inbox = collect(c);
    expect(await subackCodes(c, { 'ov/#': { qos: 1 }, 'ov/+': { qos: 0 } })).toEqual([1, 0]);
    await c.publishAsync('ov/x', 'm', { qos: 1 });
    await inbox.next(1);
    await sleep(200);
    expect(inbox.got.length).toBeGreaterThanOrEqual(1);
    expect(inbox.got.length).toBeLessThanOrEqual(2);
    expect(Math.max(...inbox.got.map((p) => p.qos))).toBe(1);
    await endClient(c);
  });

  it('does not match $-topics with # or +, but with an explicit $ filter (MQTT-4.7.2-1)', async () => {
    const c = await connectClient(f.plainUrl, { clientId: 'dollar' });
    const inbox = collect(c);
    expect(await subackCodes(c, { '#': { qos: 1 }, '+/x': { qos: 1 }, '$test/#': { qos: 1 } })).toEqual([1, 1, 1]);
    await c.publishAsync('$test/x', 'dollar', { qos: 1 });
    await c.publishAsync('plain/x', 'plain', { qos: 1 });
    await inbox.next(2);
    await sleep(200);
    const byTopic = inbox.got.map((p) => p.topic).sort();
    // '#' and '+/x' both match plain/x (1 or 2 copies); $test/x only through '$test/#'.
    expect(byTopic.filter((t) => t === '$test/x')).toHaveLength(1);
    expect(byTopic.filter((t) => t === 'plain/x').length).toBeGreaterThanOrEqual(1);
    await endClient(c);
  });

  it('disconnects a client that stays silent beyond 1.5 × keepalive', async () => {
    const timedOut: string[] = [];
    f.broker.aedes.on('keepaliveTimeout', (client) => timedOut.push(client.id));
    const raw = await rawSocket(Number(new URL(f.plainUrl).port));
    raw.socket.write(connectPacket('keepalive-1', undefined, undefined, 1));
    await until(() => raw.data.length > 0, 3000, 'CONNACK');
    await raw.ended;
    expect(timedOut).toEqual(['keepalive-1']);
  });

  it('queues QoS 1 for an offline persistent session and delivers in order on reconnect', async () => {
    const sub = await connectClient(f.plainUrl, { clientId: 'offline', clean: false });
    await subscribeGranted(sub, 'off/#');
    await endClient(sub);
    const pub = await connectClient(f.plainUrl, { clientId: 'offline-pub' });
    for (let i = 0; i < 5; i++) await pub.publishAsync('off/q', String(i), { qos: 1 });
    await endClient(pub);
    const back = await connectClient(f.plainUrl, { clientId: 'offline', clean: false });
    const got = await collect(back).next(5);
    expect(got.map((p) => p.payload.toString())).toEqual(['0', '1', '2', '3', '4']);
    await endClient(back);
  });

  it('reconnecting while publishes are in flight: every queued message once, in order', async () => {
    // Without holding live deliveries until the stored queue is replayed, aedes interleaves the two
    // (observed: 0,1,2,3,4,0,1,2). Repeated because the race is timing-dependent.
    const failures: string[] = [];
    for (let k = 0; k < 20; k++) {
      const sub = await connectClient(f.plainUrl, { clientId: `race${k}`, clean: false });
      await subscribeGranted(sub, `race${k}/#`);
      await endClient(sub);
      const pub = await connectClient(f.plainUrl, { clientId: `race-pub${k}` });
      const sent = [0, 1, 2, 3, 4].map((i) => pub.publishAsync(`race${k}/q`, String(i), { qos: 1 }));
      await sent[2];
      const reconnecting = connectClient(f.plainUrl, { clientId: `race${k}`, clean: false });
      await Promise.all(sent);
      const back = await reconnecting;
      const inbox = collect(back);
      await inbox.next(5);
      await sleep(50);
      const got = inbox.got.map((p) => p.payload.toString()).join(',');
      if (got !== '0,1,2,3,4') failures.push(`round ${k}: ${got}`);
      await Promise.all([endClient(back), endClient(pub)]);
    }
    expect(failures).toEqual([]);
  });

  it('redelivers an unacknowledged QoS 1 message on reconnect with DUP set', async () => {
    const sub = await connectClient(f.plainUrl, { clientId: 'dup', clean: false });
    await subscribeGranted(sub, 'dup/#');
    await endClient(sub);
    // A raw session that receives the PUBLISH and never sends PUBACK.
    const raw = await rawSocket(Number(new URL(f.plainUrl).port));
    const connect = connectPacket('dup');
    connect[9] = 0x00; // connect flags: clean session off (offset: header 2 + "MQTT" 6 + level 1)
    raw.socket.write(connect);
    await until(() => raw.data.length > 0, 3000, 'CONNACK');
    const pub = await connectClient(f.plainUrl, { clientId: 'dup-pub' });
    await pub.publishAsync('dup/x', 'once', { qos: 1 });
    await until(() => Buffer.concat(raw.data).includes(Buffer.from('once')), 3000, 'first delivery');
    const first = Buffer.concat(raw.data).subarray(4); // after CONNACK
    expect(first[0]! & 0x08).toBe(0); // first delivery: DUP clear
    raw.socket.destroy();
    await raw.ended;
    await sleep(100);
    const back = await connectClient(f.plainUrl, { clientId: 'dup', clean: false });
    const [m] = await collect(back).next(1);
    expect(m!.payload.toString()).toBe('once');
    expect(m!.dup).toBe(true);
    await Promise.all([endClient(back), endClient(pub)]);
  });
});
