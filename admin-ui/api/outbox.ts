// /api/v1/outbox: what `juki-gw queue list|show` reads offline, read from the running appliance's
// live outbox (LevelDB admits one process). Reading is the queues page's right (every role may view);
// a message body carries personal data, so only a role that may change the queues gets it, audited.
import type { Hono } from 'hono';
import { auditAs, refuseUnless, type UiContext, type UiEnv } from '../context.js';
import { badRequest, notAvailable } from './util.js';

const outboxOf = (c: UiContext) => c.get('deps').services.operations?.outbox();

/** `?dead=true|false`: which queue; anything else is refused, not read as false. */
function deadOf(c: UiContext): boolean | string {
  const d = c.req.query('dead');
  if (d === undefined || d === 'false') return false;
  return d === 'true' ? true : 'dead: true or false';
}

export function registerOutboxApi(api: Hono<UiEnv>) {
  api.get('/outbox', async (c) => {
    const refused = await refuseUnless(c, 'view', 'queue.list');
    if (refused) return refused;
    const outbox = outboxOf(c);
    if (!outbox) return notAvailable(c, 'queues');
    const dead = deadOf(c);
    if (typeof dead === 'string') return badRequest(c, dead);
    const l = c.req.query('limit');
    const limit = l === undefined ? 100 : Number(l);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100_000) return badRequest(c, 'limit: an integer 1..100000');
    return c.json({ stats: outbox.stats(), entries: await outbox.list({ dead, limit }) });
  });

  api.get('/outbox/:seq', async (c) => {
    const withBody = c.req.query('withBody') === 'true';
    const refused = await refuseUnless(c, withBody ? 'queues.change' : 'view', 'queue.show');
    if (refused) return refused;
    const outbox = outboxOf(c);
    if (!outbox) return notAvailable(c, 'queues');
    const seq = Number(c.req.param('seq'));
    if (!Number.isSafeInteger(seq) || seq < 1)
      return badRequest(c, `seq: "${c.req.param('seq')}" is not a sequence number (from "juki-gw queue list")`);
    const dead = deadOf(c);
    if (typeof dead === 'string') return badRequest(c, dead);
    const e = await outbox.show(seq, { dead });
    if (!e)
      return c.json({ code: 'not_found', message: `no ${dead ? 'dead-lettered' : 'queued'} message with seq ${seq}`, details: [] }, 404);
    if (withBody) await auditAs(c, 'queue.show', 'ok', `${dead ? 'dead-letter ' : ''}${seq}`, 'with body');
    return c.json(withBody ? e : { ...e, envelope: { ...e.envelope, body: '[hidden: --with-body shows it]' } });
  });
}
