// The gap's parts for an endpoint's slowest 10% and 1% (analyzer/tail-breakdown.ts), in process:
// against the mean over the slowest pairs sorted by hand, with ties cut in proportion, past 512
// distinct gaps (2% bands) within a band's width, and merged in every combination of exact and
// banded sides (through a structured clone, as from a worker thread).
import { describe, expect, it } from 'vitest';
import { TailBreakdown } from '../analyzer/tail-breakdown.ts';

const MS = 1e6;
const noOffset = (): undefined => undefined;

/**
 * One pair whose whole gap is pool wait and whose `download` is its index (to see which pairs a
 * tail took): client = gap + 10 ms + download, server 10 ms.
 */
function add(t: TailBreakdown, gapMs: number, downloadMs = 0): void {
  const gap = gapMs * MS;
  const rec = downloadMs * MS;
  t.at(gap + rec).addMeasured('shop', gap + rec + 10 * MS, 10 * MS, gap, 0, gap, 10 * MS, rec, gap, gap + 10 * MS);
}

/** The mean of the `share` largest values (⌈share × n⌉ of them), as the tail should give. */
function meanOfLargest(values: number[], share: number): number {
  const k = Math.ceil(share * values.length);
  const top = [...values].sort((a, b) => b - a).slice(0, k);
  return top.reduce((a, b) => a + b, 0) / k;
}

describe('tail breakdown', () => {
  it('is null without pairs', () => {
    expect(new TailBreakdown().finish(noOffset)).toEqual({ slowest10: null, slowest1: null });
  });

  it('takes the slowest 10% and 1% by gap, exactly while there are few distinct gaps', () => {
    const t = new TailBreakdown();
    const gaps = Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) + 1);
    for (const g of gaps) add(t, g);
    const { slowest10, slowest1 } = t.finish(noOffset);
    expect(t.exact).toBe(true);
    expect(slowest10?.pairs).toBe(20);
    expect(slowest10?.poolWait).toBeCloseTo(meanOfLargest(gaps, 0.1), 9);
    expect(slowest10?.gap).toBeCloseTo(meanOfLargest(gaps, 0.1), 9);
    expect(slowest1?.pairs).toBe(2);
    expect(slowest1?.poolWait).toBeCloseTo((200 + 199) / 2, 9);
  });

  it('takes the share of a tie the cut falls in, in proportion', () => {
    const t = new TailBreakdown();
    // 95 pairs at 1 ms; 5 at 50 ms whose download parts are 0, 1, 2, 3, 4 ms (gaps 50–54 ms).
    for (let i = 0; i < 95; i++) add(t, 1);
    for (let i = 0; i < 5; i++) add(t, 50, i);
    const tail = t.slowest(0.1, noOffset);
    // The 5 slowest, then 5 of the 95 equal ones: 10 pairs.
    expect(tail?.pairs).toBeCloseTo(10, 9);
    expect(tail?.download).toBeCloseTo((0 + 1 + 2 + 3 + 4) / 10, 9);
    expect(tail?.gap).toBeCloseTo((5 * 50 + 10 + 5 * 1) / 10, 9);
    // Of 95 pairs at 1 ms and 5 at 2 ms, the slowest 3 (⌈3% of 100⌉) are all at 2 ms.
    const u = new TailBreakdown();
    for (let i = 0; i < 95; i++) add(u, 1);
    for (let i = 0; i < 5; i++) add(u, 2);
    expect(u.slowest(0.03, noOffset)?.gap).toBeCloseTo(2, 9);
    expect(u.slowest(0.03, noOffset)?.pairs).toBeCloseTo(3, 9);
    // A share of 1: everything.
    expect(u.slowest(1, noOffset)?.gap).toBeCloseTo((95 + 10) / 100, 9);
  });

  it('switches to 2% bands past 512 distinct gaps and stays within a band of the exact figure', () => {
    const t = new TailBreakdown();
    const gaps: number[] = [];
    for (let i = 0; i < 512; i++) {
      gaps.push(1 + i * 0.25);
      add(t, 1 + i * 0.25);
    }
    expect(t.exact).toBe(true);
    expect(t.buckets.size).toBe(512);
    gaps.push(500);
    add(t, 500);
    expect(t.exact).toBe(false);
    expect(t.buckets.size).toBeLessThan(512);
    for (let i = 0; i < 2000; i++) {
      const g = 1 + ((i * 7919) % 1000) * 0.37;
      gaps.push(g);
      add(t, g);
    }
    const tail = t.slowest(0.1, noOffset);
    expect(tail?.pairs).toBeCloseTo(Math.ceil(0.1 * gaps.length), 6);
    const exact = meanOfLargest(gaps, 0.1);
    expect(Math.abs((tail?.gap ?? 0) - exact) / exact).toBeLessThan(0.02);
    // A gap of 0 has a band of its own (the band of 1 ns).
    add(t, 0);
    expect(t.slowest(1, noOffset)?.pairs).toBeCloseTo(gaps.length + 1, 6);
  });

  it('merges exact and banded sides, either way round, into what one tail fed both gives', () => {
    const fill = (t: TailBreakdown, from: number, to: number): void => {
      for (let i = from; i < to; i++) add(t, 1 + ((i * 7919) % 3000) * 0.11);
    };
    const whole = new TailBreakdown();
    fill(whole, 0, 1600);
    const small = new TailBreakdown(); // 100 pairs: exact
    const big = new TailBreakdown(); // 1,500 pairs: banded
    fill(small, 0, 100);
    fill(big, 100, 1600);
    expect([small.exact, big.exact, whole.exact]).toEqual([true, false, false]);
    const clone = (t: TailBreakdown) => TailBreakdown.revive(structuredClone(t));
    const exactIntoBanded = clone(big);
    exactIntoBanded.merge(clone(small));
    const bandedIntoExact = clone(small);
    bandedIntoExact.merge(clone(big));
    for (const merged of [exactIntoBanded, bandedIntoExact]) {
      expect(merged.exact).toBe(false);
      for (const share of [0.1, 0.01]) {
        const a = merged.slowest(share, noOffset);
        const b = whole.slowest(share, noOffset);
        expect(a?.pairs).toBeCloseTo(b?.pairs ?? NaN, 6);
        expect(a?.gap).toBeCloseTo(b?.gap ?? NaN, 6);
      }
    }
  });

  it('bands two exact sides whose gaps together pass 512', () => {
    const a = new TailBreakdown();
    const b = new TailBreakdown();
    for (let i = 0; i < 300; i++) add(a, 1 + i);
    for (let i = 0; i < 300; i++) add(b, 1000 + i);
    a.merge(b);
    expect(a.exact).toBe(false);
    expect(a.slowest(0.1, noOffset)?.pairs).toBeCloseTo(60, 6);
    expect(Math.abs((a.slowest(0.1, noOffset)?.gap ?? 0) - (1270 + 1299) / 2) / 1285).toBeLessThan(0.02);
    // Exactly 512 distinct gaps stay exact.
    const c = new TailBreakdown();
    const d = new TailBreakdown();
    for (let i = 0; i < 256; i++) add(c, 1 + i);
    for (let i = 0; i < 256; i++) add(d, 1000 + i);
    c.merge(d);
    expect(c.exact).toBe(true);
    expect(c.slowest(0.01, noOffset)?.gap).toBeCloseTo((1255 + 1254 + 1253 + 1252 + 1251 + 1250) / 6, 9);
  });
});
