// /api/v1 status, systems, queues, audit, consistency, keys: the same service functions as the pages.
import type { Hono } from 'hono';
import { actorOf, applyDetail, auditAs, refuseUnless, type UiEnv } from '../context.js';
import { load } from '../load.js';
import { applyResponse, badRequest, jsonBody, notAvailable } from './util.js';
import type { AuditQuery } from '../services.js';

const shown = <T>(l: Awaited<ReturnType<typeof load<T>>>) =>
  l.state === 'ok' ? l.value : l.state === 'na' ? { available: false } : { error: l.message };

export function registerOperationsApi(api: Hono<UiEnv>) {
  api.get('/status', async (c) => {
    const s = c.get('deps').services;
    const st = s.status;
    const [connected, rates, links, token, certificates, disk, alarms, queues] = await Promise.all([
      load(st.connectedClients?.bind(st)),
      load(st.messageRates?.bind(st)),
      load(st.links?.bind(st)),
      load(st.tokenStatus?.bind(st)),
      load(st.certificates?.bind(st)),
      load(st.disk?.bind(st)),
      load(st.alarms?.bind(st)),
      load(s.queues ? () => s.queues!.list() : undefined),
    ]);
    return c.json({
      connected: shown(connected),
      rates: shown(rates),
      links: shown(links),
      token: shown(token),
      certificates: shown(certificates),
      disk: shown(disk),
      alarms: shown(alarms),
      queues: shown(queues),
    });
  });

  api.get('/systems', async (c) => c.json(await c.get('deps').services.systems.list()));
  api.post('/systems', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'system.upsert');
    if (refused) return refused;
    const b = await jsonBody(c);
    if (typeof b?.id !== 'string' || typeof b.role !== 'string')
      return badRequest(c, 'expected {"id", "role", "description"?, "enabled"?}');
    const r = await c
      .get('deps')
      .services.systems.upsert(
        { id: b.id, role: b.role, description: typeof b.description === 'string' ? b.description : '', enabled: b.enabled !== false },
        actorOf(c),
      );
    await auditAs(c, 'system.upsert', r.ok ? 'ok' : 'refused', b.id, applyDetail(r));
    return applyResponse(c, r);
  });
  api.post('/systems/:id/disable', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'system.disable');
    if (refused) return refused;
    const r = await c.get('deps').services.systems.disable(c.req.param('id'), actorOf(c));
    await auditAs(c, 'system.disable', r.ok ? 'ok' : 'refused', c.req.param('id'), applyDetail(r));
    return applyResponse(c, r);
  });
  api.post('/systems/:id/certificate', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'system.certificate.upload');
    if (refused) return refused;
    const s = c.get('deps').services.systems;
    if (!s.uploadClientCert) return notAvailable(c, 'client certificate upload');
    const b = await jsonBody(c);
    if (typeof b?.certificate !== 'string') return badRequest(c, 'expected {"certificate": "<PEM>"}');
    const id = c.req.param('id');
    const r = await s.uploadClientCert(id, b.certificate, actorOf(c));
    await auditAs(
      c,
      'system.certificate.upload',
      r.ok ? 'ok' : 'refused',
      id,
      r.ok ? `sha256 ${r.fingerprintSha256}, config version ${r.version.version}` : r.problems.map((p) => p.message).join('; '),
    );
    return r.ok
      ? c.json(r, 200)
      : c.json(
          {
            code: 'invalid_request',
            message: 'certificate refused',
            details: r.problems.map((p) => ({ path: p.path, problem: p.message })),
          },
          422,
        );
  });

  api.get('/queues', async (c) => {
    const q = c.get('deps').services.queues;
    return q ? c.json(await q.list()) : notAvailable(c, 'queues');
  });
  api.get('/queues/:name', async (c) => {
    const q = c.get('deps').services.queues;
    if (!q) return notAvailable(c, 'queues');
    return c.json(
      await q.show(c.req.param('name'), {
        dead: c.req.query('dead') === '1',
        limit: Math.min(Number(c.req.query('limit') ?? 100) || 100, 1000),
      }),
    );
  });
  api.post('/queues/:name/retry', async (c) => {
    const refused = await refuseUnless(c, 'queues.change', 'queue.retry');
    if (refused) return refused;
    const q = c.get('deps').services.queues;
    if (!q) return notAvailable(c, 'queues');
    const b = await jsonBody(c);
    if (typeof b?.id !== 'string') return badRequest(c, 'expected {"id": "<message id>"}');
    const r = await q.retry(c.req.param('name'), b.id, actorOf(c));
    await auditAs(c, 'queue.retry', r.ok ? 'ok' : 'failed', `${c.req.param('name')}/${b.id}`, r.detail);
    return c.json(r, r.ok ? 200 : 409);
  });
  api.post('/queues/:name/purge', async (c) => {
    const refused = await refuseUnless(c, 'queues.change', 'queue.purge');
    if (refused) return refused;
    const q = c.get('deps').services.queues;
    if (!q) return notAvailable(c, 'queues');
    const b = await jsonBody(c);
    if (b?.confirm !== true) return badRequest(c, 'purging dead letters needs {"confirm": true}');
    const n = await q.purgeDeadLetters(c.req.param('name'), actorOf(c));
    await auditAs(c, 'queue.purge', 'ok', c.req.param('name'), `${n} deleted`);
    return c.json({ purged: n });
  });

  api.get('/audit', async (c) => {
    const refused = await refuseUnless(c, 'audit.view', 'audit.view');
    if (refused) return refused;
    const a = c.get('deps').services.audit;
    if (!a.query) return notAvailable(c, 'audit log query');
    const q: AuditQuery = { limit: Math.min(Number(c.req.query('limit') ?? 200) || 200, 5000) };
    for (const k of ['actor', 'action', 'outcome', 'since', 'until'] as const) {
      const v = c.req.query(k);
      if (v) q[k] = v;
    }
    return c.json(await a.query(q));
  });
  api.get('/audit/verify', async (c) => {
    const refused = await refuseUnless(c, 'audit.view', 'audit.verify');
    if (refused) return refused;
    const a = c.get('deps').services.audit;
    if (!a.verify) return notAvailable(c, 'audit chain verification');
    const r = await a.verify();
    await auditAs(c, 'audit.verify', r.ok ? 'ok' : 'failed', undefined, r.detail);
    return c.json(r);
  });

  api.post('/consistency', async (c) => {
    const refused = await refuseUnless(c, 'consistency.run', 'consistency.start');
    if (refused) return refused;
    const cs = c.get('deps').services.consistency;
    if (!cs) return notAvailable(c, 'consistency check');
    const r = await cs.start(actorOf(c));
    await auditAs(c, 'consistency.start', 'ok', r.runId);
    return c.json(r, 202);
  });
  api.get('/consistency/:run', async (c) => {
    const cs = c.get('deps').services.consistency;
    if (!cs) return notAvailable(c, 'consistency check');
    const p = await cs.progress(c.req.param('run'));
    if (!p) return c.json({ code: 'not_found', message: 'no such run', details: [] }, 404);
    return c.json({ progress: p, results: p.state === 'running' ? [] : await cs.results(p.runId) });
  });

  api.get('/keys', async (c) => {
    const refused = await refuseUnless(c, 'keys.view', 'keys.view');
    if (refused) return refused;
    const k = c.get('deps').services.keys;
    if (!k) return notAvailable(c, 'key management');
    return c.json({ keys: await k.list(), trustAnchors: await k.trustAnchors() });
  });
}
