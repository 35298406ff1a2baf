import { Layout } from '../layout.js';

export function LoginPage(props: { csrf: string; message?: string | undefined }) {
  return (
    <Layout title="Log in" flash={props.message ? { text: props.message, error: true } : undefined}>
      <div class="card login">
        <h1>Log in</h1>
        <form method="post" action="/login">
          <input type="hidden" name="_csrf" value={props.csrf} />
          <label for="username">User name</label>
          <input type="text" id="username" name="username" autocomplete="username" required />
          <label for="password">Password</label>
          <input type="password" id="password" name="password" autocomplete="current-password" required />
          <p><button type="submit" id="login">Log in</button></p>
        </form>
      </div>
    </Layout>
  );
}
