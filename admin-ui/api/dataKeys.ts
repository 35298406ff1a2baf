// /api/v1/data-keys: the data keys of encryption at rest and their rotation on the running appliance
// (what `juki-gw keys rotate-data-key` calls: the appliance holds the database, the CLI cannot).
import type { Hono } from 'hono';
import { auditAs, refuseUnless, type UiEnv } from '../context.js';
import { notAvailable } from './util.js';

export function registerDataKeysApi(api: Hono<UiEnv>) {
  api.get('/data-keys', async (c) => {
    const refused = await refuseUnless(c, 'keys.view', 'data-key.view');
    if (refused) return refused;
    const d = c.get('deps').services.dataKeys;
    if (!d) return notAvailable(c, 'data keys (encryption at rest)');
    return c.json({ keys: d.keys(), rotation: d.status() });
  });
  api.post('/data-keys/rotate', async (c) => {
    const refused = await refuseUnless(c, 'dataKeys.rotate', 'data-key.rotate');
    if (refused) return refused;
    const d = c.get('deps').services.dataKeys;
    if (!d) return notAvailable(c, 'data key rotation');
    const r = await d.start(c.get('who').user);
    if (r.started) {
      await auditAs(c, 'data-key.rotate', 'ok', `data key ${r.status.newKeyId}`, 'rotation started; re-encryption runs in the background');
      return c.json({ started: true, rotation: r.status }, 202);
    }
    const running = r.status.state === 'running';
    await auditAs(
      c,
      'data-key.rotate',
      running ? 'refused' : 'failed',
      undefined,
      running ? 'a rotation is already running' : r.status.detail,
    );
    return c.json(
      {
        code: running ? 'conflict' : 'internal',
        message: running ? 'a data key rotation is already running' : (r.status.detail ?? 'rotation failed'),
        rotation: r.status,
      },
      running ? 409 : 500,
    );
  });
}
