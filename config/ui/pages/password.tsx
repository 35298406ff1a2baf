// Change own password; forced after the first-run one-time password.
import type { Hono } from 'hono';
import { auditAs, formField, setFlash, type UiEnv } from '../context.js';
import { Csrf, FieldError, Layout } from '../layout.js';
import type { Principal } from '../context.js';
import { MIN_PASSWORD_LENGTH } from '../auth/passwords.js';
import { render } from '../render.js';

function PasswordPage(props: { who: Principal; errors?: Record<string, string> }) {
  return (
    <Layout title="Change password" who={props.who}>
      <div class="card login">
        <h1>Change password</h1>
        {props.who.mustChange ? <p class="warn" id="must-change">The one-time password must be replaced before you continue.</p> : null}
        <form method="post" action="/password">
          <Csrf who={props.who} />
          <label for="current">Current password</label>
          <input type="password" id="current" name="current" autocomplete="current-password" required class={props.errors?.current ? 'invalid' : ''} />
          <FieldError errors={props.errors} field="current" />
          <label for="next">New password (at least {MIN_PASSWORD_LENGTH} characters)</label>
          <input type="password" id="next" name="next" autocomplete="new-password" required class={props.errors?.next ? 'invalid' : ''} />
          <FieldError errors={props.errors} field="next" />
          <label for="repeat">New password again</label>
          <input type="password" id="repeat" name="repeat" autocomplete="new-password" required class={props.errors?.repeat ? 'invalid' : ''} />
          <FieldError errors={props.errors} field="repeat" />
          <p><button type="submit" id="change-password">Change password</button></p>
        </form>
      </div>
    </Layout>
  );
}

export function registerPassword(app: Hono<UiEnv>) {
  app.get('/password', (c) => render(c, <PasswordPage who={c.get('who')} />));
  app.post('/password', async (c) => {
    const who = c.get('who');
    const [current, next, repeat] = [await formField(c, 'current'), await formField(c, 'next'), await formField(c, 'repeat')];
    if (next !== repeat) return render(c, <PasswordPage who={who} errors={{ repeat: 'does not match the new password' }} />, 422);
    const problem = await c.get('deps').auth.changePassword(who.user, current, next, who.sessionToken);
    if (problem) {
      await auditAs(c, 'password.change', 'refused', who.user, problem);
      const errors: Record<string, string> = problem.startsWith('new password') ? { next: problem } : { current: problem };
      return render(c, <PasswordPage who={who} errors={errors} />, 422);
    }
    await auditAs(c, 'password.change', 'ok', who.user);
    setFlash(c, { text: 'Password changed.' });
    return c.redirect('/', 303);
  });
}
