// Locust's web API payloads, built from firstspan's stats: the JSON of GET /stats/requests with
// Locust 2.47's field names (locust/web.py request_stats, StatsEntry.to_dict) and the CSV files
// of /stats/requests/csv and /stats/failures/csv (StatsCSV's columns). Pure functions, so a
// script or CI job that polls Locust's UI reads the same keys here.
import type { EntryStats } from '../request-stats.ts';
import { csvLine, statsCsv, type RunSummary } from '../stats-report.ts';
import type { StatsWindow } from './stats-window.ts';
import type { TestControl } from './test-control.ts';

/** Locust's PERCENTILES_TO_STATISTICS (rows) and PERCENTILES_TO_CHART (current, top level). */
const ROW_PERCENTILES = [0.95, 0.99] as const;
const CHART_PERCENTILES = [0.5, 0.95] as const;
/** Locust truncates the rows and errors it returns to this many (the aggregate is kept). */
const MAX_ROWS = 500;

export interface LocustStatsRow {
  method: string | null;
  name: string;
  num_requests: number;
  num_failures: number;
  min_response_time: number;
  max_response_time: number;
  current_rps: number;
  current_fail_per_sec: number;
  avg_response_time: number;
  median_response_time: number;
  total_rps: number;
  total_fail_per_sec: number;
  [percentile: `response_time_percentile_${number}`]: number;
  avg_content_length: number;
}

export interface LocustError {
  method: string;
  name: string;
  error: string;
  occurrences: number;
  first_seen: number | null;
  last_seen: number | null;
}

function row(e: EntryStats, method: string | null, current: { rps: number; fps: number }, elapsedS: number): LocustStatsRow {
  const out: LocustStatsRow = {
    method,
    name: e.name,
    num_requests: e.count,
    num_failures: e.failures,
    min_response_time: e.count === 0 ? 0 : Math.round(e.minMs),
    max_response_time: Math.round(e.maxMs),
    current_rps: current.rps,
    current_fail_per_sec: current.fps,
    avg_response_time: e.count === 0 ? 0 : e.totalMs / e.count,
    median_response_time: e.percentile(50),
    total_rps: elapsedS > 0 ? e.count / elapsedS : 0,
    total_fail_per_sec: elapsedS > 0 ? e.failures / elapsedS : 0,
    avg_content_length: e.count === 0 ? 0 : e.contentBytes / e.count,
  };
  for (const p of ROW_PERCENTILES) out[`response_time_percentile_${p}`] = e.percentile(p * 100);
  return out;
}

/** Locust's stats entry order: sorted by (name, method). */
function sorted(control: TestControl): EntryStats[] {
  return control.stats.sortedEntries();
}

/** The body of GET /stats/requests. */
export function requestsJson(control: TestControl, window: StatsWindow) {
  const elapsed = control.elapsedSeconds();
  const stats = control.stats;
  const rows: LocustStatsRow[] = sorted(control)
    .slice(0, MAX_ROWS)
    .map((e) => row(e, e.method, window.current(`${e.method} ${e.name}`), elapsed));
  const total = row(stats.total, '', window.current(undefined), elapsed);
  rows.push(total);
  const errors: LocustError[] = [...stats.failures.values()].slice(0, MAX_ROWS).map((f) => ({
    method: f.method,
    name: f.name,
    error: f.error,
    occurrences: f.occurrences,
    first_seen: f.firstSeen ?? null,
    last_seen: f.lastSeen ?? null,
  }));
  return {
    stats: rows,
    errors,
    current_rps: total.current_rps,
    current_fail_per_sec: total.current_fail_per_sec,
    total_rps: total.total_rps,
    total_fail_per_sec: total.total_fail_per_sec,
    fail_ratio: stats.total.count === 0 ? (stats.total.failures > 0 ? 1 : 0) : stats.total.failures / stats.total.count,
    current_response_time_percentiles: Object.fromEntries(CHART_PERCENTILES.map((p) => [`response_time_percentile_${p}`, window.currentPercentile(p * 100)])),
    state: control.state,
    user_count: control.userCount,
  };
}

/** The summary of the current (or last) test, for the CSV and JSON downloads. */
export function currentSummary(control: TestControl): RunSummary {
  // A stopped test's own summary carries what only its end knows (telemetry, the CPU it took).
  if (control.state === 'stopped' && control.lastSummary?.runId === control.runId) return control.lastSummary;
  const now = Date.now();
  return {
    runId: control.runId,
    service: control.lastSummary?.service ?? 'firstspan',
    startedAt: new Date(control.startedAt ?? now),
    endedAt: new Date(control.endedAt ?? now),
    stopReason: control.stopReason ?? control.state,
    peakUsers: control.lastSummary?.runId === control.runId ? control.lastSummary.peakUsers : control.userCount,
    stats: control.stats,
  };
}

/** GET /stats/requests/csv: Locust's requests CSV (the same columns as --csv PREFIX_stats.csv). */
export function requestsCsv(control: TestControl): string {
  return statsCsv(currentSummary(control));
}

/** Locust's format_utc_timestamp: 2026-11-30T03:34:01Z. */
function utc(unixSeconds: number | undefined): string {
  return unixSeconds === undefined ? '' : new Date(Math.floor(unixSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** GET /stats/failures/csv: Method, Name, Error, Occurrences, First Seen, Last Seen. */
export function failuresCsvWithTimes(control: TestControl): string {
  let out = csvLine(['Method', 'Name', 'Error', 'Occurrences', 'First Seen', 'Last Seen']);
  const failures = [...control.stats.failures.values()].sort((a, b) => a.name.localeCompare(b.name) || a.method.localeCompare(b.method));
  for (const f of failures) out += csvLine([f.method, f.name, f.error, f.occurrences, utc(f.firstSeen), utc(f.lastSeen)]);
  return out;
}
