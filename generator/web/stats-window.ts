// What the page and Locust's API call "current": figures over the last ten seconds (Locust's
// current_rps and current_response_time_percentiles use the same window), kept from one copy of
// the counts and of the aggregate's histogram per second. Fed once a second by the runner's tick,
// never per request, so the page costs the generator nothing on the request path.
import type * as hdr from 'hdr-histogram-js';
import { newHistogram, type RequestStats } from '../request-stats.ts';

/** Seconds in the window (Locust: the last 10 s before the last 2). */
export const WINDOW_S = 10;

interface Second {
  /** Unix ms. */
  at: number;
  counts: Map<string, { count: number; failures: number }>;
  count: number;
  failures: number;
  histogram: hdr.Histogram;
}

export interface ChartPoint {
  /** Unix seconds. */
  t: number;
  users: number;
  rps: number;
  fps: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Points kept for the charts: two hours at one a second. */
const MAX_POINTS = 7200;

export class StatsWindow {
  readonly #seconds: Second[] = [];
  readonly points: ChartPoint[] = [];
  #windowHistogram: hdr.Histogram = newHistogram();

  /** Take this second's copy; returns the chart point for it. */
  tick(stats: RequestStats, users: number, now = Date.now()): ChartPoint {
    const counts = new Map<string, { count: number; failures: number }>();
    for (const [key, e] of stats.entries) counts.set(key, { count: e.count, failures: e.failures });
    const histogram = newHistogram();
    histogram.add(stats.total.histogram);
    const previous = this.#seconds[this.#seconds.length - 1];
    this.#seconds.push({ at: now, counts, count: stats.total.count, failures: stats.total.failures, histogram });
    while (this.#seconds.length > WINDOW_S + 1) this.#seconds.shift();
    const oldest = this.#seconds[0] as Second;
    const windowHistogram = newHistogram();
    windowHistogram.add(histogram);
    if (oldest !== this.#seconds[this.#seconds.length - 1]) windowHistogram.subtract(oldest.histogram);
    this.#windowHistogram = windowHistogram;
    const seconds = previous === undefined ? 1 : Math.max((now - previous.at) / 1000, 1e-3);
    const pct = (p: number): number | null => (windowHistogram.totalCount === 0 ? null : Math.min(windowHistogram.getValueAtPercentile(p) / 1000, stats.total.maxMs));
    const point: ChartPoint = {
      t: Math.round(now / 1000),
      users,
      rps: previous === undefined ? stats.total.count : (stats.total.count - previous.count) / seconds,
      fps: previous === undefined ? stats.total.failures : (stats.total.failures - previous.failures) / seconds,
      p50: pct(50),
      p95: pct(95),
      p99: pct(99),
    };
    this.points.push(point);
    if (this.points.length > MAX_POINTS) this.points.splice(0, this.points.length - MAX_POINTS);
    return point;
  }

  /** Requests and failures per second of one entry (or the total) over the window. */
  current(key: string | undefined): { rps: number; fps: number } {
    const last = this.#seconds[this.#seconds.length - 1];
    const first = this.#seconds[0];
    if (last === undefined || first === undefined || last === first) return { rps: 0, fps: 0 };
    const span = (last.at - first.at) / 1000;
    const at = (s: Second): { count: number; failures: number } => (key === undefined ? s : (s.counts.get(key) ?? { count: 0, failures: 0 }));
    const a = at(first);
    const b = at(last);
    return { rps: (b.count - a.count) / span, fps: (b.failures - a.failures) / span };
  }

  /** A percentile (0..100) of the aggregate over the window, in ms; null with no request in it. */
  currentPercentile(p: number): number | null {
    return this.#windowHistogram.totalCount === 0 ? null : this.#windowHistogram.getValueAtPercentile(p) / 1000;
  }

  /** Forget the window and the chart (reset stats, a new test). */
  reset(): void {
    this.#seconds.length = 0;
    this.points.length = 0;
    this.#windowHistogram = newHistogram();
  }
}
