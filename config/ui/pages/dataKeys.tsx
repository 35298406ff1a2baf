// Data keys of encryption at rest on the HSM page: the keys, the last rotation, and (admin) the
// rotation of the running appliance. The form posts like every other (CSRF token, audited).
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import { auditAs, refuseUnless, setFlash, type UiEnv } from '../context.js';
import { Csrf } from '../layout.js';
import type { Principal } from '../context.js';
import type { ApplianceServices } from '../services.js';

export function DataKeysSection(props: { who: Principal; dataKeys: ApplianceServices['dataKeys'] }) {
  const d = props.dataKeys;
  if (!d) return null;
  const r = d.status();
  return (
    <section class="card" id="data-keys"><h2>Data keys (encryption at rest)</h2>
      <table><thead><tr><th>Id</th><th>State</th><th>Created</th><th>Retired</th></tr></thead>
        <tbody>{d.keys().map((k) => <tr><td>{k.id}</td><td>{k.current ? 'current' : k.state}</td><td>{k.createdAt}</td><td>{k.retiredAt ?? '—'}</td></tr>)}</tbody></table>
      {r.state === 'idle' ? null : (
        <p id="data-key-rotation">Last rotation ({r.by}, {r.startedAt}): <strong>{r.state}</strong>{r.state === 'running' ? ` — ${r.rewritten} values re-encrypted so far` : ''}{r.detail ? ` — ${r.detail}` : ''}</p>
      )}
      {can(props.who.role, 'dataKeys.rotate') ? (
        <form method="post" action="/keys/data-key/rotate"><Csrf who={props.who} />
          <p>A new data key becomes current at once; every stored value is re-encrypted in the background while the appliance keeps running, then the older keys are destroyed.</p>
          <button type="submit" id="data-key-rotate" disabled={r.state === 'running'}>Rotate data key</button>
        </form>
      ) : null}
    </section>
  );
}

export function registerDataKeyRotation(app: Hono<UiEnv>) {
  app.post('/keys/data-key/rotate', async (c) => {
    const refused = await refuseUnless(c, 'dataKeys.rotate', 'data-key.rotate');
    if (refused) return refused;
    const d = c.get('deps').services.dataKeys;
    if (!d) return c.text('data key rotation: not available in this build', 404);
    const r = await d.start(c.get('who').user);
    if (r.started) {
      await auditAs(c, 'data-key.rotate', 'ok', `data key ${r.status.newKeyId}`, 'rotation started; re-encryption runs in the background');
      setFlash(c, { text: `Data key ${r.status.newKeyId} is current; re-encryption runs in the background (progress below).` });
    } else {
      const running = r.status.state === 'running';
      await auditAs(c, 'data-key.rotate', running ? 'refused' : 'failed', undefined, running ? 'a rotation is already running' : r.status.detail);
      setFlash(c, { text: running ? 'A data key rotation is already running.' : `Data key rotation failed: ${r.status.detail}`, error: true });
    }
    return c.redirect('/keys', 303);
  });
}
