// Applying a configuration change to a running broker: ACL and limits live, connected clients of
// unchanged systems stay connected, a disabled system is disconnected, a changed listener restarts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type ApplianceConfig } from '../../config/schema/index.js';
import { closed, connectClient, endClient, refusal, subscribeGranted } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { PASSWORD, startBrokerFixture, type BrokerFixture } from '../fixtures/broker-setup.js';

const login = (id: string) => ({ clientId: id, username: id, password: PASSWORD });

function changed(base: ApplianceConfig, edit: (c: ApplianceConfig) => void): ApplianceConfig {
  const c = structuredClone(base);
  edit(c);
  return configSchema.parse(c);
}

describe('broker.reconfigure', () => {
  let f: BrokerFixture;
  beforeAll(async () => {
    f = await startBrokerFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it('applies a role change live without dropping the unaffected client', async () => {
    const term = await connectClient(f.plainUrl, login('term-01'));
    let termClosed = false;
    term.on('close', () => {
      termClosed = true;
    });
    // terminal may not send identity.update yet: the publish is refused (disconnect).
    const rr = await connectClient(f.plainUrl, login('rr-01'));
    const next = changed(f.config, (c) => {
      c.roles.terminal!.send.push('identity.search');
    });
    const r = await f.broker.reconfigure(next);
    expect(r.disconnected).toEqual([]);
    // Still connected, and the new grant is effective on the same connection.
    await new Promise<void>((res, rej) => term.publish('req/identity.search', '{}', { qos: 1 }, (e) => (e ? rej(e) : res())));
    expect(termClosed).toBe(false);
    expect(rr.connected).toBe(true);
    await endClient(term);
    await endClient(rr);
  });

  it('disconnects a client whose system was disabled, and refuses it afterwards', async () => {
    const mon = await connectClient(f.plainUrl, login('mon-01'));
    const gone = closed(mon);
    const next = changed(f.config, (c) => {
      c.systems.find((s) => s.id === 'mon-01')!.enabled = false;
    });
    const r = await f.broker.reconfigure(next);
    expect(r.disconnected).toEqual(['mon-01']);
    await gone;
    expect(await refusal(f.plainUrl, { ...login('mon-01'), reconnectPeriod: 0 })).toBe(5);
    expect(f.denials('not-authorized').some((d) => d.detail.includes('disabled'))).toBe(true);
    await f.broker.reconfigure(f.config);
  });

  it('restarts only the listener whose settings changed', async () => {
    const port = await freePort();
    const rr = await connectClient(f.plainUrl, login('rr-01'));
    const next = changed(f.config, (c) => {
      c.listeners.push({ name: 'extra', type: 'plain', host: '127.0.0.1', port, segment: 'local' });
    });
    await f.broker.reconfigure(next, { restartListeners: ['extra'] });
    expect(f.broker.address('extra').port).toBe(port);
    const viaExtra = await connectClient(`mqtt://127.0.0.1:${port}`, login('term-01'));
    expect(await subscribeGranted(viaExtra, 'res/term-01')).toBe(1);
    expect(rr.connected).toBe(true);
    await endClient(viaExtra);
    await endClient(rr);
    await f.broker.reconfigure(f.config, { restartListeners: ['extra'] });
    expect(() => f.broker.address('extra')).toThrow();
  });
});
