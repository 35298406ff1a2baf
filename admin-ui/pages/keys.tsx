// HSM and certificates: generate a key, download a CSR, import a certificate, trust anchors.
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import { actorOf, auditAs, formText, refuseUnless, setFlash, takeFlash, type UiContext, type UiEnv } from '../context.js';
import { Csrf, Layout, NotAvailable, NoneRow } from '../layout.js';
import { load } from '../load.js';
import { render } from '../render.js';
import { DataKeysSection } from './dataKeys.js';
import { catalogue, type Catalogue } from '../i18n/index.js';
import { tokenDetailText, tokenWarningText } from '../i18n/components.js';

export function registerKeys(app: Hono<UiEnv>) {
  app.get('/keys', async (c) => {
    const refused = await refuseUnless(c, 'keys.view', 'keys.view');
    if (refused) return refused;
    const s = c.get('deps').services;
    const who = c.get('who');
    const v = c.get('view');
    const t = v.t;
    const token = await load(s.status.tokenStatus?.bind(s.status));
    const keys = s.keys;
    const [list, anchors] = keys ? await Promise.all([keys.list(), keys.trustAnchors()]) : [undefined, undefined];
    const change = can(who.role, 'keys.change');
    return render(
      c,
      <Layout v={v} title={t['keys.nav']} who={who} active="/keys" flash={takeFlash(c)}>
        <h1>{t['keys.title']}</h1>
        <section class="card" id="token-status">
          <h2>{t['keys.token']}</h2>
          {token.state === 'ok' ? (
            <p>
              <span class={token.value.ready ? 'badge ok' : 'badge bad'} data-ready={String(token.value.ready)}>
                {token.value.ready ? t['token.ready'] : t['token.notReady']}
              </span>{' '}
              {token.value.kind}: {tokenDetailText(t, (at) => v.time.time(at), token.value)}{' '}
              {token.value.warning ? (
                <span class="warn" data-warning={token.value.warningCode}>
                  {tokenWarningText(t, token.value)}
                </span>
              ) : null}
            </p>
          ) : token.state === 'error' ? (
            <p class="bad">{t.cannotRead(token.message)}</p>
          ) : (
            <NotAvailable v={v} what={t['keys.naToken']} />
          )}
        </section>
        <DataKeysSection v={v} who={who} dataKeys={s.dataKeys} />
        {!keys || !list || !anchors ? (
          <section class="card">
            <NotAvailable v={v} what={t['keys.naKeys']} />
          </section>
        ) : (
          <div>
            <section class="card">
              <h2>{t['keys.keys']}</h2>
              <table id="key-list">
                <thead>
                  <tr>
                    <th>{t['keys.label']}</th>
                    <th>{t['keys.algorithm']}</th>
                    <th>{t['keys.kid']}</th>
                    <th>{t['keys.certificate']}</th>
                    <th>{t['keys.notAfter']}</th>
                    {change ? <th></th> : null}
                  </tr>
                </thead>
                <tbody>
                  {list.length === 0 ? <NoneRow text={t.none} cols={change ? 6 : 5} /> : null}
                  {list.map((k) => (
                    <tr>
                      <td>
                        {k.label}
                        {k.link ? <> → {k.link}</> : null}
                      </td>
                      <td>{k.algorithm}</td>
                      <td class="any">{k.kid ?? '—'}</td>
                      <td>{k.certificateSubject ?? '—'}</td>
                      <td>{v.time.time(k.notAfter)}</td>
                      {change ? (
                        <td>
                          {k.link ? null : (
                            <form class="inline" method="post" action="/keys/csr">
                              <Csrf who={who} />
                              <input type="hidden" name="label" value={k.label} />
                              <input type="text" name="subject" placeholder="CN=lg:242012, O=..." required data-csr-subject={k.label} />
                              <button class="secondary" type="submit">
                                {t['keys.csrButton']}
                              </button>
                            </form>
                          )}
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
              {change ? (
                <div>
                  <form method="post" action="/keys/generate">
                    <Csrf who={who} />
                    <label for="key-label">{t['keys.generateLabel']}</label>
                    <input type="text" id="key-label" name="label" required />{' '}
                    <button type="submit" id="key-generate">
                      {t['keys.generate']}
                    </button>
                  </form>
                  {/* Any key on the token, not only the running one: a new key needs its CSR before it is configured. */}
                  <form method="post" action="/keys/csr">
                    <Csrf who={who} />
                    <label for="csr-label">{t['keys.csrLabel']}</label>
                    <input type="text" id="csr-label" name="label" required />{' '}
                    <input
                      type="text"
                      id="csr-subject"
                      name="subject"
                      placeholder="CN=lg:242012, O=..."
                      required
                      aria-label={t['keys.subject']}
                    />{' '}
                    <button type="submit" class="secondary" id="csr-download">
                      {t['keys.csrDownload']}
                    </button>
                  </form>
                  <form method="post" action="/keys/import">
                    <Csrf who={who} />
                    <label for="cert-label">{t['keys.importLabel']}</label>
                    <input type="text" id="cert-label" name="label" required />
                    <textarea id="cert-pem" name="pem" rows={6} placeholder="-----BEGIN CERTIFICATE-----" required></textarea>
                    <button type="submit" id="cert-import">
                      {t['keys.import']}
                    </button>
                  </form>
                </div>
              ) : null}
            </section>
            <section class="card">
              <h2>{t['keys.anchors']}</h2>
              <table id="anchors">
                <thead>
                  <tr>
                    <th>{t['keys.file']}</th>
                    <th>{t['keys.anchorSubject']}</th>
                    <th>{t['keys.notAfter']}</th>
                    <th>{t['keys.sha256']}</th>
                  </tr>
                </thead>
                <tbody>
                  {anchors.length === 0 ? <NoneRow text={t.none} cols={4} /> : null}
                  {anchors.map((a) => (
                    <tr>
                      <td class="any">{a.file}</td>
                      <td>{a.subject}</td>
                      <td>{v.time.time(a.notAfter)}</td>
                      <td class="any">
                        <code>{a.fingerprintSha256}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {change && keys.addTrustAnchor ? (
                <form method="post" action="/keys/anchors">
                  <Csrf who={who} />
                  <label for="anchor-pem">{t['keys.anchorLabel']}</label>
                  <textarea id="anchor-pem" name="pem" rows={6} required></textarea>
                  <button type="submit" id="anchor-add">
                    {t['keys.anchorAdd']}
                  </button>
                </form>
              ) : null}
            </section>
          </div>
        )}
      </Layout>,
    );
  });

  /** `run` answers a download, or the outcome in any language: the audit log in English, the flash in the reader's. */
  const mutate = (
    path: string,
    action: string,
    run: (b: Record<string, unknown>, c: UiContext) => Promise<Response | ((t: Catalogue) => string)>,
  ) => {
    app.post(path, async (c) => {
      const refused = await refuseUnless(c, 'keys.change', action);
      if (refused) return refused;
      const keys = c.get('deps').services.keys;
      if (!keys) return c.text('key management: not available in this build', 404);
      const b = await c.req.parseBody();
      try {
        const r = await run(b, c);
        if (r instanceof Response) {
          await auditAs(c, action, 'ok', formText(b, 'label'));
          return r;
        }
        await auditAs(c, action, 'ok', formText(b, 'label'), r(catalogue('en')));
        setFlash(c, { text: r(c.get('view').t) });
      } catch (e) {
        await auditAs(c, action, 'failed', formText(b, 'label'), (e as Error).message);
        setFlash(c, { text: c.get('view').t['keys.failed'](action, (e as Error).message), error: true });
      }
      return c.redirect('/keys', 303);
    });
  };
  mutate('/keys/generate', 'key.generate', async (b, c) => {
    const k = await c.get('deps').services.keys!.generate(String(b.label), actorOf(c));
    return (t) => t['keys.generated'](k.label, String(k.kid), k.label);
  });
  mutate('/keys/csr', 'key.csr', async (b, c) => {
    const pem = await c.get('deps').services.keys!.csr(String(b.label), String(b.subject), actorOf(c));
    return c.body(pem, 200, {
      'Content-Type': 'application/pkcs10',
      'Content-Disposition': `attachment; filename="${String(b.label).replace(/[^A-Za-z0-9._-]/g, '_')}.csr"`,
    });
  });
  mutate('/keys/import', 'key.import-certificate', async (b, c) => {
    const k = await c.get('deps').services.keys!.importCert(String(b.label), String(b.pem), actorOf(c));
    return (t) => t['keys.imported'](k.label, String(k.kid));
  });
  mutate('/keys/anchors', 'trust-anchor.add', async (b, c) => {
    const k = c.get('deps').services.keys!;
    if (!k.addTrustAnchor) throw new Error('not available in this build');
    const a = await k.addTrustAnchor(String(b.pem), actorOf(c));
    return (t) => t['keys.anchorAdded'](a.subject);
  });
}
