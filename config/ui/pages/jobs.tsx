// Jobs: the long operations the running appliance does for the CLI or the API — register import,
// backup, audit verification — with their progress (refreshing while one runs) and outcome.
import type { Hono } from 'hono';
import { takeFlash, type UiEnv } from '../context.js';
import { Layout, NotAvailable } from '../layout.js';
import { render } from '../render.js';

export function registerJobs(app: Hono<UiEnv>) {
  app.get('/jobs', async (c) => {
    const ops = c.get('deps').services.operations;
    const who = c.get('who');
    const jobs = ops?.jobs.list() ?? [];
    const running = jobs.some((j) => j.state === 'running');
    return render(c, (
      <Layout title="Jobs" who={who} active="/jobs" flash={takeFlash(c)} refreshMs={running ? 2000 : undefined}>
        <h1>Jobs</h1>
        {!ops ? <NotAvailable what="Jobs" /> : jobs.length === 0 ? <p class="muted" id="jobs-none">No job since the appliance started.</p> : (
          <table id="jobs"><thead><tr><th>Job</th><th>By</th><th>State</th><th>Progress</th><th>Started</th><th>Outcome</th></tr></thead>
            <tbody>{jobs.map((j) => (
              <tr data-job={j.id} data-state={j.state}><td>{j.kind}</td><td>{j.by}</td><td>{j.state}</td>
                <td><progress value={j.done} max={Math.max(j.total, 1)}></progress> {j.done} / {j.total} {j.unit}</td>
                <td>{j.startedAt}</td><td>{j.summary ?? ''}</td></tr>
            ))}</tbody></table>
        )}
      </Layout>
    ));
  });
}
