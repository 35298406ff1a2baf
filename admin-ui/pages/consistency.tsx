// Consistency check (整合性確認): start, live progress, results. The progress refreshes itself with
// the same-origin script and, without JavaScript, with a meta refresh.
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import { actorOf, auditAs, refuseUnless, setFlash, takeFlash, type UiEnv } from '../context.js';
import { Csrf, Layout, NotAvailable, NoneRow } from '../layout.js';
import { render } from '../render.js';

export function registerConsistency(app: Hono<UiEnv>) {
  app.get('/consistency', async (c) => {
    const cs = c.get('deps').services.consistency;
    const who = c.get('who');
    const v = c.get('view');
    const t = v.t;
    const p = cs ? await cs.progress(c.req.query('run')) : undefined;
    const results = cs && p && p.state !== 'running' ? await cs.results(p.runId) : undefined;
    const running = p?.state === 'running';
    return render(
      c,
      <Layout v={v} title={t['cs.title']} who={who} active="/consistency" flash={takeFlash(c)} refreshMs={running ? 2000 : undefined}>
        <h1>{t['cs.title']}</h1>
        {!cs ? (
          <NotAvailable v={v} what={t['cs.title']} />
        ) : (
          <div>
            {can(who.role, 'consistency.run') && !running ? (
              <form method="post" action="/consistency">
                <Csrf who={who} />
                <button type="submit" id="cs-start">
                  {t['cs.start']}
                </button>
              </form>
            ) : null}
            {p ? (
              <section class="card" id="cs-progress" data-state={p.state} data-refresh-ms={running ? '1000' : undefined}>
                <h2>{t['cs.run'](p.runId, t[`cs.state.${p.state}`])}</h2>
                <progress value={p.done} max={Math.max(p.total, 1)}></progress>
                <p>
                  {p.done} / {p.total} · {t['cs.started']} {v.time.time(p.startedAt)}
                  {p.state === 'interrupted'
                    ? ` · ${t['cs.interruptedWhy']}`
                    : p.summary
                      ? ` · ${t['cs.summary'](t[`cs.mode.${p.summary.mode}`], p.summary.lgCode, p.summary.peer, p.summary.differences)}`
                      : p.detail
                        ? ` · ${p.detail}`
                        : ''}
                </p>
              </section>
            ) : (
              <p class="muted">{t['cs.noRun']}</p>
            )}
            {results ? (
              <section class="card" id="cs-results">
                <h2>{t['cs.differences'](results.length)}</h2>
                <table>
                  <thead>
                    <tr>
                      <th>{t['cs.key']}</th>
                      <th>{t['cs.kind']}</th>
                      <th>{t['cs.detail']}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {results.length === 0 ? <NoneRow text={t.none} cols={3} /> : null}
                    {results.map((r) => (
                      <tr data-kind={r.kind}>
                        <td>{r.key}</td>
                        <td>{r.kind}</td>
                        <td>{r.detail}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            ) : null}
          </div>
        )}
      </Layout>,
    );
  });
  app.post('/consistency', async (c) => {
    const refused = await refuseUnless(c, 'consistency.run', 'consistency.start');
    if (refused) return refused;
    const cs = c.get('deps').services.consistency;
    const t = c.get('view').t;
    if (!cs) return c.text('consistency check: not available in this build', 404);
    const { runId } = await cs.start(actorOf(c));
    await auditAs(c, 'consistency.start', 'ok', runId);
    setFlash(c, { text: t['cs.startedFlash'](runId) });
    return c.redirect(`/consistency?run=${encodeURIComponent(runId)}`, 303);
  });
}
