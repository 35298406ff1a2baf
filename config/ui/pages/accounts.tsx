// Operator accounts and API tokens (system administrators only).
import type { Hono } from 'hono';
import { auditAs, formField, refuseUnless, setFlash, takeFlash, type UiContext, type UiEnv } from '../context.js';
import { UI_ROLES } from '../auth/roles.js';
import { Csrf, Layout } from '../layout.js';
import { render } from '../render.js';

async function show(c: UiContext, error?: string, newToken?: string) {
  const auth = c.get('deps').auth;
  const who = c.get('who');
  const [accounts, tokens] = await Promise.all([auth.listAccounts(), auth.listApiTokens()]);
  const flash = error ? { text: error, error: true } : takeFlash(c);
  return render(c, (
    <Layout title="Accounts" who={who} active="/accounts" flash={flash}>
      <h1>Accounts</h1>
      <section class="card">
        <table id="accounts"><thead><tr><th>Name</th><th>Role</th><th>State</th><th>Created</th><th></th></tr></thead>
          <tbody>{accounts.map((a) => {
            const locked = a.lockedUntil > Date.now();
            return (
              <tr data-account={a.name}><td>{a.name}</td><td>{UI_ROLES[a.role]}</td>
                <td>{a.disabled ? <span class="muted">disabled</span> : locked ? <span class="bad">locked until {new Date(a.lockedUntil).toISOString()}</span> : <span class="ok">active</span>}{a.mustChange ? <span class="muted"> (must change password)</span> : null}</td>
                <td>{a.createdAt}</td>
                <td>{a.name !== who.user ? (
                  <form class="inline" method="post" action={`/accounts/${a.name}/${a.disabled ? 'enable' : 'disable'}`}><Csrf who={who} /><button type="submit" class="secondary">{a.disabled ? 'enable' : 'disable'}</button></form>
                ) : null}{' '}
                {locked ? <form class="inline" method="post" action={`/accounts/${a.name}/unlock`}><Csrf who={who} /><button type="submit" class="secondary">unlock</button></form> : null}</td></tr>
            );
          })}</tbody></table>
        <h2>New account</h2>
        <form method="post" action="/accounts">
          <Csrf who={who} />
          <label for="acct-name">Name</label><input type="text" id="acct-name" name="name" required />
          <label for="acct-role">Role</label><select id="acct-role" name="role">{Object.entries(UI_ROLES).map(([k, v]) => <option value={k}>{v}</option>)}</select>
          <label for="acct-password">Initial password (changed at first login)</label><input type="password" id="acct-password" name="password" autocomplete="new-password" required />
          <p><button type="submit" id="acct-create">Create account</button></p>
        </form>
      </section>
      <section class="card" id="api-tokens">
        <h2>API tokens</h2>
        {newToken ? <p class="flash">New token (shown once, store it now): <code id="new-token">{newToken}</code></p> : null}
        <table><thead><tr><th>Id</th><th>Account</th><th>Label</th><th>Created</th><th>Last used</th><th></th></tr></thead>
          <tbody>{tokens.map((t) => <tr><td>{t.id}</td><td>{t.user}</td><td>{t.label}</td><td>{t.createdAt}</td><td>{t.lastUsed ?? '—'}</td>
            <td><form class="inline" method="post" action={`/accounts/tokens/${t.id}/revoke`}><Csrf who={who} /><button type="submit" class="secondary">revoke</button></form></td></tr>)}</tbody></table>
        <form method="post" action="/accounts/tokens">
          <Csrf who={who} />
          <label for="tok-user">Account the token acts as</label><select id="tok-user" name="user">{accounts.filter((a) => !a.disabled).map((a) => <option value={a.name}>{a.name} ({a.role})</option>)}</select>
          <label for="tok-label">Label</label><input type="text" id="tok-label" name="label" required />
          <p><button type="submit">Create API token</button></p>
        </form>
      </section>
    </Layout>
  ));
}

export function registerAccounts(app: Hono<UiEnv>) {
  app.use('/accounts', async (c, next) => (await refuseUnless(c, 'accounts.manage', 'accounts.manage')) ?? next());
  app.use('/accounts/*', async (c, next) => (await refuseUnless(c, 'accounts.manage', 'accounts.manage')) ?? next());
  app.get('/accounts', (c) => show(c));
  app.post('/accounts', async (c) => {
    const [name, role, password] = [await formField(c, 'name'), await formField(c, 'role'), await formField(c, 'password')];
    const problem = await c.get('deps').auth.createAccount(name.trim(), role, password);
    await auditAs(c, 'account.create', problem ? 'refused' : 'ok', name, problem ?? `role ${role}`);
    if (problem) return show(c, problem);
    setFlash(c, { text: `Account ${name} created.` });
    return c.redirect('/accounts', 303);
  });
  for (const op of ['disable', 'enable', 'unlock'] as const) {
    app.post(`/accounts/:name/${op}`, async (c) => {
      const name = c.req.param('name');
      const auth = c.get('deps').auth;
      if (op === 'disable' && name === c.get('who').user) {
        await auditAs(c, 'account.disable', 'refused', name, 'own account');
        setFlash(c, { text: 'You cannot disable your own account.', error: true });
        return c.redirect('/accounts', 303);
      }
      const ok = op === 'unlock' ? await auth.unlock(name) : await auth.setDisabled(name, op === 'disable');
      await auditAs(c, `account.${op}`, ok ? 'ok' : 'refused', name, ok ? undefined : 'no such account');
      setFlash(c, { text: ok ? `Account ${name}: ${op}d.` : `No account ${name}.`, error: !ok });
      return c.redirect('/accounts', 303);
    });
  }
  app.post('/accounts/tokens', async (c) => {
    const user = await formField(c, 'user');
    const auth = c.get('deps').auth;
    if (!(await auth.account(user))) return show(c, `No account ${user}.`);
    const t = await auth.createApiToken(user, await formField(c, 'label'));
    await auditAs(c, 'api-token.create', 'ok', `${user}/${t.id}`);
    return show(c, undefined, t.token);
  });
  app.post('/accounts/tokens/:id/revoke', async (c) => {
    const id = c.req.param('id');
    await c.get('deps').auth.revokeApiToken(id);
    await auditAs(c, 'api-token.revoke', 'ok', id);
    setFlash(c, { text: `Token ${id} revoked.` });
    return c.redirect('/accounts', 303);
  });
}
