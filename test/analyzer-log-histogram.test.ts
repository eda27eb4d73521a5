// The log-linear histogram under every digest (analyzer/log-histogram.ts) against the sorted values
// themselves: small values exact, large ones (past 2^31 too) within the bucket precision, every
// percentile the nearest-rank value's bucket; histograms recorded in any order, growing down as
// well as up, and merged from parts of any ranges, are the same histogram.
import { describe, expect, it } from 'vitest';
import { LogHistogram } from '../analyzer/log-histogram.ts';
import { seededRandom } from './helpers/seeded-random.ts';

/** Values over twelve decades: exact small ones, nanosecond latencies, past 2^31 and 2^40. */
function values(n: number, seed: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => Math.floor(10 ** (r() * 12.5)));
}

function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] as number;
}

const buckets = (h: LogHistogram): Array<[number, number]> => {
  const out: Array<[number, number]> = [];
  h.forEachBucket((v, n) => out.push([v, n]));
  return out;
};

describe('LogHistogram', () => {
  it('gives each percentile as the highest value of the nearest-rank value\'s bucket: exact below 2^subBits, within its precision above', () => {
    for (const subBits of [11, 8]) {
      const all = values(20_000, subBits);
      const h = new LogHistogram(subBits);
      for (const v of all) h.record(v);
      const sorted = [...all].sort((a, b) => a - b);
      expect(h.total).toBe(all.length);
      for (const p of [0, 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 100]) {
        const want = nearestRank(sorted, p);
        const got = h.percentile(p);
        expect(got, `p${p}`).toBe(h.highestOf(h.indexOf(want)));
        if (want < 2 ** subBits) expect(got).toBe(want);
        else {
          expect(got).toBeGreaterThanOrEqual(want);
          expect((got - want) / want).toBeLessThan(2 ** -(subBits - 1));
        }
      }
    }
  });

  it('puts every value in the bucket whose range holds it, past 2^31 as well', () => {
    const h = new LogHistogram();
    for (const v of [0, 1, 2047, 2048, 2049, 4095, 4096, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 40 + 12345, 2 ** 52]) {
      const i = h.indexOf(v);
      expect(h.highestOf(i), `${v}`).toBeGreaterThanOrEqual(v);
      if (i > 0) expect(h.highestOf(i - 1), `${v}`).toBeLessThan(v);
    }
    // Below 2^subBits each value is its own bucket.
    expect([0, 1, 2047].map((v) => h.indexOf(v))).toEqual([0, 1, 2047]);
  });

  it('takes negatives as 0, fractions by their floor, and counts given with a value', () => {
    const h = new LogHistogram();
    h.record(-5);
    h.record(7.9);
    h.record(100, 3);
    expect(buckets(h)).toEqual([
      [0, 1],
      [7, 1],
      [100, 3],
    ]);
    expect(h.total).toBe(5);
    expect(h.percentile(50)).toBe(100);
    expect(new LogHistogram().percentile(50)).toBe(0);
  });

  it('is the same histogram whatever the order values arrive in, growing down as well as up', () => {
    const all = values(5000, 3);
    const up = new LogHistogram();
    const down = new LogHistogram();
    for (const v of [...all].sort((a, b) => a - b)) up.record(v);
    for (const v of [...all].sort((a, b) => b - a)) down.record(v);
    const mixed = new LogHistogram();
    for (const v of all) mixed.record(v);
    expect(buckets(down)).toEqual(buckets(up));
    expect(buckets(mixed)).toEqual(buckets(up));
  });

  it('merges parts of any ranges (disjoint, nested, overlapping, empty) into what one histogram of all values holds', () => {
    const all = values(6000, 4);
    const whole = new LogHistogram();
    for (const v of all) whole.record(v);
    const sorted = [...all].sort((a, b) => a - b);
    const parts = [sorted.slice(0, 1000), sorted.slice(4000), sorted.slice(1000, 4000).filter((_, i) => i % 2 === 0), sorted.slice(1000, 4000).filter((_, i) => i % 2 === 1), []];
    for (const order of [[0, 1, 2, 3, 4], [4, 1, 0, 3, 2], [2, 4, 3, 0, 1]]) {
      const merged = new LogHistogram();
      for (const k of order) {
        const part = new LogHistogram();
        for (const v of parts[k] as number[]) part.record(v);
        merged.merge(part);
      }
      expect(merged.total).toBe(whole.total);
      expect(buckets(merged)).toEqual(buckets(whole));
    }
  });

  it('refuses to merge histograms of different precision', () => {
    const coarse = new LogHistogram(8);
    coarse.record(5);
    expect(() => new LogHistogram(11).merge(coarse)).toThrow('cannot merge histograms of different precision');
  });
});
