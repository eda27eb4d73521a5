// The NTP-style clock offset estimator (analyzer/clock-offset.ts) against the same estimate worked
// out by brute force from every sample: θ and δ per pair (RFC 5905 §8), the pairs with the least δ
// trusted (5 %, at least one, at most 256), θ the median of theirs; merged estimators (two shards,
// or worker threads after a structured clone) give exactly what one would; the residual counts the
// pairs that stick out of their client span even at the estimated offset.
import { describe, expect, it } from 'vitest';
import { MAX_TRUSTED, OffsetEstimator, TRUSTED_SHARE } from '../analyzer/clock-offset.ts';
import { seededRandom } from './helpers/seeded-random.ts';

interface Pair {
  t1: number;
  t2: number;
  t3: number;
  t4: number;
  phases: boolean;
}

/** Pairs of a server whose clock runs `offsetNs` ahead, with legs of random, unequal length (ns). */
function pairs(n: number, offsetNs: number, seed: number, phasesShare = 1): Pair[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const t1 = r() * 1e6;
    const out = 50_000 + r() * 5e6;
    const work = 1e5 + r() * 1e7;
    const back = 50_000 + r() * 5e6;
    return { t1, t2: t1 + out + offsetNs, t3: t1 + out + work + offsetNs, t4: t1 + out + work + back, phases: r() < phasesShare };
  });
}

/** The estimate by brute force: every sample's θ and δ, sorted. */
function bruteForce(all: Pair[]): { offsetMs: number; trusted: number; delayMs: number; method: string } {
  const samples = all.map((p) => ({ theta: (p.t2 - p.t1 + (p.t3 - p.t4)) / 2, delay: p.t4 - p.t1 - (p.t3 - p.t2) })).sort((a, b) => a.delay - b.delay);
  const k = Math.min(MAX_TRUSTED, samples.length, Math.max(1, Math.ceil(samples.length * TRUSTED_SHARE)));
  const trusted = samples.slice(0, k);
  const thetas = trusted.map((s) => s.theta).sort((a, b) => a - b);
  const median = k % 2 === 1 ? (thetas[k >> 1] as number) : ((thetas[(k >> 1) - 1] as number) + (thetas[k >> 1] as number)) / 2;
  const withPhases = all.filter((p) => p.phases).length;
  return {
    offsetMs: Math.round(median) / 1e6,
    trusted: k,
    delayMs: Math.round(Math.max(0, (trusted[k - 1] as { delay: number }).delay)) / 1e6,
    method: withPhases * 2 >= all.length ? 'phases' : 'span bounds',
  };
}

function estimatorOf(all: Pair[], service = 'shop'): OffsetEstimator {
  const e = new OffsetEstimator(service);
  for (const p of all) e.add(p.t1, p.t2, p.t3, p.t4, p.phases);
  return e;
}

describe('clock offset estimate', () => {
  it('is nothing without a sample', () => {
    expect(new OffsetEstimator('shop').estimate()).toBeUndefined();
  });

  it('is the median θ of the pairs with the least delay, for one pair, a few, and many (the heap full)', () => {
    for (const [n, seed] of [[1, 1], [2, 2], [19, 3], [20, 4], [21, 5], [40, 6], [333, 7], [5120, 8], [9999, 9]] as const) {
      const all = pairs(n, 3e9, seed);
      const got = estimatorOf(all).estimate();
      expect({ n, ...got }, `n=${n}`).toMatchObject({ n, service: 'shop', samples: n, ...bruteForce(all) });
    }
  });

  it('keeps the least-delay pairs whatever order they arrive in: best last, best first, interleaved', () => {
    const all = pairs(3000, 5e8, 15);
    const byDelay = [...all].sort((a, b) => a.t4 - a.t1 - (a.t3 - a.t2) - (b.t4 - b.t1 - (b.t3 - b.t2)));
    const interleaved = byDelay.map((_, i) => byDelay[i % 2 === 0 ? i >> 1 : byDelay.length - 1 - (i >> 1)] as Pair);
    for (const order of [byDelay, [...byDelay].reverse(), interleaved]) expect(estimatorOf(order).estimate()).toMatchObject(bruteForce(all));
  });

  it('recovers a known offset when the legs are equal, ahead or behind', () => {
    for (const offsetNs of [3e9, -250e6, 0]) {
      const all = pairs(500, offsetNs, 11).map((p) => ({ ...p, t4: p.t1 + (p.t2 - offsetNs - p.t1) + (p.t3 - p.t2) + (p.t2 - offsetNs - p.t1) }));
      expect(estimatorOf(all).estimate()?.offsetMs).toBeCloseTo(offsetNs / 1e6, 6);
    }
  });

  it('names its method by what most pairs had: phases when at least half did', () => {
    const all = pairs(100, 0, 12);
    const mixed = (withPhases: number): Pair[] => all.map((p, i) => ({ ...p, phases: i < withPhases }));
    expect(estimatorOf(mixed(50)).estimate()?.method).toBe('phases');
    expect(estimatorOf(mixed(49)).estimate()?.method).toBe('span bounds');
    expect(estimatorOf(mixed(100)).estimate()?.method).toBe('phases');
    expect(estimatorOf(mixed(0)).estimate()?.method).toBe('span bounds');
  });

  it('merges exactly: two shards, or a worker thread\'s structured clone, give what one estimator over all pairs gives', () => {
    const all = pairs(7000, 1.5e9, 13, 0.7);
    const whole = estimatorOf(all).estimate();
    const a = estimatorOf(all.slice(0, 2500));
    const b = estimatorOf(all.slice(2500));
    a.merge(OffsetEstimator.revive(structuredClone(b)));
    expect(a.estimate()).toEqual(whole);
    expect(a.samples).toBe(7000);
    expect(a.withPhases).toBe(all.filter((p) => p.phases).length);
  });
});

describe('clock offset residual', () => {
  it('counts the pairs whose server span sticks out of its client span at the estimated offset, and by how much', () => {
    const e = new OffsetEstimator('shop');
    // Offsets in ns that keep each pair's server span inside its client span: [low, high].
    const bounds: Array<[number, number]> = [
      [-2e6, 5e6], // θ = 1e6 inside
      [0, 1.1e6], // θ just below the upper bound: inside
      [0.9e6, 3e6], // θ just above the lower bound: inside
      [-8e6, -4e6], // high < θ by 5e6: the corrected server span starts before the client span
      [3e6, 9e6], // low > θ by 2e6: it ends after
      [-1e6, 2e5], // high < θ by 0.8e6
      [4e6, 6e6], // low > θ by 3e6
    ];
    for (const [low, high] of bounds) e.addBounds(low, high);
    const excess = e.residualAt(1e6);
    expect(excess.total).toBe(4);
    // The histograms keep values to 0.1 %.
    expect(excess.percentile(100) / 5e6).toBeCloseTo(1, 2);
    expect(excess.percentile(0) / 0.8e6).toBeCloseTo(1, 2);
    // At θ = 0 the picture changes: [0.9e6, 3e6], [3e6, 9e6] and [4e6, 6e6] end after; [-8e6, -4e6] starts before.
    expect(e.residualAt(0).total).toBe(4);
    expect(e.residualAt(0).percentile(100) / 4e6).toBeCloseTo(1, 2);
  });

  it('reports the residual at its own estimate in ms: pairs, p50 and max', () => {
    const all = pairs(200, 2e9, 14);
    const e = estimatorOf(all);
    for (const p of all) e.addBounds(p.t3 - (p.t4 - p.t1), p.t2 - p.t1);
    // Two pairs whose server spans are 7 ms and 9 ms longer than their client spans allow.
    e.addBounds(2e9 + 7e6, 2e9);
    e.addBounds(2e9 + 9e6, 2e9);
    const est = e.estimate();
    expect(est?.residual.pairs).toBeGreaterThanOrEqual(2);
    expect(est?.residual.maxMs).toBeGreaterThan(2);
    expect(est?.residual.maxMs).toBeLessThan(9.1);
    expect(est?.residual.p50Ms).toBeGreaterThan(0);
    expect(est?.residual.p50Ms).toBeLessThanOrEqual(est?.residual.maxMs ?? 0);
  });
});
