// Latency distributions that merge: exact while small, an HDR-style histogram once large.
//
// Small runs (and tests) get exact percentiles: the values themselves are kept, in nanoseconds,
// up to a limit. Past it the values spill into a log-linear histogram (log-histogram.ts,
// microsecond unit, 3 significant digits: at most 0.1% off), so memory stays bounded.
// Count, sum (mean) and max are always exact. Digests merge (endpoints into the total, shards and
// seconds into one), which is what lets several shard files analyse as one.
import { LogHistogram } from './log-histogram.ts';

export interface Stats {
  p50: number;
  p90: number;
  /** Locust's and k6's headline percentile, for the report's cards and tables. */
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export const EMPTY_STATS: Stats = { p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 };

export interface DigestOptions {
  /** Values kept exactly before spilling into the histogram. */
  exactLimit: number;
  /** Significant digits once spilled: 3 (0.1%) or 2 (0.8%). */
  digits: 2 | 3;
}

const DEFAULTS: DigestOptions = { exactLimit: 20_000, digits: 3 };

export class Digest {
  count = 0;
  sumNs = 0;
  maxNs = 0;
  private exact: Float64Array | null;
  private hist: LogHistogram | null = null;
  private readonly options: DigestOptions;

  constructor(options: Partial<DigestOptions> = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.exact = new Float64Array(Math.min(64, this.options.exactLimit));
  }

  /** Give a structured-cloned Digest (from a worker thread) its methods back. */
  static revive(data: Digest): Digest {
    Object.setPrototypeOf(data, Digest.prototype);
    if (data.hist !== null) Object.setPrototypeOf(data.hist, LogHistogram.prototype);
    return data;
  }

  /** Record one non-negative duration in nanoseconds. */
  record(ns: number): void {
    if (this.exact !== null) {
      if (this.count >= this.exact.length) {
        if (this.count >= this.options.exactLimit) {
          this.spill();
        } else {
          const grown = new Float64Array(Math.min(this.exact.length * 2, this.options.exactLimit));
          grown.set(this.exact);
          this.exact = grown;
        }
      }
      if (this.exact !== null) this.exact[this.count] = ns;
    }
    if (this.hist !== null) this.hist.record(Math.round(ns / 1000));
    this.count += 1;
    this.sumNs += ns;
    if (ns > this.maxNs) this.maxNs = ns;
  }

  private newHistogram(): LogHistogram {
    return new LogHistogram(this.options.digits === 3 ? 11 : 8);
  }

  private spill(): void {
    const hist = this.newHistogram();
    const exact = this.exact as Float64Array;
    for (let i = 0; i < this.count; i++) hist.record(Math.round((exact[i] as number) / 1000));
    this.exact = null;
    this.hist = hist;
  }

  merge(other: Digest): void {
    if (other.count === 0) return;
    if (this.exact !== null && other.exact !== null && this.count + other.count <= this.options.exactLimit) {
      for (let i = 0; i < other.count; i++) this.record(other.exact[i] as number);
      return;
    }
    if (this.exact !== null) this.spill();
    const hist = this.hist as LogHistogram;
    if (other.hist !== null) {
      hist.merge(other.hist);
    } else if (other.exact !== null) {
      for (let i = 0; i < other.count; i++) hist.record(Math.round((other.exact[i] as number) / 1000));
    }
    this.count += other.count;
    this.sumNs += other.sumNs;
    if (other.maxNs > this.maxNs) this.maxNs = other.maxNs;
  }

  /** Value at a percentile (nearest rank), in nanoseconds. */
  percentileNs(p: number): number {
    if (this.count === 0) return 0;
    if (this.exact !== null) {
      const sorted = this.exact.slice(0, this.count).sort();
      const rank = Math.min(this.count, Math.max(1, Math.ceil((p / 100) * this.count)));
      return sorted[rank - 1] as number;
    }
    // The histogram reports the highest value of the bucket; never above the exact max.
    return Math.min((this.hist as LogHistogram).percentile(p) * 1000, this.maxNs);
  }

  get exactPercentiles(): boolean {
    return this.exact !== null;
  }

  /** The figures, or null when nothing was recorded: no data is never shown as 0. */
  statsOrNull(): Stats | null {
    return this.count === 0 ? null : this.stats();
  }

  stats(): Stats {
    if (this.count === 0) return { ...EMPTY_STATS };
    let sorted: Float64Array | null = null;
    if (this.exact !== null) sorted = this.exact.slice(0, this.count).sort();
    const at = (p: number): number => {
      if (sorted === null) return this.percentileNs(p);
      const rank = Math.min(this.count, Math.max(1, Math.ceil((p / 100) * this.count)));
      return sorted[rank - 1] as number;
    };
    return {
      p50: nsToMs(at(50)),
      p90: nsToMs(at(90)),
      p95: nsToMs(at(95)),
      p99: nsToMs(at(99)),
      max: nsToMs(this.maxNs),
      mean: nsToMs(this.sumNs / this.count),
    };
  }
}

/** Nanoseconds to milliseconds, rounded to the nanosecond so reports show no float noise. */
export function nsToMs(ns: number): number {
  return Math.round(ns) / 1e6;
}
