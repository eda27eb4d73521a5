// The demo's ground-truth check. The demo knows exactly what it injected (the proxy's delay on
// every new connection), so it reads the stored spans back and compares: for the load-test
// requests that opened a connection, the gap (client span − its server child) should be that
// delay plus a little; for the requests that reused one, close to zero. This is a cross-check of
// the whole pipeline, printed beside the analyzer's report, not a second analyzer.
import type { RunGapRow } from '../model/span-reads.ts';

export interface GapSummary {
  count: number;
  p50Ms: number | undefined;
}

export interface ConnectionCheck {
  opened: GapSummary;
  reused: GapSummary;
  /**
   * The extra gap of the requests that opened a connection: for each, its gap minus the median
   * gap of the requests that reused one within BASELINE_WINDOW_MS of it; the median of those.
   * Undefined when no connection-opening request was paired with its server span.
   */
  extraMs: number | undefined;
  /** The median of those baselines: how much gap every request had around the opening ones — the
   *  machine's scheduling noise, which a new connection's extra hops pay several times over. */
  baselineMs: number | undefined;
  /** Load-test roots of the run with no server child (propagation broken or spans lost). */
  unmatched: number;
}

/**
 * Every request's gap carries the time its bytes wait for a CPU in the proxy, the shop and the
 * generator. On a busy machine that wait is large and changes by the second: in a run at load
 * average 12 the reused requests' gap p50 was 16 ms during the ramp-up (when every
 * connection-opening request happens) and 6 ms over the whole run. So each opened request is
 * compared with the reused ones around it, not with the run's.
 */
export const BASELINE_WINDOW_MS = 500;

function median(sorted: readonly number[]): number | undefined {
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** First index in `sorted` (by `at`) whose `at` is >= `at`. */
function lowerBound(sorted: readonly { at: number }[], at: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as { at: number }).at < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The check over a run's roots and their gaps (model/span-reads.ts runGapRows: in start order,
 * cut-off requests left out) and its count of roots without a server child.
 */
export function checkConnectionGaps(run: { rows: readonly RunGapRow[]; unmatched: number }): ConnectionCheck {
  const opened: { at: number; gap: number }[] = [];
  const reused: { at: number; gap: number }[] = [];
  for (const row of run.rows) (row.reused === 0 ? opened : reused).push({ at: row.atMs, gap: row.gapNs / 1e6 });
  const byGap = (list: { gap: number }[]): number[] => list.map((r) => r.gap).sort((a, b) => a - b);
  const reusedP50 = median(byGap(reused));
  const baselines = opened.map(({ at }) => {
    const around = reused.slice(lowerBound(reused, at - BASELINE_WINDOW_MS), lowerBound(reused, at + BASELINE_WINDOW_MS + 1e-6));
    return median(byGap(around)) ?? reusedP50 ?? 0;
  });
  const extras = opened.map(({ gap }, i) => gap - (baselines[i] as number)).sort((a, b) => a - b);
  return {
    opened: { count: opened.length, p50Ms: median(byGap(opened)) },
    reused: { count: reused.length, p50Ms: reusedP50 },
    extraMs: median(extras),
    baselineMs: median(baselines.sort((a, b) => a - b)),
    unmatched: run.unmatched,
  };
}

/** What the proxy injected: the delay asked for, and what it really held each connection. */
export interface Injected {
  askedMs: number;
  /** DelayProxy.holds: at least the asked delay, more when the proxy's event loop was late. */
  heldMs: readonly number[];
}

export interface Verdict {
  /** The delay the connection-opening requests really waited: the proxy's median hold. */
  injectedMs: number;
  /** ConnectionCheck.extraMs: the gap the opened requests had beyond the reused ones around them. */
  foundMs: number | undefined;
  /** |found − injected| / injected; undefined when nothing was found. */
  off: number | undefined;
  /** The largest `off` that passes, as a fraction. */
  tolerance: number;
  ok: boolean;
}

/** Did the pipeline find the injected delay? Undefined when nothing was injected. */
export function judgeCheck(check: ConnectionCheck, injected: Injected, tolerance: number): Verdict | undefined {
  if (injected.askedMs <= 0) return undefined;
  const held = median([...injected.heldMs].sort((a, b) => a - b)) ?? injected.askedMs;
  const foundMs = check.extraMs;
  const off = foundMs === undefined ? undefined : Math.abs(foundMs - held) / held;
  return { injectedMs: held, foundMs, off, tolerance, ok: off !== undefined && off <= tolerance };
}

/** A few lines for the terminal; says plainly whether the injected delay was found. */
export function describeCheck(check: ConnectionCheck, injected: Injected, verdict: Verdict | undefined): string {
  const fmt = (ms: number | undefined): string => (ms === undefined ? 'n/a' : `${ms.toFixed(1)} ms`);
  const pct = (f: number): string => `${Number((f * 100).toFixed(1))} %`;
  const held = verdict === undefined || injected.heldMs.length === 0 ? '' : ` (held ${fmt(verdict.injectedMs)} at the median, as the proxy timed it)`;
  const lines = [
    `Ground truth: the proxy delayed each new connection by ${injected.askedMs} ms${held}.`,
    `  requests that opened a connection: ${check.opened.count}, gap p50 ${fmt(check.opened.p50Ms)}`,
    `  requests that reused one:          ${check.reused.count}, gap p50 ${fmt(check.reused.p50Ms)}`,
  ];
  if (verdict !== undefined) {
    if (verdict.foundMs === undefined || verdict.off === undefined) {
      lines.push('  ✗ no request that opened a connection was paired with its server span: the delay was not found');
    } else {
      const found = `found ${fmt(verdict.foundMs)} (opened minus the reused around them, p50)`;
      lines.push(
        verdict.ok
          ? `  ✓ the injected delay is the gap: ${found}, within ${pct(verdict.off)} of the delay held (tolerance ${pct(verdict.tolerance)})`
          : `  ✗ the gap differs from the injected delay: ${found}, ${pct(verdict.off)} off the delay held (tolerance ${pct(verdict.tolerance)})`,
      );
      // Why it fails on a busy machine: every hop a new connection takes (the proxy's accept and
      // timer, its upstream connect, the shop's accept) waits for a CPU, as each request's bytes do.
      if (!verdict.ok && check.baselineMs !== undefined) {
        const busy = 2 * check.baselineMs > verdict.tolerance * verdict.injectedMs;
        lines.push(
          `    reused requests around them had a gap p50 of ${fmt(check.baselineMs)} (under 1 ms on a quiet machine)` +
            (busy ? ': the machine was too busy for this check, and a new connection waits for a CPU at each of its extra hops' : ''),
        );
      }
    }
  }
  if (check.unmatched > 0) lines.push(`  ${check.unmatched} load-test requests have no server span (see coverage in the report)`);
  return lines.join('\n') + '\n';
}
