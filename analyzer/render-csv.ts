// CSV output: one row per run and endpoint (the run's total last, named `Aggregated`), RFC 4180
// quoting, durations in milliseconds. Columns are listed in docs/analyzer.md. A figure with no
// data behind it (null in JSON) is an empty cell, never 0.
import type { EndpointReport, Report } from './report.ts';
import { PART_NAMES } from './gap-breakdown.ts';

const STATS = ['p50', 'p90', 'p99', 'max', 'mean'] as const;

export const CSV_COLUMNS = [
  'run',
  'service',
  'run_id',
  'endpoint',
  'count',
  'matched',
  'propagation_coverage',
  'errors',
  ...['client', 'server', 'gap'].flatMap((m) => STATS.map((s) => `${m}_${s}_ms`)),
  ...PART_NAMES.map((p) => `phase_${snake(p)}_ms`),
  'explained_share',
  'breakdown_basis',
  'multiple_server_children',
  'new_connections',
  ...['opened', 'reused'].flatMap((c) => [`gap_${c}_count`, ...STATS.map((s) => `gap_${c}_${s}_ms`)]),
  'cut_off',
  // The parts of the gap of the slowest 10% and 1% of the requests by gap (mean ms over them).
  ...['tail10', 'tail1'].flatMap((t) => PART_NAMES.map((p) => `${t}_phase_${snake(p)}_ms`)),
];

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** RFC 4180 field quoting; also defuses spreadsheet formulas in names from spans. */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function row(run: Report['runs'][number], ep: EndpointReport): string {
  const values: Array<string | number | null> = [
    run.label,
    run.service,
    run.runId,
    ep.name,
    ep.count,
    ep.matched,
    ep.propagationCoverage,
    ep.errors,
    ...[ep.clientMs, ep.serverMs, ep.gapMs].flatMap((st) => STATS.map((s) => st?.[s] ?? null)),
    ...PART_NAMES.map((p) => ep.phasesMs?.[p] ?? null),
    ep.phasesMs?.explainedShare ?? null,
    ep.phasesMs?.basis ?? null,
    ep.multipleServerChildren,
    ep.newConnections,
    // Empty cells where the generator does not say whether a request opened its connection.
    ...[ep.gapByConnection?.opened, ep.gapByConnection?.reused].flatMap((c) => [c?.count ?? null, ...STATS.map((s) => c?.gapMs?.[s] ?? null)]),
    ep.cutOff,
    ...[ep.tailPhasesMs.slowest10, ep.tailPhasesMs.slowest1].flatMap((t) => PART_NAMES.map((p) => t?.[p] ?? null)),
  ];
  return values.map(csvField).join(',');
}

export function renderCsv(report: Report): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const run of report.runs) {
    for (const ep of run.endpoints) lines.push(row(run, ep));
    lines.push(row(run, run.total));
  }
  return lines.join('\r\n') + '\r\n';
}
