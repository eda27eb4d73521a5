// Rendering of a finished (or running) test: Locust's console table, the --json summary and the
// --csv files. Pure functions of the stats; the runner never formats anything.
import type { EntryStats, HistoryRow, RequestStats } from './request-stats.ts';
import { snapshot } from './request-stats.ts';

export interface TelemetryReport {
  endpoint: string;
  protocol: string;
  spansEnded: number;
  spansExported: number;
  spansFailed: number;
  spansDropped: number;
  /** Requests the sampler left untraced (OTEL_TRACES_SAMPLER): no span, by choice, not a loss. */
  spansNotSampled: number;
  /** Why spans could not be exported, when some could not. */
  warning?: string;
}

/** ", N more not sampled" for the span line, when a sampler left requests untraced. */
export function notSampled(t: TelemetryReport): string {
  return t.spansNotSampled > 0 ? `, ${t.spansNotSampled} requests not sampled` : '';
}

export interface RunSummary {
  runId: string;
  service: string;
  startedAt: Date;
  endedAt: Date;
  /** How the run ended: run-time, iterations, shape, signal, users-done. */
  stopReason: string;
  peakUsers: number;
  stats: RequestStats;
  telemetry?: TelemetryReport;
  /** The generator's own cost: CPU from the first user to the last flushed span, peak RSS. */
  usage?: { cpuSeconds: number; maxRssBytes: number };
}

/** Locust's PERCENTILES_TO_REPORT. */
export const PERCENTILES = [50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100] as const;

function seconds(s: RunSummary): number {
  return Math.max((s.endedAt.getTime() - s.startedAt.getTime()) / 1000, 1e-9);
}

function ms(n: number): string {
  if (n === 0) return '0';
  return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString();
}

/** Locust's end-of-run table, with p90 and p99 beside median and average (all in ms). */
export function renderTable(s: RunSummary): string {
  const elapsed = seconds(s);
  const entries = s.stats.sortedEntries();
  const nameWidth = Math.max(40, ...entries.map((e) => e.name.length + 1));
  const header =
    'Type'.padEnd(8) +
    ' ' +
    'Name'.padEnd(nameWidth) +
    ' ' +
    ['# reqs', '# fails'].map((h, i) => h.padStart(i === 0 ? 8 : 14)).join('') +
    ' |' +
    ['Avg', 'Min', 'Max', 'Med', 'p90', 'p99'].map((h) => h.padStart(8)).join('') +
    ' |' +
    'req/s'.padStart(9) +
    'failures/s'.padStart(12);
  const rule = '-'.repeat(header.length);
  const row = (type: string, e: EntryStats): string => {
    const pct = e.count === 0 ? 0 : (100 * e.failures) / e.count;
    const snap = snapshot(e);
    return (
      type.padEnd(8) +
      ' ' +
      e.name.padEnd(nameWidth) +
      ' ' +
      String(e.count).padStart(8) +
      `${e.failures}(${pct.toFixed(2)}%)`.padStart(14) +
      ' |' +
      [snap.averageMs, snap.minMs, snap.maxMs, snap.medianMs, snap.p90, snap.p99].map((v) => ms(v).padStart(8)).join('') +
      ' |' +
      (e.count / elapsed).toFixed(2).padStart(9) +
      (e.failures / elapsed).toFixed(2).padStart(12)
    );
  };
  const lines = [header, rule, ...entries.map((e) => row(e.method, e)), rule, row('', s.stats.total), ''];
  if (s.stats.failures.size > 0) {
    lines.push('Error report', `${'# occurrences'.padEnd(14)} Error`, rule);
    for (const f of s.stats.failures.values()) lines.push(`${String(f.occurrences).padEnd(14)} ${f.method} ${f.name}: ${f.error}`);
    lines.push(rule, '');
  }
  if (s.stats.exceptions.size > 0) {
    lines.push('Task exceptions', rule);
    for (const e of s.stats.exceptions.values()) lines.push(`${String(e.count).padEnd(14)} ${e.traceback.split('\n').slice(0, 3).join('\n               ')}`);
    lines.push(rule, '');
  }
  return lines.join('\n') + '\n';
}

function entryJson(e: EntryStats, elapsed: number) {
  const snap = snapshot(e);
  return {
    method: e.method,
    name: e.name,
    count: e.count,
    failures: e.failures,
    medianMs: snap.medianMs,
    averageMs: snap.averageMs,
    minMs: snap.minMs,
    maxMs: snap.maxMs,
    p90Ms: snap.p90,
    p99Ms: snap.p99,
    percentilesMs: Object.fromEntries(PERCENTILES.map((p) => [`p${p}`, p === 100 ? snap.maxMs : Math.min(e.percentile(p), snap.maxMs)])),
    averageContentSize: snap.averageContentSize,
    requestsPerSecond: e.count / elapsed,
    failuresPerSecond: e.failures / elapsed,
  };
}

/** The --json summary (schemaVersion 1; documented in docs/generator.md). */
export function summaryJson(s: RunSummary) {
  const elapsed = seconds(s);
  return {
    schemaVersion: 1,
    runId: s.runId,
    service: s.service,
    startedAt: s.startedAt.toISOString(),
    endedAt: s.endedAt.toISOString(),
    durationSeconds: elapsed,
    stopReason: s.stopReason,
    peakUsers: s.peakUsers,
    requests: s.stats.sortedEntries().map((e) => entryJson(e, elapsed)),
    total: entryJson(s.stats.total, elapsed),
    /** Requests in flight when the run stopped: exported as spans, left out of the stats. */
    cutOff: s.stats.cutOff,
    failures: [...s.stats.failures.values()].map(({ method, name, error, occurrences }) => ({ method, name, error, occurrences })),
    exceptions: [...s.stats.exceptions.values()],
    telemetry: s.telemetry ?? null,
    generator: s.usage ?? null,
  };
}

function csvField(value: string | number): string {
  const text = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : String(Number(value.toFixed(6)))) : value;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
export function csvLine(fields: Array<string | number>): string {
  return fields.map(csvField).join(',') + '\n';
}

const PCT_HEADERS = PERCENTILES.map((p) => `${p}%`);

/** PREFIX_stats.csv, with Locust's columns (times in ms). */
export function statsCsv(s: RunSummary): string {
  const elapsed = seconds(s);
  let out = csvLine([
    'Type',
    'Name',
    'Request Count',
    'Failure Count',
    'Median Response Time',
    'Average Response Time',
    'Min Response Time',
    'Max Response Time',
    'Average Content Size',
    'Requests/s',
    'Failures/s',
    ...PCT_HEADERS,
  ]);
  const row = (type: string, e: EntryStats): string => {
    const snap = snapshot(e);
    return csvLine([
      type,
      e.name,
      e.count,
      e.failures,
      snap.medianMs,
      snap.averageMs,
      snap.minMs,
      snap.maxMs,
      snap.averageContentSize,
      e.count / elapsed,
      e.failures / elapsed,
      ...PERCENTILES.map((p) => (p === 100 ? snap.maxMs : Math.min(e.percentile(p), snap.maxMs))),
    ]);
  };
  for (const e of s.stats.sortedEntries()) out += row(e.method, e);
  out += row('', s.stats.total);
  return out;
}

/** PREFIX_stats_history.csv: one Aggregated row per second, Locust's columns. */
export function historyCsv(rows: HistoryRow[]): string {
  let out = csvLine([
    'Timestamp',
    'User Count',
    'Type',
    'Name',
    'Requests/s',
    'Failures/s',
    ...PCT_HEADERS,
    'Total Request Count',
    'Total Failure Count',
    'Total Median Response Time',
    'Total Average Response Time',
    'Total Min Response Time',
    'Total Max Response Time',
    'Total Average Content Size',
  ]);
  for (const r of rows) {
    const t = r.total;
    out += csvLine([
      r.timestamp,
      r.users,
      '',
      'Aggregated',
      r.requestsPerSecond,
      r.failuresPerSecond,
      t.p50,
      t.p66,
      t.p75,
      t.p80,
      t.p90,
      t.p95,
      t.p98,
      t.p99,
      t.p999,
      t.p9999,
      t.p100,
      t.count,
      t.failures,
      t.medianMs,
      t.averageMs,
      t.minMs,
      t.maxMs,
      t.averageContentSize,
    ]);
  }
  return out;
}

/** PREFIX_failures.csv. */
export function failuresCsv(s: RunSummary): string {
  let out = csvLine(['Method', 'Name', 'Error', 'Occurrences']);
  for (const f of s.stats.failures.values()) out += csvLine([f.method, f.name, f.error, f.occurrences]);
  return out;
}

/** PREFIX_exceptions.csv. */
export function exceptionsCsv(s: RunSummary): string {
  let out = csvLine(['Count', 'Message', 'Traceback', 'Nodes']);
  for (const e of s.stats.exceptions.values()) out += csvLine([e.count, e.message, e.traceback, 'local']);
  return out;
}

/** The live status line (no newline; the caller rewrites it in place). */
export function statusLine(elapsedS: number, users: number, row: HistoryRow | undefined, total: EntryStats): string {
  return statusText(elapsedS, users, row?.requestsPerSecond ?? 0, total.count, total.failures);
}

/** The same line from plain figures (the --processes parent sums its workers'). */
export function statusText(elapsedS: number, users: number, requestsPerSecond: number, requests: number, failures: number): string {
  const fails = requests === 0 ? 0 : (100 * failures) / requests;
  return `${formatElapsed(elapsedS)}  users ${users}  req/s ${requestsPerSecond}  requests ${requests}  failures ${failures} (${fails.toFixed(1)}%)`;
}

function formatElapsed(s: number): string {
  const total = Math.floor(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return `${h > 0 ? `${h}h` : ''}${String(m).padStart(h > 0 ? 2 : 1, '0')}m${String(sec).padStart(2, '0')}s`;
}
