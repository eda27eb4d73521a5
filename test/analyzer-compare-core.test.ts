// The comparison in process (compare.ts, change-thresholds.ts, reservoir.ts), so mutation testing
// sees it: two draws of one system show no significant change; 20 ms more before the server on
// /a is significant for /a's gap, client time and before-server part only; a change gate fails
// only on a significant crossing; request samples stay bounded and merge in proportion.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { evaluateChangeThresholds, isChangeThreshold, parseChangeThreshold, type ChangeThreshold } from '../analyzer/change-thresholds.ts';
import { compareRuns, significantChanges, type Comparison, type RunData } from '../analyzer/compare.ts';
import type { EndpointReport } from '../analyzer/report.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { RESERVOIR_CAPACITY, Reservoir, SAMPLE_FIELDS } from '../analyzer/reservoir.ts';
import { holm, mannWhitney, normalUpperTail, quantileSe, quantileTest } from '../analyzer/significance.ts';
import { SLOWER, scenarios, writeRun } from './helpers/diagnosis-scenarios.ts';

let dir: string;
let db: string;

// Written once; each test analyses what it compares, inside the test (mutation testing activates
// a mutant per test, after beforeAll).
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-compare-core-'));
  db = join(dir, 'runs.db');
  writeRun(db, { ...(scenarios.clean as (typeof scenarios)['clean']), runId: 'base', seed: 1 });
  writeRun(db, scenarios.sameAgain as (typeof scenarios)['clean']);
  writeRun(db, scenarios.slowerA as (typeof scenarios)['clean']);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function dataOf(runId: string): Promise<RunData> {
  const shards = openShards([db]);
  try {
    let data: RunData | undefined;
    await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 0, threads: 1, runId, onRunData: (d) => (data = d) });
    if (data === undefined) throw new Error(`no run ${runId}`);
    return data;
  } finally {
    closeShards(shards);
  }
}

async function against(run: string): Promise<Comparison> {
  return compareRuns(await dataOf(run), ['runs.db'], await dataOf('base'), ['runs.db']);
}

function significant(c: Comparison): string[] {
  return c.endpoints.flatMap((ep) => ep.changes.filter((x) => x.significant).map((x) => `${ep.name} ${x.metric}`));
}

function gate(source: string): ChangeThreshold {
  const t = parseChangeThreshold(source);
  if (typeof t === 'string') throw new Error(t);
  return t;
}

describe('comparison core', () => {
  it('two draws of the same system: nothing significant, though every figure moved a little', async () => {
    const c = await against('same');
    expect(significant(c)).toEqual([]);
    const a = c.endpoints.find((e) => e.name === '/a');
    expect(a?.changes.some((x) => x.changeMs !== 0)).toBe(true);
    expect(c.endpoints.map((e) => e.name)).toEqual(['/a', '/b', 'Aggregated']);
  });

  it('+20 ms before the server on /a: exactly /a gap, client time and before-server part, and the Aggregated', async () => {
    const c = await against('slower');
    const sig = significant(c);
    expect(sig.filter((s) => s.startsWith('/b '))).toEqual([]);
    const onA = sig.filter((s) => s.startsWith('/a ')).map((s) => s.slice(3)).sort();
    expect(onA).toEqual(['client.mean', 'client.p50', 'client.p90', 'client.p99', 'gap.mean', 'gap.p50', 'gap.p90', 'gap.p99', 'phase.beforeServer'].sort());
    const before = c.endpoints.find((e) => e.name === '/a')?.changes.find((x) => x.metric === 'phase.beforeServer');
    expect(Math.abs((before?.changeMs ?? 0) - SLOWER.beforeMs)).toBeLessThan(1);
    expect(before?.changePct).toBeCloseTo(((before?.runMs ?? 0) / (before?.baselineMs ?? 1) - 1) * 100, 2);
  });

  it('change gates: breached only by a significant crossing, on the total, an endpoint, or each', async () => {
    expect(isChangeThreshold('gap.p99<+10%')).toBe(true);
    expect(isChangeThreshold('gap.p99<50ms')).toBe(false);
    expect(parseChangeThreshold('gap.p99<+10')).toContain('give the change a unit');
    expect(parseChangeThreshold('coverage<+10%')).toContain('needs a duration metric');
    expect(gate('phase.beforeServer{/a}<+1s')).toEqual(expect.objectContaining({ value: 1000, unit: 'ms', endpoint: '/a' }));
    const slower = await against('slower');
    const same = await against('same');
    const ok = (c: Comparison, source: string): boolean[] => evaluateChangeThresholds([gate(source)], c).map((r) => r.ok);
    expect(ok(slower, 'gap.p99<+10%')).toEqual([false]);
    expect(ok(slower, 'gap.p99{*}<+10%')).toEqual([false, true]);
    expect(ok(slower, 'gap.p99{/b}<+10%')).toEqual([true]);
    expect(ok(slower, 'phase.beforeServer{/a}<+25ms')).toEqual([true]);
    expect(ok(slower, 'gap.p99{/nope}<+10%')).toEqual([false]);
    // The same run's small moves cross a 0% limit now and then, but never significantly.
    expect(ok(same, 'gap.p50{*}<+0%').every((x) => x)).toBe(true);
    expect(ok(same, 'gap.p50{*}>-0%').every((x) => x)).toBe(true);
  });

  it('request samples: bounded, uniform, and merged in proportion to what each side saw', async () => {
    const a = new Reservoir();
    const b = new Reservoir();
    const row = (v: number): number[] => SAMPLE_FIELDS.map(() => v);
    for (let i = 0; i < 3000; i++) a.offer('s', row(1));
    for (let i = 0; i < 1000; i++) b.offer('s', row(2));
    expect(a.size).toBe(RESERVOIR_CAPACITY);
    a.merge(b);
    expect(a.seen).toBe(4000);
    expect(a.size).toBe(RESERVOIR_CAPACITY);
    const twos = [...a.column('gap', () => 0)].filter((v) => v === 2e-6).length;
    expect(twos).toBe(Math.round(RESERVOIR_CAPACITY / 4));
    // The before/after-server columns take the row's server offset.
    const c = new Reservoir();
    c.offer('shop', row(5e6));
    expect([...c.column('beforeServer', (s) => (s === 'shop' ? 2e6 : 0))]).toEqual([3]);
    expect([...c.column('afterServer', () => 2e6)]).toEqual([7]);
  });
});

describe('comparison figures', () => {
  const STATS = ['p50', 'p90', 'p99', 'max', 'mean'] as const;
  const PARTS = ['poolWait', 'connectionSetup', 'sending', 'beforeServer', 'betweenAttempts', 'afterServer', 'download', 'unexplained'] as const;

  /** The metrics a comparison of two endpoint reports lists, in order, with each side's figure. */
  function expectedFigures(base: EndpointReport, run: EndpointReport): Array<[string, number, number]> {
    const out: Array<[string, number, number]> = [];
    for (const [m, b, r] of [['client', base.clientMs, run.clientMs], ['server', base.serverMs, run.serverMs], ['gap', base.gapMs, run.gapMs]] as const) {
      if (b === null || r === null) continue;
      for (const s of STATS) out.push([`${m}.${s}`, b[s], r[s]]);
    }
    if (base.phasesMs !== null && run.phasesMs !== null) for (const p of PARTS) out.push([`phase.${p}`, base.phasesMs[p], run.phasesMs[p]]);
    return out;
  }

  it('takes each figure from the two reports, per endpoint and for the total, with its change in ms and % and its test', async () => {
    const run = await dataOf('slower');
    const base = await dataOf('base');
    const c = compareRuns(run, ['run.db'], base, ['base.db']);
    expect(c.run).toEqual({ label: run.report.label, service: run.report.service, start: run.report.start, databases: ['run.db'] });
    expect(c.baseline).toEqual({ label: base.report.label, service: base.report.service, start: base.report.start, databases: ['base.db'] });
    const pairs: Array<[EndpointReport, EndpointReport]> = [
      ...run.report.endpoints.map((r) => [base.report.endpoints.find((b) => b.name === r.name) as EndpointReport, r] as [EndpointReport, EndpointReport]),
      [base.report.total, run.report.total],
    ];
    expect(c.endpoints.map((e) => [e.name, e.onlyIn, e.baselineCount, e.runCount])).toEqual(pairs.map(([b, r]) => [r === run.report.total ? 'Aggregated' : r.name, null, b.count, r.count]));
    c.endpoints.forEach((ep, i) => {
      const [b, r] = pairs[i] as [EndpointReport, EndpointReport];
      expect(ep.changes.map((x) => [x.metric, x.baselineMs, x.runMs])).toEqual(expectedFigures(b, r));
      for (const x of ep.changes) {
        expect(x.changeMs).toBeCloseTo(x.runMs - x.baselineMs, 6);
        if (x.baselineMs > 0) expect(x.changePct).toBeCloseTo(((x.runMs - x.baselineMs) / x.baselineMs) * 100, 3);
        else expect(x.changePct).toBeNull();
        const test = x.metric.endsWith('.max') ? null : x.metric.endsWith('.mean') || x.metric.startsWith('phase.') ? 'mann-whitney' : 'quantile';
        expect([x.metric, x.test]).toEqual([x.metric, test]);
        if (test === null) expect([x.pValue, x.significant]).toEqual([null, false]);
        else expect(x.pValue).toBeGreaterThanOrEqual(0);
      }
    });
    expect(significantChanges(c).map((s) => `${s.endpoint} ${s.change.metric}`)).toEqual(significant(c));
    expect(significantChanges(c).length).toBeGreaterThan(0);
  });

  it('lists an endpoint of one run only, with its count and no changes; compares no server, gap or part figure missing on a side', async () => {
    const run = await dataOf('same');
    const base = await dataOf('base');
    const [a, b] = run.report.endpoints as [EndpointReport, EndpointReport];
    // The run without /b and with no server data on /a; the baseline without /a's gap split.
    const runCut: RunData = { ...run, report: { ...run.report, endpoints: [{ ...a, serverMs: null }] } };
    const baseA = base.report.endpoints.find((e) => e.name === a.name) as EndpointReport;
    const baseB = base.report.endpoints.find((e) => e.name === b.name) as EndpointReport;
    const baseCut: RunData = { ...base, report: { ...base.report, endpoints: [{ ...baseA, phasesMs: null }, baseB] } };
    const c = compareRuns(runCut, [], baseCut, []);
    expect(c.endpoints.map((e) => [e.name, e.onlyIn, e.baselineCount, e.runCount, e.changes.length])).toEqual([
      [a.name, null, baseA.count, a.count, 10],
      [b.name, 'baseline', baseB.count, 0, 0],
      ['Aggregated', null, base.report.total.count, run.report.total.count, 23],
    ]);
    expect(c.endpoints[0]?.changes.map((x) => x.metric)).toEqual([...STATS.map((s) => `client.${s}`), ...STATS.map((s) => `gap.${s}`)]);
    const onlyRun = compareRuns(run, [], { ...base, report: { ...base.report, endpoints: [baseA] } }, []);
    expect(onlyRun.endpoints.map((e) => [e.name, e.onlyIn, e.baselineCount, e.runCount, e.changes])).toEqual([
      [a.name, null, baseA.count, a.count, expect.any(Array)],
      [b.name, 'run', 0, b.count, []],
      ['Aggregated', null, base.report.total.count, run.report.total.count, expect.any(Array)],
    ]);
  });
});

describe('significance arithmetic', () => {
  it('normal tail', () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 6);
    expect(normalUpperTail(1)).toBeCloseTo(0.158655, 6);
    expect(normalUpperTail(3)).toBeCloseTo(0.0013499, 6);
    expect(normalUpperTail(-1)).toBeCloseTo(0.841345, 6);
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 5);
    expect(normalUpperTail(-1.959964)).toBeCloseTo(0.975, 5);
  });

  it('Mann-Whitney: U and z as computed by hand, ties included', () => {
    // a = 1,2,3  b = 4,5,6: U_a = 0, mean 4.5, variance 3·3·7/12 = 5.25, z = 4.5/√5.25.
    const r = mannWhitney([1, 2, 3], [4, 5, 6]);
    expect(r.z).toBeCloseTo(4.5 / Math.sqrt(5.25), 10);
    expect(r.p).toBeCloseTo(2 * normalUpperTail(4.5 / Math.sqrt(5.25)), 12);
    expect(mannWhitney([4, 5, 6], [1, 2, 3]).z).toBeCloseTo(-4.5 / Math.sqrt(5.25), 10);
    expect(mannWhitney([], [1]).p).toBe(1);
    expect(mannWhitney([5, 5, 5], [5, 5, 5]).p).toBe(1);
    // One tie across the samples: a = 1,2  b = 2,3; ranks 1, 2.5 | 2.5, 4; U_a = 3.5 − 3 = 0.5;
    // variance (4/12)(5 − 6/12) = 1.5; z = (2 − 0.5)/√1.5.
    expect(mannWhitney([1, 2], [2, 3]).z).toBeCloseTo(1.5 / Math.sqrt(1.5), 10);
  });

  it('quantile test: the standard error from the order statistics, and z of the difference', () => {
    // 100 values 1..100: the p50 interval's ranks are 50 ∓ 1.96·5 → 40 and 60, so se = 20 / 3.92.
    expect(quantileSe(100, 0.5, (r) => r)).toBeCloseTo(20 / (2 * 1.959963985), 9);
    expect(quantileTest(10, 1, 10, 1).p).toBe(1);
    expect(quantileTest(10, 0.3, 14, 0.4).z).toBeCloseTo(4 / 0.5, 9);
    expect(quantileTest(10, 0, 10, 0).p).toBe(1);
    expect(quantileTest(10, 0, 11, 0).p).toBe(0);
  });

  it('Holm: steps down, and stops at the first p-value above its level', () => {
    expect(holm([0.001, 0.03, 0.04], 0.05)).toEqual([true, false, false]);
    expect(holm([0.001, 0.02, 0.024], 0.05)).toEqual([true, true, true]);
    // Order does not matter: each p-value keeps its place.
    expect(holm([0.04, 0.001, 0.03], 0.05)).toEqual([false, true, false]);
    expect(holm([], 0.05)).toEqual([]);
  });
});
