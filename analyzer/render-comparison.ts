// A run against its baseline (compare.ts) as text after the table, as CSV rows, and as an HTML
// section with the two runs side by side. Significant changes are listed first; endpoints without
// one get a single line, so noise does not bury what changed.
import { significantChanges, type Comparison, type EndpointComparison, type MetricChange } from './compare.ts';
import { csvField } from './render-csv.ts';
import { esc, printable } from './render-shared.ts';

function ms(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function signedMs(v: number): string {
  return `${v >= 0 ? '+' : ''}${ms(v)}`;
}

function pctText(v: number | null): string {
  return v === null ? '–' : `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;
}

function pText(c: MetricChange): string {
  return c.pValue === null ? '–' : c.pValue < 1e-4 ? '<1e-4' : c.pValue.toFixed(4);
}

function heading(c: Comparison): string {
  return `Run ${c.run.label} against baseline ${c.baseline.label} (${c.baseline.start}${c.baseline.databases.length > 0 ? `, ${c.baseline.databases.join(', ')}` : ''})`;
}

function endpointLines(ep: EndpointComparison): string[] {
  if (ep.onlyIn !== null) return [`  ${printable(ep.name)}: only in the ${ep.onlyIn} (${ep.onlyIn === 'run' ? ep.runCount : ep.baselineCount} requests)`];
  const sig = ep.changes.filter((c) => c.significant);
  if (sig.length === 0) return [`  ${printable(ep.name)}: no significant change (${ep.baselineCount} → ${ep.runCount} requests)`];
  const rows = sig.map((c) => [c.metric, ms(c.baselineMs), ms(c.runMs), signedMs(c.changeMs), pctText(c.changePct), pText(c)]);
  const header = ['Metric', 'Baseline', 'Run', 'Change ms', 'Change', 'p'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `    ${cells.map((x, i) => (i === 0 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0))).join('  ')}`;
  return [`  ${printable(ep.name)} (${ep.baselineCount} → ${ep.runCount} requests):`, line(header), ...rows.map(line)];
}

export function comparisonText(c: Comparison): string {
  const sig = significantChanges(c);
  const lines = [
    `${heading(c)}:`,
    sig.length === 0
      ? `  no significant change (family-wise alpha ${c.alpha}, Holm-corrected; percentiles: difference over its order-statistic standard error, means and parts: Mann-Whitney U)`
      : `  ${sig.length} significant change${sig.length === 1 ? '' : 's'} (family-wise alpha ${c.alpha}, Holm-corrected):`,
    ...c.endpoints.flatMap(endpointLines),
  ];
  return `\n${lines.join('\n')}\n`;
}

export const COMPARISON_CSV_COLUMNS = ['run', 'baseline', 'endpoint', 'metric', 'baseline_ms', 'run_ms', 'change_ms', 'change_pct', 'test', 'p_value', 'significant'];

export function comparisonCsv(c: Comparison): string {
  const lines = [COMPARISON_CSV_COLUMNS.join(',')];
  for (const ep of c.endpoints) {
    for (const x of ep.changes) {
      lines.push(
        [c.run.label, c.baseline.label, ep.name, x.metric, x.baselineMs, x.runMs, x.changeMs, x.changePct, x.test, x.pValue, x.significant ? 'true' : 'false']
          .map(csvField)
          .join(','),
      );
    }
  }
  return lines.join('\r\n') + '\r\n';
}

/** Baseline and run side by side, one table per endpoint, significant rows marked. */
export function comparisonHtml(c: Comparison): string {
  const sig = significantChanges(c);
  const tables = c.endpoints
    .map((ep) => {
      if (ep.onlyIn !== null) return `<h4>${esc(ep.name)}</h4><p>Only in the ${ep.onlyIn}.</p>`;
      const max = Math.max(...ep.changes.map((x) => Math.max(x.baselineMs, x.runMs)), 0.001);
      const bar = (v: number, cls: string): string => `<span class="cmp-bar ${cls}" style="width:${((v / max) * 120).toFixed(1)}px"></span>`;
      const rows = ep.changes
        .map(
          (x) =>
            `<tr class="${x.significant ? 'significant' : ''}" data-metric="${esc(x.metric)}"><td>${esc(x.metric)}</td><td>${ms(x.baselineMs)} ${bar(x.baselineMs, 'base')}</td><td>${ms(x.runMs)} ${bar(x.runMs, 'run')}</td><td>${signedMs(x.changeMs)}</td><td>${pctText(x.changePct)}</td><td>${pText(x)}</td><td>${x.significant ? 'significant' : x.pValue === null ? 'untested' : 'noise'}</td></tr>`,
        )
        .join('');
      return `<h4>${esc(ep.name)} <small>${ep.baselineCount} → ${ep.runCount} requests</small></h4><table class="comparison"><thead><tr><th>Metric (ms)</th><th>Baseline ${esc(c.baseline.label)}</th><th>Run ${esc(c.run.label)}</th><th>Change</th><th>Change %</th><th>p</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
    })
    .join('');
  const summary =
    sig.length === 0
      ? '<p>No significant change.</p>'
      : `<ul>${sig.map((s) => `<li><code>${esc(s.endpoint)}</code> ${esc(s.change.metric)}: ${ms(s.change.baselineMs)} → ${ms(s.change.runMs)} ms (${esc(signedMs(s.change.changeMs))} ms, ${esc(pctText(s.change.changePct))})</li>`).join('')}</ul>`;
  return `<section class="run comparison" id="comparison">
<h2>${esc(heading(c))}</h2>
<p class="note">Significant: beyond noise at a family-wise alpha of ${c.alpha} (Holm-corrected over every test here). Percentiles: their difference against its distribution-free standard error, from all requests; means and gap parts: Mann-Whitney U on up to 1,024 sampled requests per endpoint.</p>
${summary}${tables}
<style>.cmp-bar{display:inline-block;height:8px;vertical-align:middle;border-radius:2px}.cmp-bar.base{background:#9aa6bd}.cmp-bar.run{background:#d8583b}tr.significant td{background:#fff3e8;font-weight:bold}</style>
</section>`;
}
