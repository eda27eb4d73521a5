// What the page is sent: once a second (the runner's tick), one update built once and written to
// every open page over server-sent events; and at once when the state changes. Never per request.
// With a receiver database it also reads the new spans' tail each second for the live gap.
import type { SpanTail } from '../../model/span-tail.ts';
import { LiveGap, type GapSnapshot } from './live-gap.ts';
import { StatsWindow, type ChartPoint } from './stats-window.ts';
import type { TestControl } from './test-control.ts';

export interface ReportState {
  state: 'none' | 'waiting' | 'making' | 'ready' | 'failed';
  runId?: string;
  message?: string;
}

export interface StatsRow {
  method: string;
  name: string;
  requests: number;
  failures: number;
  medianMs: number;
  p95Ms: number;
  p99Ms: number;
  averageMs: number;
  minMs: number;
  maxMs: number;
  averageSize: number;
  currentRps: number;
  currentFailures: number;
}

export interface Update {
  state: string;
  userCount: number;
  runId: string;
  host: string;
  elapsedS: number;
  currentRps: number;
  failRatio: number;
  point: ChartPoint | null;
  rows: StatsRow[];
  total: StatsRow;
  failures: Array<{ method: string; name: string; error: string; occurrences: number }>;
  exceptions: Array<{ count: number; message: string; traceback: string }>;
  gap: GapSnapshot | null;
  report: ReportState;
}

/** A page listening for updates. */
export interface Listener {
  send(event: string, data: string): void;
  close(): void;
}

/** Rows sent to the page, as Locust truncates its table. */
const MAX_ROWS = 500;
/** Spans read from the database per second at most (the rest wait for the next second). */
const TAIL_BATCH = 200_000;

export class StatsFeed {
  readonly window = new StatsWindow();
  readonly #control: TestControl;
  readonly #tail: SpanTail | undefined;
  #tailRowid = 0;
  #gap: LiveGap | undefined;
  readonly #listeners = new Set<Listener>();
  report: ReportState = { state: 'none' };
  #lastPoint: ChartPoint | null = null;

  constructor(control: TestControl, tail: SpanTail | undefined) {
    this.#control = control;
    this.#tail = tail;
    if (tail !== undefined) this.#tailRowid = tail.lastRowid();
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  /** A new test started: new window, new chart, new gap for its run id. */
  testStarted(): void {
    this.window.reset();
    this.#lastPoint = null;
    if (this.#tail !== undefined) this.#gap = new LiveGap(this.#control.runId);
    this.report = { state: 'none' };
  }

  /** Once a second while a test runs. */
  tick(): void {
    this.#lastPoint = this.window.tick(this.#control.stats, this.#control.userCount);
    this.readTail();
    this.broadcast('update');
  }

  /** New spans from the receiver's database into the live gap. */
  readTail(): void {
    if (this.#tail === undefined) return;
    const rows = this.#tail.after(this.#tailRowid, TAIL_BATCH);
    const last = rows[rows.length - 1];
    if (last !== undefined) this.#tailRowid = last.rowid;
    this.#gap?.add(rows);
  }

  /** The rowid of the newest span read (the command waits for it to settle before the report). */
  get tailRowid(): number {
    return this.#tailRowid;
  }

  gapSnapshot(): GapSnapshot | null {
    return this.#gap?.snapshot() ?? null;
  }

  reset(): void {
    this.window.reset();
    this.#lastPoint = null;
    this.broadcast('update');
  }

  update(withPoint: boolean): Update {
    const c = this.#control;
    const row = (method: string, name: string, key: string | undefined, e: typeof c.stats.total): StatsRow => {
      // Nothing is current once the test has stopped (the window keeps its last second).
      const current = c.running ? this.window.current(key) : { rps: 0, fps: 0 };
      return {
        method,
        name,
        requests: e.count,
        failures: e.failures,
        medianMs: e.percentile(50),
        p95Ms: e.percentile(95),
        p99Ms: e.percentile(99),
        averageMs: e.count === 0 ? 0 : e.totalMs / e.count,
        minMs: e.count === 0 ? 0 : e.minMs,
        maxMs: e.maxMs,
        averageSize: e.count === 0 ? 0 : e.contentBytes / e.count,
        currentRps: current.rps,
        currentFailures: current.fps,
      };
    };
    const total = row('', 'Aggregated', undefined, c.stats.total);
    return {
      state: c.state,
      userCount: c.userCount,
      runId: c.runId,
      host: c.host ?? '',
      elapsedS: c.elapsedSeconds(),
      currentRps: total.currentRps,
      failRatio: c.stats.total.count === 0 ? 0 : c.stats.total.failures / c.stats.total.count,
      point: withPoint ? this.#lastPoint : null,
      rows: c.stats
        .sortedEntries()
        .slice(0, MAX_ROWS)
        .map((e) => row(e.method, e.name, `${e.method} ${e.name}`, e)),
      total,
      failures: [...c.stats.failures.values()].slice(0, MAX_ROWS).map(({ method, name, error, occurrences }) => ({ method, name, error, occurrences })),
      exceptions: [...c.stats.exceptions.values()].slice(0, MAX_ROWS),
      gap: this.gapSnapshot(),
      report: this.report,
    };
  }

  /** A page that just connected gets the chart so far, then the updates. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    listener.send('init', JSON.stringify({ points: this.window.points, update: this.update(false) }));
    return () => this.#listeners.delete(listener);
  }

  /** End every page's stream (the command is quitting). */
  closeAll(): void {
    for (const l of this.#listeners) l.close();
    this.#listeners.clear();
  }

  /** Send one update to every page (built once, whatever the number of pages). */
  broadcast(kind: 'update' | 'state'): void {
    if (this.#listeners.size === 0) return;
    const data = JSON.stringify(this.update(kind === 'update'));
    for (const l of this.#listeners) l.send('update', data);
  }
}
