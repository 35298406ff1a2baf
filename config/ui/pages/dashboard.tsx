// Dashboard: the appliance state at a glance. Each card shows real figures, the error reading
// them, or "not available in this build".
import type { Hono } from 'hono';
import { deriveAlarms } from '../alarms.js';
import { RateChart } from '../chart.js';
import { takeFlash, type UiEnv } from '../context.js';
import { ago, bytes, Layout, NotAvailable } from '../layout.js';
import { load, type Loaded } from '../load.js';
import { render } from '../render.js';
import { QueueDepthCharts } from '../queueDepth.js';

function Card<T>(props: { title: string; id: string; data: Loaded<T>; wide?: boolean; children: (v: T) => unknown }) {
  const d = props.data;
  return (
    <section class={props.wide ? 'card wide' : 'card'} id={props.id}>
      <h2>{props.title}</h2>
      {d.state === 'na' ? <NotAvailable what={props.title} /> : d.state === 'error' ? <p class="bad">cannot read: {d.message}</p> : props.children(d.value)}
    </section>
  );
}

export function registerDashboard(app: Hono<UiEnv>) {
  app.get('/', async (c) => {
    const s = c.get('deps').services;
    const st = s.status;
    const [clients, systems, rates, links, queues, token, certs, disk, alarms] = await Promise.all([
      load(st.connectedClients?.bind(st)), load(() => s.systems.list()), load(st.messageRates?.bind(st)), load(st.links?.bind(st)),
      load(s.queues ? () => s.queues!.list() : undefined), load(st.tokenStatus?.bind(st)), load(st.certificates?.bind(st)),
      load(st.disk?.bind(st)), load(st.alarms?.bind(st)),
    ]);
    const v = <T,>(l: Loaded<T>) => (l.state === 'ok' ? l.value : undefined);
    const depth = await load(s.queues?.depthHistory?.bind(s.queues));
    const derived = deriveAlarms({ disk: v(disk), certificates: v(certs), token: v(token), links: v(links), queues: v(queues) });
    const allAlarms: Loaded<typeof derived> = alarms.state === 'ok' ? { state: 'ok', value: [...alarms.value, ...derived] } : { state: 'ok', value: derived };
    return render(c, (
      <Layout title="Dashboard" who={c.get('who')} active="/" flash={takeFlash(c)}>
        <h1>Dashboard</h1>
        <div class="grid">
          <Card title="Alarms" id="alarms" data={allAlarms} wide>
            {(a) => a.length === 0 ? <p class="ok">No alarms.</p> : (
              <ul>{a.map((x) => <li class={x.severity === 'critical' ? 'bad' : 'warn'}><strong>{x.severity}</strong> [{x.source}] {x.message}</li>)}</ul>
            )}
          </Card>
          <Card title="Connected systems" id="connected" data={clients} wide>
            {(list) => (
              <table>
                <thead><tr><th>Client</th><th>System</th><th>Role</th><th>Listener</th><th>Since</th></tr></thead>
                <tbody>
                  {list.length === 0 ? <tr><td colspan={5} class="muted">No system is connected.</td></tr> : list.map((k) => (
                    <tr data-client={k.clientId}><td>{k.clientId}</td><td>{k.systemId ?? '—'}</td><td>{k.role ?? '—'}</td><td>{k.listener ?? '—'}</td><td>{k.connectedAt ?? '—'}</td></tr>
                  ))}
                </tbody>
                {systems.state === 'ok' ? <caption class="muted">{list.length} connected · {systems.value.filter((x) => x.enabled).length} systems configured</caption> : null}
              </table>
            )}
          </Card>
          <Card title="Messages per minute (last hour)" id="rates" data={rates} wide>
            {(b) => <RateChart buckets={b} />}
          </Card>
          <Card title="Queues per uplink" id="queues" data={queues} wide>
            {(q) => (
              <table><thead><tr><th>Queue</th><th>Depth</th><th>Oldest</th><th>Dead letters</th></tr></thead>
                <tbody>{q.map((x) => <tr><td><a href={`/queues/${encodeURIComponent(x.name)}`}>{x.name}</a></td><td>{x.depth}</td><td>{ago(x.oldestAgeMs)}</td><td class={x.deadLetters > 0 ? 'warn' : ''}>{x.deadLetters}</td></tr>)}</tbody></table>
            )}
          </Card>
          {queues.state === 'ok' ? <QueueDepthCharts queues={queues.value} history={v(depth)} /> : null}
          <Card title="Certificate expiry" id="certs" data={certs} wide>
            {(list) => (
              <table><thead><tr><th>Certificate</th><th>Not after</th><th>Days</th></tr></thead>
                <tbody>{list.map((x) => <tr><td title={x.subject} class="any">{x.label}</td><td>{x.notAfter}</td><td class={x.daysLeft < 7 ? 'bad' : x.daysLeft < 30 ? 'warn' : ''}>{x.daysLeft}</td></tr>)}</tbody></table>
            )}
          </Card>
          <Card title="Upstream links" id="links" data={links} wide>
            {(l) => l.length === 0 ? <p class="muted">No upstream link.</p> : (
              <table><thead><tr><th>Link</th><th>State</th><th>Queued</th><th>Oldest</th></tr></thead>
                <tbody>{l.map((x) => <tr data-link={x.name}><td>{x.name}</td><td class={x.connected ? 'ok' : 'bad'}><span data-state={x.connected ? 'up' : 'down'}>{x.connected ? 'connected' : 'down'}</span> <span class="muted">{x.detail}</span></td>
                  <td>{x.queueDepth ?? '—'}</td><td>{x.queueDepth ? ago(x.oldestAgeMs) : '—'}</td></tr>)}</tbody></table>
            )}
          </Card>
          <Card title="Signing token" id="token" data={token}>
            {(t) => <p><span class={t.ready ? 'badge ok' : 'badge bad'}>{t.ready ? 'ready' : 'not ready'}</span> {t.kind} — {t.detail}{t.warning ? <span class="warn"> ({t.warning})</span> : null}</p>}
          </Card>
          <Card title="Disk" id="disk" data={disk}>
            {(d) => (
              <div>
                <progress value={d.totalBytes - d.freeBytes} max={d.totalBytes}></progress>
                <p>{bytes(d.freeBytes)} free of {bytes(d.totalBytes)} <span class="muted">({d.path}; publishes refused below {bytes(d.minFreeBytes)})</span></p>
              </div>
            )}
          </Card>
        </div>
      </Layout>
    ));
  });
}
