// HTML output: one self-contained file — inline CSS and SVG charts drawn here, no script, no
// network. Per run: the headline figures, the per-second timeline, the distributions per endpoint,
// where the gap went, and a waterfall of each trace with the largest gaps (root span with its
// connection phases, the server span, its downstream children) on the generator's clock.
// Every string that came from a span (names, services, run ids) is untrusted and goes through esc().
import { explainedByOffset, offsetNote, residualNote, type EndpointReport, type RunReport, type Waterfall } from './analyze.ts';
import { findingsHtml } from './render-findings.ts';
import type { ComparedReport } from './compare.ts';
import { comparisonHtml } from './render-comparison.ts';
import { serverMetricCharts } from './render-metrics.ts';
import { basisLabel, PART_NAMES, type GapParts } from './gap-breakdown.ts';
import { odditySentences, PART_LABELS } from './sentences.ts';
import { esc, legend, niceMax, polyline } from './render-shared.ts';
import type { TimelinePoint } from './timeline.ts';


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


function timelineChart(points: TimelinePoint[]): string {
  const W = 920;
  const H = 260;
  const L = 56;
  const R = 56;
  const T = 24;
  const B = 32;
  const n = Math.max(1, points.length);
  const x = (i: number): number => L + ((i + 0.5) / n) * (W - L - R);
  const maxMs = niceMax(Math.max(...points.map((p) => Math.max(p.clientP99 ?? 0, p.serverP99 ?? 0, p.gapP99 ?? 0)), 0.001));
  const maxReq = niceMax(Math.max(...points.map((p) => p.requests), 1));
  // The right axis counts users: those the generator reported, and the requests in flight derived
  // from the spans (the ramp shows from the first second even when no users metric came).
  const maxUsers = niceMax(Math.max(...points.map((p) => Math.max(p.users ?? 0, p.inFlight)), 1));
  const y = (v: number, max: number): number => T + (H - T - B) * (1 - v / max);
  const bw = Math.max(1, ((W - L - R) / n) * 0.8);
  const bars = points
    .map((p, i) =>
      p.requests === 0
        ? ''
        : `<rect class="req-bar" x="${(x(i) - bw / 2).toFixed(1)}" y="${y(p.requests, maxReq).toFixed(1)}" width="${bw.toFixed(1)}" height="${(H - B - y(p.requests, maxReq)).toFixed(1)}" fill="${COLORS.requests}"><title>${esc(p.time)}: ${p.requests} requests, ${p.errors} errors</title></rect>`,
    )
    .join('');
  // Seconds with no value (null: no request, or no matched server span) leave the line out there.
  const seriesOf = (f: (p: TimelinePoint) => number | null): Array<[number, number]> =>
    points.flatMap((p, i) => {
      const v = f(p);
      return v === null ? [] : [[x(i), y(v, maxMs)] as [number, number]];
    });
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<line x1="${L}" x2="${W - R}" y1="${y(f * maxMs, maxMs)}" y2="${y(f * maxMs, maxMs)}" class="grid"/><text x="${L - 6}" y="${y(f * maxMs, maxMs) + 4}" text-anchor="end">${fmt(f * maxMs)}</text><text x="${W - R + 6}" y="${y(f * maxMs, maxMs) + 4}">${Math.round(f * maxUsers)}</text>`)
    .join('');
  const step = Math.max(1, Math.ceil(n / 10));
  const xticks = points
    .filter((_, i) => i % step === 0)
    .map((p) => `<text x="${x(p.second)}" y="${H - B + 16}" text-anchor="middle">${p.second}s</text>`)
    .join('');
  const users =
    polyline(points.flatMap((p, i) => (p.users === null ? [] : [[x(i), y(p.users, maxUsers)] as [number, number]])), COLORS.users, 'active users', '4 3') +
    polyline(points.map((p, i) => [x(i), y(p.inFlight, maxUsers)] as [number, number]), COLORS.users, 'requests in flight (from spans)', '1 2');
  return `<svg class="chart timeline" viewBox="0 0 ${W} ${H}" role="img" aria-label="per-second timeline">
${ticks}${xticks}
<text x="${L - 6}" y="10" text-anchor="end" class="axis-label">ms</text><text x="${W - R + 6}" y="10" class="axis-label">users</text>
${bars}
${polyline(seriesOf((p) => p.clientP99), COLORS.client, 'client p99', '5 3')}
${polyline(seriesOf((p) => p.clientP50), COLORS.client, 'client p50')}
${polyline(seriesOf((p) => p.serverP50), COLORS.server, 'server p50')}
${polyline(seriesOf((p) => p.gapP99), COLORS.gap, 'gap p99', '5 3')}
${polyline(seriesOf((p) => p.gapP50), COLORS.gap, 'gap p50')}
${users}
</svg>${legend([
    [COLORS.requests, 'requests per second (bars)'],
    [COLORS.client, 'client p50 / p99 (dashed)'],
    [COLORS.server, 'server p50'],
    [COLORS.gap, 'gap p50 / p99 (dashed)'],
    [COLORS.users, 'active users reported (dashed) / requests in flight from the spans (dotted), right axis'],
  ])}`;
}

/** Per endpoint: client, server and gap as p50 bars with whiskers to p90 and p99. */
function distributionChart(endpoints: EndpointReport[]): string {
  const rowH = 18;
  const groupH = rowH * 3 + 14;
  const L = 220;
  const W = 920;
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
        `<text x="${L - 8}" y="${top + rowH * 1.5 + 4}" text-anchor="end" class="ep-name">${esc(truncate(ep.name, 32))}<title>${esc(ep.name)}</title></text>` +
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
  const L = 220;
  const W = 920;
  const R = 150; // room for the total and its basis right of the bar
  const rowH = 24;
  const H = 24 + rowH * endpoints.length;
  const max = niceMax(Math.max(...endpoints.map((e) => PART_NAMES.reduce((a, p) => a + Math.max(0, e.phasesMs?.[p] ?? 0), 0)), 0.001));
  const x = (v: number): number => (v / max) * (W - L - R);
  const rows = endpoints
    .map((ep, i) => {
      const yy = 20 + i * rowH;
      const phases = ep.phasesMs;
      if (phases === null) return `<text x="${L - 8}" y="${yy + 13}" text-anchor="end" class="ep-name">${esc(truncate(ep.name, 32))}</text><text x="${L + 4}" y="${yy + 13}" class="small no-data">no data: no matched server span to split the gap by</text>`;
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
      return `<text x="${L - 8}" y="${yy + 13}" text-anchor="end" class="ep-name">${esc(truncate(ep.name, 32))}</text>${segs}<text x="${at + 4}" y="${yy + 13}" class="small">${fmt(phases.gap)} ms${esc(basis)}</text>`;
    })
    .join('');
  return `<svg class="chart breakdown" viewBox="0 0 ${W} ${H}" role="img" aria-label="where the gap went">${rows}</svg>${legend(
    PART_NAMES.map((p) => [PART_COLORS[p], PART_LABELS[p]] as [string, string]),
  )}`;
}

const PHASE_COLORS: Record<string, string> = {
  blocked: PART_COLORS.poolWait,
  dns: PART_COLORS.connectionSetup,
  connect: PART_COLORS.connectionSetup,
  tls: PART_COLORS.connectionSetup,
  sending: PART_COLORS.sending,
  waiting: '#d4dbe8',
  receiving: PART_COLORS.download,
};

function waterfallChart(w: Waterfall): string {
  const L = 300;
  const W = 920;
  const R = 70;
  const rowH = 22;
  const rows = w.spans.length + (w.phases.length > 0 ? 1 : 0);
  const H = 26 + rowH * rows;
  const minStart = Math.min(0, ...w.spans.map((s) => s.startMs));
  const maxEnd = Math.max(w.clientMs, ...w.spans.map((s) => s.startMs + s.durationMs));
  const span = Math.max(maxEnd - minStart, 0.001);
  const x = (v: number): number => L + ((v - minStart) / span) * (W - L - R);
  let row = 0;
  const out: string[] = [];
  const rowY = (): number => 20 + row * rowH;
  for (const s of w.spans) {
    const yy = rowY();
    const color = s.kind === 'client' ? COLORS.client : s.kind === 'server' ? COLORS.server : '#7f8c8d';
    const label = `${'  '.repeat(s.depth)}${s.service} · ${s.name}`;
    const offset = s.offsetMs !== 0 ? ` (clock offset ${fmt(s.offsetMs)} ms removed)` : '';
    out.push(
      `<g class="wf-span" data-kind="${s.kind}"><text x="${8 + s.depth * 12}" y="${yy + 14}" class="span-name">${esc(truncate(label.trim(), 44 - s.depth))}<title>${esc(s.service)} · ${esc(s.name)}</title></text>` +
        `<rect x="${x(s.startMs).toFixed(1)}" y="${yy + 3}" width="${Math.max(1, x(s.startMs + s.durationMs) - x(s.startMs)).toFixed(1)}" height="${rowH - 8}" fill="${color}"${s.error ? ' stroke="#c0392b" stroke-width="2"' : ''}><title>${esc(s.kind)} ${esc(s.name)}: starts at ${fmt(s.startMs)} ms, lasts ${fmt(s.durationMs)} ms${esc(offset)}</title></rect>` +
        `<text x="${x(s.startMs + s.durationMs) + 4}" y="${yy + 14}" class="small">${fmt(s.durationMs)} ms</text></g>`,
    );
    row++;
    if (s.depth === 0 && w.phases.length > 0) {
      const py = rowY();
      out.push(`<text x="20" y="${py + 14}" class="span-name phase-label">connection phases</text>`);
      for (const p of w.phases) {
        if (p.durationMs <= 0) continue;
        out.push(
          `<rect class="wf-phase" data-phase="${p.name}" x="${x(p.startMs).toFixed(1)}" y="${py + 5}" width="${Math.max(1, x(p.startMs + p.durationMs) - x(p.startMs)).toFixed(1)}" height="${rowH - 12}" fill="${PHASE_COLORS[p.name] ?? '#999'}"><title>${p.name}: ${fmt(p.durationMs)} ms</title></rect>`,
        );
      }
      row++;
    }
  }
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = minStart + f * span;
      return `<line x1="${x(v)}" x2="${x(v)}" y1="14" y2="${H}" class="grid"/><text x="${x(v)}" y="10" text-anchor="middle">${fmt(v)} ms</text>`;
    })
    .join('');
  return `<svg class="chart waterfall" viewBox="0 0 ${W} ${H}" role="img" aria-label="waterfall of trace ${esc(w.traceId)}">${ticks}${out.join('')}</svg>`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}

function endpointTable(run: RunReport): string {
  const head = ['Endpoint', 'Count', 'Coverage', 'Errors', 'Client p50', 'Client p99', 'Server p50', 'Server p99', 'Gap p50', 'Gap p90', 'Gap p99', 'Gap max', 'Explained'];
  const row = (ep: EndpointReport, cls = ''): string =>
    `<tr class="${cls}"><td>${esc(ep.name)}</td><td>${ep.count}</td><td>${(ep.propagationCoverage * 100).toFixed(1)}%</td><td>${ep.errors}</td><td>${fmt(ep.clientMs.p50)}</td><td>${fmt(ep.clientMs.p99)}</td><td>${fmt(ep.serverMs?.p50)}</td><td>${fmt(ep.serverMs?.p99)}</td><td>${fmt(ep.gapMs?.p50)}</td><td>${fmt(ep.gapMs?.p90)}</td><td>${fmt(ep.gapMs?.p99)}</td><td>${fmt(ep.gapMs?.max)}</td><td>${ep.phasesMs === null ? '–' : `${(ep.phasesMs.explainedShare * 100).toFixed(0)}%${ep.phasesMs.basis === 'measured' ? '' : ` (${esc(basisLabel(ep.phasesMs))})`}`}</td></tr>`;
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${run.endpoints.map((e) => row(e)).join('')}${row(run.total, 'total')}</tbody></table>`;
}

/** What a new connection costs: the gap of connection-opening requests next to reused ones. */
function connectionTable(run: RunReport): string {
  const split = (ep: EndpointReport): number => (ep.gapByConnection === null ? 0 : ep.gapByConnection.opened.count + ep.gapByConnection.reused.count);
  if (split(run.total) === 0) return '';
  const cells = (c: { count: number; gapMs: EndpointReport['gapMs'] } | undefined): string =>
    c === undefined ? '<td>–</td><td>–</td><td>–</td><td>–</td>' : `<td>${c.count}</td><td>${fmt(c.gapMs?.p50)}</td><td>${fmt(c.gapMs?.p99)}</td><td>${fmt(c.gapMs?.mean)}</td>`;
  const row = (ep: EndpointReport, cls = ''): string => `<tr class="${cls}"><td>${esc(ep.name)}</td>${cells(ep.gapByConnection?.opened)}${cells(ep.gapByConnection?.reused)}</tr>`;
  const head = ['Endpoint', 'Opened', 'Gap p50', 'Gap p99', 'Gap mean', 'Reused', 'Gap p50', 'Gap p99', 'Gap mean'];
  const rows = run.endpoints.filter((ep) => split(ep) > 0).map((ep) => row(ep));
  return `<h3>Gap by connection <small>requests that opened a connection vs those that reused one, ms</small></h3><table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}${row(run.total, 'total')}</tbody></table>`;
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
        `<tr class="tail" data-tail="${label}"><td>${esc(ep.name)}</td><td>${label}</td><td>${Math.round(t?.pairs ?? 0)}</td><td>${fmt(t?.gap)}</td>${PART_NAMES.map((p) => `<td>${fmt(t?.[p])}</td>`).join('')}</tr>`,
    ),
  );
  return `<h3>The tail <small>where the gap of the slowest 10% and 1% of requests (by gap) went, mean ms over them</small></h3><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function runSection(run: RunReport, index: number): string {
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
<div class="card"><b>${fmt(t.gapMs?.p50)} ms</b><span>gap p50</span></div>
<div class="card"><b>${fmt(t.gapMs?.p99)} ms</b><span>gap p99</span></div>
<div class="card"><b>${fmt(t.clientMs.p99)} ms</b><span>client p99</span></div>
<div class="card"><b>${fmt(t.serverMs?.p99)} ms</b><span>server p99</span></div>
<div class="card"><b>${(run.propagationCoverage * 100).toFixed(1)}%</b><span>propagation coverage (${run.matched}/${run.rootSpans})</span></div>
<div class="card"><b>${run.backgroundServerSpans}</b><span>background server spans (kept apart)</span></div>
${run.cutOff > 0 ? `<div class="card cut-off"><b>${run.cutOff}</b><span>requests cut off by the end of the run (no response; in no figure)</span></div>` : ''}
</div>
${findingsHtml(run.findings)}
<h3>Timeline</h3>${timelineChart(run.timeline)}${serverMetricCharts(run)}
<h3>Endpoints</h3>${endpointTable(run)}
<h3>Distributions</h3>${distributionChart([...run.endpoints, run.total])}
<h3>Where the gap went <small>mean per request; the parts add up to the mean gap</small></h3>${breakdownChart([...run.endpoints, run.total])}
${tailTable(run)}
${connectionTable(run)}
${offsets ? `<h3>Clock offsets</h3><ul>${offsets}</ul>${offsetNoteHtml}` : ''}
${bg.count > 0 ? `<h3>Background traffic</h3><p>${bg.count} server spans in the run's window from no load-test trace, not in the figures above: ${bg.services.map((s) => `${esc(s.service)} ${s.count}`).join(', ')}; server p50 ${fmt(bg.serverMs.p50)} ms, p99 ${fmt(bg.serverMs.p99)} ms; most common: ${bg.topNames.slice(0, 5).map((n) => `${esc(n.name)} (${n.count})`).join(', ')}.</p>` : ''}
${odd ? `<h3>Odd data</h3><ul>${odd}</ul>` : ''}
<h3>Traces with the largest gaps</h3>
${run.slowestTraces.length === 0 ? '<p>No matched pairs.</p>' : run.slowestTraces.map((w) => `<figure class="trace"><figcaption><b>${esc(w.endpoint)}</b> gap ${fmt(w.gapMs)} ms = client ${fmt(w.clientMs)} ms − server ${fmt(w.serverMs)} ms · trace <code>${esc(w.traceId)}</code></figcaption>${waterfallChart(w)}</figure>`).join('\n')}
${legend([
  [COLORS.client, 'client span'],
  [COLORS.server, 'server span'],
  ['#7f8c8d', 'other span'],
  ...Object.entries({ blocked: 'pool wait', connect: 'dns / connect / tls', sending: 'sending', waiting: 'waiting (server + network)', receiving: 'download' }).map(
    ([k, l]) => [PHASE_COLORS[k] as string, l] as [string, string],
  ),
])}
</section>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:16px 28px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#b8c0d0}
main{padding:8px 28px 40px;max-width:1000px}
section.run{background:#fff;border:1px solid #e1e5ec;border-radius:8px;padding:8px 20px 20px;margin:20px 0}
h2 small,h3 small{font-weight:normal;color:#667}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #e1e5ec;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}.card span{color:#667;font-size:12px}
svg.chart{width:100%;height:auto;display:block;background:#fff}
svg text{font-size:11px;fill:#445}svg .small{font-size:10px;fill:#556}svg .axis-label{font-weight:bold}
svg .grid{stroke:#e6e9ef;stroke-width:1}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:#445;margin:4px 0 10px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-2px;border-radius:2px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #eef0f4;text-align:right}
th:first-child,td:first-child{text-align:left;word-break:break-all}tr.total td{font-weight:bold;border-top:2px solid #ccd}
figure.trace{margin:12px 0;border:1px solid #eef0f4;border-radius:6px;padding:6px}figcaption{font-size:13px;margin-bottom:4px}
.note{font-size:12px;color:#667;margin:0}code{font-size:12px}
.summary{font-size:15px;border-left:4px solid #3b6fd8;padding:2px 12px;margin:8px 0}.summary p{margin:4px 0}
.warning{color:#a1231b;background:#fdecea;border:1px solid #f5c2bd;border-radius:6px;padding:8px 12px}svg .no-data{fill:#a1231b}
`;

export function renderHtml(report: ComparedReport): string {
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
${report.runs.map(runSection).join('\n')}
${report.otherClientTraffic.length === 0 ? '' : `<p class="note other-traffic">Other client traffic (trace-root CLIENT spans from services that are no load generator; not runs, not in any figure): ${report.otherClientTraffic.map((o) => `${esc(o.service)} ${o.rootSpans}`).join(', ')}. Name a service with --service to analyse it as a load test.</p>`}
</main></body></html>
`;
}
