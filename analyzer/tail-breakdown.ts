// Where the gap of the slowest requests went: the parts of the gap (gap-breakdown.ts) for the
// slowest 10% and 1% of an endpoint's requests by gap, the mean of each part over those requests.
// A mean over everything hides the tail; a p99 of each part would not add up. So the pairs'
// breakdown sums are kept per gap value (exact while there are few distinct gaps) or per 2% band of
// gap (log buckets, once there are many): bounded memory, mergeable across shards and threads.
// The slowest k = ⌈share × n⌉ pairs are the top buckets; the bucket the cut falls in is taken in
// proportion (exact while buckets are single gap values: equal gaps have no order among them).
import { BreakdownAccumulator, type OffsetForSplit, type PhasesMs } from './gap-breakdown.ts';

/** Distinct gap values kept exactly before the buckets become 2% bands. */
const EXACT_BUCKETS = 512;
const BAND = Math.log(1.02);

export interface TailPhases {
  /** The slowest 10% of the endpoint's pairs by gap; null with no pair. */
  slowest10: PhasesMs | null;
  /** The slowest 1%. */
  slowest1: PhasesMs | null;
}

export class TailBreakdown {
  exact = true;
  buckets = new Map<number, BreakdownAccumulator>();

  private key(gapNs: number): number {
    return this.exact ? gapNs : Math.floor(Math.log(Math.max(gapNs, 1)) / BAND);
  }

  /** The breakdown of the pairs with this gap (ns), to add one pair to. */
  at(gapNs: number): BreakdownAccumulator {
    const k = this.key(gapNs);
    let b = this.buckets.get(k);
    if (b === undefined) {
      if (this.exact && this.buckets.size >= EXACT_BUCKETS) {
        this.toBands();
        return this.at(gapNs);
      }
      this.buckets.set(k, (b = new BreakdownAccumulator()));
    }
    return b;
  }

  private toBands(): void {
    const old = this.buckets;
    this.exact = false;
    this.buckets = new Map();
    for (const [gap, b] of old) this.bucketFor(this.key(gap)).merge(b);
  }

  private bucketFor(k: number): BreakdownAccumulator {
    let b = this.buckets.get(k);
    if (b === undefined) this.buckets.set(k, (b = new BreakdownAccumulator()));
    return b;
  }

  /** Give a structured-cloned tail (from a worker thread) its methods back. */
  static revive(data: TailBreakdown): TailBreakdown {
    Object.setPrototypeOf(data, TailBreakdown.prototype);
    for (const b of data.buckets.values()) Object.setPrototypeOf(b, BreakdownAccumulator.prototype);
    return data;
  }

  merge(o: TailBreakdown): void {
    if (this.exact && !o.exact) this.toBands();
    for (const [k, b] of o.buckets) {
      // Exact keys are gaps; banded keys are band numbers: a banded side re-keys exact gaps.
      if (!this.exact && o.exact) this.bucketFor(this.key(k)).merge(b);
      else this.bucketFor(k).merge(b);
    }
    if (this.exact && this.buckets.size > EXACT_BUCKETS) this.toBands();
  }

  /** The parts of the slowest `share` (0..1) of the pairs by gap. */
  slowest(share: number, offsetOf: (service: string) => OffsetForSplit | undefined): PhasesMs | null {
    let total = 0;
    for (const b of this.buckets.values()) total += b.pairs;
    if (total === 0) return null;
    let left = Math.ceil(share * total);
    const sum = new BreakdownAccumulator();
    for (const k of [...this.buckets.keys()].sort((a, b) => b - a)) {
      if (left <= 0) break;
      const b = this.buckets.get(k) as BreakdownAccumulator;
      const take = Math.min(left, b.pairs);
      sum.mergeScaled(b, take / b.pairs);
      left -= take;
    }
    return sum.finish(offsetOf);
  }

  finish(offsetOf: (service: string) => OffsetForSplit | undefined): TailPhases {
    return { slowest10: this.slowest(0.1, offsetOf), slowest1: this.slowest(0.01, offsetOf) };
  }
}
