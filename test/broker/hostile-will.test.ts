// Last wills against the topic ACL, across kill -9. A will the role may not publish (topic, QoS,
// retain) is refused at CONNECT with CONNACK 5 and audited, on the local and on the number-linkage
// listener. After a crash, a stored will is published only under the identity and role of the system
// that registered it, re-checked against the restarted broker's configuration: a will stored without
// that identity (by an earlier version, which let forged wills through) or by a system disabled since
// is refused and audited; res/ and to/ stay the appliance's alone.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { IClientOptions } from 'mqtt';
import { createLevelPersistence } from '../../broker/persistence/index.js';
import type { ApplianceConfigInput } from '../../config/schema/index.js';
import { openApplianceDb } from '../../platform/store/db.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { connectClient, endClient, refusal } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const PASSWORD = 'will-test-password';
const dir = tempDir('jukigw-will-');
const dataDir = join(dir.path, 'data');
const running = new Set<BrokerProcess>();
afterAll(async () => {
  for (const b of running) await b.kill9();
  dir.cleanup();
});

const SYSTEMS: Array<[string, string]> = [
  ['rr-01', 'resident-register'],
  ['term-01', 'terminal'],
  ['term-02', 'terminal'],
  ['term-03', 'terminal'],
  ['nl-01', 'number-linkage'],
  ['nl-02', 'number-linkage'],
];

function writeConfig(name: string, ports: { local: number; linkage: number }, disabled: string[] = []): string {
  const pwFile = join(dir.path, 'pw');
  writeFileSync(pwFile, PASSWORD);
  const config: ApplianceConfigInput = {
    municipalities: ['242012'],
    dataDir,
    listeners: [
      { name: 'local', type: 'plain', host: '127.0.0.1', port: ports.local },
      { name: 'linkage', type: 'plain', host: '127.0.0.1', port: ports.linkage, segment: 'number-linkage' },
    ],
    systems: SYSTEMS.map(([id, role]) => ({ id, role, enabled: !disabled.includes(id), password: { file: pwFile } })),
    limits: { minFreeDiskBytes: 0 },
  };
  const file = join(dir.path, name);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

async function start(configFile: string): Promise<BrokerProcess> {
  const b = await startBrokerProcess(configFile);
  running.add(b);
  return b;
}

async function kill9(b: BrokerProcess): Promise<void> {
  await b.kill9();
  running.delete(b);
  expect(b.child.signalCode).toBe('SIGKILL');
}

const login = (id: string, extra: IClientOptions = {}): IClientOptions => ({
  clientId: id,
  username: id,
  password: PASSWORD,
  clean: false,
  ...extra,
});
const will = (topic: string, payload: string, qos: 0 | 1 | 2 = 1, retain = false) => ({
  will: { topic, payload: Buffer.from(payload), qos, retain },
});

it('refuses forbidden wills at CONNECT on both listeners and publishes stored wills only under their registrant after kill -9', async () => {
  const ports = { local: await freePort(), linkage: await freePort() };
  const local = `mqtt://127.0.0.1:${ports.local}`;
  const linkage = `mqtt://127.0.0.1:${ports.linkage}`;
  const first = await start(writeConfig('first.json', ports));

  // rr-01's persistent session: whatever reached res/rr-01 or to/rr-01/# would be queued for it.
  const rr = await connectClient(local, login('rr-01'));
  await rr.subscribeAsync(['res/rr-01', 'to/rr-01/#'], { qos: 1 });
  await endClient(rr);

  const forbidden: Array<[string, string, IClientOptions, string]> = [
    [
      local,
      'term-01',
      will('to/rr-01/moveout.cert', 'forged push'),
      'last will on to/rr-01/moveout.cert refused: only the appliance publishes on to/',
    ],
    [linkage, 'nl-01', will('res/rr-01', 'forged reply'), 'last will on res/rr-01 refused: only the appliance publishes on res/'],
    [
      local,
      'term-01',
      will('req/identity.update', 'x'),
      'last will on req/identity.update refused: role terminal may not send message type "identity.update"',
    ],
    [
      local,
      'term-01',
      will('req/identity.verify', 'x', 0),
      'last will on req/identity.verify refused: QoS 0 (a will must be QoS 1, like every request)',
    ],
    [
      linkage,
      'nl-01',
      will('req/code.request', 'x', 2),
      'last will on req/code.request refused: QoS 2 (a will must be QoS 1, like every request)',
    ],
    [
      local,
      'term-01',
      will('req/identity.verify', 'x', 1, true),
      'last will on req/identity.verify refused: retained (no contract topic carries retained messages)',
    ],
  ];
  for (const [url, id, opts, detail] of forbidden) {
    const before = first.denials.length;
    expect(await refusal(url, login(id, opts)), detail).toBe(5);
    await until(() => first.denials.length > before, 5000, `audit of ${detail}`);
    expect(first.denials.slice(before)).toMatchObject([
      { reason: 'acl-will', systemId: id, clientId: id, detail, listener: url === local ? 'local' : 'linkage' },
    ]);
  }

  // Allowed wills, left behind by kill -9 (no DISCONNECT, no orderly close).
  const alive = [
    await connectClient(local, login('term-01', will('req/identity.verify', 'term-01 gone'))),
    await connectClient(local, login('term-03', will('req/identity.verify', 'term-03 gone'))),
    await connectClient(linkage, login('nl-01', will('req/code.request', 'nl-01 gone'))),
  ];
  await kill9(first);
  for (const c of alive) c.end(true);

  // Forged wills as the earlier version stored them (CONNACK 0, no registrant kept with them).
  let db = await openApplianceDb(join(dataDir, 'db'));
  let p = createLevelPersistence({ db });
  await p.open();
  await p.putWill({ id: 'term-02' }, { topic: 'to/rr-01/moveout.cert', payload: Buffer.from('forged push'), qos: 1, retain: false });
  await p.putWill({ id: 'nl-02' }, { topic: 'res/rr-01', payload: Buffer.from('forged reply'), qos: 1, retain: true });
  await p.destroy();
  await db.close();

  // Restart with term-03 disabled since it left its will.
  const second = await start(writeConfig('second.json', ports, ['term-03']));
  const refusedWills = second.denials.filter((d) => d.reason === 'acl-will');
  expect(refusedWills.map((d) => [d.clientId, d.topic, d.detail]).sort()).toEqual([
    [
      'nl-02',
      'res/rr-01',
      'stored will of client nl-02 on res/rr-01 not published: stored without the identity of the system that left it',
    ],
    [
      'term-02',
      'to/rr-01/moveout.cert',
      'stored will of client term-02 on to/rr-01/moveout.cert not published: stored without the identity of the system that left it',
    ],
    ['term-03', 'req/identity.verify', 'stored will of client term-03 on req/identity.verify not published: system term-03 is disabled'],
  ]);
  await kill9(second);

  db = await openApplianceDb(join(dataDir, 'db'));
  p = createLevelPersistence({ db });
  try {
    await p.open();
    // The control: rr-01's session is there, so a forged will would have been queued for it.
    expect((await p.subscriptionsByTopic('to/rr-01/moveout.cert')).map((s: { clientId: string }) => s.clientId)).toEqual(['rr-01']);
    expect(p.outgoingDepth('rr-01')).toBe(0);
    expect(await p.createRetainedStream('#').toArray()).toEqual([]);
    // The allowed wills reached the intake's request queue under the system that left them.
    const requests = await p.requests.read(0, 10);
    expect(requests.map((r) => [r.clientId, r.topic, r.payload.toString()]).sort()).toEqual([
      ['nl-01', 'req/code.request', 'nl-01 gone'],
      ['term-01', 'req/identity.verify', 'term-01 gone'],
    ]);
    for (const id of ['term-01', 'term-02', 'term-03', 'nl-01', 'nl-02']) expect(await p.getWill({ id }), id).toBeUndefined();
  } finally {
    await p.destroy();
    await db.close();
  }
}, 120_000);
