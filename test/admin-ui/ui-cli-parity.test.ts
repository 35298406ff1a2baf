// The UI has no second logic: its services and `juki-gw` reach the same functions, so they report the
// same configuration problems and act on the same outbox (the real CLI, run as a process).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblems, loadConfig } from '../../config/load.js';
import { openConfigVersions } from '../../config/versions.js';
import { queuesFromOutbox } from '../../admin-ui/adapters/queues.js';
import { openEncryptionAtRest } from '../../gateway/crypto/index.js';
import { nowIso, uuidv7 } from '../../platform/envelope.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { Outbox } from '../../gateway/uplink/outbox.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { tempDir } from '../helpers/tmp.js';
import { jukiGw } from '../helpers/cli.js';

const dir = tempDir('ui-cli-parity-');
const configFile = join(dir.path, 'juki-gw.yaml');
let config: ApplianceConfig;

const cli = (...args: string[]) => jukiGw(args);

/** The outbox as the running appliance opens it (sealed values), with the UI's queue service on top. */
async function openQueues() {
  const db = await openApplianceDb(join(config.dataDir, 'db'));
  const atRest = await openEncryptionAtRest({ hsm: config.hsm, dataDir: config.dataDir, db });
  const outbox = new Outbox({
    db,
    route: () => 'juki',
    retry: { initialMs: 10, maxMs: 10, maxAttempts: 3 },
    backoff: () => 10,
    valueEncoding: atRest.keyring.valueEncoding('json') as never,
  });
  await outbox.open({ live: false });
  return {
    db,
    outbox,
    ui: queuesFromOutbox(outbox, () => ['juki']),
    async close() {
      outbox.close();
      await atRest.close();
      await db.close();
    },
  };
}

async function deadLetter({ db, outbox }: { db: Db; outbox: Outbox }): Promise<number> {
  const b = db.batch();
  const seq = outbox.enqueue(b, {
    v: 1,
    id: uuidv7(),
    type: 'identity.notify',
    from: 'lg:242012',
    to: 'pref:240001',
    at: nowIso(),
    corr: null,
    body: {},
  });
  await outbox.commit(b);
  outbox.takeReady('juki', 10);
  await outbox.failed(seq, 'invalid_request: rejected upstream', { permanent: true });
  return seq;
}

beforeAll(() => {
  writeFileSync(configFile, `municipalities: ['242012']\ndataDir: ${JSON.stringify(join(dir.path, 'data'))}\nlog: { level: error }\n`);
  const r = loadConfig(configFile);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  config = r.config;
});
afterAll(() => dir.cleanup());

describe('the admin UI and juki-gw share their logic', () => {
  it('the configuration page and `juki-gw config check` report the same problems at the same paths', async () => {
    const text =
      "municipalities: ['242013']\nlisteners:\n  - { name: a, type: plain, host: 127.0.0.1, port: 70000 }\nlimits: { maxPayloadBytes: 10 }\n";
    const bad = join(dir.path, 'bad.yaml');
    writeFileSync(bad, text);
    const db = await openApplianceDb(join(dir.path, 'versions-db'));
    try {
      const versions = await openConfigVersions({ db, initialText: "municipalities: ['242012']\n" });
      const ui = versions.validate(text);
      if (ui.ok) throw new Error('expected problems');
      expect(ui.problems.map((p) => p.path)).toEqual(
        expect.arrayContaining(['municipalities[0]', 'listeners[0].port', 'limits.maxPayloadBytes']),
      );
      const r = await cli('config', 'check', bad);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(formatProblems(ui.problems));
      expect(r.stderr).toContain(`${ui.problems.length} problem(s) in ${bad}`);
    } finally {
      await db.close();
    }
  });

  it('a dead letter retried from the UI service is back in the queue for the CLI; one the CLI purges is gone for the UI', async () => {
    let q = await openQueues();
    const first = await deadLetter(q);
    expect(await q.ui.list()).toEqual([{ name: 'juki', depth: 0, oldestAgeMs: null, deadLetters: 1 }]);
    expect(await q.ui.retry('juki', String(first), { user: 'admin', role: 'admin', via: 'ui' })).toMatchObject({ ok: true });
    const requeued = (await q.ui.show('juki', {})).map((e) => e.id);
    expect(requeued).toHaveLength(1);
    const second = await deadLetter(q);
    await q.close();
    const listed = await cli('queue', 'list', '--config', configFile);
    expect(listed.stdout).toMatch(/link juki: 1 queued, oldest \d+ s, 1 dead-lettered/);
    expect(listed.stdout).toMatch(new RegExp(`^${requeued[0]}\\tjuki\\tidentity\\.notify\\t`, 'm'));
    const purged = await cli('queue', 'purge', String(second), '--dead', '--config', configFile);
    expect(purged.code).toBe(0);
    q = await openQueues();
    try {
      expect(await q.ui.list()).toEqual([{ name: 'juki', depth: 1, oldestAgeMs: expect.any(Number), deadLetters: 0 }]);
      expect((await q.ui.show('juki', {})).map((e) => e.id)).toEqual(requeued);
      expect(await q.ui.show('juki', { dead: true })).toEqual([]);
    } finally {
      await q.close();
    }
  });
});
