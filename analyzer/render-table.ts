// The default, human output: per run a header, the endpoint table (client, server and gap), where
// the gap went, the clock offsets, background traffic and any odd data. Plain aligned text.
import { findingsText } from './render-findings.ts';
import { odditySentences } from './sentences.ts';
import { basisLabel, PART_NAMES, type GapParts } from './gap-breakdown.ts';
import { printable } from './render-shared.ts';
import { explainedByOffset, offsetNote, residualNote, type EndpointReport, type Report, type RunReport } from './report.ts';

/** A figure with no data behind it (null) prints as '–', never as 0. */
export const NO_DATA = '–';

function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return NO_DATA;
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

function table(header: string[], rows: string[][], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

function endpointRow(ep: EndpointReport): string[] {
  return [
    printable(ep.name),
    String(ep.count),
    pct(ep.propagationCoverage),
    String(ep.errors),
    ms(ep.clientMs.p50),
    ms(ep.clientMs.p99),
    ms(ep.serverMs?.p50),
    ms(ep.serverMs?.p99),
    ms(ep.gapMs?.p50),
    ms(ep.gapMs?.p90),
    ms(ep.gapMs?.p99),
    ms(ep.gapMs?.max),
    ms(ep.gapMs?.mean),
  ];
}

function breakdownRow(ep: EndpointReport): string[] {
  const p = ep.phasesMs;
  if (p === null) return [printable(ep.name), ...Array<string>(10).fill(NO_DATA), 'no pair to split'];
  return [
    printable(ep.name),
    ms(p.gap),
    ms(p.poolWait),
    ms(p.connectionSetup),
    ms(p.sending),
    ms(p.beforeServer),
    ms(p.betweenAttempts),
    ms(p.afterServer),
    ms(p.download),
    ms(p.unexplained),
    pct(p.explainedShare),
    basisLabel(p),
  ];
}

function connectionRow(ep: EndpointReport): string[] {
  if (ep.gapByConnection === null) return [printable(ep.name), ...Array<string>(8).fill(NO_DATA)];
  const { opened, reused } = ep.gapByConnection;
  const cells = (c: typeof opened): string[] => [String(c.count), ms(c.gapMs?.p50), ms(c.gapMs?.p99), ms(c.gapMs?.mean)];
  return [printable(ep.name), ...cells(opened), ...cells(reused)];
}

function connectionCount(ep: EndpointReport): number {
  return ep.gapByConnection === null ? 0 : ep.gapByConnection.opened.count + ep.gapByConnection.reused.count;
}

const PART_HEADERS: Record<keyof GapParts, string> = {
  poolWait: 'Pool wait',
  connectionSetup: 'Conn setup',
  sending: 'Sending',
  beforeServer: 'Before server',
  betweenAttempts: 'Between',
  afterServer: 'After server',
  download: 'Download',
  unexplained: 'Unexplained',
};

export function renderRun(run: RunReport): string {
  const out: string[] = [];
  out.push(`Run ${printable(run.label, 80)}  service ${printable(run.service)}  ${run.start} → ${run.end} (${run.durationS.toFixed(1)} s)\n`);
  out.push(
    `  load-test roots ${run.rootSpans}, matched ${run.matched} (propagation coverage ${pct(run.propagationCoverage)}), background server spans ${run.backgroundServerSpans}\n`,
  );
  if (run.cutOff > 0) {
    out.push(`  cut off by the end of the run: ${run.cutOff} requests (no response measured; kept out of every figure below)\n`);
  }
  for (const w of run.warnings) out.push(`  WARNING: ${printable(w.message, 2000)}\n`);
  out.push('\n');
  // In words first: where the time went, then the findings on why.
  for (const sentence of run.summary) out.push(`${printable(sentence, 2000)}\n`);
  if (run.summary.length > 0) out.push('\n');
  out.push(findingsText(run.findings));
  out.push(
    table(
      ['Endpoint', 'Count', 'Cover', 'Errors', 'Client p50', 'p99', 'Server p50', 'p99', 'Gap p50', 'p90', 'p99', 'max', 'mean'],
      [...run.endpoints.map(endpointRow), endpointRow(run.total)],
    ),
  );
  out.push('\nWhere the gap went (mean ms per request; the parts add up to the mean gap):\n');
  out.push(
    table(
      ['Endpoint', 'Gap', ...PART_NAMES.map((p) => PART_HEADERS[p]), 'Explained', 'Basis'],
      [...run.endpoints.map(breakdownRow), breakdownRow(run.total)],
      1,
    ),
  );
  const tails = run.endpoints.filter((ep) => ep.tailPhasesMs.slowest10 !== null);
  if (tails.length > 0) {
    out.push('\nThe tail: where the gap of the slowest 10% and 1% of requests (by gap) went (mean ms over them):\n');
    out.push(
      table(
        ['Endpoint', 'Slowest', 'Requests', 'Gap', ...PART_NAMES.map((p) => PART_HEADERS[p])],
        tails.flatMap((ep) =>
          (
            [
              ['10%', ep.tailPhasesMs.slowest10],
              ['1%', ep.tailPhasesMs.slowest1],
            ] as const
          ).map(([label, t]) => [printable(ep.name), label, String(Math.round(t?.pairs ?? 0)), ms(t?.gap), ...PART_NAMES.map((p) => ms(t?.[p]))]),
        ),
        2,
      ),
    );
  }
  // Only for generators that say whether each request opened its connection (firstspan does;
  // Locust does not): what a new connection costs, endpoint by endpoint.
  if (connectionCount(run.total) > 0) {
    out.push('\nGap by connection (requests that opened a connection vs those that reused one; ms):\n');
    out.push(
      table(
        ['Endpoint', 'Opened', 'Gap p50', 'p99', 'mean', 'Reused', 'Gap p50', 'p99', 'mean'],
        [...run.endpoints.filter((ep) => connectionCount(ep) > 0).map(connectionRow), connectionRow(run.total)],
      ),
    );
  }
  if (run.clockOffsets.length > 0) {
    out.push('\nClock offsets (server clock − generator clock, NTP-style from the pairs with the least delay):\n');
    for (const o of run.clockOffsets) {
      const sign = o.offsetMs >= 0 ? '+' : '';
      out.push(
        `  ${printable(o.service)}: ${sign}${o.offsetMs.toFixed(3)} ms from ${o.trusted} of ${o.samples} pairs (delay ≤ ${o.delayMs.toFixed(3)} ms, ${o.method})\n`,
      );
      const residual = residualNote(o);
      if (residual !== undefined) out.push(`    ${residual}\n`);
    }
    const note = offsetNote(run);
    if (note !== undefined) out.push(`  ${note}\n`);
  }
  if (run.background.count > 0) {
    const b = run.background;
    out.push(
      `\nBackground traffic (server spans in the run's window from no load-test trace, not in the figures above): ${b.count}\n` +
        `  by service: ${b.services.map((s) => `${printable(s.service)} ${s.count}`).join(', ')}\n` +
        `  server ms p50 ${ms(b.serverMs.p50)}, p99 ${ms(b.serverMs.p99)}; most common: ${b.topNames
          .slice(0, 3)
          .map((n) => `${printable(n.name)} (${n.count})`)
          .join(', ')}\n`,
    );
  }
  const odd = odditySentences(run, (name) => explainedByOffset(run, name));
  if (odd.length > 0) {
    out.push('\nOdd data (counted, kept out of the figures where it would distort them):\n');
    for (const o of odd) out.push(`  ${o.name}: ${o.count} — ${o.text}\n`);
  }
  return out.join('');
}

export function renderTable(report: Report): string {
  const other = report.otherClientTraffic;
  const tail =
    other.length === 0
      ? ''
      : `\nOther client traffic (trace-root CLIENT spans from services that are no load generator; not runs, not in any figure): ${other
          .map((o) => `${printable(o.service)} ${o.rootSpans}`)
          .join(', ')}\n  (name a service with --service NAME to analyse its spans as a load test)\n`;
  return report.runs.map(renderRun).join('\n') + tail;
}

