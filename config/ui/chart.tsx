// Message-rate chart as server-rendered SVG: no script, no external asset.
import type { RateBucket } from './services.js';

const W = 640, H = 180, PAD_L = 40, PAD_B = 22, PAD_T = 10;

export function RateChart(props: { buckets: RateBucket[] }) {
  const b = props.buckets;
  const max = Math.max(1, ...b.map((x) => Math.max(x.inbound, x.outbound)));
  const n = Math.max(b.length - 1, 1);
  const x = (i: number) => PAD_L + (i * (W - PAD_L - 8)) / n;
  const y = (v: number) => PAD_T + (H - PAD_T - PAD_B) * (1 - v / max);
  const line = (k: 'inbound' | 'outbound') => b.map((p, i) => `${x(i).toFixed(1)},${y(p[k]).toFixed(1)}`).join(' ');
  const total = (k: 'inbound' | 'outbound') => b.reduce((s, p) => s + p[k], 0);
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`messages per minute over the last hour: ${total('inbound')} in, ${total('outbound')} out`} id="rate-chart">
      <line x1={PAD_L} y1={y(0)} x2={W - 8} y2={y(0)} stroke="#aab6c2" />
      <line x1={PAD_L} y1={PAD_T} x2={PAD_L} y2={y(0)} stroke="#aab6c2" />
      <text x={PAD_L - 4} y={PAD_T + 8} text-anchor="end">{max}</text>
      <text x={PAD_L - 4} y={y(0)} text-anchor="end">0</text>
      <text x={PAD_L} y={H - 6}>−60 min</text>
      <text x={W - 8} y={H - 6} text-anchor="end">now</text>
      <polyline points={line('inbound')} fill="none" stroke="#0b5cad" stroke-width="2" />
      <polyline points={line('outbound')} fill="none" stroke="#1b7f3b" stroke-width="2" stroke-dasharray="5 3" />
      <text x={W - 150} y={PAD_T + 8} fill="#0b5cad">— in {total('inbound')}</text>
      <text x={W - 80} y={PAD_T + 8} fill="#1b7f3b">- - out {total('outbound')}</text>
    </svg>
  );
}
