// The run's total gap split is built by merging its endpoints' splits: each part of the total must
// be the pair-weighted mean of the endpoints' parts. The scenario's only retried request (two
// server children 8 ms apart) makes "between attempts" non-zero in one endpoint, so a merge that
// drops a part shows here. Then the accumulator alone, on pairs whose parts are known by hand:
// the unexplained rest, the placing of phase-less (Locust) pairs by the clock offset, a scaled merge.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { type RunReport } from '../analyzer/report.ts';
import { BreakdownAccumulator } from '../analyzer/gap-breakdown.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { writeScenario } from './helpers/analyzer-scenario.ts';

let dir: string;
let run: RunReport;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-breakdown-'));
  writeScenario(join(dir, 'a.db'));
  const shards = openShards([join(dir, 'a.db')]);
  try {
    const report = await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 0 });
    run = report.runs.find((r) => r.runId === 'run-1')!;
  } finally {
    closeShards(shards);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The parts no clock offset enters (before/after the server are shifted by each host's offset and
// clamped at zero, so they are not a plain mean). Reports round to the nanosecond: five decimals.
const PARTS = ['poolWait', 'connectionSetup', 'sending', 'betweenAttempts', 'download'] as const;

describe('the total gap split', () => {
  it('is the pair-weighted mean of the endpoints, part by part', () => {
    const parts = (e: { phasesMs: (typeof run.total)['phasesMs'] }): NonNullable<(typeof run.total)['phasesMs']> => {
      if (e.phasesMs === null) throw new Error('every endpoint of this run has matched server spans');
      return e.phasesMs;
    };
    const pairs = run.endpoints.reduce((n, e) => n + parts(e).pairs, 0);
    const total = parts(run.total);
    expect(total.pairs).toBe(pairs);
    for (const part of PARTS) {
      const weighted = run.endpoints.reduce((sum, e) => sum + parts(e)[part] * parts(e).pairs, 0) / pairs;
      expect(total[part], part).toBeCloseTo(weighted, 5);
    }
    expect(total.betweenAttempts).toBeGreaterThan(0);
  });
});

// The accumulator itself, on pairs whose every part is known by hand (ms → ns).
const MS = 1e6;
/** Pair A: client 100, server 40; blocked 5, setup 10, request sent at 20, first byte at 90,
 *  download 6 (so 4 ms of the client span are in no phase); server from 30 to 70 on its clock. */
function pairA(acc: BreakdownAccumulator, blocked = 5): void {
  acc.addMeasured('svc', 100 * MS, 40 * MS, blocked * MS, 10 * MS, 20 * MS, 70 * MS, 6 * MS, 30 * MS, 70 * MS);
}
const noOffset = (): undefined => undefined;

describe('BreakdownAccumulator', () => {
  it('splits a measured pair into parts that add up to its gap, the unexplained rest included', () => {
    const acc = new BreakdownAccumulator();
    pairA(acc);
    expect(acc.finish(noOffset)).toMatchObject({
      poolWait: 5, connectionSetup: 10, sending: 5, beforeServer: 10, betweenAttempts: 0, afterServer: 20,
      download: 6, unexplained: 4, gap: 60, basis: 'measured', pairs: 1,
    });
    // The server's clock 2 ms ahead: 2 ms move from before the server to after it.
    expect(acc.finish(() => ({ offsetNs: 2 * MS, errorNs: 0 }))).toMatchObject({ beforeServer: 8, afterServer: 22, gap: 60 });
  });

  it('places a pair without phases by the clock offset when its error bound is small, and splits it equally when not', () => {
    // Client 50, server 30 from 6 to 36 on a clock 2 ms ahead: before = 6 − 2 = 4, after = 50 − 36 + 2 = 16.
    const acc = new BreakdownAccumulator();
    acc.addBounds('svc', 50 * MS, 30 * MS, 6 * MS, 36 * MS);
    expect(acc.pairs).toBe(1);
    expect(acc.finish(() => ({ offsetNs: 2 * MS, errorNs: 1 * MS }))).toMatchObject({
      beforeServer: 4, afterServer: 16, betweenAttempts: 0, gap: 20, basis: 'offset', errorBoundMs: 1, pairs: 1,
    });
    // An error bound of 15 ms (twice that is more than the 20 ms gap): the offset says nothing.
    expect(acc.finish(() => ({ offsetNs: 2 * MS, errorNs: 15 * MS }))).toMatchObject({ beforeServer: 10, afterServer: 10, basis: 'estimated' });
    expect(acc.finish(noOffset)).toMatchObject({ beforeServer: 10, afterServer: 10, basis: 'estimated' });
  });

  it('adds a share of another accumulator as that share of its pairs', () => {
    const acc = new BreakdownAccumulator();
    pairA(acc);
    const other = new BreakdownAccumulator();
    pairA(other, 8); // 3 ms more pool wait, 3 ms less sending
    acc.mergeScaled(other, 0.5);
    expect(acc.pairs).toBe(1.5);
    // Means over 1.5 pairs: pool wait (5 + 0.5 × 8) / 1.5 = 6, sending (5 + 0.5 × 2) / 1.5 = 4; the rest alike.
    expect(acc.finish(noOffset)).toMatchObject({
      poolWait: 6, connectionSetup: 10, sending: 4, beforeServer: 10, betweenAttempts: 0, afterServer: 20,
      download: 6, unexplained: 4, gap: 60, pairs: 1.5,
    });
  });
});
