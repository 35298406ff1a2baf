// Queues per uplink: inspect, retry a dead letter, purge dead letters (with confirmation).
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import { actorOf, auditAs, formText, refuseUnless, setFlash, takeFlash, type UiEnv } from '../context.js';
import { ago, Csrf, Layout, NotAvailable, NoneRow } from '../layout.js';
import { render } from '../render.js';
import { QueueDepthCharts } from '../queueDepth.js';

export function registerQueues(app: Hono<UiEnv>) {
  app.get('/queues', async (c) => {
    const v = c.get('view');
    const t = v.t;
    const q = c.get('deps').services.queues;
    const list = q ? await q.list() : undefined;
    const depth = await q?.depthHistory?.();
    return render(
      c,
      <Layout v={v} title={t['queues.title']} who={c.get('who')} active="/queues" flash={takeFlash(c)}>
        <h1>{t['queues.title']}</h1>
        {!list ? (
          <NotAvailable v={v} what={t['queues.na']} />
        ) : (
          <table id="queue-list">
            <thead>
              <tr>
                <th>{t['queues.queue']}</th>
                <th>{t['queues.depth']}</th>
                <th>{t['queues.oldest']}</th>
                <th>{t['queues.deadLetters']}</th>
              </tr>
            </thead>
            <tbody>
              {list.length === 0 ? <NoneRow text={t.none} cols={4} /> : null}
              {list.map((x) => (
                <tr data-queue={x.name}>
                  <td>
                    <a href={`/queues/${encodeURIComponent(x.name)}`}>{x.name}</a>
                  </td>
                  <td>{x.depth}</td>
                  <td>{ago(v, x.oldestAgeMs)}</td>
                  <td class={x.deadLetters ? 'warn' : ''}>{x.deadLetters}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {list ? <QueueDepthCharts v={v} queues={list} history={depth} /> : null}
      </Layout>,
    );
  });

  app.get('/queues/:name', async (c) => {
    const q = c.get('deps').services.queues;
    const who = c.get('who');
    const v = c.get('view');
    const t = v.t;
    const name = c.req.param('name');
    if (!q)
      return render(
        c,
        <Layout v={v} title={t['queues.title']} who={who} active="/queues">
          <NotAvailable v={v} what={t['queues.na']} />
        </Layout>,
      );
    const [pending, dead] = await Promise.all([q.show(name, { dead: false, limit: 100 }), q.show(name, { dead: true, limit: 100 })]);
    const change = can(who.role, 'queues.change');
    const confirm = c.req.query('confirm') === 'purge';
    const head = (
      <tr>
        <th>{t['queue.id']}</th>
        <th>{t['queue.type']}</th>
        <th>{t['queue.to']}</th>
        <th>{t['queue.enqueued']}</th>
        <th>{t['queue.attempts']}</th>
        <th>{t['queue.lastError']}</th>
        {change ? <th></th> : null}
      </tr>
    );
    return render(
      c,
      <Layout v={v} title={t['queue.title'](name)} who={who} active="/queues" flash={takeFlash(c)}>
        <h1>{t['queue.title'](name)}</h1>
        <section class="card" id="pending">
          <h2>
            {t['queue.pending']} ({pending.length}
            {pending.length === 100 ? '+' : ''})
          </h2>
          {pending.length === 0 ? (
            <p class="muted" data-empty="pending">
              {t['queue.none']}
            </p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>{t['queue.id']}</th>
                  <th>{t['queue.type']}</th>
                  <th>{t['queue.to']}</th>
                  <th>{t['queue.enqueued']}</th>
                  <th>{t['queue.attempts']}</th>
                  <th>{t['queue.lastError']}</th>
                </tr>
              </thead>
              <tbody>
                {pending.map((e) => (
                  <tr data-pending={e.id}>
                    <td>{e.id}</td>
                    <td>{e.type}</td>
                    <td>{e.to}</td>
                    <td class="time">{v.time.time(e.enqueuedAt)}</td>
                    <td>{e.attempts}</td>
                    <td>{e.lastError ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section class="card" id="dead-letters">
          <h2>
            {t['queues.deadLetters']} ({dead.length})
          </h2>
          {dead.length === 0 ? (
            <p class="muted" data-empty="dead-letters">
              {t['queue.none']}
            </p>
          ) : (
            <table>
              <thead>{head}</thead>
              <tbody>
                {dead.map((e) => (
                  <tr data-dead={e.id}>
                    <td>{e.id}</td>
                    <td>{e.type}</td>
                    <td>{e.to}</td>
                    <td class="time">{v.time.time(e.enqueuedAt)}</td>
                    <td>{e.attempts}</td>
                    <td>{e.lastError ?? ''}</td>
                    {change ? (
                      <td>
                        <form class="inline" method="post" action={`/queues/${encodeURIComponent(name)}/retry`}>
                          <Csrf who={who} />
                          <input type="hidden" name="id" value={e.id} />
                          <button type="submit" class="secondary" data-retry={e.id}>
                            {t['queue.retry']}
                          </button>
                        </form>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {change && dead.length > 0 ? (
            confirm ? (
              <form method="post" action={`/queues/${encodeURIComponent(name)}/purge`}>
                <Csrf who={who} />
                <input type="hidden" name="confirm" value="yes" />
                <p class="bad">{t['queue.purgeQuestion'](dead.length, name)}</p>
                <button type="submit" class="danger" id="purge-confirm">
                  {t['queue.purgeConfirm']}
                </button>{' '}
                <a href={`/queues/${encodeURIComponent(name)}`}>{t.cancel}</a>
              </form>
            ) : (
              <p>
                <a href={`/queues/${encodeURIComponent(name)}?confirm=purge`} id="purge">
                  {t['queue.purge']}
                </a>
              </p>
            )
          ) : null}
        </section>
      </Layout>,
    );
  });

  app.post('/queues/:name/retry', async (c) => {
    const refused = await refuseUnless(c, 'queues.change', 'queue.retry');
    if (refused) return refused;
    const q = c.get('deps').services.queues;
    const name = c.req.param('name');
    if (!q) return c.text('queues: not available in this build', 404);
    const t = c.get('view').t;
    const id = formText(await c.req.parseBody(), 'id');
    const r = await q.retry(name, id, actorOf(c));
    await auditAs(c, 'queue.retry', r.ok ? 'ok' : 'failed', `${name}/${id}`, r.detail);
    setFlash(c, { text: r.ok ? t['queue.retried'](id) : t['queue.retryFailed'](r.detail), error: !r.ok });
    return c.redirect(`/queues/${encodeURIComponent(name)}`, 303);
  });

  app.post('/queues/:name/purge', async (c) => {
    const refused = await refuseUnless(c, 'queues.change', 'queue.purge');
    if (refused) return refused;
    const q = c.get('deps').services.queues;
    const name = c.req.param('name');
    if (!q) return c.text('queues: not available in this build', 404);
    const t = c.get('view').t;
    if ((await c.req.parseBody()).confirm !== 'yes') {
      await auditAs(c, 'queue.purge', 'refused', name, 'not confirmed');
      setFlash(c, { text: t['queue.purgeNeedsConfirm'], error: true });
      return c.redirect(`/queues/${encodeURIComponent(name)}?confirm=purge`, 303);
    }
    const n = await q.purgeDeadLetters(name, actorOf(c));
    await auditAs(c, 'queue.purge', 'ok', name, `${n} dead letter(s) deleted`);
    setFlash(c, { text: t['queue.purged'](n, name) });
    return c.redirect(`/queues/${encodeURIComponent(name)}`, 303);
  });
}
