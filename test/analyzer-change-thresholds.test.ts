// Change gates (analyzer/change-thresholds.ts) against a comparison built by hand: what marks a
// change threshold, the grammar and each refusal's wording, which endpoints a gate reads, a
// crossing that fails only when significant, a gate over nothing failing, and the ✓/✗ lines.
import { describe, expect, it } from 'vitest';
import { evaluateChangeThresholds, formatChangeResults, isChangeThreshold, parseChangeThreshold, type ChangeThreshold } from '../analyzer/change-thresholds.ts';
import { TOTAL_NAME, type Comparison, type EndpointComparison, type MetricChange } from '../analyzer/compare.ts';

function gate(source: string): ChangeThreshold {
  const t = parseChangeThreshold(source);
  if (typeof t === 'string') throw new Error(t);
  return t;
}

function change(metric: string, baselineMs: number, runMs: number, significant: boolean, pValue: number | null = significant ? 0.001 : 0.4): MetricChange {
  return { metric, baselineMs, runMs, changeMs: runMs - baselineMs, changePct: baselineMs === 0 ? null : ((runMs - baselineMs) / baselineMs) * 100, test: 'quantile', pValue, significant };
}

function ep(name: string, changes: MetricChange[], onlyIn: EndpointComparison['onlyIn'] = null): EndpointComparison {
  return { name, onlyIn, baselineCount: 100, runCount: 100, changes };
}

const comparison: Comparison = {
  run: { label: 'new', service: 'locust', start: '2026-11-30T10:00:00.000Z', databases: [] },
  baseline: { label: 'old', service: 'locust', start: '2026-11-29T10:00:00.000Z', databases: [] },
  alpha: 0.01,
  endpoints: [
    ep('/a', [change('gap.p99', 10, 12, true, 0.00001), change('client.mean', 50, 50.5, false), change('phase.download', 0, 2, true)]),
    ep('/b', [change('gap.p99', 20, 30, false, null)]),
    ep('/only-new', [], 'run'),
    ep(TOTAL_NAME, [change('gap.p99', 15, 16.5, true, 0.0042)]),
  ],
};

describe('change threshold grammar', () => {
  it('is a change threshold when the value after the operator carries a sign', () => {
    expect(['gap.p99<+10%', 'gap.p99 <= -5ms', 'gap.p99>= +1s', 'gap.p99>+0%'].map(isChangeThreshold)).toEqual([true, true, true, true]);
    expect(['gap.p99<10%', 'gap.p99<=5ms', 'coverage>=0.99', 'gap.p99 < 1-2'].map(isChangeThreshold)).toEqual([false, false, false, false]);
  });

  it('reads metric, endpoint, operator, signed value and unit; s and us in ms', () => {
    expect(parseChangeThreshold('  gap.p99{GET /a} < +10% ')).toEqual({ source: 'gap.p99{GET /a} < +10%', metric: 'gap.p99', endpoint: 'GET /a', op: '<', unit: 'pct', value: 10 });
    expect(gate('client.mean>=-1.5s')).toMatchObject({ op: '>=', unit: 'ms', value: -1500, endpoint: null });
    expect(gate('server.max<=+250us')).toMatchObject({ op: '<=', unit: 'ms', value: 0.25 });
    expect(gate('phase.beforeServer>+5ms')).toMatchObject({ metric: 'phase.beforeServer', op: '>', unit: 'ms', value: 5 });
  });

  it('refuses what it cannot read, saying what to write instead', () => {
    expect(parseChangeThreshold('gap.p99==+10%')).toBe(
      "--assert 'gap.p99==+10%' is not a change threshold: write METRIC[{ENDPOINT}] OP +VALUE% (or ms), e.g. 'gap.p99<+10%' or 'phase.beforeServer<+5ms'",
    );
    expect(parseChangeThreshold('coverage<-1%')).toBe("--assert 'coverage<-1%': a change threshold needs a duration metric: client|server|gap.p50|p90|p99|max|mean or phase.NAME");
    expect(parseChangeThreshold('gap.p95<+1%')).toMatch(/needs a duration metric/);
    expect(parseChangeThreshold('phase.nap<+1ms')).toBe(
      "--assert 'phase.nap<+1ms': unknown phase 'nap'; use one of poolWait, connectionSetup, sending, beforeServer, betweenAttempts, afterServer, download, unexplained",
    );
    expect(parseChangeThreshold('gap.p99<+10')).toBe("--assert 'gap.p99<+10': give the change a unit: % of the baseline, or ms, s, us");
  });
});

describe('change gates over a comparison', () => {
  it('reads the total without an endpoint, every endpoint in both runs with {*}, one by name', () => {
    const results = evaluateChangeThresholds([gate('gap.p99<+5%'), gate('gap.p99{*}<+5%'), gate('gap.p99{/b}<+1ms')], comparison);
    expect(results.map((r) => [r.endpoint, r.actual === null ? null : Number(r.actual.toFixed(6)), r.ok])).toEqual([
      // 15 → 16.5 ms is +10%, significant: breached.
      [TOTAL_NAME, 10, false],
      // /a: +20%, significant: breached. /b: +50% but within noise: passes. Not /only-new, not the total.
      ['/a', 20, false],
      ['/b', 50, true],
      // /b in ms: +10 ms crosses +1 ms, within noise: passes.
      ['/b', 10, true],
    ]);
  });

  it('passes a significant change that stays within its limit, in either direction of the operator', () => {
    const results = evaluateChangeThresholds([gate('gap.p99{/a}<+25%'), gate('gap.p99{/a}>+1ms'), gate('gap.p99{/a}>=+2ms'), gate('gap.p99{/a}<=+2ms')], comparison);
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
  });

  it('fails a gate over nothing: an endpoint in one run only or in neither, a metric not compared, a 0 baseline in %', () => {
    const results = evaluateChangeThresholds(
      [gate('gap.p99{/only-new}<+10%'), gate('gap.p99{/gone}<+10%'), gate('server.p50{/a}<+10%'), gate('phase.download{/a}<+10%'), gate('phase.download{/a}<+5ms')],
      comparison,
    );
    expect(results.map((r) => [r.endpoint, r.change?.metric ?? null, r.actual, r.ok])).toEqual([
      ['/only-new', null, null, false],
      ['/gone', null, null, false],
      ['/a', null, null, false],
      ['/a', 'phase.download', null, false],
      // In ms the same change is +2 ms: significant but within +5 ms.
      ['/a', 'phase.download', 2, true],
    ]);
  });

  it('prints one line per result: the change in the gate\'s unit, both figures, significance and p, or why there is none', () => {
    const results = evaluateChangeThresholds(
      [gate('gap.p99<+5%'), gate('gap.p99{/a}<+1ms'), gate('client.mean{/a}<-0.5ms'), gate('gap.p99{/b}<+1%'), gate('gap.p99{/gone}<+1%'), gate('phase.download{/a}<+1%')],
      comparison,
    );
    expect(formatChangeResults(results, comparison).split('\n')).toEqual([
      '✗ gap.p99<+5% — run new vs baseline old: +10% (15 → 16.5 ms, significant, p=0.0042)',
      '✗ gap.p99{/a}<+1ms [/a] — run new vs baseline old: +2ms (10 → 12 ms, significant, p<1e-4)',
      '✓ client.mean{/a}<-0.5ms [/a] — run new vs baseline old: +0.5ms (50 → 50.5 ms, within noise, p=0.40)',
      '✓ gap.p99{/b}<+1% [/b] — run new vs baseline old: +50% (20 → 30 ms, within noise, untested)',
      '✗ gap.p99{/gone}<+1% [/gone] — run new vs baseline old: no such endpoint in both runs',
      '✗ phase.download{/a}<+1% [/a] — run new vs baseline old: the baseline is 0, no relative change',
      '',
    ]);
  });

  it('writes a fall with its minus sign and at most three decimals', () => {
    const c: Comparison = { ...comparison, endpoints: [ep(TOTAL_NAME, [change('gap.mean', 12.34567, 10.1, true, 0.0001)])] };
    expect(formatChangeResults(evaluateChangeThresholds([gate('gap.mean>-1ms')], c), c)).toBe(
      '✗ gap.mean>-1ms — run new vs baseline old: -2.246ms (12.346 → 10.1 ms, significant, p=0.00010)\n',
    );
  });
});
