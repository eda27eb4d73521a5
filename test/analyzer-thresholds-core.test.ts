// CI gates (analyzer/thresholds.ts) in process, against runs built by hand: the grammar and every
// refusal's wording, each unit's conversion, the figure each metric reads, each operator at its
// boundary, which endpoints a gate checks, a gate over nothing failing with its reason, and the
// ✓/✗ lines. The CLI tests see the same through a child process, out of mutation testing's sight.
import { describe, expect, it } from 'vitest';
import type { PhasesMs } from '../analyzer/gap-breakdown.ts';
import type { EndpointReport, RunReport } from '../analyzer/report.ts';
import type { Stats } from '../analyzer/stats.ts';
import { evaluateThresholds, formatThresholdResults, holds, metricValue, parseRatio, parseThreshold, type Threshold } from '../analyzer/thresholds.ts';

function stats(base: number): Stats {
  return { p50: base, p90: base + 1, p95: base + 2, p99: base + 3, max: base + 4, mean: base + 0.5 };
}

const phases: PhasesMs = {
  poolWait: 0.1,
  connectionSetup: 0.2,
  sending: 0.3,
  beforeServer: 0.4,
  betweenAttempts: 0.5,
  afterServer: 0.6,
  download: 0.7,
  unexplained: 0.8,
  gap: 3.6,
  explainedShare: 0.75,
  estimatedShare: 0,
  offsetShare: 0,
  basis: 'measured',
  errorBoundMs: null,
  pairs: 90,
} as PhasesMs;

function endpoint(name: string, over: Partial<EndpointReport> = {}): EndpointReport {
  return {
    name,
    count: 100,
    matched: 90,
    errors: 4,
    clientMs: stats(10),
    serverMs: stats(20),
    gapMs: stats(30),
    phasesMs: phases,
    propagationCoverage: 0.9,
    errorRate: 0.04,
    ...over,
  } as EndpointReport;
}

function run(label: string, endpoints: EndpointReport[], total = endpoint('Aggregated')): RunReport {
  return { label, endpoints, total } as unknown as RunReport;
}

function parsed(source: string): Threshold {
  const t = parseThreshold(source);
  if (typeof t === 'string') throw new Error(t);
  return t;
}

describe('threshold grammar', () => {
  it('reads metric, endpoint, operator, value and unit into one threshold, trimmed', () => {
    expect(parseThreshold('  gap.p99{GET /a}  <=  1.5s ')).toEqual({ source: 'gap.p99{GET /a}  <=  1.5s', metric: 'gap.p99', endpoint: 'GET /a', op: '<=', value: 1500, kind: 'ms' });
    expect(parsed('client.mean>250us')).toMatchObject({ value: 0.25, op: '>', endpoint: null });
    expect(parsed('server.p95>=-1')).toMatchObject({ value: -1, op: '>=', kind: 'ms' });
    expect(parsed('phase.unexplained!=0ms')).toMatchObject({ metric: 'phase.unexplained', op: '!=', kind: 'ms', value: 0 });
    expect(parsed('errors.rate<5%')).toMatchObject({ value: 0.05, kind: 'ratio' });
    expect(parsed('explained>=0.5')).toMatchObject({ value: 0.5, kind: 'ratio' });
    expect(parsed('coverage==1')).toMatchObject({ value: 1, kind: 'ratio', op: '==' });
    expect(parsed('matched>10')).toMatchObject({ kind: 'count', value: 10 });
    expect(parsed('count<1000')).toMatchObject({ kind: 'count' });
    expect(parsed('gap.max{*}<1')).toMatchObject({ endpoint: '*' });
  });

  it('refuses what it cannot read, saying what to write instead', () => {
    expect(parseThreshold('gap.p99 lt 5')).toBe("--assert 'gap.p99 lt 5' is not a threshold: write METRIC[{ENDPOINT}] OP VALUE[UNIT], e.g. 'gap.p99<50ms' or 'coverage>=0.99'");
    expect(parseThreshold('phase.nap<1ms')).toBe(
      "--assert 'phase.nap<1ms': unknown phase 'nap'; use one of poolWait, connectionSetup, sending, beforeServer, betweenAttempts, afterServer, download, unexplained",
    );
    expect(parseThreshold('gap.p98<5ms')).toBe(
      "--assert 'gap.p98<5ms': unknown metric 'gap.p98'; use client|server|gap.p50|p90|p95|p99|max|mean, phase.NAME, coverage, errors.rate, errors.count, count, matched or explained",
    );
    expect(parseThreshold('gap.p99<5%')).toBe("--assert 'gap.p99<5%': gap.p99 is a duration; use ms, s or us");
    expect(parseThreshold('coverage>=0.9ms')).toBe("--assert 'coverage>=0.9ms': coverage is a ratio; write 0.99 or 99%");
    expect(parseThreshold('coverage>=99')).toBe("--assert 'coverage>=99': coverage is a fraction from 0 to 1; write 0.99 or 99%");
    expect(parseThreshold('errors.count<3ms')).toBe("--assert 'errors.count<3ms': errors.count is a count; give a plain number");
  });

  it('takes a ratio of exactly 1 and 100%, and refuses anything above', () => {
    expect(parsed('coverage>=1').value).toBe(1);
    expect(parsed('coverage>=100%').value).toBe(1);
    expect(parseThreshold('coverage>=1.01')).toMatch(/is a fraction from 0 to 1; write 0.0101 or 1.01%$/);
  });
});

describe('--min-coverage ratios', () => {
  it('takes a fraction or a percentage, with spaces around', () => {
    expect(parseRatio('--min-coverage', '0.99')).toBe(0.99);
    expect(parseRatio('--min-coverage', ' 99.5 % ')).toBe(0.995);
    expect(parseRatio('--min-coverage', '1')).toBe(1);
    expect(parseRatio('--min-coverage', '100%')).toBe(1);
    expect(parseRatio('--min-coverage', '0')).toBe(0);
  });

  it('refuses a bare 99, more than 100%, and anything that is not a number, saying what to write', () => {
    expect(parseRatio('--min-coverage', '99')).toBe("--min-coverage is a fraction from 0 to 1: write 0.99 or 99%, got '99'");
    expect(parseRatio('--min-coverage', '1.5')).toBe("--min-coverage is a fraction from 0 to 1: write 0.015 or 1.5%, got '1.5'");
    expect(parseRatio('--min-coverage', '100.1%')).toBe("--min-coverage must be at most 100%, got '100.1%'");
    for (const bad of ['', 'abc', '.5', '5.', '-1', '0.9x', 'x0.9', '9 9', '50%%']) {
      expect(parseRatio('--min-coverage', bad)).toBe(`--min-coverage must be a fraction such as 0.99 or a percentage such as 99%, got '${bad}'`);
    }
  });
});

describe('the figure a metric reads', () => {
  const ep = endpoint('GET /a');

  it('reads each latency statistic of client, server and gap', () => {
    for (const [who, base] of [['client', 10], ['server', 20], ['gap', 30]] as const) {
      expect(['p50', 'p90', 'p95', 'p99', 'max', 'mean'].map((s) => metricValue(ep, `${who}.${s}`))).toEqual([base, base + 1, base + 2, base + 3, base + 4, base + 0.5]);
    }
  });

  it('reads each gap part, the share explained, coverage, error rate and the counts', () => {
    expect(['poolWait', 'connectionSetup', 'sending', 'beforeServer', 'betweenAttempts', 'afterServer', 'download', 'unexplained'].map((p) => metricValue(ep, `phase.${p}`))).toEqual([
      0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,
    ]);
    expect(['explained', 'coverage', 'errors.rate', 'errors.count', 'count', 'matched'].map((m) => metricValue(ep, m))).toEqual([0.75, 0.9, 0.04, 4, 100, 90]);
  });

  it('has no figure without a matched server span: server, gap, parts and explained are null, never 0', () => {
    const bare = endpoint('GET /b', { serverMs: null, gapMs: null, phasesMs: null });
    expect(['server.p99', 'gap.mean', 'phase.download', 'explained'].map((m) => metricValue(bare, m))).toEqual([null, null, null, null]);
    expect(metricValue(bare, 'client.p50')).toBe(10);
  });
});

describe('operators', () => {
  it('hold exactly at their boundary', () => {
    const at = (op: Threshold['op']): boolean[] => [holds(1, op, 2), holds(2, op, 2), holds(3, op, 2)];
    expect(at('<')).toEqual([true, false, false]);
    expect(at('<=')).toEqual([true, true, false]);
    expect(at('>')).toEqual([false, false, true]);
    expect(at('>=')).toEqual([false, true, true]);
    expect(at('==')).toEqual([false, true, false]);
    expect(at('!=')).toEqual([true, false, true]);
  });
});

describe('gates over runs', () => {
  const a = endpoint('GET /a', { gapMs: stats(5) });
  const b = endpoint('GET /b', { serverMs: null, gapMs: null, phasesMs: null });
  const runs = [run('r1', [a, b]), run('r2', [a])];

  it('checks the total without an endpoint, every endpoint with {*}, one by name, in every run', () => {
    const results = evaluateThresholds([parsed('gap.p99<10ms'), parsed('gap.p99{*}<10ms'), parsed('gap.p99{GET /a}<10ms')], runs);
    expect(results.map((r) => [r.run, r.endpoint, r.actual, r.ok])).toEqual([
      ['r1', 'Aggregated', 33, false],
      ['r1', 'GET /a', 8, true],
      ['r1', 'GET /b', null, false],
      ['r1', 'GET /a', 8, true],
      ['r2', 'Aggregated', 33, false],
      ['r2', 'GET /a', 8, true],
      ['r2', 'GET /a', 8, true],
    ]);
  });

  it('fails a gate over nothing, saying why: an endpoint not in the run, a figure with no data', () => {
    const results = evaluateThresholds([parsed('gap.p99{GET /b}<10ms'), parsed('client.p50{GET /gone}<10ms')], [runs[0] as RunReport]);
    expect(results).toEqual([
      {
        threshold: parsed('gap.p99{GET /b}<10ms'),
        run: 'r1',
        endpoint: 'GET /b',
        actual: null,
        ok: false,
        reason: 'no data: no matched server span (is the service instrumented, exporting to this receiver, propagating traceparent?)',
      },
      { threshold: parsed('client.p50{GET /gone}<10ms'), run: 'r1', endpoint: 'GET /gone', actual: null, ok: false, reason: 'no such endpoint in the run' },
    ]);
  });

  it('names the total when the run has no endpoint at all for a gate without one', () => {
    expect(evaluateThresholds([parsed('count>0')], [run('r3', [])]).map((r) => [r.endpoint, r.actual, r.ok])).toEqual([['Aggregated', 100, true]]);
  });

  it('prints one ✓/✗ line per result, each figure in its own unit, the endpoint only when the gate names one', () => {
    const results = evaluateThresholds(
      [parsed('gap.mean<1.23456s'), parsed('coverage{GET /a}>=95%'), parsed('errors.count{*}<=4'), parsed('gap.p50{GET /b}<1')],
      [run('r1', [a, b], endpoint('Aggregated', { gapMs: { ...stats(30), mean: 1234.56789 }, propagationCoverage: 0.91234 }))],
    );
    expect(formatThresholdResults(results)).toBe(
      [
        '✗ gap.mean<1.23456s — run r1: 1234.568ms',
        '✗ coverage{GET /a}>=95% [GET /a] — run r1: 90%',
        '✓ errors.count{*}<=4 [GET /a] — run r1: 4',
        '✓ errors.count{*}<=4 [GET /b] — run r1: 4',
        '✗ gap.p50{GET /b}<1 [GET /b] — run r1: no data: no matched server span (is the service instrumented, exporting to this receiver, propagating traceparent?)',
        '',
      ].join('\n'),
    );
    expect(formatThresholdResults([{ threshold: parsed('count>1'), run: 'r', endpoint: 'Aggregated', actual: null, ok: false }])).toBe('✗ count>1 — run r: no data\n');
    expect(formatThresholdResults([{ threshold: parsed('explained>0.5'), run: 'r', endpoint: 'Aggregated', actual: 0.123456, ok: false }])).toBe('✗ explained>0.5 — run r: 12.35%\n');
  });
});
