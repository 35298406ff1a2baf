// Upstream links: state, edit (a versioned config change), test the connection.
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import { actorOf, auditAs, refuseUnless, setFlash, takeFlash, type Principal, type UiContext, type UiEnv } from '../context.js';
import { Csrf, FieldError, Layout, NotAvailable } from '../layout.js';
import { load } from '../load.js';
import { render } from '../render.js';
import { upsertUpstream, type UpstreamInput } from '../adapters/upstreams.js';

function LinksForm(props: { who: Principal; form: UpstreamInput; errors?: Record<string, string> }) {
  return (
    <form method="post" action="/links">
      <Csrf who={props.who} />
      <label for="up-name">Name</label><input type="text" id="up-name" name="name" value={props.form.name} required />
      <FieldError errors={props.errors} field="name" />
      <label for="up-url">Broker URL</label><input type="text" id="up-url" name="url" value={props.form.url} placeholder="mqtts://10.30.0.10:8883" class={props.errors?.url ? 'invalid' : ''} />
      <FieldError errors={props.errors} field="url" />
      <label for="up-nodes">Nodes reached (comma separated)</label><input type="text" id="up-nodes" name="nodes" value={props.form.nodes.join(', ')} class={props.errors?.nodes ? 'invalid' : ''} />
      <FieldError errors={props.errors} field="nodes" />
      <FieldError errors={props.errors} field="(other)" />
      <p><button type="submit">Save and apply</button></p>
    </form>
  );
}

async function show(c: UiContext, form?: UpstreamInput, errors?: Record<string, string>, status: 200 | 422 = 200) {
  const s = c.get('deps').services;
  const who = c.get('who');
  const head = await s.config.current();
  const links = await load(s.status.links?.bind(s.status));
  const state = new Map(links.state === 'ok' ? links.value.map((l) => [l.name, l]) : []);
  const editName = c.req.query('edit');
  const existing = head.config.upstreams.find((u) => u.name === editName);
  const f = form ?? (existing ? { name: existing.name, url: existing.url, nodes: existing.nodes } : { name: '', url: '', nodes: [] });
  return render(c, (
    <Layout title="Upstream links" who={who} active="/links" flash={takeFlash(c)}>
      <h1>Upstream links</h1>
      <section class="card">
        {head.config.upstreams.length === 0 ? <p class="muted">No upstream configured: the appliance uses simulated upstreams.</p> : (
          <table id="links"><thead><tr><th>Name</th><th>URL</th><th>Nodes</th><th>State</th><th></th></tr></thead>
            <tbody>{head.config.upstreams.map((u) => {
              const l = state.get(u.name);
              return (
                <tr><td>{u.name}</td><td>{u.url}</td><td>{u.nodes.join(', ')}</td>
                  <td>{links.state !== 'ok' ? <span class="na">not available</span> : l ? <span class={l.connected ? 'ok' : 'bad'}>{l.connected ? 'connected' : 'down'} {l.detail}</span> : '—'}</td>
                  <td>{can(who.role, 'config.change') ? <a href={`/links?edit=${encodeURIComponent(u.name)}`}>edit</a> : null}{' '}
                    {s.uplinks && can(who.role, 'config.change') ? <form class="inline" method="post" action={`/links/${encodeURIComponent(u.name)}/test`}><Csrf who={who} /><button type="submit" class="secondary">test connection</button></form> : null}</td></tr>
              );
            })}</tbody></table>
        )}
        {!s.uplinks ? <NotAvailable what="Connection test" /> : null}
      </section>
      {can(who.role, 'config.change') ? <section class="card"><h2>Add or edit a link</h2><LinksForm who={who} form={f} errors={errors} /></section> : null}
    </Layout>
  ), status);
}

export function registerLinks(app: Hono<UiEnv>) {
  app.get('/links', (c) => show(c));
  app.post('/links', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'upstream.upsert');
    if (refused) return refused;
    const b = await c.req.parseBody();
    const form: UpstreamInput = { name: String(b.name ?? '').trim(), url: String(b.url ?? '').trim(), nodes: String(b.nodes ?? '').split(',').map((x) => x.trim()).filter(Boolean) };
    const r = await upsertUpstream(c.get('deps').services.config, form, actorOf(c));
    if (!r.ok) {
      const errors: Record<string, string> = {};
      for (const p of r.problems) { const m = /^upstreams\[\d+\]\.(\w+)/.exec(p.path); errors[m?.[1] ?? '(other)'] = m ? p.message : `${p.path}: ${p.message}`; }
      await auditAs(c, 'upstream.upsert', 'refused', form.name, JSON.stringify(errors).slice(0, 500));
      return show(c, form, errors, 422);
    }
    await auditAs(c, 'upstream.upsert', 'ok', form.name, `config version ${r.version.version}`);
    setFlash(c, { text: `Link ${form.name} saved (config version ${r.version.version}).` });
    return c.redirect('/links', 303);
  });
  app.post('/links/:name/test', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'upstream.test');
    if (refused) return refused;
    const u = c.get('deps').services.uplinks;
    if (!u) return c.text('connection test: not available in this build', 404);
    const name = c.req.param('name');
    const r = await u.testConnection(name);
    await auditAs(c, 'upstream.test', r.ok ? 'ok' : 'failed', name, r.detail);
    setFlash(c, { text: `${name}: ${r.ok ? 'reachable' : 'not reachable'} — ${r.detail} (${r.elapsedMs} ms)`, error: !r.ok });
    return c.redirect('/links', 303);
  });
}
