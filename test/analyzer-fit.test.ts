// The fits the findings rest on (analyzer/fit.ts), against figures worked out by hand.
import { describe, expect, it } from 'vitest';
import { hingeFit, lineFit } from '../analyzer/fit.ts';

const pts = (ys: number[], xs = ys.map((_, i) => i), w = 1): Array<{ x: number; y: number; w: number }> => ys.map((y, i) => ({ x: xs[i] as number, y, w }));

describe('fits', () => {
  it('a line: slope, intercept and R² as computed by hand', () => {
    // x 0..3, y 0 1 0 1: slope Sxy/Sxx = 1/5, intercept 0.5 − 0.2·1.5, SSE 0.8 of SST 1.
    const f = lineFit(pts([0, 1, 0, 1]));
    expect(f?.slope).toBeCloseTo(0.2, 12);
    expect(f?.intercept).toBeCloseTo(0.2, 12);
    expect(f?.r2).toBeCloseTo(0.2, 12);
    const exact = lineFit(pts([1, 3, 5, 7]));
    expect(exact).toEqual({ intercept: 1, slope: 2, r2: 1 });
    // Weights count: the same points twice as heavy give the same line.
    expect(lineFit(pts([0, 1, 0, 1], undefined, 2))?.slope).toBeCloseTo(0.2, 12);
    // A heavier point pulls the line: (0,0) ×3, (1,1), (2,0), (3,1): means x 1, y 1/3, Sxx 8, Sxy 2.
    const pulled = lineFit([{ x: 0, y: 0, w: 3 }, ...pts([1, 0, 1], [1, 2, 3])]);
    expect(pulled?.slope).toBeCloseTo(0.25, 12);
    expect(lineFit(pts([2, 2, 2], [1, 1, 1]))).toBeUndefined();
    expect(lineFit(pts([4, 4, 4]))?.r2).toBe(0);
  });

  it('a hinge: flat to the knee, then the slope; the knee found among the loads', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i + 1);
    const f = hingeFit(pts(xs.map((x) => 5 + 3 * Math.max(0, x - 10)), xs));
    expect(f).toEqual({ base: 5, slope: 3, knee: 10, r2: 1, xMin: 1, xMax: 20 });
    // Straight from the start: the knee is the lowest load.
    expect(hingeFit(pts(xs.map((x) => 2 * x), xs))?.knee).toBe(1);
    // Flat: no growth, nothing explained.
    const flat = hingeFit(pts(xs.map(() => 7), xs));
    expect(flat?.slope).toBeCloseTo(0, 12);
    expect(flat?.r2).toBe(0);
    expect(hingeFit(pts([1, 2, 3], [1, 2, 3]))).toBeUndefined();
    // Noise around a hinge: R² below 1, knee and slope still near.
    const noisy = hingeFit(pts(xs.map((x, i) => 5 + 3 * Math.max(0, x - 10) + (i % 2 === 0 ? 0.5 : -0.5)), xs));
    expect(noisy?.knee).toBe(10);
    expect(noisy?.r2).toBeLessThan(1);
    expect(noisy?.r2).toBeGreaterThan(0.99);
  });
});
