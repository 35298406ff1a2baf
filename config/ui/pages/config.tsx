// Configuration: view, edit with schema validation at the exact field, apply atomically, history
// with diff, rollback, signed backup export/import.
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import { actorOf, auditAs, refuseUnless, setFlash, takeFlash, type Principal, type UiContext, type UiEnv } from '../context.js';
import { Csrf, Layout, NotAvailable } from '../layout.js';
import { lineOf } from '../locate.js';
import { render } from '../render.js';
import type { ApplyResult, ConfigVersionSummary, DiffLine } from '../services.js';
import type { ConfigProblem } from '../../load.js';

interface LocatedProblem extends ConfigProblem { line?: number | undefined }

function Source(props: { text: string; problems: LocatedProblem[] }) {
  const bad = new Map(props.problems.filter((p) => p.line !== undefined).map((p) => [p.line!, p]));
  return (
    <pre class="src" id="config-source">{props.text.split('\n').map((l, i) => {
      const p = bad.get(i + 1);
      return <span class={p ? 'err' : ''} data-line={i + 1} title={p ? `${p.path}: ${p.message}` : undefined}>{String(i + 1).padStart(4)}  {l}</span>;
    })}</pre>
  );
}

function ConfigPage(props: { who: Principal; text: string; head: ConfigVersionSummary; versions: ConfigVersionSummary[]; problems?: LocatedProblem[]; flash?: { text: string; error?: boolean } | undefined; backup: boolean }) {
  const edit = can(props.who.role, 'config.change');
  const problems = props.problems ?? [];
  return (
    <Layout title="Configuration" who={props.who} active="/config" flash={props.flash}>
      <h1>Configuration <span class="muted">version {props.head.version}</span></h1>
      {problems.length > 0 ? (
        <div class="flash error" id="config-problems">
          <strong>{problems.length} problem(s); nothing was applied.</strong>
          <ul>{problems.map((p) => <li data-path={p.path}><code>{p.path}</code>{p.line !== undefined ? <span> (line {p.line})</span> : null}: {p.message}</li>)}</ul>
        </div>
      ) : null}
      <div class="grid">
        <section class="card wide">
          <h2>{edit ? 'Edit' : 'Current configuration'}</h2>
          {edit ? (
            <form method="post" action="/config">
              <Csrf who={props.who} />
              <textarea name="text" id="config-text" rows={24} spellcheck={false} class={problems.length ? 'invalid' : ''}>{props.text}</textarea>
              <label for="comment">Comment</label>
              <input type="text" id="comment" name="comment" maxlength={200} />
              <p>
                <button type="submit" name="action" value="validate" class="secondary" id="config-validate">Validate</button>{' '}
                <button type="submit" name="action" value="apply" id="config-apply">Validate and apply</button>
              </p>
            </form>
          ) : null}
          {problems.length > 0 || !edit ? <Source text={props.text} problems={problems} /> : null}
        </section>
        <section class="card wide" id="history">
          <h2>History</h2>
          <table>
            <thead><tr><th>Version</th><th>When</th><th>Who</th><th>Comment</th><th></th></tr></thead>
            <tbody>{props.versions.map((v, i) => (
              <tr data-version={v.version}>
                <td><a href={`/config/versions/${v.version}`}>{v.version}</a>{v.version === props.head.version ? <span class="badge ok"> running</span> : null}</td>
                <td>{v.createdAt}</td><td>{v.author}</td><td>{v.comment}</td>
                <td>
                  {props.versions[i + 1] ? <a href={`/config/diff?from=${props.versions[i + 1]!.version}&to=${v.version}`}>diff</a> : null}
                  {edit && v.version !== props.head.version ? (
                    <form class="inline" method="post" action="/config/rollback"> <Csrf who={props.who} /><input type="hidden" name="version" value={String(v.version)} /><button type="submit" class="secondary">roll back to {v.version}</button></form>
                  ) : null}
                </td>
              </tr>
            ))}</tbody>
          </table>
        </section>
        <section class="card wide" id="backup">
          <h2>Signed backup</h2>
          {!props.backup ? <NotAvailable what="Signed backup (no appliance signing key wired)" /> : (
            <div>
              {can(props.who.role, 'config.backup') ? <p><a href="/config/backup">Download the signed backup of the running version</a></p> : null}
              {edit ? (
                <form method="post" action="/config/import" enctype="multipart/form-data">
                  <Csrf who={props.who} />
                  <label for="backup-file">Import a signed backup (applied as a new version)</label>
                  <input type="file" id="backup-file" name="file" accept=".json,application/json" required />
                  <button type="submit">Verify and import</button>
                </form>
              ) : null}
            </div>
          )}
        </section>
      </div>
    </Layout>
  );
}

function describe(r: Extract<ApplyResult, { ok: true }>): string {
  if (r.unchanged) return `No change: version ${r.version.version} is already running.`;
  const p = r.plan;
  const parts = [`Version ${r.version.version} applied.`];
  if (p.live.length) parts.push(`Live: ${p.live.join(', ')}.`);
  if (p.restartListeners.length) parts.push(`Listeners restarted: ${p.restartListeners.join(', ')}.`);
  if (p.restartRequired.length) parts.push(`Takes effect at the next restart: ${p.restartRequired.join(', ')}.`);
  return parts.join(' ');
}

async function showConfig(c: UiContext, text?: string, problems?: LocatedProblem[], status: 200 | 422 = 200) {
  const cfg = c.get('deps').services.config;
  const [head, versions] = await Promise.all([cfg.current(), cfg.versions()]);
  return render(c, <ConfigPage who={c.get('who')} text={text ?? head.text} head={head} versions={versions} problems={problems} flash={takeFlash(c)} backup={!!cfg.exportSignedBackup} />, status);
}

const located = (text: string, problems: ConfigProblem[]): LocatedProblem[] => problems.map((p) => ({ ...p, line: lineOf(text, p.path) }));

export function registerConfig(app: Hono<UiEnv>) {
  app.get('/config', (c) => showConfig(c));

  app.post('/config', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'config.apply');
    if (refused) return refused;
    const body = await c.req.parseBody();
    const text = typeof body.text === 'string' ? body.text.replace(/\r\n/g, '\n') : '';
    const comment = typeof body.comment === 'string' ? body.comment.slice(0, 200) : '';
    const cfg = c.get('deps').services.config;
    if (body.action === 'validate') {
      c.set('audited', true); // a check that changes nothing
      const r = cfg.validate(text);
      if (!r.ok) return showConfig(c, text, located(text, r.problems), 422);
      setFlash(c, { text: 'Valid: no problem found (not applied).' });
      return showConfig(c, text);
    }
    const r = await cfg.apply(text, actorOf(c), comment);
    if (!r.ok) {
      await auditAs(c, 'config.apply', 'refused', undefined, r.problems.map((p) => `${p.path}: ${p.message}`).join('; ').slice(0, 500));
      return showConfig(c, text, located(text, r.problems), 422);
    }
    await auditAs(c, 'config.apply', 'ok', `version ${r.version.version}`, r.unchanged ? 'unchanged' : `changed: ${r.plan.changed.join(', ')}`);
    setFlash(c, { text: describe(r) });
    return c.redirect('/config', 303);
  });

  app.get('/config/versions/:n', async (c) => {
    const v = await c.get('deps').services.config.get(Number(c.req.param('n')));
    if (!v) return c.text('no such version', 404);
    return render(c, (
      <Layout title={`Configuration version ${v.version}`} who={c.get('who')} active="/config">
        <h1>Configuration version {v.version}</h1>
        <p class="muted">{v.createdAt} · {v.author} · {v.comment} · sha256 {v.sha256}</p>
        <Source text={v.text} problems={[]} />
      </Layout>
    ));
  });

  app.get('/config/diff', async (c) => {
    const from = Number(c.req.query('from')), to = Number(c.req.query('to'));
    let lines: DiffLine[];
    try { lines = await c.get('deps').services.config.diff(from, to); } catch (e) { return c.text((e as Error).message, 404); }
    return render(c, (
      <Layout title="Configuration diff" who={c.get('who')} active="/config">
        <h1>Changes from version {from} to {to}</h1>
        <pre class="src diff" id="diff">{lines.map((l) => <span class={l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}>{l.op} {l.text}</span>)}</pre>
      </Layout>
    ));
  });

  app.post('/config/rollback', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'config.rollback');
    if (refused) return refused;
    const body = await c.req.parseBody();
    const n = Number(body.version);
    const r = await c.get('deps').services.config.rollback(n, actorOf(c));
    await auditAs(c, 'config.rollback', r.ok ? 'ok' : 'refused', `version ${n}`, r.ok ? `now version ${r.version.version}` : r.problems[0]?.message);
    setFlash(c, r.ok ? { text: `Rolled back: ${describe(r)}` } : { text: `Rollback refused: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, error: true });
    return c.redirect('/config', 303);
  });

  app.get('/config/backup', async (c) => {
    const refused = await refuseUnless(c, 'config.backup', 'config.export');
    if (refused) return refused;
    const cfg = c.get('deps').services.config;
    if (!cfg.exportSignedBackup) return c.text('signed backup: not available in this build', 404);
    const doc = await cfg.exportSignedBackup(actorOf(c));
    const head = await cfg.current();
    await auditAs(c, 'config.export', 'ok', `version ${head.version}`);
    return c.body(doc, 200, { 'Content-Type': 'application/json', 'Content-Disposition': `attachment; filename="juki-gw-config-v${head.version}.json"` });
  });

  app.post('/config/import', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'config.import');
    if (refused) return refused;
    const cfg = c.get('deps').services.config;
    if (!cfg.importSignedBackup) return c.text('signed backup: not available in this build', 404);
    const body = await c.req.parseBody();
    const f = body.file;
    const doc = f instanceof File ? await f.text() : typeof f === 'string' ? f : '';
    const r = await cfg.importSignedBackup(doc, actorOf(c));
    await auditAs(c, 'config.import', r.ok ? 'ok' : 'refused', undefined, r.ok ? `version ${r.version.version}` : r.problems[0]?.message);
    setFlash(c, r.ok ? { text: `Backup imported: ${describe(r)}` } : { text: `Import refused: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, error: true });
    return c.redirect('/config', 303);
  });
}
