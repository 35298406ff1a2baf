// Operator accounts and API tokens (system administrators only).
import type { Hono } from 'hono';
import { auditAs, formField, refuseUnless, setFlash, takeFlash, type UiContext, type UiEnv } from '../context.js';
import { UI_ROLES } from '../auth/roles.js';
import { Csrf, Layout, roleName, NoneRow } from '../layout.js';
import { render } from '../render.js';
import { catalogue, DEFAULT_LANG, isLang, LANGS } from '../i18n/index.js';
import { accountProblemText } from '../i18n/problems.js';

async function show(c: UiContext, error?: string, newToken?: string) {
  const auth = c.get('deps').auth;
  const who = c.get('who');
  const v = c.get('view');
  const t = v.t;
  const [accounts, tokens] = await Promise.all([auth.listAccounts(), auth.listApiTokens()]);
  const flash = error ? { text: error, error: true } : takeFlash(c);
  return render(
    c,
    <Layout v={v} title={t['accounts.title']} who={who} active="/accounts" flash={flash}>
      <h1>{t['accounts.title']}</h1>
      <section class="card">
        <table id="accounts">
          <thead>
            <tr>
              <th>{t['accounts.name']}</th>
              <th>{t['accounts.role']}</th>
              <th>{t['accounts.language']}</th>
              <th>{t['accounts.state']}</th>
              <th>{t['accounts.created']}</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {accounts.map((a) => {
              const locked = a.lockedUntil > Date.now();
              return (
                <tr data-account={a.name} data-state={a.disabled ? 'disabled' : locked ? 'locked' : 'active'}>
                  <td>{a.name}</td>
                  <td>{roleName(v, a.role)}</td>
                  <td>{catalogue(a.language ?? DEFAULT_LANG)['lang.name']}</td>
                  <td>
                    {a.disabled ? (
                      <span class="muted">{t['accounts.disabled']}</span>
                    ) : locked ? (
                      <span class="bad">{t['accounts.lockedUntil'](v.time.time(a.lockedUntil))}</span>
                    ) : (
                      <span class="ok">{t['accounts.active']}</span>
                    )}
                    {a.mustChange ? <span class="muted">{t['accounts.mustChange']}</span> : null}
                  </td>
                  <td>{v.time.time(a.createdAt)}</td>
                  <td>
                    {a.name !== who.user ? (
                      <form class="inline" method="post" action={`/accounts/${a.name}/${a.disabled ? 'enable' : 'disable'}`}>
                        <Csrf who={who} />
                        <button type="submit" class="secondary" data-op={a.disabled ? 'enable' : 'disable'}>
                          {a.disabled ? t['accounts.enable'] : t['accounts.disable']}
                        </button>
                      </form>
                    ) : null}{' '}
                    {locked ? (
                      <form class="inline" method="post" action={`/accounts/${a.name}/unlock`}>
                        <Csrf who={who} />
                        <button type="submit" class="secondary" data-op="unlock">
                          {t['accounts.unlock']}
                        </button>
                      </form>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <h2>{t['accounts.new']}</h2>
        <form method="post" action="/accounts">
          <Csrf who={who} />
          <label for="acct-name">{t['accounts.name']}</label>
          <input type="text" id="acct-name" name="name" required />
          <label for="acct-role">{t['accounts.role']}</label>
          <select id="acct-role" name="role">
            {Object.keys(UI_ROLES).map((k) => (
              <option value={k}>{roleName(v, k)}</option>
            ))}
          </select>
          <label for="acct-lang">{t['accounts.language']}</label>
          <select id="acct-lang" name="language">
            {LANGS.map((l) => (
              <option value={l}>{catalogue(l)['lang.name']}</option>
            ))}
          </select>
          <label for="acct-password">{t['accounts.initialPassword']}</label>
          <input type="password" id="acct-password" name="password" autocomplete="new-password" required />
          <p>
            <button type="submit" id="acct-create">
              {t['accounts.create']}
            </button>
          </p>
        </form>
      </section>
      <section class="card" id="api-tokens">
        <h2>{t['accounts.tokens']}</h2>
        {newToken ? (
          <p class="flash">
            {t['accounts.newToken']} <code id="new-token">{newToken}</code>
          </p>
        ) : null}
        <table>
          <thead>
            <tr>
              <th>{t['accounts.tokenId']}</th>
              <th>{t['accounts.tokenAccount']}</th>
              <th>{t['accounts.tokenLabel']}</th>
              <th>{t['accounts.created']}</th>
              <th>{t['accounts.lastUsed']}</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {tokens.length === 0 ? <NoneRow text={t.none} cols={6} /> : null}
            {tokens.map((k) => (
              <tr>
                <td>{k.id}</td>
                <td>{k.user}</td>
                <td>{k.label}</td>
                <td>{v.time.time(k.createdAt)}</td>
                <td>{v.time.time(k.lastUsed)}</td>
                <td>
                  <form class="inline" method="post" action={`/accounts/tokens/${k.id}/revoke`}>
                    <Csrf who={who} />
                    <button type="submit" class="secondary">
                      {t['accounts.revoke']}
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="post" action="/accounts/tokens">
          <Csrf who={who} />
          <label for="tok-user">{t['accounts.tokenUser']}</label>
          <select id="tok-user" name="user">
            {accounts
              .filter((a) => !a.disabled)
              .map((a) => (
                <option value={a.name}>
                  {a.name} ({roleName(v, a.role)})
                </option>
              ))}
          </select>
          <label for="tok-label">{t['accounts.tokenLabel']}</label>
          <input type="text" id="tok-label" name="label" required />
          <p>
            <button type="submit">{t['accounts.createToken']}</button>
          </p>
        </form>
      </section>
    </Layout>,
  );
}

export function registerAccounts(app: Hono<UiEnv>) {
  app.use('/accounts', async (c, next) => (await refuseUnless(c, 'accounts.manage', 'accounts.manage')) ?? next());
  app.use('/accounts/*', async (c, next) => (await refuseUnless(c, 'accounts.manage', 'accounts.manage')) ?? next());
  app.get('/accounts', (c) => show(c));
  app.post('/accounts', async (c) => {
    const t = c.get('view').t;
    const [name, role, password, language] = [
      await formField(c, 'name'),
      await formField(c, 'role'),
      await formField(c, 'password'),
      (await formField(c, 'language')) || DEFAULT_LANG,
    ];
    const problem = isLang(language)
      ? await c.get('deps').auth.createAccount(name.trim(), role, password, language)
      : 'language: unknown language';
    await auditAs(c, 'account.create', problem ? 'refused' : 'ok', name, problem ?? `role ${role}, language ${language}`);
    if (problem)
      return show(
        c,
        problem === 'language: unknown language' ? t['language.unknown'](language.slice(0, 20)) : accountProblemText(t, problem),
      );
    setFlash(c, { text: t['accounts.created.flash'](name) });
    return c.redirect('/accounts', 303);
  });
  for (const op of ['disable', 'enable', 'unlock'] as const) {
    app.post(`/accounts/:name/${op}`, async (c) => {
      const t = c.get('view').t;
      const name = c.req.param('name');
      const auth = c.get('deps').auth;
      if (op === 'disable' && name === c.get('who').user) {
        await auditAs(c, 'account.disable', 'refused', name, 'own account');
        setFlash(c, { text: t['accounts.ownDisable'], error: true });
        return c.redirect('/accounts', 303);
      }
      const ok = op === 'unlock' ? await auth.unlock(name) : await auth.setDisabled(name, op === 'disable');
      await auditAs(c, `account.${op}`, ok ? 'ok' : 'refused', name, ok ? undefined : 'no such account');
      setFlash(c, { text: ok ? t[`accounts.done.${op}`](name) : t['accounts.noAccount'](name), error: !ok });
      return c.redirect('/accounts', 303);
    });
  }
  app.post('/accounts/tokens', async (c) => {
    const user = await formField(c, 'user');
    const auth = c.get('deps').auth;
    if (!(await auth.account(user))) return show(c, c.get('view').t['accounts.noAccount'](user));
    const k = await auth.createApiToken(user, await formField(c, 'label'));
    await auditAs(c, 'api-token.create', 'ok', `${user}/${k.id}`);
    return show(c, undefined, k.token);
  });
  app.post('/accounts/tokens/:id/revoke', async (c) => {
    const id = c.req.param('id');
    await c.get('deps').auth.revokeApiToken(id);
    await auditAs(c, 'api-token.revoke', 'ok', id);
    setFlash(c, { text: c.get('view').t['accounts.tokenRevoked'](id) });
    return c.redirect('/accounts', 303);
  });
}
