// The analyzer's pure cores on their own: digests (exact, then histogram within 0.1%), merging,
// the NTP-style offset estimator, and the threshold grammar.
import { describe, expect, it } from 'vitest';
import { OffsetEstimator } from '../analyzer/clock-offset.ts';
import { LogHistogram } from '../analyzer/log-histogram.ts';
import { Digest } from '../analyzer/stats.ts';
import { parseThreshold } from '../analyzer/thresholds.ts';
import { nearestRank } from './helpers/analyzer-scenario.ts';
import { seededRandom } from './helpers/seeded-random.ts';

describe('digests', () => {
  const random = seededRandom(42);
  // Latencies from 50 µs to ~40 s, log-spread, in ns.
  const values = Array.from({ length: 30_000 }, () => Math.round(50_000 * Math.exp(random() * 13.6)));

  it('are exact below the limit and within 0.1% above it', () => {
    const exact = new Digest({ exactLimit: 100_000 });
    const binned = new Digest({ exactLimit: 1000 });
    for (const v of values) {
      exact.record(v);
      binned.record(v);
    }
    expect(exact.exactPercentiles).toBe(true);
    expect(binned.exactPercentiles).toBe(false);
    for (const p of [1, 50, 90, 99, 99.9, 100]) {
      const truth = nearestRank(values, p);
      expect(exact.percentileNs(p)).toBe(truth);
      // Binned in µs: at most one bucket (0.1%) plus the µs rounding above the true value.
      expect(binned.percentileNs(p)).toBeGreaterThanOrEqual(truth - 1000);
      expect(binned.percentileNs(p)).toBeLessThanOrEqual(truth * 1.001 + 1000);
    }
    expect(binned.stats().max).toBe(Math.max(...values) / 1e6);
    expect(binned.stats().mean).toBeCloseTo(values.reduce((a, v) => a + v, 0) / values.length / 1e6, 6);
  });

  it('merge to the same figures as one digest of all values', () => {
    for (const limit of [100_000, 500]) {
      const all = new Digest({ exactLimit: limit });
      const a = new Digest({ exactLimit: limit });
      const b = new Digest({ exactLimit: limit });
      values.forEach((v, i) => {
        all.record(v);
        (i % 3 === 0 ? a : b).record(v);
      });
      a.merge(b);
      expect(a.count).toBe(all.count);
      expect(a.stats()).toEqual(all.stats());
    }
  });

  it('log histogram buckets hold their values and merge', () => {
    const h = new LogHistogram(11);
    for (const v of [0, 1, 2047, 2048, 2049, 4095, 4096, 123_456_789, 2 ** 33 + 5]) {
      const i = h.indexOf(v);
      expect(h.highestOf(i)).toBeGreaterThanOrEqual(v);
      expect(h.highestOf(i)).toBeLessThanOrEqual(v * 1.001 + 1);
      if (i > 0) expect(h.highestOf(i - 1)).toBeLessThan(v);
    }
    const x = new LogHistogram(8);
    const y = new LogHistogram(8);
    x.record(10);
    y.record(1_000_000);
    x.merge(y);
    expect(x.total).toBe(2);
    expect(x.percentile(100)).toBeGreaterThanOrEqual(1_000_000);
  });

  it('log histogram keeps only the buckets in use, in whatever order values and merges come', () => {
    // Reference: every value's bucket counted in a map, the buckets listed and ranked from it.
    let seed = 7;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const bands = [[5_000, 20_000], [0, 300], [900_000, 2_000_000], [40, 60]] as const;
    const values = bands.flatMap(([lo, hi]) => Array.from({ length: 500 }, () => lo + (next() % (hi - lo))));
    for (const order of ['as drawn', 'descending', 'ascending']) {
      const sorted = order === 'as drawn' ? values : [...values].sort((a, b) => (order === 'ascending' ? a - b : b - a));
      // Split into parts recorded apart and merged, both ways round.
      const parts = [new LogHistogram(8), new LogHistogram(8), new LogHistogram(8)];
      sorted.forEach((v, i) => parts[Math.floor((i * parts.length) / sorted.length)]!.record(v));
      const merged = new LogHistogram(8);
      for (const part of order === 'descending' ? parts : [...parts].reverse()) merged.merge(part);
      const reference = new Map<number, number>();
      for (const v of values) reference.set(merged.indexOf(v), (reference.get(merged.indexOf(v)) ?? 0) + 1);
      const buckets: Array<[number, number]> = [];
      merged.forEachBucket((value, count) => buckets.push([value, count]));
      expect(buckets).toEqual([...reference].sort((a, b) => a[0] - b[0]).map(([i, c]) => [merged.highestOf(i), c]));
      expect(merged.total).toBe(values.length);
      const ranked = [...values].sort((a, b) => a - b);
      for (const p of [1, 25, 50, 90, 99, 100]) {
        const rank = Math.ceil((p / 100) * ranked.length);
        expect(merged.percentile(p)).toBe(merged.highestOf(merged.indexOf(ranked[rank - 1]!)));
      }
    }
  });
});

describe('clock offset estimator', () => {
  it('finds the offset from the pairs with the least delay, with bounded memory', () => {
    const random = seededRandom(7);
    const est = new OffsetEstimator('shop');
    const offset = 2_345_678_901; // ns: the server is 2.3 s ahead
    for (let i = 0; i < 50_000; i++) {
      const t1 = 1_000_000;
      // Most pairs queue before the server (asymmetric); 1% have short symmetric legs.
      const symmetric = random() < 0.01;
      const before = symmetric ? 500_000 : 500_000 + random() * 20_000_000;
      const after = 500_000;
      const server = 3_000_000 + random() * 5_000_000;
      const t2 = t1 + before + offset;
      const t3 = t2 + server;
      const t4 = t1 + before + server + after;
      est.add(t1, t2, t3, t4, true);
    }
    const e = est.estimate();
    expect(e?.samples).toBe(50_000);
    expect(e?.trusted).toBe(256);
    expect(Math.abs((e?.offsetMs ?? 0) * 1e6 - offset)).toBeLessThan(1_000_000);
  });

  it('merges two estimators (two shards) like one', () => {
    const one = new OffsetEstimator('s');
    const a = new OffsetEstimator('s');
    const b = new OffsetEstimator('s');
    for (let i = 0; i < 1000; i++) {
      const delay = (i * 7919) % 1000;
      one.add(0, 5_000 + delay, 6_000 + delay, 1_000 + 2 * delay, true);
      (i % 2 === 0 ? a : b).add(0, 5_000 + delay, 6_000 + delay, 1_000 + 2 * delay, true);
    }
    a.merge(b);
    expect(a.estimate()).toEqual(one.estimate());
  });

  it('measures how far server spans still stick out of their client spans once corrected', () => {
    const est = new OffsetEstimator('s');
    const ms = 1e6;
    // Each pair allows the offsets [low, high] that put its server span inside its client span.
    for (let i = 0; i < 10; i++) est.addBounds(-1 * ms, 1 * ms);
    for (let i = 0; i < 3; i++) est.addBounds(0.5 * ms, 2 * ms);
    for (let i = 0; i < 2; i++) est.addBounds(-3 * ms, -2 * ms);
    const at = (thetaMs: number) => {
      const h = est.residualAt(thetaMs * ms);
      return { pairs: h.total, p50: h.percentile(50) / ms, max: h.percentile(100) / ms };
    };
    // Histogram buckets hold values to 0.1 %.
    const near = (value: number, expected: number): void => expect(Math.abs(value - expected)).toBeLessThanOrEqual(expected * 0.002);
    // θ = 0: the three end 0.5 ms after their client span, the two start 2 ms before theirs.
    expect(at(0).pairs).toBe(5);
    near(at(0).p50, 0.5);
    near(at(0).max, 2);
    expect(at(1.5).pairs).toBe(12);
    near(at(1.5).p50, 0.5);
    near(at(1.5).max, 3.5);
    expect(at(-2.5).pairs).toBe(13);
    near(at(-2.5).max, 3);
    expect(at(0.75).pairs).toBe(2);
    // Merged estimators carry their bounds along.
    const other = new OffsetEstimator('s');
    other.addBounds(5 * ms, 6 * ms);
    est.merge(other);
    expect(est.residualAt(0).total).toBe(6);
  });
});

describe('threshold grammar', () => {
  it('parses durations, ratios, counts and endpoints', () => {
    expect(parseThreshold('gap.p99<50ms')).toMatchObject({ metric: 'gap.p99', op: '<', value: 50, endpoint: null, kind: 'ms' });
    expect(parseThreshold('client.p90 <= 1.5s')).toMatchObject({ value: 1500, op: '<=' });
    expect(parseThreshold('server.max<250us')).toMatchObject({ value: 0.25 });
    expect(parseThreshold('coverage>=99%')).toMatchObject({ value: 0.99, kind: 'ratio' });
    expect(parseThreshold('gap.p99{/product/{id}}<80ms')).toMatchObject({ endpoint: '/product/{id}', value: 80 });
    expect(parseThreshold('phase.beforeServer<10ms')).toMatchObject({ metric: 'phase.beforeServer' });
    expect(parseThreshold('errors.count==0')).toMatchObject({ kind: 'count', op: '==' });
  });

  it('explains what is wrong', () => {
    expect(parseThreshold('gap.p98<5ms')).toMatch(/unknown metric 'gap.p98'/);
    expect(parseThreshold('coverage>=0.9ms')).toMatch(/is a ratio/);
    expect(parseThreshold('gap.p99<5%')).toMatch(/is a duration/);
    expect(parseThreshold('phase.nap<1ms')).toMatch(/unknown phase 'nap'/);
    expect(parseThreshold('gap.p99 lt 5')).toMatch(/is not a threshold/);
  });
});
