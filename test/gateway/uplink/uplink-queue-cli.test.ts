// `juki-gw queue` on a real data dir (sealed outbox values, SoftHSM-held data key), run as the real CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/load.js';
import { openEncryptionAtRest } from '../../../gateway/crypto/index.js';
import { nowIso, uuidv7, type Envelope } from '../../../platform/envelope.js';
import { openApplianceDb } from '../../../platform/store/db.js';
import { Outbox } from '../../../gateway/uplink/outbox.js';
import { tempDir } from '../../helpers/tmp.js';
import { notifyBody, testResidentCode } from '../../helpers/uplink.js';
import { jukiGw } from '../../helpers/cli.js';

const dir = tempDir('queue-cli-');
const configFile = join(dir.path, 'juki-gw.yaml');
let deadSeq = 0;

const cli = (...args: string[]) => jukiGw(['queue', ...args, '--config', configFile]);

beforeAll(async () => {
  writeFileSync(configFile, `municipalities: ['242012']\ndataDir: ${JSON.stringify(join(dir.path, 'data'))}\nlog: { level: error }\n`);
  const r = loadConfig(configFile);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const db = await openApplianceDb(join(r.config.dataDir, 'db'));
  const atRest = await openEncryptionAtRest({ hsm: r.config.hsm, dataDir: r.config.dataDir, db });
  const outbox = new Outbox({
    db,
    route: () => 'juki',
    retry: { initialMs: 10, maxMs: 10, maxAttempts: 3 },
    backoff: () => 10,
    valueEncoding: atRest.keyring.valueEncoding('json') as never,
  });
  await outbox.open({ live: false });
  const b = db.batch();
  for (let i = 1; i <= 3; i++) {
    const e: Envelope = {
      v: 1,
      id: uuidv7(),
      type: 'identity.notify',
      from: 'lg:242012',
      to: 'pref:240001',
      at: nowIso(),
      corr: null,
      body: notifyBody(testResidentCode(i), 1),
    };
    outbox.enqueue(b, e);
  }
  await outbox.commit(b);
  deadSeq = outbox.takeReady('juki', 1)[0]!;
  await outbox.failed(deadSeq, 'invalid_request: schema version not supported', { permanent: true });
  // Personal data is sealed on disk, not JSON.
  const raw = await db.sublevel('outbox', { valueEncoding: 'view' }).values().all();
  expect(Buffer.concat(raw.map((v) => Buffer.from(v as unknown as Uint8Array))).toString('latin1')).not.toContain(testResidentCode(2));
  outbox.close();
  await atRest.close();
  await db.close();
});

afterAll(() => dir.cleanup());

describe('juki-gw queue', () => {
  it('lists queued and dead-lettered messages without bodies', async () => {
    const q = await cli('list');
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/link juki: 2 queued, oldest \d+ s, 1 dead-lettered/);
    expect(q.stdout.split('\n').filter((l) => /^\d+\tjuki\tidentity\.notify\tpref:240001\t/.test(l))).toHaveLength(2);
    expect(q.stdout).not.toContain(testResidentCode(2));
    const d = await cli('list', '--dead');
    expect(d.stdout).toMatch(
      new RegExp(`^${deadSeq}\\tjuki\\tidentity\\.notify\\t.*rejected: invalid_request: schema version not supported`, 'm'),
    );
  });

  it('shows one message, with its body only on request', async () => {
    const hidden = await cli('show', String(deadSeq), '--dead');
    expect(hidden.code).toBe(0);
    expect(JSON.parse(hidden.stdout)).toMatchObject({ seq: deadSeq, envelope: { body: '[hidden: --with-body shows it]' } });
    const shown = await cli('show', String(deadSeq), '--dead', '--with-body');
    expect(JSON.parse(shown.stdout).envelope.body.record.residentCode).toBe(testResidentCode(1));
    const missing = await cli('show', '999');
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toMatch(/no queued message with seq 999 \(try --dead\)/);
    expect((await cli('show', 'x')).code).toBe(2);
  });

  it('retries a dead-lettered message and purges only with confirmation', async () => {
    const r = await cli('retry', String(deadSeq), '--dead');
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/1 message\(s\) moved from the dead-letter queue back into the outbox/);
    expect((await cli('list')).stdout).toMatch(/3 queued, oldest \d+ s, 0 dead-lettered/);
    const refused = await cli('purge', 'all');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/add --yes/);
    expect((await cli('purge', 'all', '--yes')).stdout).toMatch(/3 queued message\(s\) deleted/);
    expect((await cli('list')).stdout).toMatch(/the outbox is empty/);
  });

  it('while the appliance holds the database, list goes to its admin API and says what it needs', async () => {
    const r = loadConfig(configFile);
    if (!r.ok) throw new Error('config');
    const db = await openApplianceDb(join(r.config.dataDir, 'db'));
    try {
      const locked = await cli('list');
      expect(locked.code).toBe(1);
      expect(locked.stderr).toMatch(
        /juki-gw queue list: the appliance is running and holds \S+: no API token: set JUKIGW_API_TOKEN or give --token-file FILE/,
      );
    } finally {
      await db.close();
    }
  });
});
