// Data keys of encryption at rest on the HSM page: the keys, the last rotation, and (admin) the
// rotation of the running appliance. The form posts like every other (CSRF token, audited).
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import { auditAs, refuseUnless, setFlash, type UiEnv, type View } from '../context.js';
import { Csrf, NoneRow } from '../layout.js';
import type { Principal } from '../context.js';
import type { ApplianceServices } from '../services.js';

export function DataKeysSection(props: { v: View; who: Principal; dataKeys: ApplianceServices['dataKeys'] }) {
  const d = props.dataKeys;
  if (!d) return null;
  const { t, time } = props.v;
  const r = d.status();
  return (
    <section class="card" id="data-keys">
      <h2>{t['dataKeys.title']}</h2>
      <table>
        <thead>
          <tr>
            <th>{t['dataKeys.id']}</th>
            <th>{t['dataKeys.state']}</th>
            <th>{t['dataKeys.created']}</th>
            <th>{t['dataKeys.retired']}</th>
          </tr>
        </thead>
        <tbody>
          {d.keys().length === 0 ? <NoneRow text={t.none} cols={4} /> : null}
          {d.keys().map((k) => (
            <tr data-key-state={k.current ? 'current' : k.state}>
              <td>{k.id}</td>
              <td>{k.current ? t['dataKeys.current'] : k.state}</td>
              <td>{time.time(k.createdAt)}</td>
              <td>{time.time(k.retiredAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {r.state === 'idle' ? null : (
        <p id="data-key-rotation" data-state={r.state}>
          {t['dataKeys.lastRotation'](r.by ?? '—', time.time(r.startedAt))} <strong>{r.state}</strong>
          {r.state === 'running' ? t['dataKeys.progress'](r.rewritten) : ''}
          {r.detail ? ` — ${r.detail}` : ''}
        </p>
      )}
      {can(props.who.role, 'dataKeys.rotate') ? (
        <form method="post" action="/keys/data-key/rotate">
          <Csrf who={props.who} />
          <p>{t['dataKeys.explain']}</p>
          <button type="submit" id="data-key-rotate" disabled={r.state === 'running'}>
            {t['dataKeys.rotate']}
          </button>
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
    const t = c.get('view').t;
    const r = await d.start(c.get('who').user);
    if (r.started) {
      await auditAs(c, 'data-key.rotate', 'ok', `data key ${r.status.newKeyId}`, 'rotation started; re-encryption runs in the background');
      setFlash(c, { text: t['dataKeys.started'](String(r.status.newKeyId)) });
    } else {
      const running = r.status.state === 'running';
      await auditAs(
        c,
        'data-key.rotate',
        running ? 'refused' : 'failed',
        undefined,
        running ? 'a rotation is already running' : r.status.detail,
      );
      setFlash(c, { text: running ? t['dataKeys.running'] : t['dataKeys.failed'](r.status.detail ?? ''), error: true });
    }
    return c.redirect('/keys', 303);
  });
}
