// Proof, on the whole appliance, that no resident's name or number reaches the data directory in
// clear: the composition of appliance/start.ts (software KEK, simulated upstreams) takes a few
// hundred identity.update requests from the resident register and searches from a terminal, with
// clean:false sessions left offline so their reply queues hold personal data; after close every
// file of the data dir (LevelDB tables decompressed, write-ahead logs reassembled) is scanned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startAppliance, type ApplianceHandle } from '../../../appliance/start.js';
import { configSchema } from '../../../config/schema/index.js';
import { isoDateInJapan } from '../../../domain/dates.js';
import { uuidv7, type Envelope } from '../../../platform/envelope.js';
import { createLogger } from '../../../platform/log/logger.js';
import { generateResidents } from '../../../sim/residents.js';
import { scannableBytes } from '../../helpers/gw-leveldb.js';
import { freePort } from '../../helpers/ports.js';
import { tempDir } from '../../helpers/tmp.js';
import { digitWindows, filesUnder } from '../../helpers/scan.js';

const SERVED = '242012';
const PASSWORD = 'appliance-scan-password-not-a-secret';
const REGISTER = 'rr-01';
const TERMINAL = 'term-01';
const operator = { operatorId: 'op-0001', terminalId: 'tm-0001' };

// Distinctive names: realistic records from the generator, names that occur nowhere else.
const FAMILY: Array<[string, string]> = [
  ['鵜殿', 'うどの'],
  ['朝熊', 'あさま'],
  ['波瀬', 'はぜ'],
  ['榊原', 'さかきばら'],
  ['御浜', 'みはま'],
  ['紀宝', 'きほう'],
  ['度会', 'わたらい'],
  ['多気', 'たき'],
  ['明和', 'めいわ'],
  ['玉城', 'たまき'],
  ['大紀', 'たいき'],
  ['菰野', 'こもの'],
  ['木曽岬', 'きそさき'],
  ['東員', 'とういん'],
  ['飯高', 'いいたか'],
];
const GIVEN: Array<[string, string]> = [
  ['雫', 'しずく'],
  ['琥珀', 'こはく'],
  ['蒼真', 'そうま'],
  ['凪沙', 'なぎさ'],
  ['律葵', 'りつき'],
  ['燈', 'あかり'],
  ['澪花', 'みおか'],
  ['颯汰', 'そうた'],
  ['紬希', 'つむぎ'],
  ['陽葵', 'ひまり'],
  ['湊斗', 'みなと'],
  ['詩織', 'しおり'],
  ['悠真', 'ゆうま'],
  ['結衣', 'ゆい'],
  ['蓮', 'れん'],
  ['葵', 'あおい'],
  ['樹', 'いつき'],
  ['楓', 'かえで'],
  ['柚', 'ゆず'],
  ['遥', 'はるか'],
];
const COUNT = 300;
/** Searches answered online (replies checked), then searches whose replies stay queued. */
const SEARCHES = 20;
const QUEUED = 60;
const MOVEOUTS = 20;

const today = isoDateInJapan(Date.now());
const residents = [...generateResidents('tsu', { count: COUNT * 2 })]
  .filter((r) => r.lgCode === SERVED)
  .slice(0, COUNT)
  .map((r, i) => {
    const [f, fk] = FAMILY[i % FAMILY.length]!;
    const [g, gk] = GIVEN[Math.floor(i / FAMILY.length) % GIVEN.length]!;
    return { ...r, name: `${f}\u3000${g}`, nameKana: `${fk}\u3000${gk}`, changeReason: 'add', changeDate: today, status: 'current' };
  });

interface Session {
  client: MqttClient;
  replies: Envelope[];
  request(type: string, body: Record<string, unknown>): Promise<Envelope>;
}

async function session(url: string, systemId: string, clientId: string): Promise<Session> {
  const client = await mqtt.connectAsync(url, {
    clientId,
    username: systemId,
    password: PASSWORD,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const replies: Envelope[] = [];
  const waiting = new Map<string, (e: Envelope) => void>();
  client.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as Envelope;
    replies.push(e);
    if (e.corr) waiting.get(e.corr)?.(e);
  });
  await client.subscribeAsync([`res/${systemId}`, `to/${systemId}/#`], { qos: 1 });
  return {
    client,
    replies,
    async request(type, body) {
      const env = { v: 1, id: uuidv7(), type, body };
      const reply = new Promise<Envelope>((resolve, reject) => {
        const t = setTimeout(() => {
          waiting.delete(env.id);
          reject(new Error(`no reply to ${type} in time`));
        }, 20_000);
        waiting.set(env.id, (e) => {
          clearTimeout(t);
          waiting.delete(env.id);
          resolve(e);
        });
      });
      await client.publishAsync(`req/${type}`, JSON.stringify(env), { qos: 1 });
      return reply;
    },
  };
}

describe('data directory of the running appliance', () => {
  const dir = tempDir('jukigw-appscan-');
  const dataDir = join(dir.path, 'data');
  let app: ApplianceHandle | undefined;
  const clients: MqttClient[] = [];
  let queuedAtClose = 0;

  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true });
    const pwFile = join(dir.path, 'password');
    writeFileSync(pwFile, PASSWORD);
    const port = await freePort();
    const config = configSchema.parse({
      municipalities: [SERVED],
      dataDir,
      hsm: { kind: 'software' },
      listeners: [{ name: 'plain', type: 'plain', host: '127.0.0.1', port }],
      systems: [
        { id: REGISTER, role: 'resident-register', password: { file: pwFile } },
        { id: TERMINAL, role: 'terminal', password: { file: pwFile } },
      ],
      broker: { syncWrites: false },
      admin: { host: '127.0.0.1', port: await freePort() },
      ui: { enabled: false },
      limits: { minFreeDiskBytes: 0 },
    });
    app = await startAppliance(config, { logger: createLogger({ level: 'silent' }) });
    const url = `mqtt://127.0.0.1:${port}`;

    const rr = await session(url, REGISTER, REGISTER);
    clients.push(rr.client);
    for (let i = 0; i < residents.length; i += 50) {
      const replies = await Promise.all(residents.slice(i, i + 50).map((r) => rr.request('identity.update', { record: r })));
      for (const rep of replies) expect(rep.type).toBe('identity.update.result');
    }
    // Move-out certificates held for the new municipality (転出証明書情報): sealed, found by 住民票コード.
    for (const [i, r] of residents.slice(0, MOVEOUTS).entries()) {
      const certificate = {
        certificateId: `MO-${SERVED}-${String(i + 1).padStart(6, '0')}`,
        residentCode: r.residentCode,
        myNumber: r.myNumber,
        name: r.name,
        birthDate: r.birthDate,
        sex: r.sex,
        oldAddress: r.address,
        oldLgCode: SERVED,
        plannedMoveDate: today,
        issuedOn: today,
      };
      expect(await rr.request('moveout.cert.store', { certificate })).toMatchObject({ type: 'moveout.cert.store.result' });
    }
    const term = await session(url, TERMINAL, TERMINAL);
    clients.push(term.client);
    for (const r of residents.slice(0, SEARCHES)) {
      const rep = await term.request('identity.search', {
        dutyCode: 'JUKI-01',
        ...operator,
        name: r.name,
        birthDate: r.birthDate,
        address: '三重県津市',
      });
      expect(rep).toMatchObject({ type: 'identity.search.result', body: { route: 'local' } });
      expect(JSON.stringify(rep.body)).toContain(r.name);
    }
    // Then the terminal stops acknowledging (a hung client): the replies to its next searches stay
    // in its clean:false session's queue on disk, names and numbers included.
    term.client.handleMessage = () => {
      /* never acknowledged */
    };
    const level = app.parts.broker!.persistence.level;
    for (const r of residents.slice(SEARCHES, SEARCHES + QUEUED)) {
      term.client.publish(
        'req/identity.search',
        JSON.stringify({
          v: 1,
          id: uuidv7(),
          type: 'identity.search',
          body: { dutyCode: 'JUKI-01', ...operator, name: r.name, birthDate: r.birthDate, address: '三重県津市' },
        }),
        { qos: 1 },
      );
    }
    const deadline = Date.now() + 30_000;
    while (level.outgoingDepth(TERMINAL) < QUEUED && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    queuedAtClose = level.outgoingDepth(TERMINAL);
    for (const c of clients.splice(0)) await c.endAsync(true);
    await app.close();
    app = undefined;
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await app?.close();
    dir.cleanup();
  });

  it('holds no resident name, kana, 個人番号 or 住民票コード in clear in any file', () => {
    // the hung terminal session's queue held every one of those search replies when the appliance stopped
    expect(queuedAtClose).toBe(QUEUED);
    const files = filesUnder(dataDir);
    expect(files.some((f) => /\.(log|ldb)$/.test(f) && statSync(f).size > 0)).toBe(true);
    const hits = new Map<string, number>();
    const hit = (what: string) => hits.set(what, (hits.get(what) ?? 0) + 1);
    for (const f of files) {
      const name = f.slice(dataDir.length);
      const data = scannableBytes(f);
      const windows = digitWindows(data);
      for (const r of residents) {
        if (data.includes(Buffer.from(r.name, 'utf8'))) hit(`${name}: name`);
        if (data.includes(Buffer.from(r.nameKana, 'utf8'))) hit(`${name}: kana`);
        if (windows.has(r.myNumber)) hit(`${name}: 個人番号`);
        if (windows.has(r.residentCode)) hit(`${name}: 住民票コード`);
      }
    }
    if (process.env.SCAN_REPORT) console.log({ files: files.length, hits: Object.fromEntries(hits) });
    expect(Object.fromEntries(hits)).toEqual({});
  });
});
