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

  /** Back to empty (the web UI's reset stats). */
  reset(): void {
    this.count = 0;
    this.failures = 0;
    this.totalMs = 0;
    this.minMs = Number.POSITIVE_INFINITY;
    this.maxMs = 0;
    this.contentBytes = 0;
    this.histogram.reset();
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
  /** Unix seconds of the first and the latest occurrence (Locust's first_seen, last_seen). */
  firstSeen?: number;
  lastSeen?: number;
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

export interface RequestStatsOptions {
  /** Keep, for each history row, what a parent process needs to merge it exactly (a worker of
   *  --processes sets this; a single process has no use for it). */
  historyWire?: boolean;
}

export class RequestStats {
  readonly entries = new Map<string, EntryStats>();
  readonly total = new EntryStats('', 'Aggregated');
  readonly failures = new Map<string, FailureEntry>();
  readonly exceptions = new Map<string, ExceptionEntry>();
  readonly history: HistoryRow[] = [];
  /** The history in mergeable form; filled only with the historyWire option. */
  readonly historyWire: HistoryWire[] = [];
  /** Set once the name limit was hit, so the command can warn. */
  overflowed = false;
  /** Requests in flight when their user was stopped: they have a span, but no place in the stats. */
  cutOff = 0;
  #lastCount = 0;
  #lastFailures = 0;
  /** The aggregate's histogram as of the previous tick (historyWire only). */
  readonly #previous: hdr.Histogram | undefined;

  constructor(options: RequestStatsOptions = {}) {
    this.#previous = options.historyWire === true ? newHistogram() : undefined;
  }

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
      const now = Date.now() / 1000;
      if (f === undefined) this.failures.set(fkey, { method, name, error: failure, occurrences: 1, firstSeen: now, lastSeen: now });
      else {
        f.occurrences += 1;
        f.lastSeen = now;
      }
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
    if (this.#previous !== undefined) {
      // The second's own response times, as a histogram: what the aggregate gained since the last
      // tick. Once a second, off the request path, so recording a request stays one histogram write.
      const delta = newHistogram();
      delta.add(this.total.histogram);
      delta.subtract(this.#previous);
      this.#previous.add(delta);
      const t = this.total;
      this.historyWire.push({
        timestamp: row.timestamp,
        users,
        count: t.count,
        failures: t.failures,
        totalMs: t.totalMs,
        minMs: t.count === 0 ? 0 : t.minMs,
        maxMs: t.maxMs,
        contentBytes: t.contentBytes,
        histogramDelta: hdr.encodeIntoCompressedBase64(delta),
      });
    }
    return row;
  }

  /** Forget everything recorded so far (the web UI's and Locust's /stats/reset). */
  reset(): void {
    this.entries.clear();
    this.total.reset();
    this.failures.clear();
    this.exceptions.clear();
    this.history.length = 0;
    this.historyWire.length = 0;
    this.overflowed = false;
    this.#lastCount = 0;
    this.#lastFailures = 0;
    this.#previous?.reset();
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

/** A history row as a worker sends it: the aggregate's exact sums at that moment (cumulative, as
 *  in the row) and the response times recorded since the worker's previous row. Summing the
 *  deltas rebuilds each worker's cumulative histogram at any second, so the parent's history
 *  percentiles are those of one histogram holding every worker's requests, not a bound. */
export interface HistoryWire {
  timestamp: number;
  users: number;
  count: number;
  failures: number;
  totalMs: number;
  minMs: number;
  maxMs: number;
  contentBytes: number;
  histogramDelta: string;
}

/** Everything a worker process reports, enough to merge exactly (HDR histograms add up). */
export interface StatsWire {
  entries: EntryWire[];
  failures: FailureEntry[];
  exceptions: ExceptionEntry[];
  history: HistoryWire[];
  cutOff: number;
}

export function statsToWire(stats: RequestStats): StatsWire {
  return {
    entries: [...stats.entries.values()].map(entryToWire),
    failures: [...stats.failures.values()],
    exceptions: [...stats.exceptions.values()],
    history: stats.historyWire,
    cutOff: stats.cutOff,
  };
}

/** The stats of several workers as one run: entries, failures and exceptions added up, and the
 *  per-second history rebuilt from every worker's rows (see mergeHistories). */
export function mergeWorkers(wires: StatsWire[]): RequestStats {
  const into = new RequestStats();
  for (const wire of wires) mergeTotals(into, wire);
  into.history.push(...mergeHistories(wires.map((w) => w.history)));
  return into;
}

function entryFromWire(w: EntryWire): EntryStats {
  const e = new EntryStats(w.method, w.name);
  e.count = w.count;
  e.failures = w.failures;
  e.totalMs = w.totalMs;
  e.minMs = w.count === 0 ? Number.POSITIVE_INFINITY : w.minMs;
  e.maxMs = w.maxMs;
  e.contentBytes = w.contentBytes;
  e.histogram.add(hdr.decodeFromCompressedBase64(w.histogram));
  return e;
}

function mergeTotals(into: RequestStats, wire: StatsWire): void {
  into.cutOff += wire.cutOff;
  for (const w of wire.entries) {
    const other = entryFromWire(w);
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
    else {
      mine.occurrences += f.occurrences;
      if (f.firstSeen !== undefined) mine.firstSeen = Math.min(mine.firstSeen ?? f.firstSeen, f.firstSeen);
      if (f.lastSeen !== undefined) mine.lastSeen = Math.max(mine.lastSeen ?? f.lastSeen, f.lastSeen);
    }
  }
  for (const e of wire.exceptions) {
    const mine = into.exceptions.get(e.message);
    if (mine === undefined) into.exceptions.set(e.message, { ...e });
    else mine.count += e.count;
  }
}

/**
 * One history for the whole run from each worker's rows. Workers tick on their own clocks, so a
 * second may have a row from one worker and not from another: for every second that any worker
 * reported, each worker counts with its latest row at or before it (its cumulative state then, 0
 * before its first row). The merged histogram at that second is the sum of every worker's deltas
 * up to it, so its percentiles are exact (to the histograms' 3 significant digits) for all the
 * requests of all workers, exactly as a single process would have recorded them.
 */
export function mergeHistories(histories: HistoryWire[][]): HistoryRow[] {
  const sorted = histories.map((rows) => [...rows].sort((a, b) => a.timestamp - b.timestamp));
  const seconds = [...new Set(sorted.flat().map((r) => r.timestamp))].sort((a, b) => a - b);
  const cursors = sorted.map(() => 0);
  const latest: Array<HistoryWire | undefined> = sorted.map(() => undefined);
  const merged = new EntryStats('', 'Aggregated');
  const out: HistoryRow[] = [];
  let lastCount = 0;
  let lastFailures = 0;
  for (const second of seconds) {
    for (const [w, rows] of sorted.entries()) {
      let i = cursors[w] as number;
      for (; i < rows.length && (rows[i] as HistoryWire).timestamp <= second; i++) {
        const row = rows[i] as HistoryWire;
        merged.histogram.add(hdr.decodeFromCompressedBase64(row.histogramDelta));
        latest[w] = row;
      }
      cursors[w] = i;
    }
    const now = latest.filter((r): r is HistoryWire => r !== undefined);
    merged.count = now.reduce((s, r) => s + r.count, 0);
    merged.failures = now.reduce((s, r) => s + r.failures, 0);
    merged.totalMs = now.reduce((s, r) => s + r.totalMs, 0);
    merged.contentBytes = now.reduce((s, r) => s + r.contentBytes, 0);
    merged.minMs = Math.min(Number.POSITIVE_INFINITY, ...now.filter((r) => r.count > 0).map((r) => r.minMs));
    merged.maxMs = Math.max(0, ...now.map((r) => r.maxMs));
    out.push({
      timestamp: second,
      users: now.reduce((s, r) => s + r.users, 0),
      requestsPerSecond: merged.count - lastCount,
      failuresPerSecond: merged.failures - lastFailures,
      total: snapshot(merged),
    });
    lastCount = merged.count;
    lastFailures = merged.failures;
  }
  return out;
}
