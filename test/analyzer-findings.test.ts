// Findings on synthetic runs with one known cause each (test/helpers/diagnosis-scenarios.ts):
// each run produces exactly its finding, with figures within 10% of what was built in, and a
// clean run produces none. Through the real store and the whole analysis, in process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { type RunReport } from '../analyzer/report.ts';
import type { Finding } from '../analyzer/findings.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { renderHtml } from '../analyzer/render-html.ts';
import { renderTable } from '../analyzer/render-table.ts';
import { BREAK, CHURN, CLEAN_GAP_MS, DRIFT, QUEUE, SECONDS, STARVED, TAIL, scenarios, writeRun } from './helpers/diagnosis-scenarios.ts';

let dir: string;

// The databases are written once; each test analyses its own, so what it checks runs inside the
// test (mutation testing activates a mutant per test, after beforeAll).
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-findings-'));
  for (const [name, spec] of Object.entries(scenarios)) writeRun(join(dir, `${name}.db`), spec);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runOf(name: string, threads = 1): Promise<RunReport> {
  const shards = openShards([join(dir, `${name}.db`)]);
  try {
    const report = await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 1, threads, parallelMinRoots: 1 });
    expect(report.runs).toHaveLength(1);
    return report.runs[0] as RunReport;
  } finally {
    closeShards(shards);
  }
}

async function findings(name: string): Promise<Finding[]> {
  return (await runOf(name)).findings;
}

async function only(name: string): Promise<Finding> {
  const f = await findings(name);
  expect(f.map((x) => `${x.rule} ${x.endpoint ?? ''}`)).toHaveLength(1);
  return f[0] as Finding;
}

function num(f: Finding, key: string): number {
  const v = f.figures[key];
  if (typeof v !== 'number') throw new Error(`figure ${key} is ${String(v)}`);
  return v;
}

function within10(actual: number, truth: number): void {
  expect(Math.abs(actual - truth)).toBeLessThanOrEqual(Math.abs(truth) * 0.1);
}

describe('findings', () => {
  it('a clean run has none, nor another draw of it, nor one with a constant 20 ms more before the server', async () => {
    expect(await findings('clean')).toEqual([]);
    expect(await findings('sameAgain')).toEqual([]);
    // Not queueing: the extra time does not grow with load.
    expect(await findings('slowerA')).toEqual([]);
  });

  it('a queue that grows with users: queueing before the server, knee and slope within 10%', async () => {
    const f = await only('queue');
    expect(f.rule).toBe('queueing-before-server');
    expect(f.figures.load).toBe('users');
    within10(num(f, 'kneeLoad'), QUEUE.kneeUsers);
    within10(num(f, 'slopeMsPerLoad'), QUEUE.slopeMsPerUser);
    within10(num(f, 'baseMs'), QUEUE.baseMs);
    within10(num(f, 'peakMs'), QUEUE.baseMs + QUEUE.slopeMsPerUser * (SECONDS - QUEUE.kneeUsers));
    // The share of the gap above the flat part, from the same truth: per second the extra time
    // over the mean gap.
    let extra = 0;
    let gap = 0;
    for (let s = 0; s < SECONDS; s++) {
      const q = QUEUE.slopeMsPerUser * Math.max(0, s + 1 - QUEUE.kneeUsers);
      extra += q;
      gap += CLEAN_GAP_MS + q;
    }
    within10(f.explainedShare as number, extra / gap);
  });

  it('a CPU-starved generator: client-side saturation, not the server', async () => {
    const f = await only('starved');
    expect(f.rule).toBe('client-saturation');
    within10(num(f, 'kneeLoad'), STARVED.kneeUsers);
    within10(num(f, 'clientSideEndMs'), STARVED.baseMs + (STARVED.poolSlope + STARVED.sendSlope) * (SECONDS - STARVED.kneeUsers));
    within10(num(f, 'serverEndMs'), num(f, 'serverStartMs'));
    expect(f.summary).toContain('not the service');
  });

  it('connection churn on the endpoint that opens connections, with its extra gap', async () => {
    const f = await only('churn');
    expect(f.rule).toBe('connection-churn');
    expect(f.endpoint).toBe('/authenticate');
    within10(num(f, 'openedShare'), CHURN.openedShare);
    within10(num(f, 'extraGapMs'), CHURN.connectMs);
    within10(num(f, 'connectionSetupMs'), CHURN.connectMs);
    // The opened 40% add 30 ms each.
    within10(f.explainedShare as number, (CHURN.openedShare * CHURN.connectMs) / (CLEAN_GAP_MS + CHURN.openedShare * CHURN.connectMs));
  });

  it('a target that stops propagating midway: propagation break on that endpoint, since when', async () => {
    const f = await only('broken');
    expect(f.rule).toBe('propagation-break');
    expect(f.endpoint).toBe(BREAK.endpoint);
    within10(num(f, 'sinceSecond'), BREAK.sinceS);
    expect(num(f, 'coverageBefore')).toBe(1);
    expect(num(f, 'coverageAfter')).toBe(0);
    expect(num(f, 'unmatchedAfter')).toBe((SECONDS - BREAK.sinceS) * 5);
    expect(f.figures.since).toBe(new Date(Date.parse((await runOf('broken')).start) + BREAK.sinceS * 1000).toISOString());
  });

  it("a server whose slowest requests make the client's tail: slow server tail on that endpoint", async () => {
    const f = await only('serverTail');
    expect(f.rule).toBe('slow-server-tail');
    expect(f.endpoint).toBe(TAIL.endpoint);
    within10(num(f, 'serverP99Ms'), TAIL.serverMs);
    within10(num(f, 'clientP99Ms'), TAIL.serverMs + CLEAN_GAP_MS);
    expect(f.explainedShare as number).toBeGreaterThan(0.9);
  });

  it('a server clock that drifts: clock trouble with the drift', async () => {
    const f = await only('drift');
    expect(f.rule).toBe('clock-trouble');
    within10(num(f, 'driftMsPerMinute'), DRIFT.msPerSecond * 60);
  });

  it('the same findings when the run is paired in worker threads and the states merged', async () => {
    for (const name of ['queue', 'churn', 'broken']) expect((await runOf(name, 2)).findings).toEqual((await runOf(name)).findings);
  });

  it('findings show in the table after the run header and in the HTML report', async () => {
    const run = await runOf('churn');
    const report = { schemaVersion: 1 as const, generatedAt: '', databases: [], otherClientTraffic: [], runs: [run] };
    const table = renderTable(report);
    expect(table).toMatch(/Findings:\n {2}• \[connection-churn\] \/authenticate/);
    expect(table.indexOf('Findings:')).toBeLessThan(table.indexOf('Where the gap went'));
    const html = renderHtml(report);
    expect(html).toContain('<li class="finding" data-rule="connection-churn">');
    expect(renderHtml({ ...report, runs: [await runOf('clean')] })).not.toContain('class="finding"');
  });
});
