import { Hono } from 'hono';
import type { UiEnv } from '../context.js';
import { registerConfigApi } from './config.js';
import { registerOperationsApi } from './operations.js';
import { registerDataKeysApi } from './dataKeys.js';
import { registerJobsApi } from './jobs.js';
import { registerOutboxApi } from './outbox.js';
import { registerClusterApi } from './cluster.js';

/** JSON API under /api/v1, behind the same authorisation as the pages (session + X-CSRF-Token, or Bearer token). */
export function registerApi(app: Hono<UiEnv>): void {
  const api = new Hono<UiEnv>();
  api.get('/whoami', (c) => {
    const w = c.get('who');
    return c.json({ user: w.user, role: w.role, via: w.via });
  });
  registerConfigApi(api);
  registerOperationsApi(api);
  registerDataKeysApi(api);
  registerJobsApi(api);
  registerOutboxApi(api);
  registerClusterApi(api);
  api.notFound((c) => c.json({ code: 'not_found', message: `no API route ${c.req.method} ${c.req.path}`, details: [] }, 404));
  app.route('/api/v1', api);
}
