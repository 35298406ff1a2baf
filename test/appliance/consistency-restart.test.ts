// A consistency check left running when the appliance stopped: after the restart it reads as
// interrupted (with its reason, audited), and a new check started through the admin API finishes
// against the simulated prefecture of the embedded default.
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import type { AuditRecord, ConsistencyProgress } from '../../admin-ui/services.js';
import { startUiAppliance, type UiAppliance } from '../admin-ui/ui-appliance.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('jukigw-csrestart-');
const dataDir = join(tmp.path, 'data');
let a: UiAppliance | undefined;
afterAll(async () => {
  await a?.close();
  tmp.cleanup();
});

function api<T>(token: string, method: string, path: string): Promise<{ status: number; body: T }> {
  const u = new URL(a!.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: `/api/v1${path}`,
        headers: { authorization: `Bearer ${token}` },
        rejectUnauthorized: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) as T }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('a consistency check across a restart of the appliance', () => {
  it('is interrupted, audited with its reason, and a new check runs to the end', async () => {
    a = await startUiAppliance({ dataDir });
    // A check whose peer never answers: the appliance stops while it runs.
    const checker = a.app.parts.cs!.consistency.checker;
    let asked: () => void = () => {};
    const waiting = new Promise<void>((r) => {
      asked = r;
    });
    void checker.start({
      lgCode: '242012',
      peer: 'pref:240001',
      transport: () => {
        asked();
        return new Promise(() => {});
      },
    });
    await waiting;
    const left = (await checker.sessions.list())[0]!.id;
    await a.close();

    a = await startUiAppliance({ dataDir });
    const auth = await openAuthStore({ db: a.app.parts.db, idleMinutes: 15 });
    expect(await auth.createAccount('admin2', 'admin', 'consistency admin password 9')).toBeUndefined();
    const { token } = await auth.createApiToken('admin2', 'restart test');

    const before = await api<{ progress: ConsistencyProgress }>(token, 'GET', `/consistency/${left}`);
    expect(before.status).toBe(200);
    expect(before.body.progress).toMatchObject({ runId: left, state: 'interrupted' });
    expect(before.body.progress.detail).toContain('stopped while the check ran');
    const audit = await api<AuditRecord[]>(token, 'GET', '/audit?action=consistency.check');
    expect(audit.body.filter((r) => r.target === left)).toEqual([
      expect.objectContaining({ outcome: 'failed', detail: expect.stringContaining('interrupted') }),
    ]);

    const started = await api<{ runId: string }>(token, 'POST', '/consistency');
    expect(started.status).toBe(202);
    let p: ConsistencyProgress;
    do p = (await api<{ progress: ConsistencyProgress }>(token, 'GET', `/consistency/${started.body.runId}`)).body.progress;
    while (p.state === 'running');
    expect(p).toMatchObject({ state: 'done', detail: expect.stringContaining('0 difference(s)') });
    let ended: AuditRecord[] = [];
    while (ended.length === 0)
      ended = (await api<AuditRecord[]>(token, 'GET', '/audit?action=consistency.check')).body.filter(
        (r) => r.target === started.body.runId,
      );
    expect(ended).toEqual([expect.objectContaining({ actor: 'admin2', outcome: 'ok' })]);
  }, 240_000);
});
