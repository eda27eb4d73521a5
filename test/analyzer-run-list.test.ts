// `firstspan analyze --list` in process (analyzer/run-list.ts): each entry carries its run's figures
// from the full analysis of the same data, and the text table lines up its columns (text left,
// figures right) with the documented figure format. The CLI test (analyzer-command.test.ts) checks
// that the command prints this; here the entries and the table themselves are checked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type AnalyzeOptions } from '../analyzer/analyze.ts';
import { runList, runListText, type RunListEntry } from '../analyzer/run-list.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { writeLocustRuns, writeScenario, type Scenario } from './helpers/analyzer-scenario.ts';

const OPTIONS: AnalyzeOptions = { idleGapNs: 30_000_000_000n, topN: 10, threads: 1, settleMs: 0 };

let dir: string;
let scenario: Scenario;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-run-list-'));
  scenario = writeScenario(join(dir, 'scenario.db'));
  writeLocustRuns(join(dir, 'locust.db'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function listAndReport(db: string) {
  const shards = openShards([db]);
  try {
    return { list: await runList(shards, OPTIONS), report: await analyze(shards, { ...OPTIONS, topN: 0 }) };
  } finally {
    closeShards(shards);
  }
}

describe('run list entries', () => {
  it("carry each run's figures from its analysis, one entry per run in the report's order", async () => {
    for (const db of ['scenario.db', 'locust.db']) {
      const { list, report } = await listAndReport(join(dir, db));
      expect(list.runs.length).toBe(report.runs.length);
      expect(list.other).toEqual(report.otherClientTraffic);
      list.runs.forEach((entry, i) => {
        const run = report.runs[i]!;
        expect(entry).toEqual({
          label: run.label,
          service: run.service,
          runId: run.runId,
          start: run.start,
          end: run.end,
          durationS: run.durationS,
          requests: run.rootSpans,
          gapP50Ms: run.total.gapMs?.p50 ?? null,
          gapP99Ms: run.total.gapMs?.p99 ?? null,
          propagationCoverage: run.propagationCoverage,
          findings: run.findings.length,
        });
      });
    }
  });

  it('has the known counts of the scenario: its requests, and the share of them with a server span', async () => {
    const { list } = await listAndReport(join(dir, 'scenario.db'));
    expect(list.runs).toHaveLength(1);
    const [run] = list.runs;
    // /odd has three roots: one ends before it starts (no child), two have server children.
    const requests = scenario.product.length + scenario.cartRoots + 3;
    const matched = scenario.product.length + scenario.cartMatched + 2;
    expect(run?.requests).toBe(requests);
    expect(run?.propagationCoverage).toBeCloseTo(matched / requests, 9);
    expect(run?.gapP50Ms).toBeGreaterThan(0);
    expect(run?.gapP99Ms).toBeGreaterThanOrEqual(run?.gapP50Ms ?? Infinity);
    const locust = await listAndReport(join(dir, 'locust.db'));
    expect(locust.list.runs.map((r) => [r.service, r.runId, r.requests])).toEqual([
      ['locust', null, 6],
      ['locust', null, 6],
    ]);
  });
});

const entry = (over: Partial<RunListEntry>): RunListEntry => ({
  label: 'run-1',
  service: 'firstspan',
  runId: 'run-1',
  start: '2026-11-30T10:00:00.000Z',
  end: '2026-11-30T10:01:00.000Z',
  durationS: 60,
  requests: 100,
  gapP50Ms: 5,
  gapP99Ms: 50,
  propagationCoverage: 1,
  findings: 0,
  ...over,
});

/** The table split into rows of cells (two or more spaces apart), with each row's raw text. */
function cells(text: string): string[][] {
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n').map((line) => line.split(/ {2,}/));
}

describe('run list table', () => {
  it('has a header and one row per run, figures in the documented format', () => {
    const text = runListText([
      entry({}),
      entry({ label: 'b', service: 'shop-gen', durationS: 2.25, requests: 7, gapP50Ms: 123.4, gapP99Ms: 9.876, propagationCoverage: 0.12345, findings: 3 }),
      entry({ label: 'c', gapP50Ms: null, gapP99Ms: 99.95, propagationCoverage: 0 }),
      entry({ label: 'd', gapP50Ms: 10, gapP99Ms: 100 }),
    ]);
    expect(cells(text)).toEqual([
      ['Run', 'Service', 'Start', 'Duration', 'Requests', 'Gap p50', 'Gap p99', 'Coverage', 'Findings'],
      ['run-1', 'firstspan', '2026-11-30T10:00:00.000Z', '60.0 s', '100', '5.00', '50.0', '100.0%', '0'],
      ['b', 'shop-gen', '2026-11-30T10:00:00.000Z', '2.3 s', '7', '123', '9.88', '12.3%', '3'],
      ['c', 'firstspan', '2026-11-30T10:00:00.000Z', '60.0 s', '100', '–', '100.0', '0.0%', '0'],
      ['d', 'firstspan', '2026-11-30T10:00:00.000Z', '60.0 s', '100', '10.0', '100', '100.0%', '0'],
    ]);
  });

  it('pads text columns on the right and figures on the left, to the widest cell', () => {
    const lines = runListText([entry({ label: 'a-much-longer-label', requests: 5 }), entry({ label: 'x', requests: 123456789 })]).split('\n');
    expect(lines.at(-1)).toBe('');
    const [header, first, second] = lines;
    // Column starts line up in every row: 'Run' padded to the longest label, 'Requests' right-aligned.
    expect(header?.indexOf('Service')).toBe('a-much-longer-label'.length + 2);
    expect(first?.indexOf('firstspan')).toBe(header?.indexOf('Service'));
    expect(second?.indexOf('firstspan')).toBe(header?.indexOf('Service'));
    const requestsEnd = (line: string | undefined, value: string) => (line ?? '').indexOf(value) + value.length;
    expect(requestsEnd(first, ' 5  ')).toBe(requestsEnd(second, '123456789  '));
    expect(requestsEnd(header, 'Requests  ')).toBe(requestsEnd(second, '123456789  '));
    // The first three columns (run, service, start) are text, the rest figures: 'Duration' is wider
    // than '60.0 s', which ends where the header ends, and the start time begins where 'Start' does.
    expect(requestsEnd(first, '60.0 s')).toBe(requestsEnd(header, 'Duration'));
    expect(first?.indexOf('2026-')).toBe(header?.indexOf('Start'));
  });

  it('keeps labels and service names printable and cuts long labels at 60 characters', () => {
    const long = 'L'.repeat(80);
    const [, row] = cells(runListText([entry({ label: long, service: 'bad\u0007name' })]));
    expect(row?.[0]).toBe(`${'L'.repeat(59)}…`);
    expect(row?.[1]).toBe('bad?name');
    const [, exact] = cells(runListText([entry({ label: 'M'.repeat(60) })]));
    expect(exact?.[0]).toBe('M'.repeat(60));
  });

  it('is just the header without runs', () => {
    expect(runListText([])).toBe('Run  Service  Start  Duration  Requests  Gap p50  Gap p99  Coverage  Findings\n');
  });
});
