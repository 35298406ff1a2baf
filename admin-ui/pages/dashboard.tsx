// Dashboard: the appliance state at a glance. Each card shows real figures, the error reading
// them, or "not available in this build".
import type { Hono } from 'hono';
import { alarmSource, deriveAlarms } from '../alarms.js';
import { RateChart } from '../chart.js';
import { takeFlash, type UiEnv, type View } from '../context.js';
import { ago, bytes, Layout, linkDetail, NotAvailable, NoneRow } from '../layout.js';
import { load, type Loaded } from '../load.js';
import { render } from '../render.js';
import { QueueDepthCharts } from '../queueDepth.js';
import { tokenDetailText, tokenWarningText } from '../i18n/components.js';

function Card<T>(props: { v: View; title: string; id: string; data: Loaded<T>; wide?: boolean; children: (v: T) => unknown }) {
  const d = props.data;
  return (
    <section class={props.wide ? 'card wide' : 'card'} id={props.id}>
      <h2>{props.title}</h2>
      {d.state === 'na' ? (
        <NotAvailable v={props.v} what={props.title} />
      ) : d.state === 'error' ? (
        <p class="bad">{props.v.t.cannotRead(d.message)}</p>
      ) : (
        props.children(d.value)
      )}
    </section>
  );
}

export function registerDashboard(app: Hono<UiEnv>) {
  app.get('/', async (c) => {
    const s = c.get('deps').services;
    const st = s.status;
    const view = c.get('view');
    const { t, time } = view;
    const [clients, systems, rates, links, queues, token, certs, disk, alarms] = await Promise.all([
      load(st.connectedClients?.bind(st)),
      load(() => s.systems.list()),
      load(st.messageRates?.bind(st)),
      load(st.links?.bind(st)),
      load(s.queues ? () => s.queues!.list() : undefined),
      load(st.tokenStatus?.bind(st)),
      load(st.certificates?.bind(st)),
      load(st.disk?.bind(st)),
      load(st.alarms?.bind(st)),
    ]);
    const v = <T,>(l: Loaded<T>) => (l.state === 'ok' ? l.value : undefined);
    const depth = await load(s.queues?.depthHistory?.bind(s.queues));
    const cluster = s.cluster ? await load(() => s.cluster!.status()) : undefined;
    const derived = deriveAlarms(view, { disk: v(disk), certificates: v(certs), token: v(token), links: v(links), queues: v(queues) });
    const allAlarms: Loaded<typeof derived> =
      alarms.state === 'ok' ? { state: 'ok', value: [...alarms.value, ...derived] } : { state: 'ok', value: derived };
    return render(
      c,
      <Layout v={view} title={t['dash.title']} who={c.get('who')} active="/" flash={takeFlash(c)}>
        <h1>{t['dash.title']}</h1>
        <div class="grid">
          <Card v={view} title={t['dash.alarms']} id="alarms" data={allAlarms} wide>
            {(a) =>
              a.length === 0 ? (
                <p class="ok">{t['dash.noAlarms']}</p>
              ) : (
                <ul>
                  {a.map((x) => (
                    <li class={x.severity === 'critical' ? 'bad' : 'warn'} data-severity={x.severity} data-source={x.source}>
                      <strong>{t[`severity.${x.severity}`]}</strong> [{alarmSource(view, x.source)}] {x.message}
                    </li>
                  ))}
                </ul>
              )
            }
          </Card>
          <Card v={view} title={t['dash.connected']} id="connected" data={clients} wide>
            {(list) => (
              <table>
                <thead>
                  <tr>
                    <th>{t['dash.client']}</th>
                    <th>{t['dash.system']}</th>
                    <th>{t['dash.role']}</th>
                    <th>{t['dash.listener']}</th>
                    <th>{t['dash.since']}</th>
                  </tr>
                </thead>
                <tbody>
                  {list.length === 0 ? (
                    <tr>
                      <td colspan={5} class="muted">
                        {t['dash.noneConnected']}
                      </td>
                    </tr>
                  ) : (
                    list.map((k) => (
                      <tr data-client={k.clientId}>
                        <td>{k.clientId}</td>
                        <td>{k.systemId ?? '—'}</td>
                        <td>{k.role ?? '—'}</td>
                        <td>{k.listener ?? '—'}</td>
                        <td class="time">{time.time(k.connectedAt)}</td>
                      </tr>
                    ))
                  )}
                </tbody>
                {systems.state === 'ok' ? (
                  <caption class="muted">{t['dash.connectedCaption'](list.length, systems.value.filter((x) => x.enabled).length)}</caption>
                ) : null}
              </table>
            )}
          </Card>
          <Card v={view} title={t['dash.rates']} id="rates" data={rates} wide>
            {(b) => <RateChart v={view} buckets={b} />}
          </Card>
          <Card v={view} title={t['dash.queues']} id="queues" data={queues} wide>
            {(q) => (
              <table>
                <thead>
                  <tr>
                    <th>{t['queues.queue']}</th>
                    <th>{t['queues.depth']}</th>
                    <th>{t['queues.oldest']}</th>
                    <th>{t['queues.deadLetters']}</th>
                  </tr>
                </thead>
                <tbody>
                  {q.length === 0 ? <NoneRow text={t.none} cols={4} /> : null}
                  {q.map((x) => (
                    <tr data-queue={x.name}>
                      <td>
                        <a href={`/queues/${encodeURIComponent(x.name)}`}>{x.name}</a>
                      </td>
                      <td>{x.depth}</td>
                      <td>{ago(view, x.oldestAgeMs)}</td>
                      <td class={x.deadLetters > 0 ? 'warn' : ''}>{x.deadLetters}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          {queues.state === 'ok' ? <QueueDepthCharts v={view} queues={queues.value} history={v(depth)} /> : null}
          <Card v={view} title={t['dash.certs']} id="certs" data={certs} wide>
            {(list) => (
              <table>
                <thead>
                  <tr>
                    <th>{t['dash.certificate']}</th>
                    <th>{t['dash.notAfter']}</th>
                    <th>{t['dash.days']}</th>
                  </tr>
                </thead>
                <tbody>
                  {list.length === 0 ? <NoneRow text={t.none} cols={3} /> : null}
                  {list.map((x) => (
                    <tr>
                      <td title={x.subject} class="any">
                        {x.label}
                      </td>
                      <td class="time">{time.time(x.notAfter)}</td>
                      <td class={x.daysLeft < 7 ? 'bad' : x.daysLeft < 30 ? 'warn' : ''}>{x.daysLeft}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Card v={view} title={t['dash.links']} id="links" data={links} wide>
            {(l) =>
              l.length === 0 ? (
                <p class="muted">{t['dash.noLink']}</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>{t['dash.link']}</th>
                      <th>{t['dash.state']}</th>
                      <th>{t['dash.queued']}</th>
                      <th>{t['dash.oldest']}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {l.length === 0 ? <NoneRow text={t.none} cols={4} /> : null}
                    {l.map((x) => (
                      <tr data-link={x.name}>
                        <td>{x.name}</td>
                        <td class={x.connected ? 'ok' : 'bad'}>
                          {x.state && x.since ? (
                            <span data-state={x.connected ? 'up' : 'down'}>{linkDetail(view, x)}</span>
                          ) : (
                            <>
                              <span data-state={x.connected ? 'up' : 'down'}>{x.connected ? t['link.up'] : t['link.down']}</span>{' '}
                              <span class="muted">{linkDetail(view, x)}</span>
                            </>
                          )}
                        </td>
                        <td>{x.queueDepth ?? '—'}</td>
                        <td>{x.queueDepth ? ago(view, x.oldestAgeMs) : '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )
            }
          </Card>
          {cluster ? (
            <Card v={view} title={t['dash.cluster']} id="cluster" data={cluster} wide>
              {(k) => (
                <div>
                  <p data-role={k.role}>
                    {t['dash.clusterNode'](k.nodeId, t[`cluster.role.${k.role}`])} — {t['dash.clusterApplied'](k.applied, k.lag)}
                    {k.log ? <span class="muted"> {t['dash.clusterLog'](k.log.entries, bytes(k.log.bytes))}</span> : null}
                  </p>
                  <table>
                    <thead>
                      <tr>
                        <th>{t['dash.clusterMember']}</th>
                        <th>{t['dash.state']}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {k.members.length === 0 ? <NoneRow text={t.none} cols={2} /> : null}
                      {k.members.map((m) => (
                        <tr data-member={m.endpoint}>
                          <td>{m.endpoint}</td>
                          <td class={m.healthy ? 'ok' : 'bad'}>
                            {m.healthy ? t['link.up'] : t['link.down']} <span class="muted">{m.detail}</span>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </Card>
          ) : null}
          <Card v={view} title={t['dash.token']} id="token" data={token}>
            {(k) => (
              <p>
                <span class={k.ready ? 'badge ok' : 'badge bad'} data-ready={String(k.ready)}>
                  {k.ready ? t['token.ready'] : t['token.notReady']}
                </span>{' '}
                {k.kind} — {tokenDetailText(t, (at) => view.time.time(at), k)}
                {k.warning ? (
                  <span class="warn" data-warning={k.warningCode}>
                    {' '}
                    ({tokenWarningText(t, k)})
                  </span>
                ) : null}
              </p>
            )}
          </Card>
          <Card v={view} title={t['dash.disk']} id="disk" data={disk}>
            {(d) => (
              <div>
                <progress value={d.totalBytes - d.freeBytes} max={d.totalBytes}></progress>
                <p>
                  {t['dash.diskFree'](bytes(d.freeBytes), bytes(d.totalBytes))}{' '}
                  <span class="muted">{t['dash.diskLimit'](d.path, bytes(d.minFreeBytes))}</span>
                </p>
              </div>
            )}
          </Card>
        </div>
      </Layout>,
    );
  });
}
