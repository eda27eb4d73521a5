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
import { compareRuns, type Comparison, type RunData } from '../analyzer/compare.ts';
import { closeShards, openShards } from '../analyzer/read-spans.ts';
import { RESERVOIR_CAPACITY, Reservoir, SAMPLE_FIELDS } from '../analyzer/reservoir.ts';
import { SLOWER, scenarios, writeRun } from './helpers/diagnosis-scenarios.ts';

let dir: string;
const data = new Map<string, RunData>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-compare-core-'));
  const db = join(dir, 'runs.db');
  writeRun(db, { ...(scenarios.clean as (typeof scenarios)['clean']), runId: 'base', seed: 1 });
  writeRun(db, scenarios.sameAgain as (typeof scenarios)['clean']);
  writeRun(db, scenarios.slowerA as (typeof scenarios)['clean']);
  const shards = openShards([db]);
  try {
    for (const runId of ['base', 'same', 'slower']) {
      await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 0, threads: 1, runId, onRunData: (d) => data.set(runId, d) });
    }
  } finally {
    closeShards(shards);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function against(run: string): Comparison {
  return compareRuns(data.get(run) as RunData, ['runs.db'], data.get('base') as RunData, ['runs.db']);
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
  it('two draws of the same system: nothing significant, though every figure moved a little', () => {
    const c = against('same');
    expect(significant(c)).toEqual([]);
    const a = c.endpoints.find((e) => e.name === '/a');
    expect(a?.changes.some((x) => x.changeMs !== 0)).toBe(true);
    expect(c.endpoints.map((e) => e.name)).toEqual(['/a', '/b', 'Aggregated']);
  });

  it('+20 ms before the server on /a: exactly /a gap, client time and before-server part, and the Aggregated', () => {
    const c = against('slower');
    const sig = significant(c);
    expect(sig.filter((s) => s.startsWith('/b '))).toEqual([]);
    const onA = sig.filter((s) => s.startsWith('/a ')).map((s) => s.slice(3)).sort();
    expect(onA).toEqual(['client.mean', 'client.p50', 'client.p90', 'client.p99', 'gap.mean', 'gap.p50', 'gap.p90', 'gap.p99', 'phase.beforeServer'].sort());
    const before = c.endpoints.find((e) => e.name === '/a')?.changes.find((x) => x.metric === 'phase.beforeServer');
    expect(Math.abs((before?.changeMs ?? 0) - SLOWER.beforeMs)).toBeLessThan(1);
    expect(before?.changePct).toBeCloseTo(((before?.runMs ?? 0) / (before?.baselineMs ?? 1) - 1) * 100, 2);
  });

  it('change gates: breached only by a significant crossing, on the total, an endpoint, or each', () => {
    expect(isChangeThreshold('gap.p99<+10%')).toBe(true);
    expect(isChangeThreshold('gap.p99<50ms')).toBe(false);
    expect(parseChangeThreshold('gap.p99<+10')).toContain('give the change a unit');
    expect(parseChangeThreshold('coverage<+10%')).toContain('needs a duration metric');
    expect(gate('phase.beforeServer{/a}<+1s')).toEqual(expect.objectContaining({ value: 1000, unit: 'ms', endpoint: '/a' }));
    const slower = against('slower');
    const same = against('same');
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

  it('request samples: bounded, uniform, and merged in proportion to what each side saw', () => {
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
