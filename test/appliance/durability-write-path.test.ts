// Power-loss safety at the default configuration, checked at the write path: the whole appliance
// (appliance/start.ts: broker, CS role, uplink, simulated upstreams, software key) runs in this
// process with every LevelDB write recorded at classic-level's native binding (sync flag
// included), while real traffic gets acknowledged: QoS 1 requests PUBACKed by the broker, their
// replies, and the appliance's PUBACKs to the upstream broker for the answers coming back. Every
// write to the appliance DB issued before each acknowledgement must have been synced, save the
// deletes that acknowledge nothing (lost in a power cut, each only makes something happen again):
// batches of subscribers' acknowledgements (subscriber-queue entries), a reply the broker has
// queued (local outbox), an upstream message its receiver PUBACKed (upstream outbox), the range
// clear of ingress entries below the synced fan-out watermark (redone at start if lost), and the
// inbox's mark of an upstream reply (a duplicate of the reply takes the same way as the first); the
// uplink writes these last two kinds gathered, several answers' marks and deletes in one write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startAppliance, type ApplianceHandle } from '../../appliance/start.js';
import { configSchema } from '../../config/schema/index.js';
import { isoDateInJapan } from '../../domain/dates.js';
import { uuidv7, type Envelope } from '../../platform/envelope.js';
import { createLogger } from '../../platform/log/logger.js';
import { SUBLEVELS } from '../../platform/store/db.js';
import { generateResidents } from '../../sim/residents.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { recordWrites, type RecordedWrite, type WriteRecorder } from '../helpers/write-recorder.js';

const SERVED = '242012';
const PASSWORD = 'write-path-password-not-a-secret';
const REGISTER = 'rr-01';
const TERMINAL = 'term-01';
const UPDATES = 12;
const VERIFIES = 4;
const operator = { operatorId: 'op-0001', terminalId: 'tm-0001' };

const DELETES_OF = [`!${SUBLEVELS.broker}!o!`, `!${SUBLEVELS.local}!`, `!${SUBLEVELS.outbox}!q!`];
const INGRESS = `!${SUBLEVELS.ingress}!`;
const REPLY_MARK = [`!${SUBLEVELS.inbox}!i!`, `!${SUBLEVELS.inbox}!t!`];
/** The writes that precede no acknowledgement (see the top of this file). */
const acknowledgesNothing = (w: RecordedWrite): boolean =>
  (w.ops.length > 0 &&
    w.ops.every(
      (op) =>
        (op.type === 'del' && DELETES_OF.some((p) => op.key.startsWith(p))) ||
        (op.type === 'put' && REPLY_MARK.some((p) => op.key.startsWith(p))),
    )) ||
  (w.call === 'clear' && w.ops.every((op) => op.key.startsWith(INGRESS)));

async function requester(url: string, systemId: string, recorder: WriteRecorder) {
  const client: MqttClient = await mqtt.connectAsync(url, {
    clientId: systemId,
    username: systemId,
    password: PASSWORD,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const waiting = new Map<string, (e: Envelope) => void>();
  client.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    recorder.mark('reply', `${e.type} to ${systemId}`);
    if (e.corr) waiting.get(e.corr)?.(e);
  });
  await client.subscribeAsync([`res/${systemId}`, `to/${systemId}/#`], { qos: 1 });
  return {
    client,
    async request(type: string, body: Record<string, unknown>): Promise<Envelope> {
      const env = { v: 1, id: uuidv7(), type, body };
      const reply = new Promise<Envelope>((resolve, reject) => {
        const t = setTimeout(() => {
          waiting.delete(env.id);
          reject(new Error(`no reply to ${type} in time`));
        }, 30_000);
        waiting.set(env.id, (e) => {
          clearTimeout(t);
          waiting.delete(env.id);
          resolve(e);
        });
      });
      await client.publishAsync(`req/${type}`, JSON.stringify(env), { qos: 1 });
      recorder.mark('puback', `${type} from ${systemId}`);
      return reply;
    },
  };
}

describe('default configuration: every write before an acknowledgement is synced', () => {
  const dir = tempDir('jukigw-writepath-');
  const dataDir = join(dir.path, 'data');
  const dbLocation = join(dataDir, 'db');
  let recorder: WriteRecorder;
  let app: ApplianceHandle | undefined;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true });
    const pwFile = join(dir.path, 'password');
    writeFileSync(pwFile, PASSWORD);
    const port = await freePort();
    // broker.syncWrites is not set: the default is what is checked.
    const config = configSchema.parse({
      municipalities: [SERVED],
      dataDir,
      hsm: { kind: 'software' },
      listeners: [{ name: 'plain', type: 'plain', host: '127.0.0.1', port }],
      systems: [
        { id: REGISTER, role: 'resident-register', password: { file: pwFile } },
        { id: TERMINAL, role: 'terminal', password: { file: pwFile } },
      ],
      admin: { host: '127.0.0.1', port: await freePort() },
      ui: { enabled: false },
      limits: { minFreeDiskBytes: 0 },
    });
    recorder = recordWrites();
    app = await startAppliance(config, { logger: createLogger({ level: 'silent' }) });
    const uplinkClientId = `juki-gw-${SERVED}-simulated`;
    app.parts.simulated!.broker.on('ack', (packet, client) => {
      if (client?.id === uplinkClientId) recorder.mark('upstream-ack', packet && 'topic' in packet ? packet.topic : '?');
    });
    const url = `mqtt://127.0.0.1:${port}`;
    const rr = await requester(url, REGISTER, recorder);
    const term = await requester(url, TERMINAL, recorder);
    clients.push(rr.client, term.client);

    const today = isoDateInJapan(Date.now());
    const residents = [...generateResidents('tsu', { count: UPDATES * 3 })]
      .filter((r) => r.lgCode === SERVED)
      .slice(0, UPDATES)
      .map((r) => ({ ...r, changeReason: 'add', changeDate: today, status: 'current' }));
    // identity.update: PUBACK, reply after the atomic store, identity.notify → prefecture → its
    // result back through the uplink (an upstream acknowledgement).
    const updates = await Promise.all(residents.map((r) => rr.request('identity.update', { record: r })));
    for (const u of updates) expect(u.type).toBe('identity.update.result');
    // identity.verify: terminal → CS → national → back (an upstream acknowledgement, then the reply).
    const verifies = await Promise.all(
      residents
        .slice(0, VERIFIES)
        .map((r) => term.request('identity.verify', { by: 'residentCode', residentCode: r.residentCode, ...operator })),
    );
    for (const v of verifies) expect(v.corr).not.toBeNull();
    // The identity.notify results come back asynchronously: wait for them (upstream acks).
    const deadline = Date.now() + 30_000;
    while (
      recorder.trace.filter((e) => e.kind === 'event' && e.name === 'upstream-ack').length < UPDATES + VERIFIES &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await app?.close();
    recorder?.stop();
    dir.cleanup();
  });

  it('acknowledges each kind of traffic', () => {
    const count = (name: string) => recorder.trace.filter((e) => e.kind === 'event' && e.name === name).length;
    expect(count('puback')).toBe(UPDATES + VERIFIES);
    expect(count('reply')).toBeGreaterThanOrEqual(UPDATES + VERIFIES);
    expect(count('upstream-ack')).toBeGreaterThanOrEqual(UPDATES + VERIFIES);
  });

  it('issued every write to the appliance DB before each acknowledgement with sync', () => {
    const unsynced: string[] = [];
    let checked = 0;
    let synced = 0;
    const seen = new Set<RecordedWrite>();
    for (const e of recorder.trace) {
      if (e.kind === 'write') {
        if (e.location === dbLocation) seen.add(e);
        continue;
      }
      // An acknowledgement: everything written so far must have been synced.
      for (const w of seen) {
        checked++;
        if (w.sync) synced++;
        else if (!acknowledgesNothing(w))
          unsynced.push(
            `${w.call} of ${w.ops.length} op(s) [${w.ops
              .slice(0, 3)
              .map((o) => `${o.type} ${o.key.slice(0, 40)}`)
              .join(', ')}] before ${e.name} (${e.detail})`,
          );
      }
      seen.clear();
    }
    console.info(`writes before acknowledgements: ${checked}, ${synced} synced`);
    expect(checked).toBeGreaterThan(UPDATES);
    expect(unsynced.slice(0, 10)).toEqual([]);
    expect(synced).toBeGreaterThan(UPDATES);
  });
});
