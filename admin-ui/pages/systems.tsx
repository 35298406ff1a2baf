// Local systems and their roles: add, edit, disable; client certificates from the dev CA or uploaded.
import type { Hono } from 'hono';
import { can } from '../auth/roles.js';
import {
  actorOf,
  applyDetail,
  auditAs,
  formText,
  refuseUnless,
  setFlash,
  takeFlash,
  type Principal,
  type UiContext,
  type UiEnv,
  type View,
} from '../context.js';
import { Csrf, FieldError, Layout, NotAvailable, NoneRow } from '../layout.js';
import { load } from '../load.js';
import { render } from '../render.js';
import { systemDescriptionText } from '../i18n/components.js';
import type { ConnectedClient, IssuedCertificate, LocalSystemInput } from '../services.js';
import type { LocalSystemConfig } from '../../config/schema/broker.js';

/** The upload card of one system: its pinned certificate and the form (multipart, works without JavaScript). */
function CertificateUpload(props: {
  v: View;
  who: Principal;
  system: LocalSystemConfig;
  pem: string;
  errors?: Record<string, string> | undefined;
}) {
  const id = props.system.id;
  const t = props.v.t;
  return (
    <section class="card" id="certificate">
      <h2>{t['systems.certTitle'](id)}</h2>
      <p>
        {t['systems.registered']}{' '}
        {props.system.certificateSha256 ? (
          <code data-fingerprint={props.system.certificateSha256}>{props.system.certificateSha256}</code>
        ) : (
          <span class="muted" data-pinned="none">
            {t['systems.nonePinned'](id)}
          </span>
        )}
      </p>
      <form method="post" action={`/systems/${encodeURIComponent(id)}/certificate/upload`} enctype="multipart/form-data">
        <Csrf who={props.who} />
        <label for="cert-pem">{t['systems.certPem'](id)}</label>
        <textarea
          id="cert-pem"
          name="certificate"
          rows={8}
          class={props.errors?.certificate ? 'invalid' : ''}
          placeholder="-----BEGIN CERTIFICATE-----"
        >
          {props.pem}
        </textarea>
        <label for="cert-file">{t['systems.certFile']}</label>
        <input type="file" id="cert-file" name="certificateFile" accept=".pem,.crt,.cer,.der" />
        <FieldError errors={props.errors} field="certificate" />
        <p>
          <button type="submit" id="cert-upload">
            {t['systems.certUpload']}
          </button>
        </p>
      </form>
    </section>
  );
}

function SystemsPage(props: {
  v: View;
  who: Principal;
  systems: LocalSystemConfig[];
  roles: string[];
  connected?: ConnectedClient[] | undefined;
  form?: LocalSystemInput;
  errors?: Record<string, string>;
  flash?: { text: string; error?: boolean } | undefined;
  certs: { issue: boolean; upload: boolean };
  certFor?: LocalSystemConfig | undefined;
  certPem?: string;
}) {
  const edit = can(props.who.role, 'config.change');
  const f = props.form ?? { id: '', role: props.roles[0] ?? '', description: '', enabled: true };
  const online = new Set((props.connected ?? []).map((c) => c.systemId ?? c.clientId));
  const v = props.v;
  const t = v.t;
  return (
    <Layout v={v} title={t['systems.title']} who={props.who} active="/systems" flash={props.flash}>
      <h1>{t['systems.title']}</h1>
      <section class="card">
        <table id="systems">
          <thead>
            <tr>
              <th>{t['systems.system']}</th>
              <th>{t['systems.role']}</th>
              <th>{t['systems.description']}</th>
              <th>{t['systems.state']}</th>
              <th>{t['systems.connection']}</th>
              <th>{t['systems.certificate']}</th>
              {edit ? <th></th> : null}
            </tr>
          </thead>
          <tbody>
            {props.systems.length === 0 ? <NoneRow text={t.none} cols={edit ? 7 : 6} /> : null}
            {props.systems.map((s) => (
              <tr data-system={s.id}>
                <td>{s.id}</td>
                <td>{s.role}</td>
                <td>{systemDescriptionText(t, s.description)}</td>
                <td class={s.enabled ? 'ok' : 'muted'} data-enabled={String(s.enabled)}>
                  {s.enabled ? t['systems.enabled'] : t['systems.disabled']}
                </td>
                <td>
                  {props.connected === undefined ? (
                    <span class="na">{t['na.short']}</span>
                  ) : online.has(s.id) ? (
                    <span class="ok" data-online="true">
                      {t['systems.connected']}
                    </span>
                  ) : (
                    <span class="muted" data-online="false">
                      {t['systems.offline']}
                    </span>
                  )}
                </td>
                <td>
                  {s.certificateSha256 ? (
                    <code title={s.certificateSha256}>{t['systems.pinned'](s.certificateSha256.slice(0, 16))}</code>
                  ) : (
                    <span class="muted">{t['systems.notPinned']}</span>
                  )}
                </td>
                {edit ? (
                  <td>
                    <a href={`/systems?edit=${encodeURIComponent(s.id)}`} data-edit={s.id}>
                      {t.edit}
                    </a>{' '}
                    {props.certs.upload ? (
                      <a href={`/systems?edit=${encodeURIComponent(s.id)}#certificate`}>{t['systems.uploadCert']}</a>
                    ) : null}{' '}
                    {s.enabled ? (
                      <form class="inline" method="post" action={`/systems/${encodeURIComponent(s.id)}/disable`}>
                        <Csrf who={props.who} />
                        <button class="secondary" type="submit" data-op="disable">
                          {t['systems.disable']}
                        </button>
                      </form>
                    ) : null}{' '}
                    {props.certs.issue ? (
                      <form
                        class="inline"
                        method="post"
                        action={`/systems/${encodeURIComponent(s.id)}/certificate`}
                        data-download-refresh="#systems"
                      >
                        <Csrf who={props.who} />
                        <button class="secondary" type="submit" data-op="issue-certificate">
                          {t['systems.issueCert']}
                        </button>
                      </form>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
        {!props.certs.issue ? <NotAvailable v={v} what={t['systems.naIssue']} /> : null}
        {!props.certs.upload ? <NotAvailable v={v} what={t['systems.naUpload']} /> : null}
      </section>
      {edit ? (
        <section class="card" id="system-form">
          <h2>{t['systems.formTitle']}</h2>
          <form method="post" action="/systems">
            <Csrf who={props.who} />
            <label for="sys-id">{t['systems.id']}</label>
            <input type="text" id="sys-id" name="id" value={f.id} required class={props.errors?.id ? 'invalid' : ''} />
            <FieldError errors={props.errors} field="id" />
            <label for="sys-role">{t['systems.role']}</label>
            <select id="sys-role" name="role" class={props.errors?.role ? 'invalid' : ''}>
              {props.roles.map((r) => (
                <option value={r} selected={r === f.role}>
                  {r}
                </option>
              ))}
            </select>
            <FieldError errors={props.errors} field="role" />
            <label for="sys-desc">{t['systems.description']}</label>
            <input type="text" id="sys-desc" name="description" value={f.description} />
            <FieldError errors={props.errors} field="description" />
            <label for="sys-pwenv">{t['systems.passwordEnv']}</label>
            <input
              type="text"
              id="sys-pwenv"
              name="passwordEnv"
              value={f.passwordEnv ?? ''}
              placeholder="JUKIGW_PW_RR01"
              class={props.errors?.password ? 'invalid' : ''}
            />
            <FieldError errors={props.errors} field="password" />
            <label>
              <input type="checkbox" name="enabled" value="1" checked={f.enabled} /> {t['systems.enabledBox']}
            </label>
            <FieldError errors={props.errors} field="(other)" />
            <p>
              <button type="submit" id="system-save">
                {t['systems.save']}
              </button>
            </p>
          </form>
        </section>
      ) : null}
      {edit && props.certs.upload && props.certFor ? (
        <CertificateUpload v={v} who={props.who} system={props.certFor} pem={props.certPem ?? ''} errors={props.errors} />
      ) : null}
    </Layout>
  );
}

async function show(
  c: UiContext,
  form?: LocalSystemInput,
  errors?: Record<string, string>,
  status: 200 | 422 = 200,
  upload?: { id: string; pem: string },
) {
  const s = c.get('deps').services;
  const head = await s.config.current();
  const connected = await load(s.status.connectedClients?.bind(s.status));
  const editId = upload?.id ?? c.req.query('edit');
  const existing = editId ? head.config.systems.find((x) => x.id === editId) : undefined;
  const f =
    form ??
    (existing
      ? {
          id: existing.id,
          role: existing.role,
          description: existing.description,
          enabled: existing.enabled,
          ...(existing.password?.env ? { passwordEnv: existing.password.env } : {}),
        }
      : undefined);
  return render(
    c,
    <SystemsPage
      v={c.get('view')}
      who={c.get('who')}
      systems={head.config.systems}
      roles={Object.keys(head.config.roles)}
      connected={connected.state === 'ok' ? connected.value : undefined}
      form={f}
      errors={errors}
      flash={takeFlash(c)}
      certs={{ issue: !!s.systems.issueClientCert, upload: !!s.systems.uploadClientCert }}
      certFor={existing}
      certPem={upload?.pem ?? ''}
    />,
    status,
  );
}

/** A certificate file as PEM: PEM text as is, DER wrapped (the checks then parse it either way). */
function pemOf(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (text.includes('-----BEGIN')) return text;
  return `-----BEGIN CERTIFICATE-----\n${bytes.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
}

export function registerSystems(app: Hono<UiEnv>) {
  app.get('/systems', (c) => show(c));
  app.post('/systems', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'system.upsert');
    if (refused) return refused;
    const b = await c.req.parseBody();
    const form: LocalSystemInput = {
      id: formText(b, 'id').trim(),
      role: formText(b, 'role'),
      description: formText(b, 'description'),
      enabled: b.enabled === '1',
    };
    const pwEnv = formText(b, 'passwordEnv').trim();
    if (pwEnv) form.passwordEnv = pwEnv;
    const r = await c.get('deps').services.systems.upsert(form, actorOf(c));
    if (!r.ok) {
      const errors: Record<string, string> = {};
      for (const p of r.problems) {
        const m = /^systems\[\d+\]\.(\w+)/.exec(p.path);
        const k = m?.[1] ?? '(other)';
        errors[k] = errors[k] ? `${errors[k]}; ${p.message}` : m ? p.message : `${p.path}: ${p.message}`;
      }
      await auditAs(
        c,
        'system.upsert',
        'refused',
        form.id,
        Object.entries(errors)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; '),
      );
      return show(c, form, errors, 422);
    }
    await auditAs(c, 'system.upsert', 'ok', form.id, `config version ${r.version.version}`);
    setFlash(c, { text: c.get('view').t['systems.saved'](form.id, r.version.version) });
    return c.redirect('/systems', 303);
  });
  app.post('/systems/:id/disable', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'system.disable');
    if (refused) return refused;
    const id = c.req.param('id');
    const r = await c.get('deps').services.systems.disable(id, actorOf(c));
    await auditAs(c, 'system.disable', r.ok ? 'ok' : 'refused', id, applyDetail(r));
    setFlash(
      c,
      r.ok ? { text: c.get('view').t['systems.disabledFlash'](id) } : { text: r.problems.map((p) => p.message).join('; '), error: true },
    );
    return c.redirect('/systems', 303);
  });
  app.post('/systems/:id/certificate', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'system.certificate');
    if (refused) return refused;
    const s = c.get('deps').services.systems;
    if (!s.issueClientCert) return c.text('client certificate issuance: not available in this build', 404);
    const id = c.req.param('id');
    let cert: IssuedCertificate;
    try {
      cert = await s.issueClientCert(id, actorOf(c));
    } catch (e) {
      await auditAs(c, 'system.certificate.issue', 'failed', id, (e as Error).message);
      setFlash(c, { text: (e as Error).message, error: true });
      return c.redirect('/systems', 303);
    }
    await auditAs(
      c,
      'system.certificate.issue',
      'ok',
      id,
      `notAfter ${cert.notAfter}${cert.configVersion !== undefined ? `; pinned sha256 ${cert.fingerprintSha256} in config version ${cert.configVersion}` : ''}`,
    );
    return c.body(cert.certificatePem + cert.privateKeyPem + cert.caPem, 200, {
      'Content-Type': 'application/x-pem-file',
      'Content-Disposition': `attachment; filename="${id}.pem"`,
    });
  });
  app.post('/systems/:id/certificate/upload', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'system.certificate.upload');
    if (refused) return refused;
    const s = c.get('deps').services.systems;
    if (!s.uploadClientCert) return c.text('client certificate upload: not available in this build', 404);
    const id = c.req.param('id');
    if (!(await c.get('deps').services.config.current()).config.systems.some((x) => x.id === id)) return c.text(`no system "${id}"`, 404);
    const b = await c.req.parseBody();
    const file = b.certificateFile;
    const pem = file instanceof File && file.size > 0 ? pemOf(Buffer.from(await file.arrayBuffer())) : formText(b, 'certificate');
    const r = await s.uploadClientCert(id, pem, actorOf(c));
    if (!r.ok) {
      const message = r.problems.map((p) => (p.path === 'certificate' ? p.message : `${p.path}: ${p.message}`)).join('; ');
      await auditAs(c, 'system.certificate.upload', 'refused', id, message);
      // A private key pasted by mistake is not sent back into the page.
      return show(c, undefined, { certificate: message }, 422, { id, pem: /PRIVATE KEY/.test(pem) ? '' : pem });
    }
    await auditAs(
      c,
      'system.certificate.upload',
      'ok',
      id,
      `sha256 ${r.fingerprintSha256}, notAfter ${r.notAfter}, config version ${r.version.version}`,
    );
    setFlash(c, { text: c.get('view').t['systems.certRegistered'](id, r.fingerprintSha256, r.version.version) });
    return c.redirect(`/systems?edit=${encodeURIComponent(id)}#certificate`, 303);
  });
}
