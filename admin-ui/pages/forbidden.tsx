// The page a role gets for an action it lacks (403, audited by the caller).
import type { Principal, View } from '../context.js';
import { Layout, roleName } from '../layout.js';

export function Forbidden(props: { v: View; who: Principal; permission: string }) {
  const t = props.v.t;
  return (
    <Layout v={props.v} title={t['forbidden.title']} who={props.who}>
      <h1>{t['forbidden.title']}</h1>
      <p class="bad" id="forbidden" data-permission={props.permission}>
        {t['forbidden.text'](roleName(props.v, props.who.role), props.permission)}
      </p>
      <p>
        <a href="/">{t['forbidden.back']}</a>
      </p>
    </Layout>
  );
}
