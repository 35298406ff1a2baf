// Depth of each uplink queue over the last hour, as server-rendered SVG (no script): the samples the
// running appliance takes (admin-ui/adapters/queueDepth.ts), with the live depth as the last point.
// Its words are in the message catalogues (depth.*), its time axis in the UI's time zone.
import type { View } from './context.js';
import { ago } from './layout.js';
import type { DepthSample, QueueDepthHistory, QueueSummary } from './services.js';

const W = 640,
  H = 120,
  PAD_L = 40,
  PAD_B = 20,
  PAD_T = 8;

function QueueDepthChart(props: { v: View; name: string; samples: DepthSample[]; depth: number; windowMs: number; nowMs: number }) {
  const { t, time } = props.v;
  const points = [...props.samples, { atMs: props.nowMs, depth: props.depth }];
  const max = Math.max(...points.map((p) => p.depth));
  const top = Math.max(1, max);
  const from = props.nowMs - props.windowMs;
  const x = (at: number) => PAD_L + (Math.max(0, at - from) * (W - PAD_L - 8)) / props.windowMs;
  const y = (v: number) => PAD_T + (H - PAD_T - PAD_B) * (1 - v / top);
  const line = points.map((p) => `${x(p.atMs).toFixed(1)},${y(p.depth).toFixed(1)}`).join(' ');
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={t['depth.chart'](props.name, props.depth, max)}
      data-depth-chart={props.name}
      data-samples={props.samples.length}
      data-depths={props.samples.map((s) => s.depth).join(',')}
      data-now-depth={props.depth}
      data-max={max}
    >
      <line x1={PAD_L} y1={y(0)} x2={W - 8} y2={y(0)} stroke="#aab6c2" />
      <line x1={PAD_L} y1={PAD_T} x2={PAD_L} y2={y(0)} stroke="#aab6c2" />
      <text x={PAD_L - 4} y={PAD_T + 8} text-anchor="end">
        {top}
      </text>
      <text x={PAD_L - 4} y={y(0)} text-anchor="end">
        0
      </text>
      <text x={PAD_L} y={H - 4} data-tick-ms={String(from)}>
        {time.clock(from)}
      </text>
      <text x={W - 8} y={H - 4} text-anchor="end" data-tick-ms={String(props.nowMs)}>
        {time.clock(props.nowMs)} {time.zoneLabel(props.nowMs)}
      </text>
      <polyline points={line} fill="none" stroke="#0b5cad" stroke-width="2" />
      {points.map((p) => (
        <circle cx={x(p.atMs).toFixed(1)} cy={y(p.depth).toFixed(1)} r="2" fill="#0b5cad" />
      ))}
    </svg>
  );
}

/** One chart per link, with its live figures; nothing when the build has no depth history. */
export function QueueDepthCharts(props: { v: View; queues: QueueSummary[]; history: QueueDepthHistory | undefined; nowMs?: number }) {
  const h = props.history;
  if (!h) return null;
  const nowMs = props.nowMs ?? Date.now();
  const t = props.v.t;
  return (
    <section class="card wide" id="queue-depth" data-sample-ms={h.intervalMs} data-window-ms={h.windowMs}>
      <h2>{t['depth.title']}</h2>
      <p class="muted">{t['depth.note'](Math.round(h.intervalMs / 1000), Math.round(h.windowMs / 60_000))}</p>
      <div class="depth-charts">
        {props.queues.map((q) => {
          const samples = h.links[q.name] ?? [];
          const max = Math.max(q.depth, ...samples.map((s) => s.depth));
          return (
            <figure data-link={q.name} data-depth={q.depth} data-oldest-ms={q.oldestAgeMs ?? ''} data-dead-letters={q.deadLetters}>
              <figcaption>
                <a href={`/queues/${encodeURIComponent(q.name)}`}>{q.name}</a>{' '}
                <span class="muted">{t['depth.caption'](q.depth, max, ago(props.v, q.oldestAgeMs), q.deadLetters)}</span>
              </figcaption>
              <QueueDepthChart v={props.v} name={q.name} samples={samples} depth={q.depth} windowMs={h.windowMs} nowMs={nowMs} />
            </figure>
          );
        })}
      </div>
    </section>
  );
}
