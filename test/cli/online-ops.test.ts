// `import`, `backup create`, `audit verify|export` and `queue retry|purge` while the appliance runs
// (a real `juki-gw start` process holding the data dir): the CLI goes through the admin API with an
// API token, the same role checks and audit as the UI, progress on stderr; the appliance keeps
// answering local systems during an import.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { openApplianceDb } from '../../platform/store/db.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { IMPORT_FIELDS } from '../../gateway/cs/import/format.js';
import { verifyBackup } from '../../gateway/backup/index.js';
import { uuidv7 } from '../../platform/envelope.js';
import { generateResidents } from '../../sim/residents.js';
import { adminApi } from '../../cli/adminApi.js';
import { loadConfig } from '../../config/load.js';
import { spawnAppliance, type ApplianceProcess } from '../helpers/appliance-process.js';
import { connectClient, endClient } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { jukiGw } from '../helpers/cli.js';

const tmp = tempDir('jukigw-online-ops-');
const dataDir = join(tmp.path, 'data');
const config = join(tmp.path, 'juki-gw.yaml');
const PASSWORD = 'online ops password 1';
const PASSPHRASE = 'an online backup passphrase';
const tokens: Record<'admin' | 'monitor' | 'auditor', string> = { admin: '', monitor: '', auditor: '' };
const baseEnv = () => {
  const e = { ...process.env };
  delete e.SOFTHSM2_CONF;
  delete e.JUKIGW_API_TOKEN;
  return e;
};
const as = (who: keyof typeof tokens) => ({ ...baseEnv(), JUKIGW_API_TOKEN: tokens[who] });
const cli = (args: string[], who: keyof typeof tokens) => jukiGw(args, { env: as(who), timeoutMs: 180_000 });

function csvOf(n: number): string {
  const cell = (v: unknown) => (v === undefined ? '' : /[",]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const rows = [...generateResidents('tsu', { seed: 'online-import', count: n })] as unknown as Array<Record<string, unknown>>;
  return [IMPORT_FIELDS.join(','), ...rows.map((r) => IMPORT_FIELDS.map((f) => cell(r[f])).join(','))].join('\n') + '\n';
}

let app: ApplianceProcess;
let plainPort = 0;

async function auditRecords(action: string): Promise<Array<{ actor: string; outcome: string; via?: string; detail?: string }>> {
  const loaded = loadConfig(config);
  if (!loaded.ok) throw new Error('config');
  const a = adminApi(loaded.config, { env: { JUKIGW_API_TOKEN: tokens.auditor } });
  if (!a.ok) throw new Error(a.message);
  const r = await a.api.call('GET', `/audit?action=${encodeURIComponent(action)}&limit=100`);
  expect(r.status).toBe(200);
  return r.json as unknown as Array<{ actor: string; outcome: string; via?: string; detail?: string }>;
}

beforeAll(async () => {
  const pw = join(tmp.path, 'term-01.pw');
  writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
  plainPort = await freePort();
  writeFileSync(
    config,
    [
      "municipalities: ['242012']",
      `dataDir: ${dataDir}`,
      'hsm: { kind: software }',
      'log: { level: info }',
      `listeners: [{ name: plain, type: plain, host: 127.0.0.1, port: ${plainPort} }]`,
      `systems: [{ id: term-01, role: terminal, password: { file: ${pw} } }]`,
      `admin: { host: 127.0.0.1, port: ${await freePort()} }`,
      `ui: { enabled: true, host: 127.0.0.1, port: ${await freePort()} }`,
      'limits: { minFreeDiskBytes: 0 }',
      '',
    ].join('\n'),
  );
  // Accounts and API tokens, as an administrator makes them on the Accounts page.
  const db = await openApplianceDb(join(dataDir, 'db'));
  const auth = await openAuthStore({ db, idleMinutes: 15 });
  for (const [name, role] of [
    ['ops-admin', 'admin'],
    ['watcher', 'monitor'],
    ['reviewer', 'auditor'],
  ] as const) {
    expect(await auth.createAccount(name, role, 'first pass phrase 12345')).toBeUndefined();
    tokens[role === 'admin' ? 'admin' : role === 'monitor' ? 'monitor' : 'auditor'] = (
      await auth.createApiToken(name, 'online ops test')
    ).token;
  }
  await db.close();
  app = await spawnAppliance(config, baseEnv());
}, 180_000);
afterAll(async () => {
  if (app) await app.stop();
  tmp.cleanup();
});

describe('offline-only operations, now through the running appliance', () => {
  it('import: runs inside the appliance, which answers local systems meanwhile; progress lines; audited', async () => {
    const file = join(tmp.path, 'tsu-extract.csv');
    writeFileSync(file, csvOf(6000));
    const term: MqttClient = await connectClient(`mqtt://127.0.0.1:${plainPort}`, {
      clientId: 'term-01',
      username: 'term-01',
      password: PASSWORD,
      clean: false,
    });
    await term.subscribeAsync('res/term-01', { qos: 1 });
    const answeredAt: number[] = [];
    term.on('message', () => answeredAt.push(Date.now()));
    let querying = true;
    const queries = (async () => {
      while (querying) {
        const before = answeredAt.length;
        const env = {
          v: 1,
          id: uuidv7(),
          type: 'identity.search',
          body: { name: '津 花子', birthDate: '1989-01-07', dutyCode: 'D01', operatorId: 'op-1', terminalId: 'term-01' },
        };
        await term.publishAsync('req/identity.search', JSON.stringify(env), { qos: 1 });
        for (let i = 0; i < 200 && answeredAt.length === before; i++) await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // The import window: from the CLI's "running inside the appliance" line to its exit.
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, '..', '..', 'bin', 'juki-gw.js'), 'import', file, '--config', config, '--batch', '50'],
      { env: as('admin'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let startedAt = 0;
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (!startedAt && /import running inside the appliance/.test(stderr)) startedAt = Date.now();
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    const endedAt = Date.now();
    querying = false;
    await queries;
    await endClient(term);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^6000 lines: 6000 stored, 0 unchanged, 0 rejected in [\d.]+ s; last 更新順番号 \d+$/m);
    expect(stderr).toMatch(/import 100%/);
    expect(stderr.match(/^import \d+%/gm)!.length).toBeGreaterThan(2);
    const during = answeredAt.filter((t) => t > startedAt && t < endedAt).length;
    expect(startedAt).toBeGreaterThan(0);
    expect(during, 'local requests answered while the import ran').toBeGreaterThan(0);
    const audited = await auditRecords('register.import');
    expect(audited.filter((e) => e.actor === 'ops-admin' && e.outcome === 'ok').map((e) => e.detail)).toEqual(
      expect.arrayContaining(['import started', expect.stringMatching(/^job \S+: tsu-extract\.csv: 6000 lines/)]),
    );
  }, 240_000);

  it('backup create: made by the running appliance from its open database, encrypted, with progress; audited', async () => {
    const pass = join(tmp.path, 'backup-pass');
    writeFileSync(pass, PASSPHRASE);
    const out = join(tmp.path, 'online.jgwb');
    const r = await cli(['backup', 'create', '--config', config, '--data-dir', dataDir, '--out', out, '--passphrase-file', pass], 'admin');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /backup written to .*: \d+ parts, \d+ bytes, signed by kid \S+, encrypted \(AES-256-GCM, passphrase\).*made by the running appliance/,
    );
    expect(r.stderr).toMatch(/backup 100%/);
    const v = verifyBackup(readFileSync(out), { decryptWith: { passphrase: Buffer.from(PASSPHRASE) } });
    expect(v.manifest.parts.find((p) => p.name === 'db.records')!.size).toBeGreaterThan(6000 * 100);
    expect((await auditRecords('backup.create')).some((e) => e.actor === 'ops-admin' && e.outcome === 'ok')).toBe(true);
    expect((await auditRecords('backup.download')).some((e) => e.actor === 'ops-admin' && e.outcome === 'ok')).toBe(true);
  }, 180_000);

  it('audit verify and export: through the appliance for an auditor', async () => {
    const v = await cli(['audit', 'verify', '--config', config], 'auditor');
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^audit log ok: \d+ entries/);
    expect(v.stderr).toMatch(/audit verify 100%/);
    const out = join(tmp.path, 'segment.jsonl');
    const x = await cli(
      [
        'audit',
        'export',
        '--config',
        config,
        '--data-dir',
        dataDir,
        '--before',
        new Date(Date.now() + 86400_000).toISOString(),
        '--out',
        out,
      ],
      'auditor',
    );
    expect(x.code, x.stderr).toBe(0);
    expect(x.stdout).toMatch(
      /^exported entries \d+\.\.\d+ .* to .*segment\.jsonl\nsha256 [0-9a-f]{64}$|^nothing to export: no new signed checkpoint/m,
    );
    // The appliance keeps what it exported (the export mark moved past it): an answer lost on the way loses no entry.
    const kept = /^kept on the appliance: (.+)$/m.exec(x.stdout)?.[1];
    if (/^exported entries/m.test(x.stdout)) expect(readFileSync(kept!)).toEqual(readFileSync(out));
    expect((await auditRecords('audit.verify')).some((e) => e.actor === 'reviewer' && e.outcome === 'ok')).toBe(true);
    expect((await auditRecords('audit.export')).some((e) => e.actor === 'reviewer' && e.outcome === 'ok')).toBe(true);
  }, 120_000);

  it('queue retry and purge: on the live outbox for an admin', async () => {
    const retry = await cli(['queue', 'retry', 'all', '--config', config], 'admin');
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/^\d+ message\(s\) due for sending now\n\(done by the running appliance at https:\/\/127\.0\.0\.1:\d+\)/);
    const purge = await cli(['queue', 'purge', '999999', '--dead', '--config', config], 'admin');
    expect(purge.code).toBe(1);
    expect(purge.stderr).toMatch(/no dead-lettered message with seq 999999/);
    expect((await auditRecords('queue.retry')).some((e) => e.actor === 'ops-admin' && e.outcome === 'ok')).toBe(true);
    expect((await auditRecords('queue.purge')).some((e) => e.actor === 'ops-admin' && e.outcome === 'failed')).toBe(true);
  }, 120_000);

  it('a monitor token is refused for each of them, with the reason, and every refusal is audited', async () => {
    const file = join(tmp.path, 'small.csv');
    writeFileSync(file, csvOf(3));
    const pass = join(tmp.path, 'backup-pass');
    const refusedBy: Array<[string[], string, string]> = [
      [['import', file, '--config', config], 'register.import', 'register.import'],
      [
        ['backup', 'create', '--config', config, '--data-dir', dataDir, '--out', join(tmp.path, 'no.jgwb'), '--passphrase-file', pass],
        'config.backup',
        'backup.create',
      ],
      [['audit', 'verify', '--config', config], 'audit.view', 'audit.verify'],
      [
        ['audit', 'export', '--config', config, '--data-dir', dataDir, '--before', '2030-01-01', '--out', join(tmp.path, 'no.seg')],
        'audit.view',
        'audit.export',
      ],
      [['queue', 'retry', 'all', '--config', config], 'queues.change', 'queue.retry'],
      [['queue', 'purge', 'all', '--yes', '--config', config], 'queues.change', 'queue.purge'],
    ];
    for (const [args, permission, action] of refusedBy) {
      const r = await cli(args, 'monitor');
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toContain(`role monitor may not ${permission}`);
      expect(
        (await auditRecords(action)).some((e) => e.actor === 'watcher' && e.outcome === 'refused'),
        action,
      ).toBe(true);
    }
    const noToken = await jukiGw(['queue', 'retry', 'all', '--config', config], { env: baseEnv() });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/the appliance is running and holds .*: no API token: set JUKIGW_API_TOKEN or give --token-file FILE/);
  }, 180_000);
});
