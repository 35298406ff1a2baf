// Upstream links: state, edit (a versioned config change), test the connection.
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import {
  actorOf,
  auditAs,
  formText,
  refuseUnless,
  setFlash,
  takeFlash,
  type Principal,
  type UiContext,
  type UiEnv,
  type View,
} from '../context.js';
import { Csrf, FieldError, Layout, linkDetail, NotAvailable } from '../layout.js';
import { load } from '../load.js';
import { render } from '../render.js';
import { TLS_FILES, upsertUpstream, upstreamTlsProblems, type UpstreamInput, type UpstreamTlsProblem } from '../adapters/upstreams.js';
import { en } from '../i18n/en.js';
import type { Catalogue } from '../i18n/index.js';

const TLS_LABEL = { ca: 'links.tlsCa', cert: 'links.tlsCert', key: 'links.tlsKey' } as const;

/** Each TLS problem at its field (`tls.ca`, `tls.cert`, `tls.key`, or `url`). */
function tlsErrors(t: Catalogue, problems: UpstreamTlsProblem[]): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const p of problems) {
    errors[p.field === 'url' ? 'url' : `tls.${p.field}`] =
      p.kind === 'missing'
        ? t['links.tlsMissing'](t[`links.tlsWhat.${p.field}`])
        : p.kind === 'unreadable'
          ? t['links.tlsUnreadable'](p.path, p.reason)
          : t['links.tlsPlainUrl'];
  }
  return errors;
}

function LinksForm(props: { v: View; who: Principal; form: UpstreamInput; errors?: Record<string, string> | undefined }) {
  const t = props.v.t;
  return (
    <form method="post" action="/links">
      <Csrf who={props.who} />
      <label for="up-name">{t['links.name']}</label>
      <input type="text" id="up-name" name="name" value={props.form.name} required />
      <FieldError errors={props.errors} field="name" />
      <label for="up-url">{t['links.brokerUrl']}</label>
      <input
        type="text"
        id="up-url"
        name="url"
        value={props.form.url}
        placeholder="mqtts://10.30.0.10:8883"
        class={props.errors?.url ? 'invalid' : ''}
      />
      <FieldError errors={props.errors} field="url" />
      <label for="up-nodes">{t['links.nodesInput']}</label>
      <input type="text" id="up-nodes" name="nodes" value={props.form.nodes.join(', ')} class={props.errors?.nodes ? 'invalid' : ''} />
      <FieldError errors={props.errors} field="nodes" />
      <fieldset id="up-tls">
        <legend>{t['links.tlsTitle']}</legend>
        <p class="muted">{t['links.tlsNote']}</p>
        {TLS_FILES.map((f) => (
          <>
            <label for={`up-tls-${f}`}>{t[TLS_LABEL[f]]}</label>
            <input
              type="text"
              id={`up-tls-${f}`}
              name={`tls.${f}`}
              value={props.form.tls?.[f] ?? ''}
              class={props.errors?.[`tls.${f}`] ? 'path invalid' : 'path'}
            />
            <FieldError errors={props.errors} field={`tls.${f}`} />
          </>
        ))}
        <FieldError errors={props.errors} field="tls" />
      </fieldset>
      <FieldError errors={props.errors} field="(other)" />
      <p>
        <button type="submit" id="link-save">
          {t['links.save']}
        </button>
      </p>
    </form>
  );
}

async function show(c: UiContext, form?: UpstreamInput, errors?: Record<string, string>, status: 200 | 422 = 200) {
  const s = c.get('deps').services;
  const who = c.get('who');
  const v = c.get('view');
  const t = v.t;
  const head = await s.config.current();
  const links = await load(s.status.links?.bind(s.status));
  const state = new Map(links.state === 'ok' ? links.value.map((l) => [l.name, l]) : []);
  const editName = c.req.query('edit');
  const existing = head.config.upstreams.find((u) => u.name === editName);
  const f =
    form ??
    (existing
      ? { name: existing.name, url: existing.url, nodes: existing.nodes, ...(existing.tls ? { tls: { ...existing.tls } } : {}) }
      : { name: '', url: '', nodes: [] });
  return render(
    c,
    <Layout v={v} title={t['links.title']} who={who} active="/links" flash={takeFlash(c)}>
      <h1>{t['links.title']}</h1>
      <section class="card">
        {head.config.upstreams.length === 0 ? (
          <p class="muted">{t['links.simulatedOnly']}</p>
        ) : (
          <table id="links">
            <thead>
              <tr>
                <th>{t['links.name']}</th>
                <th>{t['links.url']}</th>
                <th>{t['links.nodes']}</th>
                <th>{t['links.state']}</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {head.config.upstreams.map((u) => {
                const l = state.get(u.name);
                return (
                  <tr data-link={u.name}>
                    <td>{u.name}</td>
                    <td class="any">{u.url}</td>
                    <td>{u.nodes.join(', ')}</td>
                    <td>
                      {links.state !== 'ok' ? (
                        <span class="na">{t['na.short']}</span>
                      ) : l ? (
                        <span class={l.connected ? 'ok' : 'bad'} data-state={l.connected ? 'up' : 'down'}>
                          {l.state && l.since ? linkDetail(v, l) : `${l.connected ? t['link.up'] : t['link.down']} ${linkDetail(v, l)}`}
                        </span>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>
                      {can(who.role, 'config.change') ? (
                        <a href={`/links?edit=${encodeURIComponent(u.name)}`} data-edit={u.name}>
                          {t.edit}
                        </a>
                      ) : null}{' '}
                      {s.uplinks && can(who.role, 'config.change') ? (
                        <form class="inline" method="post" action={`/links/${encodeURIComponent(u.name)}/test`}>
                          <Csrf who={who} />
                          <button type="submit" class="secondary" data-test={u.name}>
                            {t['links.test']}
                          </button>
                        </form>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {!s.uplinks ? <NotAvailable v={v} what={t['links.naTest']} /> : null}
      </section>
      {can(who.role, 'config.change') ? (
        <section class="card">
          <h2>{t['links.formTitle']}</h2>
          <LinksForm v={v} who={who} form={f} errors={errors} />
        </section>
      ) : null}
    </Layout>,
    status,
  );
}

export function registerLinks(app: Hono<UiEnv>) {
  app.get('/links', (c) => show(c));
  app.post('/links', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'upstream.upsert');
    if (refused) return refused;
    const b = await c.req.parseBody();
    const form: UpstreamInput = {
      name: formText(b, 'name').trim(),
      url: formText(b, 'url').trim(),
      nodes: formText(b, 'nodes')
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
      tls: { ca: formText(b, 'tls.ca').trim(), cert: formText(b, 'tls.cert').trim(), key: formText(b, 'tls.key').trim() },
    };
    const t = c.get('view').t;
    const tlsProblems = upstreamTlsProblems(form);
    if (tlsProblems.length) {
      // The audit log keeps one language (English), the page speaks the reader's.
      await auditAs(c, 'upstream.upsert', 'refused', form.name, JSON.stringify(tlsErrors(en, tlsProblems)).slice(0, 500));
      return show(c, form, tlsErrors(t, tlsProblems), 422);
    }
    const r = await upsertUpstream(c.get('deps').services.config, form, actorOf(c));
    if (!r.ok) {
      const errors: Record<string, string> = {};
      for (const p of r.problems) {
        const m = /^upstreams\[\d+\]\.(tls\.\w+|\w+)/.exec(p.path);
        errors[m?.[1] ?? '(other)'] = m ? p.message : `${p.path}: ${p.message}`;
      }
      await auditAs(c, 'upstream.upsert', 'refused', form.name, JSON.stringify(errors).slice(0, 500));
      return show(c, form, errors, 422);
    }
    await auditAs(c, 'upstream.upsert', 'ok', form.name, `config version ${r.version.version}`);
    setFlash(c, { text: t['links.saved'](form.name, r.version.version) });
    return c.redirect('/links', 303);
  });
  app.post('/links/:name/test', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'upstream.test');
    if (refused) return refused;
    const u = c.get('deps').services.uplinks;
    if (!u) return c.text('connection test: not available in this build', 404);
    const t = c.get('view').t;
    const name = c.req.param('name');
    const r = await u.testConnection(name);
    await auditAs(c, 'upstream.test', r.ok ? 'ok' : 'failed', name, r.detail);
    setFlash(c, {
      text: `${name}: ${r.ok ? t['links.reachable'] : t['links.unreachable']} — ${r.detail} (${r.elapsedMs} ms)`,
      error: !r.ok,
    });
    return c.redirect('/links', 303);
  });
}
