// Spans delivered twice count once in every figure, even when the second copy came too late for
// the receiver's memory of recent ids and was stored again (the store has no unique index): the
// analyzer dedupes roots, server children and background spans by (trace id, span id), and
// reports the roots it saw twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { type Report, type RunReport } from '../analyzer/report.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { writeScenario } from './helpers/analyzer-scenario.ts';
import { spanCount } from './helpers/stored-spans.ts';

let dir: string;
let once: RunReport;
let twice: RunReport;
let storedOnce: number;
let storedTwice: number;

async function analyzeFiles(paths: string[], threads = 1, tableBudgetBytes?: number): Promise<Report> {
  const shards = openShards(paths);
  try {
    return await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 3, threads, parallelMinRoots: 1, tableBudgetBytes, settleMs: 0 });
  } finally {
    closeShards(shards);
  }
}

function onlyRun(report: Report): RunReport {
  expect(report.runs).toHaveLength(1);
  return report.runs[0]!;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-dupes-'));
  writeScenario(join(dir, 'once.db'));
  // The same load test written twice by two store sessions (a receiver restarted between an
  // exporter's attempts): each session's memory of recent ids is empty, so every span is stored twice.
  writeScenario(join(dir, 'twice.db'));
  writeScenario(join(dir, 'twice.db'));
  storedOnce = spanCount(join(dir, 'once.db'));
  storedTwice = spanCount(join(dir, 'twice.db'));
  once = onlyRun(await analyzeFiles([join(dir, 'once.db')]));
  twice = onlyRun(await analyzeFiles([join(dir, 'twice.db')]));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('spans stored twice', () => {
  it('are in the store twice (the write path keeps no unique index)', () => {
    expect(storedTwice).toBe(2 * storedOnce);
  });

  it('count once in every figure, and the duplicated roots are reported', () => {
    expect(once.oddities.duplicateRootSpans).toBe(0);
    expect(twice.oddities.duplicateRootSpans).toBe(once.rootSpans);
    const { oddities: _a, ...restOnce } = once;
    const { oddities: _b, ...restTwice } = twice;
    expect({ ...restTwice, slowestTraces: restTwice.slowestTraces.map((w) => w.traceId) }).toEqual({
      ...restOnce,
      slowestTraces: restOnce.slowestTraces.map((w) => w.traceId),
    });
    expect({ ...twice.oddities, duplicateRootSpans: 0 }).toEqual(once.oddities);
    expect(twice.background.count).toBeGreaterThan(0);
  });

  it('give the same figures with the work split across threads, and into ranges taken one after another', async () => {
    // A budget of one byte: every thread takes its share of the trace ids in many small ranges.
    for (const [threads, budget] of [[2, undefined], [1, 1], [2, 1]] as const) {
      const split = onlyRun(await analyzeFiles([join(dir, 'twice.db')], threads, budget));
      expect(split.rootSpans).toBe(twice.rootSpans);
      expect(split.matched).toBe(twice.matched);
      expect(split.total.gapMs).toEqual(twice.total.gapMs);
      expect(split.oddities).toEqual(twice.oddities);
      expect(split.backgroundServerSpans).toBe(twice.backgroundServerSpans);
      expect(split.background.serverMs).toEqual(twice.background.serverMs);
    }
  });
});
