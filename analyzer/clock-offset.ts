// Clock offset between the generator's host and one server host, estimated the way NTP does.
//
// For each root↔server pair, on the client's clock t1 = request sent, t4 = first byte; on the
// server's clock t2 = server span start, t3 = server span end (RFC 5905 §8):
//   offset θ = ((t2 − t1) + (t3 − t4)) / 2      delay δ = (t4 − t1) − (t3 − t2)
// θ is exact when the request and response legs take equally long; the more slack (δ) a pair
// has, the more room for asymmetry, so — like NTP's clock filter — only the pairs with the least δ
// are trusted: the smallest 5% (at least one, at most 256), and θ is their median.
// This is per host pair over the whole run, not per span the way Jaeger's clock-skew adjuster
// (github.com/jaegertracing/jaeger) centres each child inside its parent: one estimate for all
// pairs, from the pairs that constrain it best.
//
// Samples are kept in a bounded max-heap keyed by δ, so memory does not grow with the run and two
// estimators (two shards) merge by offering one's samples to the other.
//
// The estimator also checks its own result: each pair allows the offsets that put its server span
// inside its client span, θ ∈ [t3 − client duration, t2]. Those bounds go into histograms (signed,
// to 0.1 %), so once θ is known the residual counts the pairs that even the corrected clocks show
// sticking out of their client span, and by how much: noise in the timestamps themselves (a span
// end taken late by a busy event loop) or a clock running at another rate, which no offset removes.
import { LogHistogram } from './log-histogram.ts';

export const MAX_TRUSTED = 256;
export const TRUSTED_SHARE = 0.05;

export interface OffsetEstimate {
  service: string;
  /** Server clock minus generator clock, ms. */
  offsetMs: number;
  /** Pairs that gave a sample. */
  samples: number;
  /** Pairs with the least delay, whose median offset is the estimate. */
  trusted: number;
  /** Largest round-trip slack among the trusted pairs, ms: the estimate's error is at most half of it. */
  delayMs: number;
  /** 'phases': t1/t4 from the connection phases; 'span bounds': no phases, client start/end used. */
  method: 'phases' | 'span bounds';
  /** Pairs whose server span lies outside its client span even with this offset removed, and by how much. */
  residual: { pairs: number; p50Ms: number; maxMs: number };
}

export class OffsetEstimator {
  samples = 0;
  withPhases = 0;
  // Max-heap by delay: the root is the worst of the kept samples, replaced by anything better.
  private readonly delay: number[] = [];
  private readonly theta: number[] = [];
  // Per pair, the lowest and highest offset that keep its server span inside its client span, as
  // histograms of the non-negative values and of the negated negative ones.
  private readonly lowAbove = new LogHistogram();
  private readonly lowBelow = new LogHistogram();
  private readonly highAbove = new LogHistogram();
  private readonly highBelow = new LogHistogram();

  constructor(readonly service: string) {}

  /** The offsets (ns) that would put one pair's server span inside its client span: [low, high]. */
  addBounds(low: number, high: number): void {
    if (low >= 0) this.lowAbove.record(low);
    else this.lowBelow.record(-low);
    if (high >= 0) this.highAbove.record(high);
    else this.highBelow.record(-high);
  }

  /** How far (ns) each pair's server span sticks out of its client span with the offset θ (ns) removed. */
  residualAt(theta: number): LogHistogram {
    const excess = new LogHistogram();
    // high < θ: the corrected server span starts before its client span.
    this.highAbove.forEachBucket((v, n) => v < theta && excess.record(theta - v, n));
    this.highBelow.forEachBucket((v, n) => -v < theta && excess.record(theta + v, n));
    // low > θ: the corrected server span ends after its client span.
    this.lowAbove.forEachBucket((v, n) => v > theta && excess.record(v - theta, n));
    this.lowBelow.forEachBucket((v, n) => -v > theta && excess.record(-v - theta, n));
    return excess;
  }

  /** All four times in ns relative to the root's start (t2, t3 on the server's clock). */
  add(t1: number, t2: number, t3: number, t4: number, fromPhases: boolean): void {
    this.offer((t2 - t1 + (t3 - t4)) / 2, t4 - t1 - (t3 - t2));
    this.samples += 1;
    if (fromPhases) this.withPhases += 1;
  }

  private offer(theta: number, delay: number): void {
    const d = this.delay;
    const t = this.theta;
    if (d.length < MAX_TRUSTED) {
      d.push(delay);
      t.push(theta);
      let i = d.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if ((d[parent] as number) >= (d[i] as number)) break;
        swap(d, t, i, parent);
        i = parent;
      }
      return;
    }
    if (delay >= (d[0] as number)) return;
    d[0] = delay;
    t[0] = theta;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let largest = i;
      if (l < d.length && (d[l] as number) > (d[largest] as number)) largest = l;
      if (r < d.length && (d[r] as number) > (d[largest] as number)) largest = r;
      if (largest === i) break;
      swap(d, t, i, largest);
      i = largest;
    }
  }

  /** Give a structured-cloned estimator (from a worker thread) its methods back. */
  static revive(data: OffsetEstimator): OffsetEstimator {
    for (const h of [data.lowAbove, data.lowBelow, data.highAbove, data.highBelow]) Object.setPrototypeOf(h, LogHistogram.prototype);
    return Object.setPrototypeOf(data, OffsetEstimator.prototype) as OffsetEstimator;
  }

  merge(other: OffsetEstimator): void {
    for (let i = 0; i < other.delay.length; i++) this.offer(other.theta[i] as number, other.delay[i] as number);
    this.lowAbove.merge(other.lowAbove);
    this.lowBelow.merge(other.lowBelow);
    this.highAbove.merge(other.highAbove);
    this.highBelow.merge(other.highBelow);
    this.samples += other.samples;
    this.withPhases += other.withPhases;
  }

  estimate(): OffsetEstimate | undefined {
    if (this.samples === 0) return undefined;
    const order = this.delay.map((_, i) => i).sort((a, b) => (this.delay[a] as number) - (this.delay[b] as number));
    const k = Math.min(order.length, Math.max(1, Math.ceil(this.samples * TRUSTED_SHARE)));
    const trusted = order.slice(0, k);
    const thetas = trusted.map((i) => this.theta[i] as number).sort((a, b) => a - b);
    const mid = thetas.length >> 1;
    const median = thetas.length % 2 === 1 ? (thetas[mid] as number) : ((thetas[mid - 1] as number) + (thetas[mid] as number)) / 2;
    const residual = this.residualAt(Math.round(median));
    return {
      service: this.service,
      offsetMs: Math.round(median) / 1e6,
      samples: this.samples,
      trusted: k,
      delayMs: Math.round(Math.max(0, this.delay[trusted[k - 1] as number] as number)) / 1e6,
      method: this.withPhases * 2 >= this.samples ? 'phases' : 'span bounds',
      residual: { pairs: residual.total, p50Ms: residual.percentile(50) / 1e6, maxMs: residual.percentile(100) / 1e6 },
    };
  }
}

function swap(d: number[], t: number[], i: number, j: number): void {
  const dd = d[i] as number;
  d[i] = d[j] as number;
  d[j] = dd;
  const tt = t[i] as number;
  t[i] = t[j] as number;
  t[j] = tt;
}
