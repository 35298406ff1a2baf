// Last-will policy: the pure rules (broker/will.ts), and a live connection's will on the real broker,
// re-checked when it goes out. The kill -9 case is test/broker/hostile-will.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, type ApplianceConfigInput } from '../../config/schema/index.js';
import { identityOf } from '../../broker/auth.js';
import { asRegistrant, registrantIdentity, willProblem } from '../../broker/will.js';
import { connectClient, endClient, refusal } from '../helpers/mqtt.js';
import { PASSWORD, startBrokerFixture, until, type BrokerFixture } from '../fixtures/broker-setup.js';

const base: ApplianceConfigInput = {
  municipalities: ['242012'],
  listeners: [{ name: 'p', type: 'plain', host: '127.0.0.1', port: 1883 }],
  systems: [
    { id: 'term-01', role: 'terminal' },
    { id: 'off-01', role: 'terminal', enabled: false },
  ],
};
const config = configSchema.parse(base);
const term = identityOf(config, 'term-01', 'terminal');

describe('willProblem', () => {
  it('admits a QoS 1 request of a type the role may send, not retained', () => {
    expect(willProblem(term, { topic: 'req/identity.verify', qos: 1, retain: false }, true)).toBeNull();
  });
  it.each([
    ['to/rr-01/moveout.cert', 1, false, 'only the appliance publishes on to/'],
    ['res/rr-01', 1, false, 'only the appliance publishes on res/'],
    ['req/identity.update', 1, false, 'role terminal may not send message type "identity.update"'],
    ['$SYS/x', 1, false, 'publishing to $SYS is reserved to the broker'],
    ['req/identity.verify', 0, false, 'QoS 0 (a will must be QoS 1, like every request)'],
    ['req/identity.verify', 2, false, 'QoS 2 (a will must be QoS 1, like every request)'],
    ['req/identity.verify', 1, true, 'retained (no contract topic carries retained messages)'],
  ])('refuses %s QoS %i retain %s in appliance mode: %s', (topic, qos, retain, reason) => {
    expect(willProblem(term, { topic, qos, retain }, true)).toBe(reason);
  });
  it('in standalone mode the grants decide the topic; any QoS, retained allowed', () => {
    const granted = { ...term, grants: { publish: ['status/#'], subscribe: [] } };
    expect(willProblem(granted, { topic: 'status/a', qos: 0, retain: true }, false)).toBeNull();
    expect(willProblem(granted, { topic: 'other', qos: 1, retain: false }, false)).toBe('topic outside the contract (default deny)');
  });
});

describe('registrantIdentity', () => {
  it('gives the registrant its identity under the configuration in force', () => {
    expect(registrantIdentity(config, { systemId: 'term-01', role: 'terminal' })).toMatchObject({
      ok: true,
      identity: { systemId: 'term-01', role: 'terminal' },
    });
  });
  it.each([
    [undefined, 'stored without the identity of the system that left it'],
    [{ systemId: 'gone-01', role: 'terminal' }, 'system gone-01 is no longer configured'],
    [{ systemId: 'off-01', role: 'terminal' }, 'system off-01 is disabled'],
    [
      { systemId: 'term-01', role: 'resident-register' },
      'system term-01 now has role terminal, not resident-register under which it left the will',
    ],
    [{ systemId: null, role: 'terminal' }, 'anonymous clients no longer have role terminal'],
  ])('refuses %j: %s', (r, reason) => {
    expect(registrantIdentity(config, r)).toEqual({ ok: false, reason });
  });
  it('reads back only a well-formed stored registrant', () => {
    expect(asRegistrant({ systemId: 'a', role: 'b' })).toEqual({ systemId: 'a', role: 'b' });
    expect(asRegistrant({ systemId: null, role: 'b' })).toEqual({ systemId: null, role: 'b' });
    for (const bad of [undefined, null, 'x', { systemId: 1, role: 'b' }, { systemId: 'a' }]) expect(asRegistrant(bad)).toBeUndefined();
  });
});

describe("a live connection's will", () => {
  let f: BrokerFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });
  const login = (id: string, topic: string) => ({
    clientId: id,
    username: id,
    password: PASSWORD,
    will: { topic, payload: Buffer.from(`${id} gone`), qos: 1 as const, retain: false },
  });

  it('goes to the request queue under its system when the connection drops', async () => {
    f = await startBrokerFixture();
    const c = await connectClient(f.plainUrl, login('term-01', 'req/identity.verify'));
    c.stream.destroy();
    const reqs = await until(async () => {
      const r = await f!.broker.persistence.level.requests.read(0, 10);
      return r.length > 0 && r;
    });
    expect(reqs.map((r) => [r.clientId, r.topic, r.payload.toString()])).toEqual([['term-01', 'req/identity.verify', 'term-01 gone']]);
    expect(f.denials('acl-will')).toEqual([]);
  });

  it('is refused, audited, when its system was disabled in the meantime', async () => {
    f = await startBrokerFixture();
    const c = await connectClient(f.plainUrl, login('term-01', 'req/identity.verify'));
    const next = configSchema.parse({
      ...f.config,
      systems: f.config.systems.map((s) => (s.id === 'term-01' ? { ...s, enabled: false } : s)),
    });
    const { disconnected } = await f.broker.reconfigure(next);
    expect(disconnected).toEqual(['term-01']);
    await until(() => f!.denials('acl-will').length > 0);
    expect(f.denials('acl-will')).toMatchObject([
      {
        systemId: 'term-01',
        clientId: 'term-01',
        topic: 'req/identity.verify',
        detail: 'last will on req/identity.verify not published: system term-01 is disabled',
      },
    ]);
    expect(await f.broker.persistence.level.requests.read(0, 10)).toEqual([]);
    c.end(true);
  });

  it('aedes is handed no stored will, and a publish with no client attached is refused, audited', async () => {
    f = await startBrokerFixture();
    const c = await connectClient(f.plainUrl, login('term-01', 'req/identity.verify'));
    const store = f.broker.persistence.aedes as { streamWill(b?: object): NodeJS.ReadableStream & { toArray(): Promise<unknown[]> } };
    expect(await store.streamWill({}).toArray()).toEqual([]); // its will is stored, but not for aedes' timer
    const packet = {
      cmd: 'publish',
      topic: 'to/rr-01/moveout.cert',
      payload: Buffer.from('x'),
      qos: 1,
      retain: false,
      dup: false,
      clientId: 'term-01',
    };
    const err = await new Promise<Error | null | undefined>((r) => f!.broker.aedes.authorizePublish(null, packet as never, r));
    expect(err?.message).toBe('publish with no client attached');
    expect(f.denials('acl-will')).toMatchObject([
      { clientId: 'term-01', topic: 'to/rr-01/moveout.cert', detail: 'publish with no client attached refused (to/rr-01/moveout.cert)' },
    ]);
    await endClient(c);
  });

  it('standalone: the grants decide; a retained QoS 0 will is admitted, a will outside the grants refused', async () => {
    f = await startBrokerFixture({ mode: 'standalone' });
    const anon = await connectClient(f.plainUrl, { clientId: 'any', will: { topic: 'status/any', payload: 'x', qos: 0, retain: true } });
    await endClient(anon);
    expect(await refusal(f.plainUrl, { ...login('mon-01', 'status/x') })).toBe(5);
    expect(f.denials('acl-will')).toMatchObject([
      { systemId: 'mon-01', detail: 'last will on status/x refused: topic outside the contract (default deny)' },
    ]);
  });
});
