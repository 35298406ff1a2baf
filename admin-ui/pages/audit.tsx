// Audit log: filter, verify the hash chain.
import type { Hono } from 'hono';
import { auditAs, refuseUnless, type UiEnv } from '../context.js';
import { Layout, NotAvailable, roleName, NoneRow } from '../layout.js';
import { render } from '../render.js';
import type { AuditQuery } from '../services.js';
import { actorKindText, auditDetailText } from '../i18n/components.js';
import { isUiRole } from '../auth/roles.js';
import { jobOutcomeText } from '../i18n/jobs.js';

const OUTCOMES = ['ok', 'refused', 'failed'] as const;

export function registerAudit(app: Hono<UiEnv>) {
  app.get('/audit', async (c) => {
    const refused = await refuseUnless(c, 'audit.view', 'audit.view');
    if (refused) return refused;
    const v = c.get('view');
    const t = v.t;
    const a = c.get('deps').services.audit;
    const q: AuditQuery = { limit: 200 };
    for (const k of ['actor', 'action', 'outcome', 'since', 'until'] as const) {
      const x = c.req.query(k);
      if (x) q[k] = x;
    }
    const records = a.query ? await a.query(q) : undefined;
    const jobs = c.get('deps').services.operations?.jobs;
    const jobOutcome = (id: string) => {
      const j = jobs?.get(id);
      return j?.result ? jobOutcomeText(t, j) : undefined;
    };
    const verified = c.req.query('verify') === '1' && a.verify ? await a.verify() : undefined;
    if (verified) await auditAs(c, 'audit.verify', verified.ok ? 'ok' : 'failed', undefined, verified.detail);
    return render(
      c,
      <Layout v={v} title={t['audit.title']} who={c.get('who')} active="/audit">
        <h1>{t['audit.title']}</h1>
        {!a.verify ? (
          <NotAvailable v={v} what={t['audit.naVerify']} />
        ) : (
          <p>
            {verified ? (
              <span
                id="verify-result"
                data-ok={String(verified.ok)}
                data-checked={String(verified.checked)}
                class={verified.ok ? 'ok' : 'bad'}
              >
                {verified.ok ? t['audit.intact'] : t['audit.broken']}:{' '}
                {verified.intact
                  ? t['audit.intactDetail'](
                      verified.intact.entries,
                      verified.intact.checkpoints,
                      verified.intact.unsignedTail,
                      verified.intact.handovers.join(', '),
                    )
                  : verified.detail}{' '}
                ({t['audit.entries'](verified.checked)})
              </span>
            ) : (
              <a href="/audit?verify=1" id="verify">
                {t['audit.verify']}
              </a>
            )}
          </p>
        )}
        {!records ? (
          <NotAvailable v={v} what={t['audit.naQuery']} />
        ) : (
          <div>
            <form method="get" action="/audit">
              <input type="text" name="actor" placeholder={t['audit.actor']} value={q.actor ?? ''} />{' '}
              <input type="text" name="action" placeholder={t['audit.action']} value={q.action ?? ''} />{' '}
              <select name="outcome">
                <option value="">{t['audit.anyOutcome']}</option>
                {OUTCOMES.map((o) => (
                  <option value={o} selected={q.outcome === o}>
                    {t[`outcome.${o}`]}
                  </option>
                ))}
              </select>{' '}
              <button type="submit" class="secondary">
                {t['audit.filter']}
              </button>
            </form>
            <table id="audit-records">
              <thead>
                <tr>
                  <th>#</th>
                  <th>{t['audit.at']}</th>
                  <th>{t['audit.actorCol']}</th>
                  <th>{t['audit.actionCol']}</th>
                  <th>{t['audit.outcome']}</th>
                  <th>{t['audit.target']}</th>
                  <th>{t['audit.detail']}</th>
                  <th>{t['audit.address']}</th>
                </tr>
              </thead>
              <tbody>
                {records.length === 0 ? <NoneRow text={t.none} cols={8} /> : null}
                {records.map((r) => (
                  <tr data-outcome={r.outcome}>
                    <td>{r.seq}</td>
                    <td class="time">{v.time.time(r.at)}</td>
                    <td>
                      {r.actor}
                      {r.role ? (
                        <span class="muted" data-actor-kind={r.role}>
                          {' '}
                          ({isUiRole(r.role) ? roleName(v, r.role) : actorKindText(t, r.role)})
                        </span>
                      ) : null}
                    </td>
                    <td>{r.action}</td>
                    <td class={r.outcome === 'ok' ? 'ok' : 'bad'}>{t[`outcome.${r.outcome}`]}</td>
                    {/* Ids, hashes and paths break anywhere: the table stays within the screen. */}
                    <td class="any">{r.target ?? ''}</td>
                    <td class="any">{r.detail ? auditDetailText(t, r.detail, jobOutcome) : ''}</td>
                    <td>{r.address ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Layout>,
    );
  });
}
