// The README's way in: `juki-gw start` with the embedded default in a directory (data in ./data), then
// the other commands typed in that same directory without --config or --data-dir. Each finds the
// data dir `start` uses and says which; queue list/show go through the running appliance's admin
// API like retry/purge; human-facing times are in the configured zone (JST), --json stays ISO UTC;
// a one-shot command's warnings are sentences, not JSON log lines.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApplianceDb } from '../../platform/store/db.js';
import { loadConfig } from '../../config/load.js';
import { openEncryptionAtRest } from '../../gateway/crypto/index.js';
import { nowIso, uuidv7 } from '../../platform/envelope.js';
import { Outbox } from '../../gateway/uplink/outbox.js';
import { notifyBody, testResidentCode } from '../helpers/uplink.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { jukiGw } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'juki-gw.js');
const JST = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST \(\+09:00\)/;

describe('commands in the directory of an embedded-default appliance', () => {
  const tmp = tempDir('jukigw-embedded-cli-');
  const cwd = tmp.path;
  const dataDir = join(cwd, 'data');
  const tokens = { admin: '', monitor: '' };
  let deadSeq = 0;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => jukiGw(args, { cwd, env: { ...env, ...extra }, timeoutMs: 120_000 });

  async function running<T>(fn: () => Promise<T>): Promise<T> {
    const c = spawn(process.execPath, [bin, 'start'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    c.stdout.on('data', (d: Buffer) => {
      log += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    try {
      await until(() => log.includes('"msg":"appliance ready"') || c.exitCode !== null, 120_000, 'appliance ready');
      expect(c.exitCode, log).toBeNull();
      return await fn();
    } finally {
      if (c.exitCode === null) process.kill(c.pid!, 'SIGTERM');
      await exited;
    }
  }

  beforeAll(async () => {
    env = { ...process.env };
    delete env.SOFTHSM2_CONF;
    delete env.JUKIGW_API_TOKEN;
    delete env.JUKIGW_dataDir;
    env.JUKIGW_listeners__0__port = String(await freePort());
    env.JUKIGW_listeners__1__port = String(await freePort());
    env.JUKIGW_admin__port = String(await freePort());
    env.JUKIGW_ui__port = String(await freePort());
    // API tokens, as an administrator makes them on the Accounts page.
    mkdirSync(dataDir, { recursive: true });
    const db = await openApplianceDb(join(dataDir, 'db'));
    const auth = await openAuthStore({ db, idleMinutes: 15 });
    for (const [name, role] of [
      ['ops-admin', 'admin'],
      ['watcher', 'monitor'],
    ] as const) {
      expect(await auth.createAccount(name, role, 'first pass phrase 12345')).toBeUndefined();
      tokens[role] = (await auth.createApiToken(name, 'embedded cli test')).token;
    }
    await db.close();
    // A first start makes the token and data key; then one dead-lettered message (personal data) in the outbox.
    await running(async () => undefined);
    const r = loadConfig(undefined, { JUKIGW_dataDir: dataDir });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const db2 = await openApplianceDb(join(dataDir, 'db'));
    const atRest = await openEncryptionAtRest({ hsm: r.config.hsm, dataDir, db: db2 });
    const outbox = new Outbox({
      db: db2,
      route: () => 'simulated',
      retry: { initialMs: 10, maxMs: 10, maxAttempts: 3 },
      backoff: () => 10,
      valueEncoding: atRest.keyring.valueEncoding('json') as never,
    });
    await outbox.open({ live: false });
    const b = db2.batch();
    outbox.enqueue(b, {
      v: 1,
      id: uuidv7(),
      type: 'identity.notify',
      from: 'lg:242012',
      to: 'pref:240001',
      at: nowIso(),
      corr: null,
      body: notifyBody(testResidentCode(7), 1),
    });
    await outbox.commit(b);
    deadSeq = outbox.takeReady('simulated', 1)[0]!;
    await outbox.failed(deadSeq, 'invalid_request: schema version not supported', { permanent: true });
    outbox.close();
    await atRest.close();
    await db2.close();
  }, 240_000);
  afterAll(() => tmp.cleanup());

  let onlineList = '',
    onlineDead = '',
    onlineShow = '';

  it('while it runs: queue list/show through its admin API (same roles as the queues page); audit verify finds ./data', async () => {
    await running(async () => {
      const list = await cli(['queue', 'list'], { JUKIGW_API_TOKEN: tokens.monitor });
      expect(list.code, list.stderr).toBe(0);
      expect(list.stderr).toContain(`queue list: data dir ${dataDir} (the embedded default, as juki-gw start uses it)`);
      expect(list.stdout).toMatch(/^the outbox is empty$|^seq\tlink\t/m);
      onlineList = list.stdout;
      const dead = await cli(['queue', 'list', '--dead'], { JUKIGW_API_TOKEN: tokens.monitor });
      expect(dead.stdout).toMatch(
        new RegExp(`^${deadSeq}\\tsimulated\\tidentity\\.notify\\tpref:240001\\t.*schema version not supported`, 'm'),
      );
      onlineDead = dead.stdout;
      const hidden = await cli(['queue', 'show', String(deadSeq), '--dead'], { JUKIGW_API_TOKEN: tokens.monitor });
      expect(hidden.code, hidden.stderr).toBe(0);
      expect(JSON.parse(hidden.stdout)).toMatchObject({ seq: deadSeq, envelope: { body: '[hidden: --with-body shows it]' } });
      onlineShow = hidden.stdout;
      const shown = await cli(['queue', 'show', String(deadSeq), '--dead', '--with-body'], { JUKIGW_API_TOKEN: tokens.admin });
      expect(shown.code, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout).envelope.body.record.residentCode).toBe(testResidentCode(7));

      const show = await cli(['queue', 'show', '999999'], { JUKIGW_API_TOKEN: tokens.monitor });
      expect({ code: show.code, err: show.stderr.split('\n').at(-2) }).toEqual({
        code: 1,
        err: 'no queued message with seq 999999 (try --dead)',
      });
      // A message body is personal data: not for a read-only token.
      const body = await cli(['queue', 'show', '999999', '--with-body'], { JUKIGW_API_TOKEN: tokens.monitor });
      expect(body.code).toBe(1);
      expect(body.stderr).toMatch(/role monitor may not queues\.change \(a message body needs an admin account's token\)/);
      const bad = await cli(['queue', 'list', '--limit', 'lots'], { JUKIGW_API_TOKEN: tokens.monitor });
      expect({ code: bad.code, stderr: bad.stderr }).toEqual({
        code: 2,
        stderr: 'juki-gw queue: --limit: expected an integer 1..100000, got "lots"\n',
      });

      const verify = await cli(['audit', 'verify'], { JUKIGW_API_TOKEN: tokens.admin });
      expect(verify.stderr).toContain(`audit verify: data dir ${dataDir} (the embedded default, as juki-gw start uses it)`);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/^audit log ok: .*\(pinned\)$/m);
    });
  }, 240_000);

  it('stopped: the same queue list offline; audit verify pinned to the configured certificate, or naming it', async () => {
    const list = await cli(['queue', 'list']);
    expect(list.code, list.stderr).toBe(0);
    const ages = (s: string) => s.replace(/oldest \d+ s/g, 'oldest N s').replace(/\t\d+s\t/g, '\tNs\t');
    expect(ages(list.stdout)).toBe(ages(onlineList));
    expect(ages((await cli(['queue', 'list', '--dead'])).stdout)).toBe(ages(onlineDead));
    expect((await cli(['queue', 'show', String(deadSeq), '--dead'])).stdout).toBe(onlineShow);

    const verify = await cli(['audit', 'verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stderr).toContain(`audit verify: data dir ${dataDir} (the embedded default, as juki-gw start uses it)`);
    expect(verify.stdout).toMatch(/^audit log ok: .*\(pinned\)$/m);
    const other = await cli(['audit', 'verify', '--data-dir', 'data']);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toContain('(NOT pinned: give --cert data/hsm/juki-gw-signing.cert.pem)');

    const moved = await cli(['audit', 'verify'], { JUKIGW_dataDir: join(cwd, 'elsewhere') });
    expect(moved.stderr).toContain(`audit verify: data dir ${join(cwd, 'elsewhere')} (JUKIGW_dataDir)`);
    expect(moved.code).toBe(1);

    const prov = await cli(['provision', 'export', '--out', join(cwd, 'records.jsonl')]);
    expect(prov.code, prov.stderr).toBe(0);
    expect(prov.stderr).toContain(`provision export: data dir ${dataDir}`);
  }, 240_000);

  it('times in JST as in the UI (keys list, backup verify), ISO UTC under --json; no JSON log line on the terminal', async () => {
    const keys = await cli(['keys', 'list']);
    expect(keys.code, keys.stderr).toBe(0);
    expect(keys.stdout).toMatch(new RegExp(`^cert .* expires ${JST.source} \\(\\d+ days\\)`, 'm'));
    expect(keys.stdout).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    for (const l of keys.stderr.split('\n').filter(Boolean)) expect(l, keys.stderr).toMatch(/^keys list: (warning|error): [^{]/);

    const pass = { JUKIGW_BACKUP_PASSPHRASE: 'an embedded backup passphrase' };
    const file = join(cwd, 'appliance.jgwb');
    const made = await cli(['backup', 'create', '--out', file], pass);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toContain(`backup create: data dir ${dataDir}`);
    expect(made.stderr).not.toMatch(/^\{/m);
    const checked = await cli(['backup', 'verify', '--in', file], pass);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(new RegExp(`^backup ok: \\d+ parts of ${JST.source}, every hash matches`, 'm'));

    const json = await cli(['audit', 'verify', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.stringify(JSON.parse(json.stdout))).not.toContain('JST');
  }, 240_000);
});
