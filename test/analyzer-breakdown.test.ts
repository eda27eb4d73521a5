// The run's total gap split is built by merging its endpoints' splits: each part of the total must
// be the pair-weighted mean of the endpoints' parts. The scenario's only retried request (two
// server children 8 ms apart) makes "between attempts" non-zero in one endpoint, so a merge that
// drops a part shows here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type RunReport } from '../analyzer/analyze.ts';
import { closeShards, openShards } from '../analyzer/read-spans.ts';
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
