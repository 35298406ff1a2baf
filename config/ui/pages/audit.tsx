// Audit log: filter, verify the hash chain.
import type { Hono } from 'hono';
import { auditAs, refuseUnless, type UiEnv } from '../context.js';
import { Layout, NotAvailable } from '../layout.js';
import { render } from '../render.js';
import type { AuditQuery } from '../services.js';

export function registerAudit(app: Hono<UiEnv>) {
  app.get('/audit', async (c) => {
    const refused = await refuseUnless(c, 'audit.view', 'audit.view');
    if (refused) return refused;
    const a = c.get('deps').services.audit;
    const q: AuditQuery = { limit: 200 };
    for (const k of ['actor', 'action', 'outcome', 'since', 'until'] as const) { const v = c.req.query(k); if (v) q[k] = v; }
    const records = a.query ? await a.query(q) : undefined;
    const verified = c.req.query('verify') === '1' && a.verify ? await a.verify() : undefined;
    if (verified) await auditAs(c, 'audit.verify', verified.ok ? 'ok' : 'failed', undefined, verified.detail);
    return render(c, (
      <Layout title="Audit log" who={c.get('who')} active="/audit">
        <h1>Audit log</h1>
        {!a.verify ? <NotAvailable what="Hash-chain verification" /> : (
          <p>{verified ? <span id="verify-result" class={verified.ok ? 'ok' : 'bad'}>{verified.ok ? 'Chain intact' : 'Chain BROKEN'}: {verified.detail} ({verified.checked} records)</span> : <a href="/audit?verify=1">Verify the chain</a>}</p>
        )}
        {!records ? <NotAvailable what="Audit log query" /> : (
          <div>
            <form method="get" action="/audit">
              <input type="text" name="actor" placeholder="actor" value={q.actor ?? ''} />{' '}
              <input type="text" name="action" placeholder="action" value={q.action ?? ''} />{' '}
              <select name="outcome"><option value="">any outcome</option>{['ok', 'refused', 'failed'].map((o) => <option value={o} selected={q.outcome === o}>{o}</option>)}</select>{' '}
              <button type="submit" class="secondary">Filter</button>
            </form>
            <table id="audit-records"><thead><tr><th>#</th><th>At</th><th>Actor</th><th>Action</th><th>Outcome</th><th>Target</th><th>Detail</th><th>Address</th></tr></thead>
              <tbody>{records.map((r) => <tr><td>{r.seq}</td><td>{r.at}</td><td>{r.actor}{r.role ? <span class="muted"> ({r.role})</span> : null}</td><td>{r.action}</td><td class={r.outcome === 'ok' ? 'ok' : 'bad'}>{r.outcome}</td><td>{r.target ?? ''}</td><td>{r.detail ?? ''}</td><td>{r.address ?? ''}</td></tr>)}</tbody></table>
          </div>
        )}
      </Layout>
    ));
  });
}
