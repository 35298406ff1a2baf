// `juki-gw send` against a real broker (no intake: nothing answers unless the test does): precise
// usage errors, refusals, timeouts, a reply matched by corr, and what is queued for the system
// left for it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { startBroker, type BrokerHandle } from '../../broker/server.js';
import { createLogger } from '../../platform/log/logger.js';
import { jukiGw } from '../helpers/cli.js';
import { connectClient, endClient } from '../helpers/mqtt.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

describe('juki-gw send', () => {
  const tmp = tempDir('jukigw-send-');
  const file = (name: string, text: string) => {
    const f = join(tmp.path, name);
    writeFileSync(f, text);
    return f;
  };
  let broker: BrokerHandle;
  let cfg: string;
  let url: string;
  let pki: TestPki;
  const body = file(
    'body.json',
    JSON.stringify({ dutyCode: 'J01', operatorId: 'op-1', terminalId: 'term-01', name: '津 花子', birthDate: '1989-01-07' }),
  );
  const pwFile = file('term-01.pw', 'term-01 secret\n');

  beforeAll(async () => {
    const port = await freePort();
    pki = await createTestPki(tmp.path, { clients: ['term-01'], expired: 'x-expired', revoked: 'x-revoked' });
    cfg = file(
      'config.yaml',
      [
        "municipalities: ['242012']",
        `dataDir: ${join(tmp.path, 'data')}`,
        'listeners:',
        `  - { name: local-dev, type: plain, host: 127.0.0.1, port: ${port} }`,
        `  - { name: local-tls, type: tls, host: 127.0.0.1, port: ${await freePort()}, tls: { cert: ${pki.server.certFile}, key: ${pki.server.keyFile}, ca: ${pki.caFile} } }`,
        'systems:',
        `  - { id: term-01, role: terminal, password: { file: ${pwFile} } }`,
        '  - { id: mon-01, role: monitor }',
        'hsm: { kind: software }',
        '',
      ].join('\n'),
    );
    const loaded = loadConfig(cfg);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    broker = await startBroker(loaded.config, { logger: createLogger({ level: 'fatal', destination: 2 }) });
    url = `mqtt://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await broker.close();
    tmp.cleanup();
  });

  const send = (...args: string[]) => jukiGw(['send', '--config', cfg, ...args]);

  it('refuses bad input with the field named, exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--as', 'term-01', 'identity.search'], /give --as SYSTEM, TYPE and BODY\.json/],
      [['--as', 'nobody', 'identity.search', body], /--as: no system "nobody" in the configuration \(systems: term-01, mon-01\)/],
      [['--as', 'term-01', 'req/#', body], /TYPE: "req\/#" is not a message type/],
      [['--as', 'term-01', 'identity.search', file('bad.json', '{"a":')], /bad\.json: not JSON/],
      [['--as', 'term-01', 'identity.search', file('arr.json', '[1]')], /expected a JSON object \(the message body\), got an array/],
      [['--as', 'term-01', 'identity.search', join(tmp.path, 'missing.json')], /missing\.json: cannot read: ENOENT/],
      [['--as', 'term-01', '--timeout', '0', 'identity.search', body], /--timeout: expected seconds/],
      [['--as', 'term-01', '--id', 'a b', 'identity.search', body], /--id: "a b" is not a valid id/],
      [['--as', 'term-01', '--url', 'http://x', 'identity.search', body], /--url: expected mqtt:\/\/HOST:PORT/],
      [['--as', 'mon-01', 'identity.search', body], /system mon-01 has no password in the configuration: give --password-file/],
      [
        ['--as', 'term-01', '--listener', 'nope', 'identity.search', body],
        /--listener: no listener "nope" \(listeners: local-dev, local-tls\)/,
      ],
      [
        ['--as', 'term-01', '--listener', 'local-tls', 'identity.search', body],
        /local-tls is a TLS listener: give --cert, --key \(the client certificate with CN term-01\) and --ca/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await send(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
  }, 120_000);

  it('a refused CONNECT is exit 3 with the CONNACK code', async () => {
    const r = await send('--as', 'term-01', '--password-file', file('wrong.pw', 'wrong'), 'identity.search', body);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refused term-01: CONNACK 4: bad user name or password/);
  });

  it('nothing listening is exit 3 saying so, without claiming a request was sent', async () => {
    const r = await send('--as', 'term-01', '--url', `mqtt://127.0.0.1:${await freePort()}`, 'identity.search', body);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot connect to mqtt:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED .*is the appliance running/);
    expect(r.stderr).not.toMatch(/acknowledged/);
  });

  it('without a reply: exit 4 naming the id; messages queued for the system stay queued for it', async () => {
    // The system has a persistent session with a reply waiting in it (not for send's request).
    const pw = 'term-01 secret';
    const own = await connectClient(url, { clientId: 'term-01', username: 'term-01', password: pw, clean: false });
    await own.subscribeAsync('res/term-01', { qos: 1 });
    await endClient(own);
    const waiting = JSON.stringify({ v: 1, id: 'r-1', type: 'identity.search.result', corr: 'earlier-request', body: {} });
    await new Promise<void>((resolve, reject) =>
      broker.aedes.publish(
        { cmd: 'publish', topic: 'res/term-01', payload: Buffer.from(waiting), qos: 1, retain: false, dup: false },
        (e) => (e ? reject(e) : resolve()),
      ),
    );

    const r = await send('--as', 'term-01', '--id', 'req-timeout-1', '--timeout', '2', 'identity.search', body);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stderr).toMatch(/no reply with corr req-timeout-1 within 2 s; the request was acknowledged \(stored\)/);
    expect(r.stderr).toMatch(/1 other message\(s\) queued for term-01 left for it unacknowledged/);

    const back = await connectClient(url, { clientId: 'term-01', username: 'term-01', password: pw, clean: false });
    const got = await new Promise<string>((resolve) => back.on('message', (_t, m) => resolve(m.toString())));
    expect(JSON.parse(got)).toMatchObject({ corr: 'earlier-request' });
    await endClient(back);
  }, 60_000);

  it('connects over mTLS with --cert/--key/--ca (the TLS listener is chosen for a client certificate)', async () => {
    const c = pki.clients['term-01']!;
    const r = await send(
      '--as',
      'term-01',
      '--cert',
      c.certFile,
      '--key',
      c.keyFile,
      '--ca',
      pki.caFile,
      '--id',
      'req-tls-1',
      '--timeout',
      '2',
      'identity.search',
      body,
    );
    expect(r.stderr).toMatch(/as term-01 on mqtts:\/\/127\.0\.0\.1:\d+ \(id req-tls-1\)/);
    // Connected, subscribed and acknowledged over TLS; nothing answers in this test.
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/the request was acknowledged \(stored\)/);
    // No client is connected as term-01 here: send must not claim it disconnected one.
    expect(r.stderr).not.toMatch(/is disconnected meanwhile/);
    expect(r.stderr).toContain(
      'note: if a client is connected as term-01, it is disconnected while send runs (it reconnects with clean: false and loses nothing)',
    );
  }, 60_000);

  it('prints the reply with the request id as corr; an error reply is exit 1 with its details', async () => {
    const answer = (packet: { topic: string; payload: Buffer | string }) => {
      if (!packet.topic.startsWith('req/')) return;
      const req = JSON.parse(packet.payload.toString()) as { id: string; type: string; v: number; at: string };
      const reply = {
        v: 1,
        id: 'x-1',
        type: 'error',
        from: 'lg:242012',
        to: 'term-01',
        at: req.at,
        corr: req.id,
        body: { code: 'invalid_request', message: 'echo', details: [{ path: 'body.birthDate', problem: `seen ${req.type} v${req.v}` }] },
      };
      broker.aedes.publish(
        { cmd: 'publish', topic: 'res/term-01', payload: Buffer.from(JSON.stringify(reply)), qos: 1, retain: false, dup: false },
        () => {},
      );
    };
    broker.aedes.on('publish', answer);
    try {
      const r = await send('--as', 'term-01', '--id', 'req-answered-1', 'identity.search', body);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({
        type: 'error',
        corr: 'req-answered-1',
        body: { details: [{ problem: 'seen identity.search v1' }] },
      });
      expect(r.stderr).toMatch(/error reply invalid_request: echo\n {2}body\.birthDate: seen identity\.search v1/);
    } finally {
      broker.aedes.removeListener('publish', answer);
    }
  }, 60_000);
});
