// Jobs: the long operations the running appliance does for the CLI or the API — register import,
// backup, audit verification — with their progress (refreshing while one runs) and outcome.
import type { Hono } from 'hono';
import { takeFlash, type UiEnv } from '../context.js';
import { Layout, NotAvailable, NoneRow } from '../layout.js';
import { render } from '../render.js';
import { jobOutcomeText, jobProgressText } from '../i18n/jobs.js';

export function registerJobs(app: Hono<UiEnv>) {
  app.get('/jobs', async (c) => {
    const ops = c.get('deps').services.operations;
    const who = c.get('who');
    const v = c.get('view');
    const t = v.t;
    const jobs = ops?.jobs.list() ?? [];
    const running = jobs.some((j) => j.state === 'running');
    return render(
      c,
      <Layout v={v} title={t['jobs.title']} who={who} active="/jobs" flash={takeFlash(c)} refreshMs={running ? 2000 : undefined}>
        <h1>{t['jobs.title']}</h1>
        {!ops ? (
          <NotAvailable v={v} what={t['jobs.title']} />
        ) : jobs.length === 0 ? (
          <p class="muted" id="jobs-none">
            {t['jobs.none']}
          </p>
        ) : (
          <table id="jobs">
            <thead>
              <tr>
                <th>{t['jobs.kind']}</th>
                <th>{t['jobs.by']}</th>
                <th>{t['jobs.state']}</th>
                <th>{t['jobs.progress']}</th>
                <th>{t['jobs.started']}</th>
                <th>{t['jobs.outcome']}</th>
              </tr>
            </thead>
            <tbody>
              {jobs.length === 0 ? <NoneRow text={t.none} cols={6} /> : null}
              {jobs.map((j) => (
                <tr data-job={j.id} data-state={j.state} data-kind={j.kind}>
                  <td class="nowrap">{t[`jobs.kind.${j.kind}`]}</td>
                  <td>{j.by}</td>
                  <td class="nowrap">{t[`jobs.state.${j.state}`]}</td>
                  <td class="progress">
                    <progress value={j.done} max={Math.max(j.total, 1)}></progress> {jobProgressText(t, j)}
                  </td>
                  <td class="time">{v.time.time(j.startedAt)}</td>
                  <td>{jobOutcomeText(t, j)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Layout>,
    );
  });
}
