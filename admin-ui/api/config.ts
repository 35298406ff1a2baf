// /api/v1/config: the same ConfigService functions as the configuration page.
import type { Hono } from 'hono';
import { actorOf, applyDetail, auditAs, refuseUnless, type UiEnv } from '../context.js';
import { applyResponse, badRequest, jsonBody, notAvailable } from './util.js';

export function registerConfigApi(api: Hono<UiEnv>) {
  api.get('/config', async (c) => {
    const v = await c.get('deps').services.config.current();
    return c.json({ version: v.version, createdAt: v.createdAt, author: v.author, comment: v.comment, sha256: v.sha256, text: v.text });
  });
  api.get('/config/versions', async (c) => c.json(await c.get('deps').services.config.versions()));
  api.get('/config/versions/:n', async (c) => {
    const v = await c.get('deps').services.config.get(Number(c.req.param('n')));
    return v ? c.json({ ...v, config: undefined }) : c.json({ code: 'not_found', message: 'no such version', details: [] }, 404);
  });
  api.get('/config/diff', async (c) => {
    try {
      return c.json(await c.get('deps').services.config.diff(Number(c.req.query('from')), Number(c.req.query('to'))));
    } catch (e) {
      return c.json({ code: 'not_found', message: (e as Error).message, details: [] }, 404);
    }
  });
  api.post('/config/validate', async (c) => {
    const b = await jsonBody(c);
    if (typeof b?.text !== 'string') return badRequest(c, 'expected {"text": "<yaml>"}');
    const r = c.get('deps').services.config.validate(b.text);
    c.set('audited', true); // a check that changes nothing
    return c.json(r.ok ? { ok: true } : { ok: false, problems: r.problems }, r.ok ? 200 : 422);
  });
  api.post('/config', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'config.apply');
    if (refused) return refused;
    const b = await jsonBody(c);
    if (typeof b?.text !== 'string') return badRequest(c, 'expected {"text": "<yaml>", "comment"?: "..."}');
    const r = await c.get('deps').services.config.apply(b.text, actorOf(c), typeof b.comment === 'string' ? b.comment.slice(0, 200) : '');
    await auditAs(
      c,
      'config.apply',
      r.ok ? 'ok' : 'refused',
      r.ok ? `version ${r.version.version}` : undefined,
      r.ok
        ? undefined
        : r.problems
            .map((p) => `${p.path}: ${p.message}`)
            .join('; ')
            .slice(0, 500),
    );
    return applyResponse(c, r);
  });
  api.post('/config/rollback', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'config.rollback');
    if (refused) return refused;
    const b = await jsonBody(c);
    if (typeof b?.version !== 'number') return badRequest(c, 'expected {"version": <number>}');
    const r = await c.get('deps').services.config.rollback(b.version, actorOf(c));
    await auditAs(c, 'config.rollback', r.ok ? 'ok' : 'refused', `version ${b.version}`, applyDetail(r));
    return applyResponse(c, r);
  });
  api.get('/config/backup', async (c) => {
    const refused = await refuseUnless(c, 'config.backup', 'config.export');
    if (refused) return refused;
    const cfg = c.get('deps').services.config;
    if (!cfg.exportSignedBackup) return notAvailable(c, 'signed backup');
    const doc = await cfg.exportSignedBackup(actorOf(c));
    await auditAs(c, 'config.export', 'ok');
    return c.body(doc, 200, { 'Content-Type': 'application/json' });
  });
  api.post('/config/import', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'config.import');
    if (refused) return refused;
    const cfg = c.get('deps').services.config;
    if (!cfg.importSignedBackup) return notAvailable(c, 'signed backup');
    const r = await cfg.importSignedBackup(await c.req.text(), actorOf(c));
    await auditAs(c, 'config.import', r.ok ? 'ok' : 'refused', undefined, r.ok ? `version ${r.version.version}` : r.problems[0]?.message);
    return applyResponse(c, r);
  });
}
