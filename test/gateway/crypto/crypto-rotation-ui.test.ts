// The data key rotation in the admin app (HTTP, no browser) over a real keyring and LevelDB: the HSM
// page form for an admin (CSRF token, audited), refused without the token or for another role, the
// /api/v1 routes, one rotation at a time; and the rotation itself keeping a key whose values sit in a
// sublevel that is not a re-encryption target (never crypto-shreds data it did not move).
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAuthStore, type AuthStore } from '../../../admin-ui/auth/store.js';
import { createAdminApp, SESSION_COOKIE } from '../../../admin-ui/app.js';
import type { ApplianceServices, AuditEvent } from '../../../admin-ui/services.js';
import {
  createDataKeyRotation,
  openFileKek,
  openKeyring,
  sealedCensus,
  type DataKeyRotation,
  type Keyring,
} from '../../../gateway/crypto/index.js';
import { createLogger } from '../../../platform/log/logger.js';
import { openApplianceDb, SUBLEVELS, type Db } from '../../../platform/store/db.js';
import { tempDir } from '../../helpers/tmp.js';

let dir: ReturnType<typeof tempDir>;
let db: Db;
let ring: Keyring;
let rotation: DataKeyRotation;
let auth: AuthStore;
let app: ReturnType<typeof createAdminApp>;
let events: AuditEvent[];

async function seal(sublevel: string, n: number): Promise<void> {
  const sub = db.sublevel<string, unknown>(sublevel, { valueEncoding: ring.valueEncoding('json') });
  for (let i = 0; i < n; i++) await sub.put(`k${i}`, { name: `resident ${i}` });
}

beforeEach(async () => {
  dir = tempDir('jukigw-rotate-ui-');
  db = await openApplianceDb(join(dir.path, 'db'));
  ring = await openKeyring({ db, kek: openFileKek(join(dir.path, 'keys', 'kek.bin')) });
  await seal(SUBLEVELS.identity, 20);
  await seal(SUBLEVELS.outbox, 5);
  rotation = createDataKeyRotation({ db, keyring: ring });
  events = [];
  const services: ApplianceServices = {
    config: {} as never,
    systems: {} as never,
    status: {},
    audit: {
      append: async (e) => {
        events.push(e);
      },
    },
    dataKeys: rotation,
  };
  auth = await openAuthStore({ db, idleMinutes: 15 });
  app = createAdminApp({ services, auth, logger: createLogger({ level: 'silent' }), idleMinutes: 15 });
  for (const [name, role] of [
    ['boss', 'admin'],
    ['keeper', 'security'],
  ] as const) {
    await auth.createAccount(name, role, 'first long passphrase 1', 'en'); // the pages in English: the assertions below read them
    await auth.changePassword(name, 'first long passphrase 1', 'second long passphrase 2');
  }
});
afterEach(async () => {
  await rotation.close();
  await ring.close();
  await db.close();
  dir.cleanup();
});

async function session(user: string): Promise<{ cookie: string; csrf: string; page: string }> {
  const g = await app.request('https://ui.test/login');
  const loginCookie = g.headers.getSetCookie()[0]!.split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await g.text())![1]!;
  const r = await app.request('https://ui.test/login', {
    method: 'POST',
    headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, username: user, password: 'second long passphrase 2' }),
  });
  const cookie = r.headers
    .getSetCookie()
    .find((c) => c.startsWith(SESSION_COOKIE))!
    .split(';')[0]!;
  const page = await (await app.request('https://ui.test/keys', { headers: { cookie } })).text();
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '', page };
}

const post = (cookie: string, fields: Record<string, string>) =>
  app.request('https://ui.test/keys/data-key/rotate', {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });

describe('data key rotation in the admin UI', () => {
  it('an admin rotates from the HSM page (CSRF token): key 2 current, key 1 retired, audited', async () => {
    const s = await session('boss');
    expect(s.page).toContain('id="data-keys"');
    expect(s.page).toMatch(/<form method="post" action="\/keys\/data-key\/rotate"><input type="hidden" name="_csrf"/);
    const r = await post(s.cookie, { _csrf: s.csrf });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/keys');
    const done = await rotation.settled();
    expect(done).toMatchObject({ state: 'done', by: 'boss', newKeyId: 2, retired: [1], rewritten: 25, remaining: {}, complete: true });
    expect(rotation.keys().map((k) => [k.id, k.current ? 'current' : k.state])).toEqual([
      [1, 'retired'],
      [2, 'current'],
    ]);
    expect(await sealedCensus(db)).toEqual({ identity: { 2: 20 }, outbox: { 2: 5 } });
    expect(events).toContainEqual(
      expect.objectContaining({ action: 'data-key.rotate', actor: 'boss', role: 'admin', via: 'ui', outcome: 'ok', target: 'data key 2' }),
    );
    const after = await (await app.request('https://ui.test/keys', { headers: { cookie: s.cookie } })).text();
    expect(after).toContain('Data key 2 is current');
    expect(after).toMatch(
      /id="data-key-rotation" data-state="done">Last rotation \(boss, 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d JST \(\+09:00\)\): <strong>done<\/strong>/,
    );
  });

  it('refuses a post without the CSRF token (403, audited) and rotates nothing', async () => {
    const s = await session('boss');
    const r = await post(s.cookie, {});
    expect(r.status).toBe(403);
    expect(ring.currentKeyId()).toBe(1);
    expect(rotation.status().state).toBe('idle');
    expect(events).toContainEqual(
      expect.objectContaining({ action: 'request.csrf', actor: 'boss', outcome: 'refused', target: 'POST /keys/data-key/rotate' }),
    );
  });

  it('refuses a security officer (admin only): no button, 403 on the post, audited', async () => {
    const s = await session('keeper');
    expect(s.page).toContain('id="data-keys"');
    expect(s.page).not.toContain('action="/keys/data-key/rotate"');
    // The security officer's CSRF token from another form on the page
    expect(s.csrf).not.toBe('');
    const r = await post(s.cookie, { _csrf: s.csrf });
    expect(r.status).toBe(403);
    expect(ring.currentKeyId()).toBe(1);
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'data-key.rotate',
        actor: 'keeper',
        outcome: 'refused',
        detail: 'role security lacks dataKeys.rotate',
      }),
    );
  });

  it('serves /api/v1/data-keys and POST /api/v1/data-keys/rotate to an admin API token only', async () => {
    const admin = (await auth.createApiToken('boss', 't')).token;
    const security = (await auth.createApiToken('keeper', 't')).token;
    const call = (token: string, method: string, path: string) =>
      app.request(`https://ui.test/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    const refused = await call(security, 'POST', '/data-keys/rotate');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'forbidden' });
    const started = await call(admin, 'POST', '/data-keys/rotate');
    expect(started.status).toBe(202);
    expect(await started.json()).toMatchObject({ started: true, rotation: { state: 'running', newKeyId: 2, by: 'boss' } });
    await rotation.settled();
    const listed = (await (await call(security, 'GET', '/data-keys')).json()) as {
      keys: Array<{ id: number; state: string }>;
      rotation: { state: string };
    };
    expect(listed.keys.map((k) => `${k.id}:${k.state}`)).toEqual(['1:retired', '2:active']);
    expect(listed.rotation.state).toBe('done');
    expect(events.filter((e) => e.action === 'data-key.rotate').map((e) => `${e.actor}:${e.via}:${e.outcome}`)).toEqual([
      'keeper:api:refused',
      'boss:api:ok',
    ]);
  });
});

describe('data key rotation service', () => {
  it('runs one rotation at a time', async () => {
    const [a, b] = await Promise.all([rotation.start('one'), rotation.start('two')]);
    expect(a.started).toBe(true);
    expect(b).toMatchObject({ started: false, status: { state: 'running', by: 'one' } });
    expect((await rotation.settled()).state).toBe('done');
    expect(
      ring
        .keys()
        .filter((k) => k.state === 'active')
        .map((k) => k.id),
    ).toEqual([2]);
  });

  it('keeps (does not retire) a key still used by a sealed sublevel that is not a target, and says which', async () => {
    await seal('not-listed', 3);
    const r = await rotation.start('boss');
    expect(r.started).toBe(true);
    const done = await rotation.settled();
    expect(done).toMatchObject({ state: 'done', retired: [], remaining: { 'not-listed': { 1: 3 } }, complete: false });
    expect(done.detail).toMatch(/data key\(s\) 1 kept: not-listed 3 under 1 .*SEALED_SUBLEVELS/);
    // Nothing was lost: the values under key 1 still open.
    const sub = db.sublevel<string, unknown>('not-listed', { valueEncoding: ring.valueEncoding('json') });
    expect(await sub.get('k2')).toEqual({ name: 'resident 2' });
    expect(await sealedCensus(db)).toEqual({ identity: { 2: 20 }, outbox: { 2: 5 }, 'not-listed': { 1: 3 } });
  });

  it('keeps the older key while a write issued before the rotation has not completed (it may carry that key)', async () => {
    const slow = createDataKeyRotation({ db, keyring: ring, earlierWritesTimeoutMs: 200 });
    const sub = db.sublevel<string, unknown>(SUBLEVELS.local, { valueEncoding: ring.valueEncoding('json') });
    const pending = db.batch();
    pending.put('late', { name: 'sealed under key 1, not yet written' }, { sublevel: sub as never });
    expect((await slow.start('boss')).started).toBe(true);
    const done = await slow.settled();
    expect(done).toMatchObject({ state: 'done', retired: [], complete: false });
    expect(done.detail).toMatch(/1 write\(s\) issued before the rotation have not completed/);
    await pending.write();
    // Once it has landed, the next rotation moves it and retires both older keys.
    const again = createDataKeyRotation({ db, keyring: ring });
    await again.start('boss');
    expect(await again.settled()).toMatchObject({ state: 'done', retired: [1, 2], complete: true });
    expect(await sub.get('late')).toEqual({ name: 'sealed under key 1, not yet written' });
  });

  it('retires the older key while the flows keep writing the same keys (only writes issued before the switch count)', async () => {
    // Like the audit head or the broker's fan-out marker: a key with a write in flight at every moment.
    const hot = db.sublevel<string, { n: number }>('hot', { valueEncoding: 'json' });
    let n = 0;
    let writing = true;
    const writes: Array<Promise<void>> = [];
    const issue = () => {
      writes.push(hot.put('head', { n: ++n }));
    };
    // Runs right after the tracker has seen a write applied: the next one is issued in the same tick.
    const onWrite = () => {
      if (writing) issue();
    };
    db.on('write', onWrite);
    issue();
    issue();
    try {
      const slow = createDataKeyRotation({ db, keyring: ring, earlierWritesTimeoutMs: 2_000 });
      expect((await slow.start('boss')).started).toBe(true);
      const done = await slow.settled();
      expect(done.detail).not.toMatch(/have not completed/);
      expect(done).toMatchObject({ state: 'done', retired: [1], complete: true });
    } finally {
      writing = false;
      db.off('write', onWrite);
      await Promise.all(writes);
    }
    expect(n).toBeGreaterThan(2);
    expect(await hot.get('head')).toEqual({ n });
  });
});
