// HTML output: one self-contained file — inline CSS and SVG charts drawn here, no script, no
// network. Per run: the headline figures, the per-second timeline, the distributions per endpoint,
// where the gap went, and a waterfall of each trace with the largest gaps (root span with its
// connection phases, the server span, its downstream children) on the generator's clock; a click
// on a span opens its details (CSS :target, still no script).
// Every string that came from a span (names, services, run ids) is untrusted and goes through esc().
// Names never break inside a word: in tables they may wrap only after '/' or '?' (nameHtml), and
// the charts make their label column as wide as the longest name needs.
import type { ThresholdResult } from './thresholds.ts';
import { explainedByOffset, offsetNote, residualNote, type EndpointReport, type RunReport, type Waterfall, type WaterfallSpan } from './report.ts';
import { findingsHtml } from './render-findings.ts';
import type { ComparedReport } from './compare.ts';
import { comparisonHtml } from './render-comparison.ts';
import { serverMetricCharts } from './render-metrics.ts';
import { basisLabel, PART_NAMES, type GapParts } from './gap-breakdown.ts';
import { odditySentences, PART_LABELS } from './sentences.ts';
import { esc, legend, niceMax, polyline, TIMELINE_X } from './render-shared.ts';
import type { TimelinePoint } from './timeline.ts';

/** A name as HTML that may wrap after '/' or '?' (a <wbr>) and nowhere else. */
export function nameHtml(text: string): string {
  return text
    .split(/(?<=[/?])/)
    .map(esc)
    .join('<wbr>');
}

/** Approximate width in the charts' 11 px font of a label, for sizing the label column. */
const CHAR_PX = 6.6;
/** Labels longer than this are shortened at a '/' boundary (never inside a word). */
const MAX_LABEL_CHARS = 60;

/** A label that fits MAX_LABEL_CHARS: whole trailing path segments after a leading '…'. */
export function shortLabel(text: string, max = MAX_LABEL_CHARS): string {
  if (text.length <= max) return text;
  const parts = text.split(/(?<=[/?])/);
  let out = '';
  for (let i = parts.length - 1; i >= 0; i--) {
    const next = (parts[i] as string) + out;
    if (next.length + 1 > max && out !== '') break;
    out = next;
  }
  return out.length + 1 <= max ? `…${out}` : `${text.slice(0, text.lastIndexOf(' ', max - 1) > 0 ? text.lastIndexOf(' ', max - 1) : max - 1)}…`;
}

function labelColumn(names: string[]): number {
  const longest = Math.max(8, ...names.map((n) => shortLabel(n).length));
  return Math.round(Math.min(MAX_LABEL_CHARS * CHAR_PX, longest * CHAR_PX) + 16);
}

/** A figure with its unit, or '–' alone when it has no data. */
function withMs(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${fmt(v)} ms`;
}

/** A figure with no data behind it (null) shows as '–', never as 0. */
function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

const COLORS = {
  client: '#3b6fd8',
  server: '#2e9d5b',
  gap: '#d8583b',
  users: '#8a55c4',
  requests: '#c9d3e6',
  errors: '#e05a5a',
};

const PART_COLORS: Record<keyof GapParts, string> = {
  poolWait: '#b07aa1',
  connectionSetup: '#e15759',
  sending: '#f28e2b',
  beforeServer: '#edc948',
  betweenAttempts: '#9c755f',
  afterServer: '#76b7b2',
  download: '#4e79a7',
  unexplained: '#bab0ac',
};

/** Seconds-since-start labels under a chart, about ten of them. */
function secondTicks(points: TimelinePoint[], x: (i: number) => number, y: number): string {
  const step = Math.max(1, Math.ceil(points.length / 10));
  return points
    .map((p, i) => (i % step === 0 ? `<text x="${x(i).toFixed(1)}" y="${y}" text-anchor="middle">${p.second}s</text>` : ''))
    .join('');
}

/** Throughput: requests per second as bars (left axis), failed ones red, active users (right axis). */
function throughputChart(points: TimelinePoint[]): string {
  const { W, L, R } = TIMELINE_X;
  const H = 220;
  const T = 24;
  const B = 40;
  const n = Math.max(1, points.length);
  const x = (i: number): number => L + ((i + 0.5) / n) * (W - L - R);
  const maxReq = niceMax(Math.max(...points.map((p) => p.requests), 1));
  // The right axis counts users: those the generator reported, and the requests in flight derived
  // from the spans (the ramp shows from the first second even when no users metric came).
  const hasUsers = points.length > 0;
  const maxUsers = niceMax(Math.max(...points.map((p) => Math.max(p.users ?? 0, p.inFlight)), 1));
  const y = (v: number, max: number): number => T + (H - T - B) * (1 - v / max);
  const bw = Math.max(1, ((W - L - R) / n) * 0.8);
  const bar = (i: number, v: number, cls: string, fill: string, title: string): string =>
    v <= 0 ? '' : `<rect class="${cls}" x="${(x(i) - bw / 2).toFixed(1)}" y="${y(v, maxReq).toFixed(1)}" width="${bw.toFixed(1)}" height="${(H - B - y(v, maxReq)).toFixed(1)}" fill="${fill}"><title>${title}</title></rect>`;
  const bars = points
    .map((p, i) => bar(i, p.requests, 'req-bar', COLORS.requests, `${esc(p.time)}: ${p.requests} requests, ${p.errors} failed`) + bar(i, p.errors, 'err-bar', COLORS.errors, `${esc(p.time)}: ${p.errors} failed`))
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<line x1="${L}" x2="${W - R}" y1="${y(f * maxReq, maxReq)}" y2="${y(f * maxReq, maxReq)}" class="grid"/><text x="${L - 6}" y="${y(f * maxReq, maxReq) + 4}" text-anchor="end">${fmt(f * maxReq)}</text>` +
        (hasUsers ? `<text x="${W - R + 6}" y="${y(f * maxUsers, maxUsers) + 4}">${Number((f * maxUsers).toFixed(maxUsers < 4 ? 2 : 0))}</text>` : ''),
    )
    .join('');
  const users =
    polyline(points.flatMap((p, i) => (p.users === null ? [] : [[x(i), y(p.users, maxUsers)] as [number, number]])), COLORS.users, 'active users', '', 2) +
    polyline(points.map((p, i) => [x(i), y(p.inFlight, maxUsers)] as [number, number]), COLORS.users, 'requests in flight (from spans)', '1 2');
  return `<svg class="chart timeline throughput" viewBox="0 0 ${W} ${H}" role="img" aria-label="requests per second and users">
${ticks}${secondTicks(points, x, H - B + 16)}<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle" class="axis-label">seconds since the run started</text>
<text x="${L - 6}" y="12" text-anchor="end" class="axis-label">req/s</text>${hasUsers ? `<text x="${W - R + 6}" y="12" class="axis-label">users</text>` : ''}
${bars}${users}
</svg>${legend([
    [COLORS.requests, 'requests per second (left axis)'],
    [COLORS.errors, 'failed requests per second'],
    [COLORS.users, 'active users reported (solid) / requests in flight from the spans (dotted), right axis'],
  ])}`;
}

/** Log-scale ticks (1-2-5 per decade when there are few decades) covering [min, max] ms. */
function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const steps = hi - lo <= 3 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let e = lo; e <= hi; e++) for (const m of steps) out.push(m * 10 ** e);
  return out.filter((v) => v >= 10 ** lo && v <= 10 ** hi);
}

/** Latency over time on a log scale, so p50 stays readable beside p99; each line labelled at its end. */
function latencyChart(points: TimelinePoint[], title: string, series: Array<{ label: string; color: string; dash: string; width: number; value: (p: TimelinePoint) => number | null }>): string {
  const { W, L } = TIMELINE_X;
  const H = 260;
  // Room right of the lines for their end labels (the timeline's own labels fit TIMELINE_X.R).
  const R = Math.max(TIMELINE_X.R, Math.min(340, 16 + CHAR_PX * Math.max(0, ...series.map((s) => s.label.length))));
  const T = 24;
  const B = 40;
  const n = Math.max(1, points.length);
  const x = (i: number): number => L + ((i + 0.5) / n) * (W - L - R);
  const values = points.flatMap((p) => (p.requests > 0 ? series.map((s) => s.value(p)).filter((v): v is number => v !== null && v > 0) : []));
  const min = Math.max(0.001, Math.min(...values, 1));
  const max = Math.max(...values, min * 10);
  const ticks = logTicks(min, max);
  const lo = Math.log10(ticks[0] as number);
  const hi = Math.log10(ticks[ticks.length - 1] as number);
  const y = (v: number): number => T + (H - T - B) * (1 - (Math.log10(Math.max(v, 10 ** lo)) - lo) / Math.max(hi - lo, 1e-9));
  const grid = ticks.map((v) => `<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/><text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`).join('');
  const drawn = series.map((s) => {
    const pts = points.flatMap((p, i) => {
      const v = s.value(p);
      return p.requests > 0 && v !== null && v > 0 ? [[x(i), y(v)] as [number, number]] : [];
    });
    return { s, pts, last: pts[pts.length - 1] };
  });
  // End labels pushed apart so that lines ending close together stay readable.
  const labelled = drawn.filter((d) => d.last !== undefined).sort((a, b) => (a.last as [number, number])[1] - (b.last as [number, number])[1]);
  let prev = -Infinity;
  const labelY = new Map<string, number>();
  for (const d of labelled) {
    const at = Math.max((d.last as [number, number])[1] + 4, prev + 12);
    labelY.set(d.s.label, at);
    prev = at;
  }
  const lines = drawn
    .map(({ s, pts, last }) => polyline(pts, s.color, s.label, s.dash, s.width) + (last === undefined ? '' : `<text x="${(last[0] + 6).toFixed(1)}" y="${(labelY.get(s.label) ?? last[1]).toFixed(1)}" class="end-label" fill="${s.color}">${esc(s.label)}</text>`))
    .join('');
  return `<svg class="chart timeline latency" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
${grid}${secondTicks(points, x, H - B + 16)}<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle" class="axis-label">seconds since the run started</text>
<text x="${L - 6}" y="12" text-anchor="end" class="axis-label">ms (log)</text>
${lines}
</svg>${legend(series.map((s) => [s.color, `${s.label}${s.dash ? ' (dashed)' : ''}`] as [string, string]))}`;
}

const ENDPOINT_COLORS = ['#3b6fd8', '#d8583b', '#2e9d5b', '#8a55c4', '#b8860b', '#17a2b8', '#e377c2', '#555f6d'];
/** Endpoints drawn in the per-endpoint chart: the busiest ones. */
const MAX_ENDPOINT_LINES = 8;

/** Client p95 of each endpoint per second (the busiest endpoints), on the timeline's log scale. */
function endpointsOverTimeChart(run: RunReport): string {
  const busiest = [...run.endpoints].filter((ep) => ep.clientOverTime.length > 0).sort((a, b) => b.count - a.count).slice(0, MAX_ENDPOINT_LINES);
  if (busiest.length === 0) return '';
  const more = run.endpoints.length - busiest.length;
  return (
    `<h3>Response time per endpoint <small>client p95 per second, ms${more > 0 ? `; the ${busiest.length} busiest endpoints (${more} more in the tables)` : ''}</small></h3>` +
    latencyChart(
      run.timeline,
      'client p95 per endpoint per second',
      busiest.map((ep, i) => {
        const at = new Map(ep.clientOverTime.map((p) => [p.second, p]));
        return { label: shortLabel(ep.name, 44), color: ENDPOINT_COLORS[i % ENDPOINT_COLORS.length] as string, dash: i >= 4 ? '6 3' : '', width: 1.8, value: (p: TimelinePoint) => at.get(p.second)?.p95 ?? null };
      }),
    )
  );
}

function timelineChart(points: TimelinePoint[]): string {
  return (
    throughputChart(points) +
    latencyChart(points, 'client, server and gap percentiles per second', [
      { label: 'client p50', color: COLORS.client, dash: '', width: 2, value: (p) => p.clientP50 },
      { label: 'client p99', color: COLORS.client, dash: '2 3', width: 1.4, value: (p) => p.clientP99 },
      { label: 'server p50', color: COLORS.server, dash: '', width: 2, value: (p) => p.serverP50 },
      { label: 'gap p50', color: COLORS.gap, dash: '', width: 2.6, value: (p) => p.gapP50 },
      { label: 'gap p99', color: COLORS.gap, dash: '9 4', width: 1.6, value: (p) => p.gapP99 },
    ])
  );
}

/** Per endpoint: client, server and gap as p50 bars with whiskers to p90 and p99. */
function distributionChart(endpoints: EndpointReport[]): string {
  const rowH = 18;
  const groupH = rowH * 3 + 14;
  const L = labelColumn(endpoints.map((e) => e.name));
  const W = 1200;
  const R = 130; // room for the labels right of the p99 ticks
  const H = 28 + groupH * endpoints.length;
  const max = niceMax(Math.max(...endpoints.map((e) => Math.max(e.clientMs.p99, e.serverMs?.p99 ?? 0, e.gapMs?.p99 ?? 0)), 0.001));
  const x = (v: number): number => L + (v / max) * (W - L - R);
  const rows = endpoints
    .map((ep, g) => {
      const top = 20 + g * groupH;
      const metrics: Array<[string, string, EndpointReport['clientMs'] | null]> = [
        ['client', COLORS.client, ep.clientMs],
        ['server', COLORS.server, ep.serverMs],
        ['gap', COLORS.gap, ep.gapMs],
      ];
      return (
        `<text x="${L - 8}" y="${top + rowH * 1.5 + 4}" text-anchor="end" class="ep-name">${esc(shortLabel(ep.name))}<title>${esc(ep.name)}</title></text>` +
        metrics
          .map(([label, color, s], i) => {
            const yy = top + i * rowH;
            if (s === null) return `<text x="${L + 4}" y="${yy + rowH - 5}" class="small no-data">${label}: no data (no matched server span)</text>`;
            return `<rect class="dist-bar" x="${L}" y="${yy + 3}" width="${Math.max(0.5, x(s.p50) - L).toFixed(1)}" height="${rowH - 6}" fill="${color}"><title>${esc(ep.name)} ${label}: p50 ${fmt(s.p50)} ms, p90 ${fmt(s.p90)} ms, p99 ${fmt(s.p99)} ms, max ${fmt(s.max)} ms</title></rect>
<line x1="${x(s.p50)}" x2="${x(s.p99)}" y1="${yy + rowH / 2}" y2="${yy + rowH / 2}" stroke="${color}" stroke-width="1.5"/>
<line x1="${x(s.p90)}" x2="${x(s.p90)}" y1="${yy + 4}" y2="${yy + rowH - 4}" stroke="${color}" stroke-width="2"/>
<line x1="${x(s.p99)}" x2="${x(s.p99)}" y1="${yy + 2}" y2="${yy + rowH - 2}" stroke="${color}" stroke-width="2"/>
<text x="${x(s.p99) + 6}" y="${yy + rowH - 5}" class="small">${label} ${fmt(s.p50)} / ${fmt(s.p99)}</text>`;
          })
          .join('')
      );
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<line x1="${x(f * max)}" x2="${x(f * max)}" y1="14" y2="${H - 4}" class="grid"/><text x="${x(f * max)}" y="10" text-anchor="middle">${fmt(f * max)} ms</text>`)
    .join('');
  return `<svg class="chart distribution" viewBox="0 0 ${W} ${H}" role="img" aria-label="latency distributions per endpoint">${ticks}${rows}</svg>${legend([
    [COLORS.client, 'client'],
    [COLORS.server, 'server'],
    [COLORS.gap, 'gap'],
  ])}<p class="note">Bar: p50. Ticks: p90 and p99.</p>`;
}

/** Stacked bars of the mean gap's parts per endpoint. */
function breakdownChart(endpoints: EndpointReport[]): string {
  const L = labelColumn(endpoints.map((e) => e.name));
  const W = 1200;
  const R = 150; // room for the total and its basis right of the bar
  const rowH = 24;
  const H = 24 + rowH * endpoints.length;
  const max = niceMax(Math.max(...endpoints.map((e) => PART_NAMES.reduce((a, p) => a + Math.max(0, e.phasesMs?.[p] ?? 0), 0)), 0.001));
  const x = (v: number): number => (v / max) * (W - L - R);
  const rows = endpoints
    .map((ep, i) => {
      const yy = 20 + i * rowH;
      const name = `<text x="${L - 8}" y="${yy + 13}" text-anchor="end" class="ep-name">${esc(shortLabel(ep.name))}<title>${esc(ep.name)}</title></text>`;
      const phases = ep.phasesMs;
      if (phases === null) return `${name}<text x="${L + 4}" y="${yy + 13}" class="small no-data">no data: no matched server span to split the gap by</text>`;
      let at = L;
      const segs = PART_NAMES.map((p) => {
        const v = Math.max(0, phases[p]);
        if (v === 0) return '';
        const w = x(v);
        const seg = `<rect class="part" data-part="${p}" x="${at.toFixed(1)}" y="${yy}" width="${Math.max(0.5, w).toFixed(1)}" height="${rowH - 6}" fill="${PART_COLORS[p]}"><title>${esc(ep.name)}: ${PART_LABELS[p]} ${fmt(v)} ms</title></rect>`;
        at += w;
        return seg;
      }).join('');
      const basis = phases.basis === 'measured' ? '' : ` (${basisLabel(phases)})`;
      return `${name}${segs}<text x="${at + 4}" y="${yy + 13}" class="small">${fmt(phases.gap)} ms${esc(basis)}</text>`;
    })
    .join('');
  return `<svg class="chart breakdown" viewBox="0 0 ${W} ${H}" role="img" aria-label="where the gap went">${rows}</svg>${legend(
    PART_NAMES.map((p) => [PART_COLORS[p], PART_LABELS[p]] as [string, string]),
  )}`;
}

const PHASE_COLORS: Record<string, string> = {
  blocked: PART_COLORS.poolWait,
  dns: '#c44e52',
  connect: PART_COLORS.connectionSetup,
  tls: '#ff9d9a',
  sending: PART_COLORS.sending,
  waiting: '#c7cfdc',
  receiving: PART_COLORS.download,
};

const PHASE_LABELS: Record<string, string> = {
  blocked: 'pool wait',
  dns: 'dns',
  connect: 'connect',
  tls: 'tls',
  sending: 'sending',
  waiting: 'waiting (server + network)',
  receiving: 'download',
};

/** The hatch that marks the gap: the stretches of the client span outside its server span. */
const GAP_PATTERN = `<defs><pattern id="gap-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbe3dc"/><line x1="0" y1="0" x2="0" y2="6" stroke="${COLORS.gap}" stroke-width="2"/></pattern></defs>`;

/** One trace: rows of spans on the generator's clock, the root's connection phases (labelled),
 *  the gap marked, and a detail panel per span that a click opens (`id` keeps anchors unique). */
function waterfallChart(w: Waterfall, id: string): string {
  const W = 1200;
  const L = labelColumn(w.spans.map((s) => `${'  '.repeat(s.depth)}${s.service} · ${s.name}`)) + 24;
  // Room right of the bars for the gap's figures ('49.1 + 5.30 ms', about 80 px in the 11 px font).
  const R = 100;
  const rowH = 22;
  const server = w.spans.find((s) => s.depth === 1 && s.kind === 'server');
  const root = w.spans.find((s) => s.depth === 0);
  const rows = w.spans.length + (w.phases.length > 0 ? 1 : 0) + (server !== undefined && root !== undefined ? 1 : 0);
  const H = 26 + rowH * rows;
  const minStart = Math.min(0, ...w.spans.map((s) => s.startMs));
  const maxEnd = Math.max(w.clientMs, ...w.spans.map((s) => s.startMs + s.durationMs));
  const span = Math.max(maxEnd - minStart, 0.001);
  const x = (v: number): number => L + ((v - minStart) / span) * (W - L - R);
  let row = 0;
  const out: string[] = [];
  const rowY = (): number => 20 + row * rowH;
  w.spans.forEach((s, i) => {
    const yy = rowY();
    const color = s.kind === 'client' ? COLORS.client : s.kind === 'server' ? COLORS.server : '#7f8c8d';
    const label = `${s.service} · ${s.name}`;
    const offset = s.offsetMs !== 0 ? ` (clock offset ${fmt(s.offsetMs)} ms removed)` : '';
    out.push(
      `<a href="#${id}-s${i}" class="wf-link"><g class="wf-span" data-kind="${s.kind}"><text x="${8 + s.depth * 12}" y="${yy + 14}" class="span-name">${esc(shortLabel(label, Math.floor((L - 16 - s.depth * 12) / CHAR_PX)))}<title>${esc(label)}: click for details</title></text>` +
        `<rect x="${x(s.startMs).toFixed(1)}" y="${yy + 3}" width="${Math.max(1, x(s.startMs + s.durationMs) - x(s.startMs)).toFixed(1)}" height="${rowH - 8}" fill="${color}"${s.error ? ' stroke="#c0392b" stroke-width="2"' : ''}><title>${esc(s.kind)} ${esc(s.name)}: starts at ${fmt(s.startMs)} ms, lasts ${fmt(s.durationMs)} ms${esc(offset)} · click for details</title></rect>` +
        `<text x="${x(s.startMs + s.durationMs) + 4}" y="${yy + 14}" class="small">${fmt(s.durationMs)} ms</text></g></a>`,
    );
    row++;
    if (s.depth === 0 && w.phases.length > 0) {
      const py = rowY();
      out.push(`<text x="20" y="${py + 14}" class="span-name phase-label">connection phases</text>`);
      for (const p of w.phases) {
        if (p.durationMs <= 0) continue;
        const x0 = x(p.startMs);
        const width = Math.max(1, x(p.startMs + p.durationMs) - x0);
        const name = PHASE_LABELS[p.name] ?? p.name;
        const short = p.name === 'waiting' ? 'waiting' : name;
        out.push(
          `<rect class="wf-phase" data-phase="${esc(p.name)}" x="${x0.toFixed(1)}" y="${py + 4}" width="${width.toFixed(1)}" height="${rowH - 8}" fill="${PHASE_COLORS[p.name] ?? '#999'}"><title>${esc(name)}: ${fmt(p.durationMs)} ms</title></rect>` +
            // The phase's name on it when it fits; the list under the chart has them all.
            (width >= short.length * 6 + 8 ? `<text x="${(x0 + 4).toFixed(1)}" y="${py + 14}" class="phase-text">${esc(short)}</text>` : ''),
        );
      }
      row++;
    }
  });
  if (server !== undefined && root !== undefined) {
    const gy = rowY();
    const before = server.startMs - root.startMs;
    const after = root.startMs + root.durationMs - (server.startMs + server.durationMs);
    out.push(`<text x="20" y="${gy + 14}" class="span-name gap-label">the gap</text>`);
    const mark = (from: number, ms: number, what: string): string =>
      ms <= 0
        ? ''
        : `<rect class="wf-gap" x="${x(from).toFixed(1)}" y="${gy + 3}" width="${Math.max(1, x(from + ms) - x(from)).toFixed(1)}" height="${rowH - 8}" fill="url(#gap-hatch)" stroke="${COLORS.gap}" stroke-width="1"><title>gap ${what} the server span: ${fmt(ms)} ms</title></rect>`;
    out.push(mark(root.startMs, before, 'before'), mark(server.startMs + server.durationMs, after, 'after'));
    out.push(`<text x="${(x(root.startMs + root.durationMs) + 4).toFixed(1)}" y="${gy + 14}" class="small">${fmt(Math.max(0, before))} + ${fmt(Math.max(0, after))} ms</text>`);
    row++;
  }
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = minStart + f * span;
      return `<line x1="${x(v)}" x2="${x(v)}" y1="14" y2="${H}" class="grid"/><text x="${x(v)}" y="10" text-anchor="middle">${fmt(v)} ms</text>`;
    })
    .join('');
  const phaseList = w.phases.length === 0 ? '' : `<p class="note phases">connection phases: ${w.phases.map((p) => `${esc(PHASE_LABELS[p.name] ?? p.name)} ${fmt(p.durationMs)} ms`).join(' · ')}</p>`;
  return `<svg class="chart waterfall" viewBox="0 0 ${W} ${H}" role="img" aria-label="waterfall of trace ${esc(w.traceId)}">${GAP_PATTERN}${ticks}${out.join('')}</svg>${phaseList}${w.spans.map((s, i) => spanDetail(s, `${id}-s${i}`)).join('')}`;
}

/** The panel a click on a span opens (shown by CSS :target): status, timing, attributes, events. */
function spanDetail(s: WaterfallSpan, id: string): string {
  const rows = (attrs: Record<string, string>): string =>
    Object.entries(attrs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `<tr><th>${nameHtml(k)}</th><td>${esc(v)}</td></tr>`)
      .join('');
  const attributes = s.attributes ?? {};
  const events = s.events ?? [];
  return `<div class="span-detail" id="${id}"><a class="close" href="#_" title="close">×</a>
<h4>${esc(s.kind)} span · ${esc(s.service)} · ${nameHtml(s.name)}</h4>
<p>starts at ${fmt(s.startMs)} ms, lasts ${fmt(s.durationMs)} ms${s.offsetMs !== 0 ? ` (clock offset ${fmt(s.offsetMs)} ms removed)` : ''} · status ${s.error ? '<b class="bad">error</b>' : 'ok'}${s.statusMessage ? `: ${esc(s.statusMessage)}` : ''} · span <code>${esc(s.spanId)}</code></p>
${Object.keys(attributes).length === 0 ? '<p class="note">no attributes</p>' : `<table class="attrs"><tbody>${rows(attributes)}</tbody></table>`}
${events.length === 0 ? '' : `<h5>Events</h5><ul>${events.map((e) => `<li>${esc(e.name)}${e.atMs === null ? '' : ` at +${fmt(e.atMs)} ms`}${Object.keys(e.attributes).length === 0 ? '' : ` <table class="attrs"><tbody>${rows(e.attributes)}</tbody></table>`}</li>`).join('')}</ul>`}
</div>`;
}

function endpointTable(run: RunReport): string {
  const head = ['Endpoint', 'Count', 'Coverage', 'Errors', 'Client p50', 'Client p95', 'Client p99', 'Server p50', 'Server p99', 'Gap p50', 'Gap p90', 'Gap p99', 'Gap max', 'Explained'];
  const row = (ep: EndpointReport, cls = ''): string =>
    `<tr class="${cls}"><td class="name">${nameHtml(ep.name)}</td><td>${ep.count}</td><td>${(ep.propagationCoverage * 100).toFixed(1)}%</td><td>${ep.errors}</td><td>${fmt(ep.clientMs.p50)}</td><td>${fmt(ep.clientMs.p95)}</td><td>${fmt(ep.clientMs.p99)}</td><td>${fmt(ep.serverMs?.p50)}</td><td>${fmt(ep.serverMs?.p99)}</td><td>${fmt(ep.gapMs?.p50)}</td><td>${fmt(ep.gapMs?.p90)}</td><td>${fmt(ep.gapMs?.p99)}</td><td>${fmt(ep.gapMs?.max)}</td><td>${ep.phasesMs === null ? '–' : `${(ep.phasesMs.explainedShare * 100).toFixed(0)}%${ep.phasesMs.basis === 'measured' ? '' : ` (${esc(basisLabel(ep.phasesMs))})`}`}</td></tr>`;
  return `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${run.endpoints.map((e) => row(e)).join('')}${row(run.total, 'total')}</tbody></table></div>`;
}

/** Failed requests (client spans with status ERROR) by endpoint and message, most first. */
function failuresTable(run: RunReport): string {
  if (run.total.errors === 0) return '<h3>Failures</h3><p class="note">No request failed.</p>';
  const byName = new Map(run.endpoints.map((ep) => [ep.name, ep]));
  const rows = (run.failures ?? [])
    .map((f) => {
      const ep = byName.get(f.endpoint);
      return `<tr><td class="name">${nameHtml(f.endpoint)}</td><td class="name message">${esc(f.message)}</td><td>${f.count}</td><td>${ep === undefined || ep.count === 0 ? '–' : `${((f.count / ep.count) * 100).toFixed(1)}%`}</td></tr>`;
    })
    .join('');
  return `<h3>Failures <small>${run.total.errors} failed requests (${(run.total.errorRate * 100).toFixed(1)}%): client spans with status ERROR, by endpoint and message</small></h3><div class="scroll"><table><thead><tr><th>Endpoint</th><th>Message</th><th>Occurrences</th><th>Of the endpoint's requests</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** The --assert / --min-coverage results for this run, ✓ or ✗ each. */
function thresholdsTable(run: RunReport, results: ThresholdResult[]): string {
  const mine = results.filter((r) => r.run === run.label);
  if (mine.length === 0) return '';
  const rows = mine
    .map(
      (r) =>
        `<tr class="${r.ok ? 'ok' : 'breach'}"><td class="verdict">${r.ok ? '✓' : '✗'}</td><td class="name"><code>${esc(r.threshold.source)}</code></td><td class="name">${nameHtml(r.endpoint)}</td><td>${r.actual === null ? 'no data' : r.threshold.kind === 'ratio' ? r.actual.toFixed(4) : `${fmt(r.actual)} ms`}</td></tr>`,
    )
    .join('');
  const failed = mine.filter((r) => !r.ok).length;
  return `<h3>Thresholds <small>${failed === 0 ? 'all passed' : `${failed} of ${mine.length} breached`}</small></h3><div class="scroll"><table class="thresholds"><thead><tr><th></th><th>Threshold</th><th>Endpoint</th><th>Actual</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** What a new connection costs: the gap of connection-opening requests next to reused ones. */
function connectionTable(run: RunReport): string {
  const split = (ep: EndpointReport): number => (ep.gapByConnection === null ? 0 : ep.gapByConnection.opened.count + ep.gapByConnection.reused.count);
  if (split(run.total) === 0) return '';
  const cells = (c: { count: number; gapMs: EndpointReport['gapMs'] } | undefined): string =>
    c === undefined ? '<td>–</td><td>–</td><td>–</td><td>–</td>' : `<td>${c.count}</td><td>${fmt(c.gapMs?.p50)}</td><td>${fmt(c.gapMs?.p99)}</td><td>${fmt(c.gapMs?.mean)}</td>`;
  const row = (ep: EndpointReport, cls = ''): string => `<tr class="${cls}"><td class="name">${nameHtml(ep.name)}</td>${cells(ep.gapByConnection?.opened)}${cells(ep.gapByConnection?.reused)}</tr>`;
  const head = ['Endpoint', 'Opened', 'Gap p50', 'Gap p99', 'Gap mean', 'Reused', 'Gap p50', 'Gap p99', 'Gap mean'];
  const rows = run.endpoints.filter((ep) => split(ep) > 0).map((ep) => row(ep));
  return `<h3>Gap by connection <small>requests that opened a connection vs those that reused one, ms</small></h3><div class="scroll"><table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}${row(run.total, 'total')}</tbody></table></div>`;
}

/** The parts of the gap of the slowest 10% and 1% of each endpoint's requests, by gap. */
function tailTable(run: RunReport): string {
  const eps = run.endpoints.filter((ep) => ep.tailPhasesMs.slowest10 !== null);
  if (eps.length === 0) return '';
  const head = ['Endpoint', 'Slowest', 'Requests', 'Gap', ...PART_NAMES.map((p) => PART_LABELS[p])];
  const rows = eps.flatMap((ep) =>
    (
      [
        ['10%', ep.tailPhasesMs.slowest10],
        ['1%', ep.tailPhasesMs.slowest1],
      ] as const
    ).map(
      ([label, t]) =>
        `<tr class="tail" data-tail="${label}"><td class="name">${nameHtml(ep.name)}</td><td>${label}</td><td>${Math.round(t?.pairs ?? 0)}</td><td>${fmt(t?.gap)}</td>${PART_NAMES.map((p) => `<td>${fmt(t?.[p])}</td>`).join('')}</tr>`,
    ),
  );
  return `<h3>The tail <small>where the gap of the slowest 10% and 1% of requests (by gap) went, mean ms over them</small></h3><div class="scroll"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function runSection(run: RunReport, index: number, thresholds: ThresholdResult[]): string {
  const t = run.total;
  const offsets = run.clockOffsets
    .map((o) => {
      const residual = residualNote(o);
      return `<li>${esc(o.service)}: ${o.offsetMs >= 0 ? '+' : ''}${o.offsetMs.toFixed(3)} ms (from ${o.trusted} of ${o.samples} pairs, delay ≤ ${o.delayMs.toFixed(3)} ms, ${o.method})${residual === undefined ? '' : `; ${esc(residual)}`}</li>`;
    })
    .join('');
  const note = offsetNote(run);
  const offsetNoteHtml = offsets && note !== undefined ? `<p>${esc(note)}.</p>` : '';
  const odd = odditySentences(run, (name) => explainedByOffset(run, name))
    .map((o) => `<li data-oddity="${o.name}"><b>${o.name}: ${o.count}</b> — ${esc(o.text)}</li>`)
    .join('');
  const bg = run.background;
  return `<section class="run" id="run-${index}">
<h2>Run ${esc(run.label)} <small>${esc(run.service)} · ${esc(run.start)} → ${esc(run.end)} (${run.durationS.toFixed(1)} s)</small></h2>
${run.warnings.map((w) => `<p class="warning" data-warning="${w.code}">${esc(w.message)}</p>`).join('\n')}
${run.summary.length > 0 ? `<div class="summary">${run.summary.map((t) => `<p>${esc(t)}</p>`).join('')}</div>` : ''}
<div class="cards">
<div class="card"><b>${t.count}</b><span>requests (${fmt(t.count / Math.max(run.durationS, 1e-9))}/s)</span></div>
<div class="card${t.errors > 0 ? ' bad' : ''}"><b>${t.errors}</b><span>failed (${(t.errorRate * 100).toFixed(1)}%)</span></div>
<div class="card"><b>${t.count === 0 ? '–' : `${fmt(t.clientMs.p50)} / ${fmt(t.clientMs.p95)} ms`}</b><span>client p50 / p95</span></div>
<div class="card"><b>${t.count === 0 ? '–' : withMs(t.clientMs.p99)}</b><span>client p99</span></div>
<div class="card"><b>${withMs(t.serverMs?.p99)}</b><span>server p99</span></div>
<div class="card gap"><b>${withMs(t.gapMs?.p50)}</b><span>gap p50</span></div>
<div class="card gap"><b>${withMs(t.gapMs?.p99)}</b><span>gap p99</span></div>
<div class="card${run.propagationCoverage < 0.99 ? ' bad' : ''}"><b>${(run.propagationCoverage * 100).toFixed(1)}%</b><span>propagation coverage (${run.matched}/${run.rootSpans})</span></div>
<div class="card"><b>${run.backgroundServerSpans}</b><span>background server spans (kept apart)</span></div>
${run.cutOff > 0 ? `<div class="card cut-off"><b>${run.cutOff}</b><span>requests cut off by the end of the run (no response; in no figure)</span></div>` : ''}
</div>
${findingsHtml(run.findings)}
${thresholdsTable(run, thresholds)}
<h3>Timeline</h3>${timelineChart(run.timeline)}${serverMetricCharts(run)}
${endpointsOverTimeChart(run)}
<h3>Endpoints <small>ms</small></h3>${endpointTable(run)}
${failuresTable(run)}
<h3>Distributions</h3>${distributionChart([...run.endpoints, run.total])}
<h3>Where the gap went <small>mean per request; the parts add up to the mean gap</small></h3>${breakdownChart([...run.endpoints, run.total])}
${tailTable(run)}
${connectionTable(run)}
${offsets ? `<h3>Clock offsets</h3><ul>${offsets}</ul>${offsetNoteHtml}` : ''}
${bg.count > 0 ? `<h3>Background traffic</h3><p>${bg.count} server spans in the run's window from no load-test trace, not in the figures above: ${bg.services.map((s) => `${esc(s.service)} ${s.count}`).join(', ')}; server p50 ${fmt(bg.serverMs.p50)} ms, p99 ${fmt(bg.serverMs.p99)} ms; most common: ${bg.topNames.slice(0, 5).map((n) => `${esc(n.name)} (${n.count})`).join(', ')}.</p>` : ''}
${odd ? `<h3>Odd data</h3><ul>${odd}</ul>` : ''}
<h3>Traces with the largest gaps <small>the largest gaps, then the worst of each endpoint in turn; click a span (or its name) for its attributes, events and status, hover for timings</small></h3>
${run.slowestTraces.length === 0 ? '<p>No matched pairs.</p>' : run.slowestTraces.map((w, i) => `<figure class="trace"><figcaption><b>${nameHtml(w.endpoint)}</b> gap ${fmt(w.gapMs)} ms = client ${fmt(w.clientMs)} ms − server ${fmt(w.serverMs)} ms · trace <code>${esc(w.traceId)}</code></figcaption>${waterfallChart(w, `r${index}-t${i}`)}</figure>`).join('\n')}
${legend([
  [COLORS.client, 'client span'],
  [COLORS.server, 'server span'],
  ['#7f8c8d', 'other span'],
  ...Object.keys(PHASE_LABELS).map((k) => [PHASE_COLORS[k] as string, PHASE_LABELS[k] as string] as [string, string]),
])}<div class="legend"><span><i class="hatch"></i>the gap: the client span outside its server span (before + after)</span></div>
</section>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:16px 28px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#b8c0d0}
main{padding:8px 28px 40px;max-width:1680px}
section.run{background:#fff;border:1px solid #e1e5ec;border-radius:8px;padding:8px 20px 20px;margin:20px 0}
h2 small,h3 small{font-weight:normal;color:#667}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #e1e5ec;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px;white-space:nowrap}.card span{color:#667;font-size:12px}.card.bad{border-color:#e7a3a3;background:#fdf1f1}.card.gap b{color:#b8452a}
svg.chart{width:100%;height:auto;display:block;background:#fff}
svg text{font-size:11px;fill:#445}svg .small{font-size:10px;fill:#556}svg .axis-label{font-weight:bold}svg .end-label{font-size:11px;font-weight:bold}
svg .phase-text{font-size:10px;fill:#1d2330}svg .gap-label{fill:#b8452a;font-weight:bold}svg a.wf-link{cursor:pointer}svg a.wf-link:hover rect{opacity:.8}
svg .grid{stroke:#e6e9ef;stroke-width:1}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:#445;margin:4px 0 10px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-2px;border-radius:2px}
.legend i.hatch{background:repeating-linear-gradient(45deg,#fbe3dc 0 3px,#d8583b 3px 5px);border:1px solid #d8583b}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 7px;border-bottom:1px solid #eef0f4;text-align:right;white-space:nowrap}th{white-space:normal;vertical-align:bottom}
th:first-child,td:first-child{text-align:left}td.name{white-space:normal;word-break:normal;overflow-wrap:normal;min-width:16ch}td.message{text-align:left;min-width:24ch}
tr.total td{font-weight:bold;border-top:2px solid #ccd}
table.thresholds td.verdict{font-size:16px;font-weight:bold;width:2em;text-align:center}tr.ok td.verdict{color:#2e7d32}tr.breach td.verdict,tr.breach td{color:#b3261e}
figure.trace{margin:12px 0;border:1px solid #eef0f4;border-radius:6px;padding:6px}figcaption{font-size:13px;margin-bottom:4px}
.span-detail{display:none;border:1px solid #c9d3e6;border-left:4px solid #3b6fd8;border-radius:6px;padding:6px 12px;margin:6px 0;background:#f8faff;position:relative}
.span-detail:target{display:block}.span-detail h4{margin:2px 0}.span-detail h5{margin:6px 0 2px}.span-detail .close{position:absolute;right:10px;top:4px;text-decoration:none;font-size:18px;color:#667}
table.attrs{width:auto;font-size:12px}table.attrs th{text-align:left;font-weight:normal;color:#556;white-space:normal}table.attrs td{text-align:left;white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere}
.bad{color:#b3261e}.note{font-size:12px;color:#667;margin:0}code{font-size:12px}
.summary{font-size:15px;border-left:4px solid #3b6fd8;padding:2px 12px;margin:8px 0}.summary p{margin:4px 0}
.warning{color:#a1231b;background:#fdecea;border:1px solid #f5c2bd;border-radius:6px;padding:8px 12px}svg .no-data{fill:#a1231b}
`;

export interface HtmlOptions {
  /** The --assert / --min-coverage results, shown per run as ✓ / ✗. */
  thresholds?: ThresholdResult[];
}

export function renderHtml(report: ComparedReport, options: HtmlOptions = {}): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>firstspan report</title><style>${CSS}</style></head>
<body><header><h1>firstspan — where the time between the user and the server went</h1>
<p>${report.runs.length} run${report.runs.length === 1 ? '' : 's'} from ${report.databases.map((d) => esc(d)).join(', ')} · generated ${esc(report.generatedAt)}</p></header>
<main>
<p>gap = client span duration − server span duration, each on its own host's clock (free of clock offset). The split of the gap uses the clock offset estimated per server from the pairs with the least delay.</p>
${report.comparison === undefined ? '' : comparisonHtml(report.comparison)}
${report.runs.map((run, i) => runSection(run, i, options.thresholds ?? [])).join('\n')}
${report.otherClientTraffic.length === 0 ? '' : `<p class="note other-traffic">Other client traffic (trace-root CLIENT spans from services that are no load generator; not runs, not in any figure): ${report.otherClientTraffic.map((o) => `${esc(o.service)} ${o.rootSpans}`).join(', ')}. Name a service with --service to analyse it as a load test.</p>`}
</main></body></html>
`;
}
