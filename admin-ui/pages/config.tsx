// Configuration: view, edit with schema validation at the exact field, apply atomically, history
// with diff, rollback, signed backup export/import.
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import { actorOf, auditAs, refuseUnless, setFlash, takeFlash, type Principal, type UiContext, type UiEnv, type View } from '../context.js';
import type { Catalogue } from '../i18n/index.js';
import { Csrf, Layout, NotAvailable } from '../layout.js';
import { lineOf } from '../locate.js';
import { render } from '../render.js';
import { configCommentText } from '../i18n/components.js';
import type { ApplyResult, ConfigVersionSummary, DiffLine } from '../services.js';
import type { ConfigProblem } from '../../config/load.js';

interface LocatedProblem extends ConfigProblem {
  line?: number | undefined;
}

function Source(props: { text: string; problems: LocatedProblem[] }) {
  const bad = new Map(props.problems.filter((p) => p.line !== undefined).map((p) => [p.line!, p]));
  return (
    <pre class="src" id="config-source">
      {props.text.split('\n').map((l, i) => {
        const p = bad.get(i + 1);
        return (
          <span class={p ? 'err' : ''} data-line={i + 1} title={p ? `${p.path}: ${p.message}` : undefined}>
            {String(i + 1).padStart(4)} {l}
          </span>
        );
      })}
    </pre>
  );
}

function ConfigPage(props: {
  v: View;
  who: Principal;
  text: string;
  head: ConfigVersionSummary;
  versions: ConfigVersionSummary[];
  problems?: LocatedProblem[];
  flash?: { text: string; error?: boolean } | undefined;
  backup: boolean;
}) {
  const edit = can(props.who.role, 'config.change');
  const problems = props.problems ?? [];
  const { v } = props;
  const t = v.t;
  return (
    <Layout v={v} title={t['config.title']} who={props.who} active="/config" flash={props.flash}>
      <h1>
        {t['config.title']} <span class="muted">{t['config.version'](props.head.version)}</span>
      </h1>
      {problems.length > 0 ? (
        <div class="flash error" id="config-problems">
          <strong>{t['config.problems'](problems.length)}</strong>
          <ul>
            {problems.map((p) => (
              <li data-path={p.path}>
                <code>{p.path}</code>
                {p.line !== undefined ? <span data-line={p.line}> ({t['config.line'](p.line)})</span> : null}: {p.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <div class="grid">
        <section class="card wide">
          <h2>{edit ? t['config.edit'] : t['config.current']}</h2>
          {edit ? (
            <form method="post" action="/config">
              <Csrf who={props.who} />
              <textarea name="text" id="config-text" rows={24} spellcheck={false} class={problems.length ? 'invalid' : ''}>
                {props.text}
              </textarea>
              <label for="comment">{t['config.comment']}</label>
              <input type="text" id="comment" name="comment" maxlength={200} />
              <p>
                <button type="submit" name="action" value="validate" class="secondary" id="config-validate">
                  {t['config.validate']}
                </button>{' '}
                <button type="submit" name="action" value="apply" id="config-apply">
                  {t['config.apply']}
                </button>
              </p>
            </form>
          ) : null}
          {problems.length > 0 || !edit ? <Source text={props.text} problems={problems} /> : null}
        </section>
        <section class="card wide" id="history">
          <h2>{t['config.history']}</h2>
          <table>
            <thead>
              <tr>
                <th>{t['config.versionCol']}</th>
                <th>{t['config.when']}</th>
                <th>{t['config.who']}</th>
                <th>{t['config.comment']}</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {props.versions.map((x, i) => (
                <tr data-version={x.version}>
                  <td>
                    <a href={`/config/versions/${x.version}`}>{x.version}</a>
                    {x.version === props.head.version ? (
                      <span class="badge ok" data-running="true">
                        {' '}
                        {t['config.running']}
                      </span>
                    ) : null}
                  </td>
                  <td class="time">{props.v.time.time(x.createdAt)}</td>
                  <td>{x.author}</td>
                  <td>{configCommentText(props.v.t, x.comment)}</td>
                  <td>
                    {props.versions[i + 1] ? (
                      <a href={`/config/diff?from=${props.versions[i + 1]!.version}&to=${x.version}`}>{t['config.diff']}</a>
                    ) : null}
                    {edit && x.version !== props.head.version ? (
                      <form class="inline" method="post" action="/config/rollback">
                        {' '}
                        <Csrf who={props.who} />
                        <input type="hidden" name="version" value={String(x.version)} />
                        <button type="submit" class="secondary" data-rollback={x.version}>
                          {t['config.rollbackTo'](x.version)}
                        </button>
                      </form>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section class="card wide" id="backup">
          <h2>{t['config.backup']}</h2>
          {!props.backup ? (
            <NotAvailable v={v} what={t['config.naBackup']} />
          ) : (
            <div>
              {can(props.who.role, 'config.backup') ? (
                <p>
                  <a href="/config/backup">{t['config.download']}</a>
                </p>
              ) : null}
              {edit ? (
                <form method="post" action="/config/import" enctype="multipart/form-data">
                  <Csrf who={props.who} />
                  <label for="backup-file">{t['config.importLabel']}</label>
                  <input type="file" id="backup-file" name="file" accept=".json,application/json" required />
                  <button type="submit">{t['config.import']}</button>
                </form>
              ) : null}
            </div>
          )}
        </section>
      </div>
    </Layout>
  );
}

function describe(t: Catalogue, r: Extract<ApplyResult, { ok: true }>): string {
  if (r.unchanged) return t['config.unchanged'](r.version.version);
  const p = r.plan;
  const parts = [t['config.applied'](r.version.version)];
  if (p.live.length) parts.push(t['config.live'](p.live.join(', ')));
  if (p.restartListeners.length) parts.push(t['config.listenersRestarted'](p.restartListeners.join(', ')));
  if (p.restartRequired.length) parts.push(t['config.atRestart'](p.restartRequired.join(', ')));
  return parts.join(' ');
}

async function showConfig(c: UiContext, text?: string, problems?: LocatedProblem[], status: 200 | 422 = 200) {
  const cfg = c.get('deps').services.config;
  const [head, versions] = await Promise.all([cfg.current(), cfg.versions()]);
  return render(
    c,
    <ConfigPage
      v={c.get('view')}
      who={c.get('who')}
      text={text ?? head.text}
      head={head}
      versions={versions}
      problems={problems}
      flash={takeFlash(c)}
      backup={!!cfg.exportSignedBackup}
    />,
    status,
  );
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
      setFlash(c, { text: c.get('view').t['config.valid'] });
      return showConfig(c, text);
    }
    const r = await cfg.apply(text, actorOf(c), comment);
    if (!r.ok) {
      await auditAs(
        c,
        'config.apply',
        'refused',
        undefined,
        r.problems
          .map((p) => `${p.path}: ${p.message}`)
          .join('; ')
          .slice(0, 500),
      );
      return showConfig(c, text, located(text, r.problems), 422);
    }
    await auditAs(
      c,
      'config.apply',
      'ok',
      `version ${r.version.version}`,
      r.unchanged ? 'unchanged' : `changed: ${r.plan.changed.join(', ')}`,
    );
    setFlash(c, { text: describe(c.get('view').t, r) });
    return c.redirect('/config', 303);
  });

  app.get('/config/versions/:n', async (c) => {
    const x = await c.get('deps').services.config.get(Number(c.req.param('n')));
    if (!x) return c.text('no such version', 404);
    const v = c.get('view');
    return render(
      c,
      <Layout v={v} title={v.t['config.versionTitle'](x.version)} who={c.get('who')} active="/config">
        <h1>{v.t['config.versionTitle'](x.version)}</h1>
        <p class="muted">
          {v.time.time(x.createdAt)} · {x.author} · {configCommentText(v.t, x.comment)} · sha256 {x.sha256}
        </p>
        <Source text={x.text} problems={[]} />
      </Layout>,
    );
  });

  app.get('/config/diff', async (c) => {
    const from = Number(c.req.query('from')),
      to = Number(c.req.query('to'));
    let lines: DiffLine[];
    try {
      lines = await c.get('deps').services.config.diff(from, to);
    } catch (e) {
      return c.text((e as Error).message, 404);
    }
    const v = c.get('view');
    return render(
      c,
      <Layout v={v} title={v.t['config.diffTitle']} who={c.get('who')} active="/config">
        <h1>{v.t['config.diffHeading'](from, to)}</h1>
        <pre class="src diff" id="diff">
          {lines.map((l) => (
            <span class={l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}>
              {l.op} {l.text}
            </span>
          ))}
        </pre>
      </Layout>,
    );
  });

  app.post('/config/rollback', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'config.rollback');
    if (refused) return refused;
    const body = await c.req.parseBody();
    const n = Number(body.version);
    const r = await c.get('deps').services.config.rollback(n, actorOf(c));
    await auditAs(
      c,
      'config.rollback',
      r.ok ? 'ok' : 'refused',
      `version ${n}`,
      r.ok ? `now version ${r.version.version}` : r.problems[0]?.message,
    );
    const t = c.get('view').t;
    setFlash(
      c,
      r.ok
        ? { text: t['config.rolledBack'](describe(t, r)) }
        : { text: t['config.rollbackRefused'](r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')), error: true },
    );
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
    return c.body(doc, 200, {
      'Content-Type': 'application/json',
      'Content-Disposition': `attachment; filename="juki-gw-config-v${head.version}.json"`,
    });
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
    const t = c.get('view').t;
    setFlash(
      c,
      r.ok
        ? { text: t['config.imported'](describe(t, r)) }
        : { text: t['config.importRefused'](r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')), error: true },
    );
    return c.redirect('/config', 303);
  });
}
