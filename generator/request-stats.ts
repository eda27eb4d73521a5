// Locust's statistics, kept in HDR histograms (microsecond resolution, 3 significant digits)
// instead of Locust's ~2-digit buckets. One entry per (method, name), plus the aggregate; failures
// and task exceptions counted by message. Pure bookkeeping: rendering lives in stats-report.ts.
import * as hdr from 'hdr-histogram-js';

/** Cardinality guard: names past this many distinct (method, name) pairs are folded into one. */
export const MAX_NAMES = 1000;
export const OVERFLOW_NAME = '(other names: over the limit)';

export function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 2, autoResize: true, numberOfSignificantValueDigits: 3 });
}

export class EntryStats {
  count = 0;
  failures = 0;
  totalMs = 0;
  minMs = Number.POSITIVE_INFINITY;
  maxMs = 0;
  contentBytes = 0;
  /** Response times in microseconds. */
  readonly histogram: hdr.Histogram = newHistogram();
  constructor(
    readonly method: string,
    readonly name: string,
  ) {}

  record(ms: number, failed: boolean, contentLength: number): void {
    this.count += 1;
    if (failed) this.failures += 1;
    this.totalMs += ms;
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
    this.contentBytes += contentLength;
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  merge(other: EntryStats): void {
    this.count += other.count;
    this.failures += other.failures;
    this.totalMs += other.totalMs;
    this.minMs = Math.min(this.minMs, other.minMs);
    this.maxMs = Math.max(this.maxMs, other.maxMs);
    this.contentBytes += other.contentBytes;
    this.histogram.add(other.histogram);
  }

  /** Percentile in milliseconds (0 when empty), never above the exact maximum. */
  percentile(p: number): number {
    return this.count === 0 ? 0 : Math.min(this.histogram.getValueAtPercentile(p) / 1000, this.maxMs);
  }
}

export interface FailureEntry {
  method: string;
  name: string;
  error: string;
  occurrences: number;
}

export interface ExceptionEntry {
  count: number;
  message: string;
  traceback: string;
}

export interface HistoryRow {
  /** Unix seconds. */
  timestamp: number;
  users: number;
  /** Requests and failures completed in the last second. */
  requestsPerSecond: number;
  failuresPerSecond: number;
  total: EntrySnapshot;
}

/** A copy of the aggregate's figures at one moment. */
export interface EntrySnapshot {
  count: number;
  failures: number;
  p50: number;
  p66: number;
  p75: number;
  p80: number;
  p90: number;
  p95: number;
  p98: number;
  p99: number;
  p999: number;
  p9999: number;
  p100: number;
  medianMs: number;
  averageMs: number;
  minMs: number;
  maxMs: number;
  averageContentSize: number;
}

export function snapshot(e: EntryStats): EntrySnapshot {
  return {
    count: e.count,
    failures: e.failures,
    p50: e.percentile(50),
    p66: e.percentile(66),
    p75: e.percentile(75),
    p80: e.percentile(80),
    p90: e.percentile(90),
    p95: e.percentile(95),
    p98: e.percentile(98),
    p99: e.percentile(99),
    p999: e.percentile(99.9),
    p9999: e.percentile(99.99),
    p100: e.count === 0 ? 0 : e.maxMs,
    medianMs: e.percentile(50),
    averageMs: e.count === 0 ? 0 : e.totalMs / e.count,
    minMs: e.count === 0 ? 0 : e.minMs,
    maxMs: e.maxMs,
    averageContentSize: e.count === 0 ? 0 : e.contentBytes / e.count,
  };
}

export class RequestStats {
  readonly entries = new Map<string, EntryStats>();
  readonly total = new EntryStats('', 'Aggregated');
  readonly failures = new Map<string, FailureEntry>();
  readonly exceptions = new Map<string, ExceptionEntry>();
  readonly history: HistoryRow[] = [];
  /** Set once the name limit was hit, so the command can warn. */
  overflowed = false;
  #lastCount = 0;
  #lastFailures = 0;

  record(method: string, name: string, ms: number, contentLength: number, failure: string | undefined): void {
    let key = `${method} ${name}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= MAX_NAMES) {
        this.overflowed = true;
        name = OVERFLOW_NAME;
        key = `${method} ${name}`;
        entry = this.entries.get(key);
      }
      if (entry === undefined) {
        entry = new EntryStats(method, name);
        this.entries.set(key, entry);
      }
    }
    const failed = failure !== undefined;
    entry.record(ms, failed, contentLength);
    this.total.record(ms, failed, contentLength);
    if (failed) {
      const fkey = `${method}\u0000${name}\u0000${failure}`;
      const f = this.failures.get(fkey);
      if (f === undefined) this.failures.set(fkey, { method, name, error: failure, occurrences: 1 });
      else f.occurrences += 1;
    }
  }

  recordException(error: unknown): void {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const traceback = error instanceof Error ? (error.stack ?? message) : message;
    const e = this.exceptions.get(message);
    if (e === undefined) this.exceptions.set(message, { count: 1, message, traceback });
    else e.count += 1;
  }

  /** Called once a second by the runner: a row of _stats_history.csv and the live status line. */
  tick(users: number, nowUnixSeconds: number): HistoryRow {
    const row: HistoryRow = {
      timestamp: Math.floor(nowUnixSeconds),
      users,
      requestsPerSecond: this.total.count - this.#lastCount,
      failuresPerSecond: this.total.failures - this.#lastFailures,
      total: snapshot(this.total),
    };
    this.#lastCount = this.total.count;
    this.#lastFailures = this.total.failures;
    this.history.push(row);
    return row;
  }

  sortedEntries(): EntryStats[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name) || a.method.localeCompare(b.method));
  }
}

/** An entry in a form another process can send: the exact sums plus the encoded histogram. */
export interface EntryWire {
  method: string;
  name: string;
  count: number;
  failures: number;
  totalMs: number;
  minMs: number;
  maxMs: number;
  contentBytes: number;
  histogram: string;
}

export function entryToWire(e: EntryStats): EntryWire {
  return {
    method: e.method,
    name: e.name,
    count: e.count,
    failures: e.failures,
    totalMs: e.totalMs,
    minMs: e.count === 0 ? 0 : e.minMs,
    maxMs: e.maxMs,
    contentBytes: e.contentBytes,
    histogram: hdr.encodeIntoCompressedBase64(e.histogram),
  };
}

/** Everything a worker process reports, enough to merge exactly (HDR histograms add up). */
export interface StatsWire {
  entries: EntryWire[];
  failures: FailureEntry[];
  exceptions: ExceptionEntry[];
  history: HistoryRow[];
}

export function statsToWire(stats: RequestStats): StatsWire {
  return {
    entries: [...stats.entries.values()].map(entryToWire),
    failures: [...stats.failures.values()],
    exceptions: [...stats.exceptions.values()],
    history: stats.history,
  };
}

/** Add a worker's stats into `into`. History rows of the same second are summed; their
 *  percentile columns keep the highest worker's value (an upper bound, documented). */
export function mergeWire(into: RequestStats, wire: StatsWire): void {
  for (const w of wire.entries) {
    const other = new EntryStats(w.method, w.name);
    other.count = w.count;
    other.failures = w.failures;
    other.totalMs = w.totalMs;
    other.minMs = w.count === 0 ? Number.POSITIVE_INFINITY : w.minMs;
    other.maxMs = w.maxMs;
    other.contentBytes = w.contentBytes;
    other.histogram.add(hdr.decodeFromCompressedBase64(w.histogram));
    const key = `${w.method} ${w.name}`;
    let entry = into.entries.get(key);
    if (entry === undefined) {
      entry = new EntryStats(w.method, w.name);
      into.entries.set(key, entry);
    }
    entry.merge(other);
    into.total.merge(other);
  }
  for (const f of wire.failures) {
    const key = `${f.method}\u0000${f.name}\u0000${f.error}`;
    const mine = into.failures.get(key);
    if (mine === undefined) into.failures.set(key, { ...f });
    else mine.occurrences += f.occurrences;
  }
  for (const e of wire.exceptions) {
    const mine = into.exceptions.get(e.message);
    if (mine === undefined) into.exceptions.set(e.message, { ...e });
    else mine.count += e.count;
  }
  for (const row of wire.history) {
    const mine = into.history.find((r) => r.timestamp === row.timestamp);
    if (mine === undefined) {
      into.history.push(structuredClone(row));
      continue;
    }
    mine.users += row.users;
    mine.requestsPerSecond += row.requestsPerSecond;
    mine.failuresPerSecond += row.failuresPerSecond;
    const a = mine.total;
    const b = row.total;
    const count = a.count + b.count;
    a.averageMs = count === 0 ? 0 : (a.averageMs * a.count + b.averageMs * b.count) / count;
    a.averageContentSize = count === 0 ? 0 : (a.averageContentSize * a.count + b.averageContentSize * b.count) / count;
    a.minMs = a.count === 0 ? b.minMs : b.count === 0 ? a.minMs : Math.min(a.minMs, b.minMs);
    a.count = count;
    a.failures += b.failures;
    for (const k of ['p50', 'p66', 'p75', 'p80', 'p90', 'p95', 'p98', 'p99', 'p999', 'p9999', 'p100', 'medianMs', 'maxMs'] as const) a[k] = Math.max(a[k], b[k]);
  }
  into.history.sort((x, y) => x.timestamp - y.timestamp);
}
