// The services' metrics (--metric NAME) as charts under the HTML timeline, one per series, on the
// same time axis: the x geometry (TIMELINE_X) is the timeline charts' in render-html.ts (a test
// checks that the same second lands on the same x in both), so a CPU spike sits right under the
// gap it goes with.
import type { RunReport } from './report.ts';
import { esc, legend, niceMax, polyline, TIMELINE_X } from './render-shared.ts';
import type { MetricSeries } from './server-metrics.ts';

const { W, L, R } = TIMELINE_X;
const H = 120;
const T = 14;
const B = 22;
const COLOR = '#1f8a8a';

function fmt(v: number): string {
  const a = Math.abs(v);
  return a >= 1e9 ? `${(v / 1e9).toFixed(1)}G` : a >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : a >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : a >= 10 ? v.toFixed(0) : a >= 1 ? v.toFixed(1) : v.toFixed(3);
}

function describe(s: MetricSeries): string {
  const unit = s.unit === '' ? '' : ` (${s.unit}${s.kind === 'rate' ? '/s' : ''})`;
  return `${s.name} · ${s.service}${unit}${s.kind === 'mean' ? ', mean' : ''}`;
}

function chart(s: MetricSeries, seconds: number): string {
  const n = Math.max(1, seconds);
  const x = (second: number): number => L + ((second + 0.5) / n) * (W - L - R);
  const max = niceMax(Math.max(...s.points.map((p) => p.value), 0));
  const y = (v: number): number => T + (H - T - B) * (1 - v / max);
  const ticks = [0, 0.5, 1]
    .map((f) => `<line x1="${L}" x2="${W - R}" y1="${y(f * max)}" y2="${y(f * max)}" class="grid"/><text x="${L - 6}" y="${y(f * max) + 4}" text-anchor="end">${fmt(f * max)}</text>`)
    .join('');
  const visible = s.points.filter((p) => p.second < n);
  const dots = visible
    .map((p) => `<circle cx="${x(p.second).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="1.8" fill="${COLOR}"><title>${p.second}s: ${esc(fmt(p.value))}</title></circle>`)
    .join('');
  return `<svg class="chart server-metric" data-metric="${esc(s.name)}" data-service="${esc(s.service)}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(describe(s))} per second">
${ticks}<text x="${L}" y="10" class="axis-label">${esc(describe(s))}</text>
${polyline(visible.map((p) => [x(p.second), y(p.value)] as [number, number]), COLOR, describe(s))}${dots}
</svg>`;
}

export function serverMetricCharts(run: RunReport): string {
  if (run.serverMetrics.length === 0) return '';
  return `<div class="server-metrics">${run.serverMetrics.map((s) => chart(s, run.timeline.length)).join('')}${legend([[COLOR, 'server metrics (--metric), per second on the same time axis; each point is the services\' last report in that second']])}</div>`;
}
