// The Jobs page shows what the running appliance does for the CLI: a register import started through
// the API (as `juki-gw import` does while the appliance runs) appears with its progress and outcome.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp, SESSION_COOKIE } from '../../admin-ui/app.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { onlineOperations } from '../../admin-ui/adapters/operations.js';
import { openConfigVersions } from '../../config/versions.js';
import type { ApplianceServices, AuditEvent } from '../../admin-ui/services.js';
import { createLogger } from '../../platform/log/logger.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { IdentityStore } from '../../gateway/cs/identityStore.js';
import { createSigner } from '../../hsm/create-signer.js';
import { hsmSection } from '../../config/schema/hsm.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const dir = tempDir('ui-jobs-');
let db: Db;
let app: ReturnType<typeof createAdminApp>;
let adminToken = '';
const audited: AuditEvent[] = [];

async function session(): Promise<string> {
  const g = await app.request('https://ui.test/login');
  const loginCookie = g.headers.getSetCookie()[0]!.split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await g.text())![1]!;
  const r = await app.request('https://ui.test/login', {
    method: 'POST',
    headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, username: 'viewer', password: 'second monitor pass 2' }),
  });
  return r.headers
    .getSetCookie()
    .find((c) => c.startsWith(SESSION_COOKIE))!
    .split(';')[0]!;
}

beforeAll(async () => {
  db = await openApplianceDb(join(dir.path, 'db'));
  const signer = await createSigner(hsmSection.parse({ kind: 'software' }), { dataDir: dir.path });
  const store = await IdentityStore.open(db);
  const versions = await openConfigVersions({ db, initialText: "municipalities: ['242012']\n" });
  const append = async (e: AuditEvent) => {
    audited.push(e);
  };
  const services: ApplianceServices = {
    config: versions,
    systems: { list: async () => [] } as never,
    status: {},
    audit: { append },
    operations: onlineOperations({ db, dataDir: dir.path, signer, identityStore: () => store, audit: append }),
  };
  const auth = await openAuthStore({ db, idleMinutes: 15 });
  app = createAdminApp({ services, auth, logger: createLogger({ level: 'silent' }), idleMinutes: 15 });
  expect(await auth.createAccount('viewer', 'monitor', 'first monitor pass 1')).toBeUndefined();
  expect(await auth.changePassword('viewer', 'first monitor pass 1', 'second monitor pass 2')).toBeUndefined();
  expect(await auth.createAccount('ops', 'admin', 'first admin pass 12')).toBeUndefined();
  adminToken = (await auth.createApiToken('ops', 'ui jobs test')).token;
});
afterAll(async () => {
  await db?.close();
  dir.cleanup();
});

describe('Jobs page', () => {
  it('shows a running import with its progress, then its outcome; a monitor sees it', async () => {
    const cookie = await session();
    const empty = await (await app.request('https://ui.test/jobs', { headers: { cookie } })).text();
    expect(empty).toContain('id="jobs-none"');
    const started = await app.request('https://ui.test/api/v1/import', {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ generate: '3000', seed: 'ui-jobs' }),
    });
    expect(started.status).toBe(202);
    const { job } = (await started.json()) as { job: { id: string } };
    const page = await (await app.request('https://ui.test/jobs', { headers: { cookie } })).text();
    expect(page).toMatch(
      new RegExp(
        `<tr data-job="${job.id}" data-state="(running|done)" data-kind="import"><td class="nowrap">住民データ取込</td><td>ops</td>`,
      ),
    );
    expect(page).toMatch(/<progress value="\d+" max="\d+"><\/progress>/);
    const done = await until(
      async () => {
        const html = await (await app.request('https://ui.test/jobs', { headers: { cookie } })).text();
        return html.includes(`data-job="${job.id}" data-state="done"`) ? html : undefined;
      },
      60_000,
      'the import job to finish',
    );
    expect(done).toMatch(/<progress value="3000" max="3000"><\/progress> 3000 \/ 3000 件/);
    expect(done).toMatch(/generated 3000: 3000 行: 登録 3000 件、変更なし 0 件、拒否 0 件/);
    // The API keeps the English line.
    expect(
      (
        (await (
          await app.request(`https://ui.test/api/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${adminToken}` } })
        ).json()) as { summary: string }
      ).summary,
    ).toMatch(/generated 3000: 3000 lines: 3000 stored, 0 unchanged, 0 rejected/);
    expect(audited.filter((e) => e.action === 'register.import').map((e) => e.outcome)).toEqual(['ok', 'ok']);
  }, 90_000);

  it('refuses a second import while one runs, before the extract is stored on the appliance', async () => {
    const api = (path: string, init: RequestInit) =>
      app.request(`https://ui.test/api/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${adminToken}`, ...(init.headers as Record<string, string>) },
      });
    const first = await api('/import', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ generate: '20000', seed: 'ui-jobs-long' }),
    });
    expect(first.status).toBe(202);
    const second = await api('/import?format=csv&name=second.csv', {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'residentCode\n1\n',
    });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { message: string }).message).toMatch(/an import is already running \(job \S+, by ops\)/);
    expect(existsSync(join(dir.path, 'imports')) ? readdirSync(join(dir.path, 'imports')) : []).toEqual([]);
    expect(audited.some((e) => e.action === 'register.import' && e.outcome === 'refused')).toBe(true);
    const { job } = (await first.json()) as { job: { id: string } };
    await until(
      async () => ((await (await api(`/jobs/${job.id}`, {})).json()) as { state: string }).state !== 'running',
      120_000,
      'the first import to end',
    );
  }, 150_000);
});
