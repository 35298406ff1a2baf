// Queues per uplink: inspect, retry a dead letter, purge dead letters (with confirmation).
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import { actorOf, auditAs, refuseUnless, setFlash, takeFlash, type UiEnv } from '../context.js';
import { ago, Csrf, Layout, NotAvailable } from '../layout.js';
import { render } from '../render.js';
import { QueueDepthCharts } from '../queueDepth.js';

export function registerQueues(app: Hono<UiEnv>) {
  app.get('/queues', async (c) => {
    const q = c.get('deps').services.queues;
    const list = q ? await q.list() : undefined;
    const depth = await q?.depthHistory?.();
    return render(c, (
      <Layout title="Queues" who={c.get('who')} active="/queues" flash={takeFlash(c)}>
        <h1>Queues</h1>
        {!list ? <NotAvailable what="Uplink queues" /> : (
          <table id="queue-list"><thead><tr><th>Queue</th><th>Depth</th><th>Oldest</th><th>Dead letters</th></tr></thead>
            <tbody>{list.map((x) => <tr data-queue={x.name}><td><a href={`/queues/${encodeURIComponent(x.name)}`}>{x.name}</a></td><td>{x.depth}</td><td>{ago(x.oldestAgeMs)}</td><td class={x.deadLetters ? 'warn' : ''}>{x.deadLetters}</td></tr>)}</tbody></table>
        )}
        {list ? <QueueDepthCharts queues={list} history={depth} /> : null}
      </Layout>
    ));
  });

  app.get('/queues/:name', async (c) => {
    const q = c.get('deps').services.queues;
    const who = c.get('who');
    const name = c.req.param('name');
    if (!q) return render(c, <Layout title="Queue" who={who} active="/queues"><NotAvailable what="Uplink queues" /></Layout>);
    const [pending, dead] = await Promise.all([q.show(name, { dead: false, limit: 100 }), q.show(name, { dead: true, limit: 100 })]);
    const change = can(who.role, 'queues.change');
    const confirm = c.req.query('confirm') === 'purge';
    return render(c, (
      <Layout title={`Queue ${name}`} who={who} active="/queues" flash={takeFlash(c)}>
        <h1>Queue {name}</h1>
        <section class="card"><h2>Pending ({pending.length}{pending.length === 100 ? '+' : ''})</h2>
          <table><thead><tr><th>Id</th><th>Type</th><th>To</th><th>Enqueued</th><th>Attempts</th><th>Last error</th></tr></thead>
            <tbody>{pending.map((e) => <tr><td>{e.id}</td><td>{e.type}</td><td>{e.to}</td><td>{e.enqueuedAt}</td><td>{e.attempts}</td><td>{e.lastError ?? ''}</td></tr>)}</tbody></table>
        </section>
        <section class="card" id="dead-letters"><h2>Dead letters ({dead.length})</h2>
          <table><thead><tr><th>Id</th><th>Type</th><th>To</th><th>Enqueued</th><th>Attempts</th><th>Last error</th>{change ? <th></th> : null}</tr></thead>
            <tbody>{dead.map((e) => (
              <tr data-dead={e.id}><td>{e.id}</td><td>{e.type}</td><td>{e.to}</td><td>{e.enqueuedAt}</td><td>{e.attempts}</td><td>{e.lastError ?? ''}</td>
                {change ? <td><form class="inline" method="post" action={`/queues/${encodeURIComponent(name)}/retry`}><Csrf who={who} /><input type="hidden" name="id" value={e.id} /><button type="submit" class="secondary" data-retry={e.id}>retry</button></form></td> : null}
              </tr>))}</tbody></table>
          {change && dead.length > 0 ? (confirm ? (
            <form method="post" action={`/queues/${encodeURIComponent(name)}/purge`}>
              <Csrf who={who} /><input type="hidden" name="confirm" value="yes" />
              <p class="bad">Delete all {dead.length} dead letter(s) of {name}? They cannot be recovered.</p>
              <button type="submit" class="danger" id="purge-confirm">Yes, purge dead letters</button> <a href={`/queues/${encodeURIComponent(name)}`}>cancel</a>
            </form>
          ) : <p><a href={`/queues/${encodeURIComponent(name)}?confirm=purge`} id="purge">Purge dead letters…</a></p>) : null}
        </section>
      </Layout>
    ));
  });

  app.post('/queues/:name/retry', async (c) => {
    const refused = await refuseUnless(c, 'queues.change', 'queue.retry');
    if (refused) return refused;
    const q = c.get('deps').services.queues;
    const name = c.req.param('name');
    if (!q) return c.text('queues: not available in this build', 404);
    const id = String((await c.req.parseBody()).id ?? '');
    const r = await q.retry(name, id, actorOf(c));
    await auditAs(c, 'queue.retry', r.ok ? 'ok' : 'failed', `${name}/${id}`, r.detail);
    setFlash(c, { text: r.ok ? `Message ${id} queued for another attempt.` : `Retry failed: ${r.detail}`, error: !r.ok });
    return c.redirect(`/queues/${encodeURIComponent(name)}`, 303);
  });

  app.post('/queues/:name/purge', async (c) => {
    const refused = await refuseUnless(c, 'queues.change', 'queue.purge');
    if (refused) return refused;
    const q = c.get('deps').services.queues;
    const name = c.req.param('name');
    if (!q) return c.text('queues: not available in this build', 404);
    if ((await c.req.parseBody()).confirm !== 'yes') {
      await auditAs(c, 'queue.purge', 'refused', name, 'not confirmed');
      setFlash(c, { text: 'Purge needs confirmation.', error: true });
      return c.redirect(`/queues/${encodeURIComponent(name)}?confirm=purge`, 303);
    }
    const n = await q.purgeDeadLetters(name, actorOf(c));
    await auditAs(c, 'queue.purge', 'ok', name, `${n} dead letter(s) deleted`);
    setFlash(c, { text: `${n} dead letter(s) deleted from ${name}.` });
    return c.redirect(`/queues/${encodeURIComponent(name)}`, 303);
  });
}
