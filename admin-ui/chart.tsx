// Message-rate chart as server-rendered SVG: no script, no external asset. The time axis is in the
// UI's time zone, like every other time on the pages.
import type { View } from './context.js';
import type { RateBucket } from './services.js';

const W = 640,
  H = 190,
  PAD_L = 40,
  PAD_B = 30,
  PAD_T = 10;

export function RateChart(props: { v: View; buckets: RateBucket[] }) {
  const { t, time } = props.v;
  const b = props.buckets;
  const max = Math.max(1, ...b.map((x) => Math.max(x.inbound, x.outbound)));
  const n = Math.max(b.length - 1, 1);
  const x = (i: number) => PAD_L + (i * (W - PAD_L - 8)) / n;
  const y = (v: number) => PAD_T + (H - PAD_T - PAD_B) * (1 - v / max);
  const line = (k: 'inbound' | 'outbound') => b.map((p, i) => `${x(i).toFixed(1)},${y(p[k]).toFixed(1)}`).join(' ');
  const total = (k: 'inbound' | 'outbound') => b.reduce((s, p) => s + p[k], 0);
  // A tick every 15 minutes of the hour shown (the first, three between, the last).
  const ticks = b.length > 1 ? [0, 1, 2, 3, 4].map((q) => Math.round((q * (b.length - 1)) / 4)) : [];
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={t['chart.label'](total('inbound'), total('outbound'))}
      id="rate-chart"
    >
      <line x1={PAD_L} y1={y(0)} x2={W - 8} y2={y(0)} stroke="#aab6c2" />
      <line x1={PAD_L} y1={PAD_T} x2={PAD_L} y2={y(0)} stroke="#aab6c2" />
      <text x={PAD_L - 4} y={PAD_T + 8} text-anchor="end">
        {max}
      </text>
      <text x={PAD_L - 4} y={y(0)} text-anchor="end">
        0
      </text>
      {ticks.map((i, k) => (
        <g>
          <line x1={x(i)} y1={y(0)} x2={x(i)} y2={y(0) + 4} stroke="#aab6c2" />
          <text
            x={x(i)}
            y={y(0) + 15}
            text-anchor={k === 0 ? 'start' : k === ticks.length - 1 ? 'end' : 'middle'}
            data-tick-ms={String(b[i]!.startMs)}
          >
            {time.clock(b[i]!.startMs)}
          </text>
        </g>
      ))}
      {b.length > 0 ? (
        <text x={W - 8} y={H - 3} text-anchor="end" id="rate-chart-zone">
          {time.zoneLabel(b[b.length - 1]!.startMs)}
        </text>
      ) : null}
      <polyline points={line('inbound')} fill="none" stroke="#0b5cad" stroke-width="2" />
      <polyline points={line('outbound')} fill="none" stroke="#1b7f3b" stroke-width="2" stroke-dasharray="5 3" />
      <text x={W - 170} y={PAD_T + 8} fill="#0b5cad">
        — {t['chart.in']} {total('inbound')}
      </text>
      <text x={W - 90} y={PAD_T + 8} fill="#1b7f3b">
        - - {t['chart.out']} {total('outbound')}
      </text>
    </svg>
  );
}
