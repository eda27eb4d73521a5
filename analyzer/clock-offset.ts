// Clock offset between the generator's host and one server host, estimated the way NTP does.
//
// For each root↔server pair, on the client's clock t1 = request sent, t4 = first byte; on the
// server's clock t2 = server span start, t3 = server span end (RFC 5905 §8):
//   offset θ = ((t2 − t1) + (t3 − t4)) / 2      delay δ = (t4 − t1) − (t3 − t2)
// θ is exact when the request and response legs take equally long; the more slack (δ) a pair
// has, the more room for asymmetry, so — like NTP's clock filter — only the pairs with the least δ
// are trusted: the smallest 5% (at least one, at most 256), and θ is their median.
// This is per host pair over the whole run, not per span the way Jaeger's adjuster centres each
// child inside its parent (research/receivers.md §3.2): one estimate for all pairs, from the
// pairs that constrain it best.
//
// Samples are kept in a bounded max-heap keyed by δ, so memory does not grow with the run and two
// estimators (two shards) merge by offering one's samples to the other.

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
}

export class OffsetEstimator {
  samples = 0;
  withPhases = 0;
  // Max-heap by delay: the root is the worst of the kept samples, replaced by anything better.
  private readonly delay: number[] = [];
  private readonly theta: number[] = [];

  constructor(readonly service: string) {}

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
    return Object.setPrototypeOf(data, OffsetEstimator.prototype) as OffsetEstimator;
  }

  merge(other: OffsetEstimator): void {
    for (let i = 0; i < other.delay.length; i++) this.offer(other.theta[i] as number, other.delay[i] as number);
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
    return {
      service: this.service,
      offsetMs: Math.round(median) / 1e6,
      samples: this.samples,
      trusted: k,
      delayMs: Math.round(Math.max(0, this.delay[trusted[k - 1] as number] as number)) / 1e6,
      method: this.withPhases * 2 >= this.samples ? 'phases' : 'span bounds',
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
