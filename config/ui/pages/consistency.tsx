// Consistency check (整合性確認): start, live progress, results. The progress refreshes itself with
// the same-origin script and, without JavaScript, with a meta refresh.
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import { actorOf, auditAs, refuseUnless, setFlash, takeFlash, type UiEnv } from '../context.js';
import { Csrf, Layout, NotAvailable } from '../layout.js';
import { render } from '../render.js';

export function registerConsistency(app: Hono<UiEnv>) {
  app.get('/consistency', async (c) => {
    const cs = c.get('deps').services.consistency;
    const who = c.get('who');
    const p = cs ? await cs.progress(c.req.query('run')) : undefined;
    const results = cs && p && p.state !== 'running' ? await cs.results(p.runId) : undefined;
    const running = p?.state === 'running';
    return render(c, (
      <Layout title="Consistency check" who={who} active="/consistency" flash={takeFlash(c)} refreshMs={running ? 2000 : undefined}>
        <h1>Consistency check</h1>
        {!cs ? <NotAvailable what="Consistency check" /> : (
          <div>
            {can(who.role, 'consistency.run') && !running ? <form method="post" action="/consistency"><Csrf who={who} /><button type="submit" id="cs-start">Start a consistency check</button></form> : null}
            {p ? (
              <section class="card" id="cs-progress" data-refresh-ms={running ? '1000' : undefined}>
                <h2>Run {p.runId} — {p.state}</h2>
                <progress value={p.done} max={Math.max(p.total, 1)}></progress>
                <p>{p.done} / {p.total} · started {p.startedAt}{p.detail ? ` · ${p.detail}` : ''}</p>
              </section>
            ) : <p class="muted">No run yet.</p>}
            {results ? (
              <section class="card" id="cs-results"><h2>Differences ({results.length})</h2>
                <table><thead><tr><th>Key</th><th>Kind</th><th>Detail</th></tr></thead>
                  <tbody>{results.map((r) => <tr><td>{r.key}</td><td>{r.kind}</td><td>{r.detail}</td></tr>)}</tbody></table>
              </section>
            ) : null}
          </div>
        )}
      </Layout>
    ));
  });
  app.post('/consistency', async (c) => {
    const refused = await refuseUnless(c, 'consistency.run', 'consistency.start');
    if (refused) return refused;
    const cs = c.get('deps').services.consistency;
    if (!cs) return c.text('consistency check: not available in this build', 404);
    const { runId } = await cs.start(actorOf(c));
    await auditAs(c, 'consistency.start', 'ok', runId);
    setFlash(c, { text: `Consistency check ${runId} started.` });
    return c.redirect(`/consistency?run=${encodeURIComponent(runId)}`, 303);
  });
}
