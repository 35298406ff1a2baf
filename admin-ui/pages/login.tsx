import type { View } from '../context.js';
import { Layout } from '../layout.js';

export function LoginPage(props: { v: View; csrf: string; message?: string | undefined }) {
  const t = props.v.t;
  return (
    <Layout v={props.v} title={t['login.title']} flash={props.message ? { text: props.message, error: true } : undefined}>
      <div class="card login">
        <h1>{t['login.title']}</h1>
        <form method="post" action="/login">
          <input type="hidden" name="_csrf" value={props.csrf} />
          <label for="username">{t['login.user']}</label>
          <input type="text" id="username" name="username" autocomplete="username" required />
          <label for="password">{t['login.password']}</label>
          <input type="password" id="password" name="password" autocomplete="current-password" required />
          <p>
            <button type="submit" id="login">
              {t['login.submit']}
            </button>
          </p>
        </form>
      </div>
    </Layout>
  );
}
