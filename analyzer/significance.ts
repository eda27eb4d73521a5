// Is a change between two runs more than noise? Two tests, each suited to what it judges, and a
// correction for judging many changes at once (docs/analyzer.md, "Run versus baseline", says why):
//  - a percentile (p50, p90, p99): the difference of the two percentiles against its standard
//    error, each estimated without assuming a distribution from the values around the percentile
//    (quantileSe). It reads the full digests, not a sample, so a change confined to the tail is
//    judged with every request behind it;
//  - a mean and each gap part: the Mann-Whitney U test on the bounded request samples
//    (reservoir.ts) — rank-based, so it assumes no distribution shape, and one slow outlier
//    weighs no more than any other request above the rest;
//  - Holm's step-down correction over all the changes of a comparison, so the chance of calling
//    any change significant when the runs differ only by noise stays at alpha.

/** Standard normal upper tail P(Z > z), from erfc (Numerical Recipes' erfcc, within 1.2e-7). */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  const upper = erfc / 2;
  return z >= 0 ? upper : 1 - upper;
}

export interface TestResult {
  /** Two-sided p-value; 1 when the test has nothing to go on. */
  p: number;
  z: number;
}

/** Mann-Whitney U with the normal approximation, tie-corrected. */
export function mannWhitney(a: ArrayLike<number>, b: ArrayLike<number>): TestResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { p: 1, z: 0 };
  const all: Array<[number, 0 | 1]> = [];
  for (let i = 0; i < n1; i++) all.push([a[i] as number, 0]);
  for (let i = 0; i < n2; i++) all.push([b[i] as number, 1]);
  all.sort((x, y) => x[0] - y[0]);
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && (all[j + 1] as [number, 0 | 1])[0] === (all[i] as [number, 0 | 1])[0]) j++;
    const rank = (i + j) / 2 + 1;
    const t = j - i + 1;
    if (t > 1) tieTerm += t ** 3 - t;
    for (let k = i; k <= j; k++) if ((all[k] as [number, 0 | 1])[1] === 0) rankSumA += rank;
    i = j + 1;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { p: 1, z: 0 };
  // Positive z: the second sample (the run) tends to be larger than the first (the baseline).
  const z = ((n1 * n2) / 2 - u) / Math.sqrt(variance);
  return { p: Math.min(1, 2 * normalUpperTail(Math.abs(z))), z };
}

const Z95 = 1.959963985;

/**
 * A percentile's standard error, distribution-free: the ranks of the 95% confidence interval of
 * the p-quantile in n values are n·p ∓ 1.96·√(n·p·(1−p)) (the rank of a quantile is binomial), so
 * the values at those ranks bound it, and their distance / (2 · 1.96) is its standard error — the
 * estimate Price and Bonett (2002) use for medians, carried to any quantile. `at(rank)` gives the
 * value at a 1-based rank.
 */
export function quantileSe(n: number, p: number, at: (rank: number) => number): number {
  if (n === 0) return 0;
  const half = Z95 * Math.sqrt(n * p * (1 - p));
  const lo = Math.min(n, Math.max(1, Math.floor(n * p - half)));
  const hi = Math.min(n, Math.max(1, Math.ceil(n * p + half)));
  return (at(hi) - at(lo)) / (2 * Z95);
}

/** Two percentiles with their standard errors: z of the difference (run − baseline). */
export function quantileTest(baseline: number, baselineSe: number, run: number, runSe: number): TestResult {
  const se = Math.sqrt(baselineSe ** 2 + runSe ** 2);
  if (!(se > 0)) return run === baseline ? { p: 1, z: 0 } : { p: 0, z: run > baseline ? Infinity : -Infinity };
  const z = (run - baseline) / se;
  return { p: Math.min(1, 2 * normalUpperTail(Math.abs(z))), z };
}

/** Holm's step-down: which of the p-values are significant at family-wise level alpha. */
export function holm(pValues: number[], alpha: number): boolean[] {
  const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<boolean>(pValues.length).fill(false);
  const m = pValues.length;
  for (const [k, [p, i]] of order.entries()) {
    if (p > alpha / (m - k)) break;
    out[i] = true;
  }
  return out;
}
