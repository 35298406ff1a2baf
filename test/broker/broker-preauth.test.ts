// The pre-authentication budget and deadline (limits.preAuth) on the real broker, plain and mTLS:
// unauthenticated connections never count against maxConnections, are closed at connectTimeoutMs
// (an authenticated one never is), and at the bound the idlest one is closed — one that sent
// nothing before one in the middle of its CONNECT. The 2,000-socket flood is test/broker/hostile-preauth.test.ts.
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { connectClient, endClient, refusal } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { PASSWORD, startBrokerFixture, until, type BrokerFixture } from '../fixtures/broker-setup.js';

const login = (id: string) => ({ clientId: id, username: id, password: PASSWORD });
const TIMEOUT_MS = 400;

/** A TCP socket to the port; `closed` tells whether the broker closed it. */
function idle(port: number): Promise<{ socket: Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    let closed = false;
    socket.on('error', () => {
      /* close follows */
    });
    socket.once('close', () => {
      closed = true;
    });
    socket.once('connect', () => resolve({ socket, closed: () => closed }));
    socket.once('error', reject);
  });
}

let pki: TestPki;
const pkiDir = tempDir('jukigw-preauth-pki-');
beforeAll(async () => {
  pki = await createTestPki(pkiDir.path, { clients: ['rr-01'], expired: 'term-01', revoked: 'mon-01' });
});
afterAll(() => pkiDir.cleanup());

describe('pre-authentication budget', () => {
  let f: BrokerFixture | undefined;
  const open: Array<{ socket: Socket }> = [];
  const clients: MqttClient[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) s.socket.destroy();
    for (const c of clients.splice(0)) await endClient(c, true);
    await f?.close();
    f = undefined;
  });

  it('never counts unauthenticated connections against maxConnections; closes them at the deadline, never an authenticated one', async () => {
    f = await startBrokerFixture({
      limits: { maxConnections: 2, preAuth: { maxTotal: 8, maxPerAddress: 8, connectTimeoutMs: TIMEOUT_MS } },
    });
    const port = f.broker.address('plain').port;
    const first = await connectClient(f.plainUrl, login('rr-01'));
    clients.push(first);
    for (let i = 0; i < 6; i++) open.push(await idle(port));
    const t0 = performance.now();
    // Six idle sockets open: the second system still connects, the third is refused by maxConnections.
    clients.push(await connectClient(f.plainUrl, login('term-01')));
    expect(await refusal(f.plainUrl, login('mon-01'))).toBe(3);
    const idles = open.map((s) => s as unknown as { closed: () => boolean });
    await until(() => idles.every((s) => s.closed()), 10_000, 'idle sockets closed at the deadline');
    console.log(`[preauth] idle sockets closed ${(performance.now() - t0).toFixed(0)} ms after opening (connectTimeoutMs ${TIMEOUT_MS})`);
    expect(clients.every((c) => c.connected)).toBe(true);
    expect(f.denials('pre-auth')).toEqual([]); // counted, not audited one by one
  });

  it('closes the idlest connection at the bound: one that sent nothing before one midway through its CONNECT', async () => {
    f = await startBrokerFixture({ limits: { preAuth: { maxTotal: 4, maxPerAddress: 4, connectTimeoutMs: 30_000 } } });
    const port = f.broker.address('plain').port;
    const partial = await idle(port);
    partial.socket.write(Buffer.from([0x10, 0x20, 0x00])); // the start of a CONNECT
    await until(() => partial.socket.bytesWritten === 3);
    open.push(partial);
    const idles: Array<{ socket: Socket; closed: () => boolean }> = [];
    for (let i = 0; i < 3; i++) idles.push(await idle(port));
    open.push(...idles);
    // The budget is full: each new connection closes the oldest idle one, never the partial CONNECT.
    for (let i = 0; i < 3; i++) open.push(await idle(port));
    await until(() => idles.every((s) => s.closed()), 5000, 'the older idle sockets closed');
    expect(partial.closed()).toBe(false);
    // A real system's CONNECT still gets in (the newest idle one makes room) and works.
    const rr = await connectClient(f.plainUrl, login('rr-01'));
    clients.push(rr);
    await rr.publishAsync('req/identity.update', Buffer.from('{}'), { qos: 1 });
    expect(partial.closed()).toBe(false);
    expect(f.alarms.filter((a) => a.kind === 'pre-auth').map((a) => [a.state, a.subject])).toEqual([['raised', 'address 127.0.0.1']]);
  });

  it('mTLS: a connection that never starts its handshake is closed at the deadline; a full budget of them does not keep a system out', async () => {
    f = await startBrokerFixture({ pki, limits: { preAuth: { maxTotal: 4, maxPerAddress: 4, connectTimeoutMs: TIMEOUT_MS } } });
    const port = f.broker.address('tls').port;
    const idles: Array<{ socket: Socket; closed: () => boolean }> = [];
    for (let i = 0; i < 4; i++) idles.push(await idle(port));
    open.push(...idles);
    const rr = await connectClient(f.tlsUrl, {
      clientId: 'rr-01',
      ca: pki.caPem,
      rejectUnauthorized: true,
      cert: pki.clients['rr-01']!.cert,
      key: pki.clients['rr-01']!.key,
    });
    clients.push(rr);
    await rr.publishAsync('req/identity.update', Buffer.from('{}'), { qos: 1 });
    await until(() => idles.every((s) => s.closed()), 10_000, 'idle TLS sockets closed');
    expect(rr.connected).toBe(true);
    expect(f.denials('tls')).toEqual([]); // closing them is not a TLS failure to audit one by one
  });
});
