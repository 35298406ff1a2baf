// The own account: change the password (forced after the first-run one-time password) and choose
// the display language of the pages.
import type { Hono } from 'hono';
import { auditAs, formField, setFlash, takeFlash, type UiEnv, type View } from '../context.js';
import { Csrf, FieldError, Layout, type Flash } from '../layout.js';
import type { Principal } from '../context.js';
import { MIN_PASSWORD_LENGTH } from '../auth/passwords.js';
import { render } from '../render.js';
import { catalogue, isLang, LANGS } from '../i18n/index.js';
import { passwordProblemText } from '../i18n/problems.js';

function PasswordPage(props: { v: View; who: Principal; errors?: Record<string, string>; flash?: Flash | undefined }) {
  const t = props.v.t;
  return (
    <Layout v={props.v} title={t['password.title']} who={props.who} flash={props.flash}>
      <div class="card login">
        <h1>{t['password.title']}</h1>
        {props.who.mustChange ? (
          <p class="warn" id="must-change">
            {t['password.mustChange']}
          </p>
        ) : null}
        <form method="post" action="/password">
          <Csrf who={props.who} />
          <label for="current">{t['password.current']}</label>
          <input
            type="password"
            id="current"
            name="current"
            autocomplete="current-password"
            required
            class={props.errors?.current ? 'invalid' : ''}
          />
          <FieldError errors={props.errors} field="current" />
          <label for="next">{t['password.next'](MIN_PASSWORD_LENGTH)}</label>
          <input type="password" id="next" name="next" autocomplete="new-password" required class={props.errors?.next ? 'invalid' : ''} />
          <FieldError errors={props.errors} field="next" />
          <label for="repeat">{t['password.repeat']}</label>
          <input
            type="password"
            id="repeat"
            name="repeat"
            autocomplete="new-password"
            required
            class={props.errors?.repeat ? 'invalid' : ''}
          />
          <FieldError errors={props.errors} field="repeat" />
          <p>
            <button type="submit" id="change-password">
              {t['password.submit']}
            </button>
          </p>
        </form>
      </div>
      <div class="card login" id="language">
        <h2>{t['language.title']}</h2>
        <form method="post" action="/password/language">
          <Csrf who={props.who} />
          <label for="lang">{t['language.label']}</label>
          <select id="lang" name="language">
            {LANGS.map((l) => (
              <option value={l} selected={l === props.v.lang}>
                {catalogue(l)['lang.name']}
              </option>
            ))}
          </select>
          <FieldError errors={props.errors} field="language" />
          <p>
            <button type="submit" id="lang-save" class="secondary">
              {t['language.submit']}
            </button>
          </p>
        </form>
      </div>
    </Layout>
  );
}

export function registerPassword(app: Hono<UiEnv>) {
  app.get('/password', (c) => render(c, <PasswordPage v={c.get('view')} who={c.get('who')} flash={takeFlash(c)} />));
  app.post('/password', async (c) => {
    const who = c.get('who');
    const v = c.get('view');
    const [current, next, repeat] = [await formField(c, 'current'), await formField(c, 'next'), await formField(c, 'repeat')];
    if (next !== repeat) return render(c, <PasswordPage v={v} who={who} errors={{ repeat: v.t['password.mismatch'] }} />, 422);
    const problem = await c.get('deps').auth.changePassword(who.user, current, next, who.sessionToken);
    if (problem) {
      await auditAs(c, 'password.change', 'refused', who.user, problem);
      const text = passwordProblemText(v.t, problem);
      const errors: Record<string, string> = problem.startsWith('new password') ? { next: text } : { current: text };
      return render(c, <PasswordPage v={v} who={who} errors={errors} />, 422);
    }
    await auditAs(c, 'password.change', 'ok', who.user);
    setFlash(c, { text: v.t['password.changed'] });
    return c.redirect('/', 303);
  });
  app.post('/password/language', async (c) => {
    const who = c.get('who');
    const language = await formField(c, 'language');
    if (!isLang(language)) {
      await auditAs(c, 'account.language', 'refused', who.user, `unknown language ${JSON.stringify(language.slice(0, 20))}`);
      const v = c.get('view');
      return render(c, <PasswordPage v={v} who={who} errors={{ language: v.t['language.unknown'](language.slice(0, 20)) }} />, 422);
    }
    await c.get('deps').auth.setLanguage(who.user, language);
    await auditAs(c, 'account.language', 'ok', who.user, language);
    setFlash(c, { text: catalogue(language)['language.saved'] });
    return c.redirect('/password', 303);
  });
}
