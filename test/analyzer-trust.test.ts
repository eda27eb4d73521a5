// Numbers that cannot mislead (issue 11), each on synthetic traces with exact expected figures:
// no server data is null (never 0) and fails a gate, coverage takes one unit, unknown connection
// counts are null, only load tests are runs, cut-off requests stay out, Locust's gap is split by
// the clock offset, users are summed over classes and processes, the tail's parts, the sentences,
// and a run still receiving spans says so.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type Report, type RunReport } from '../analyzer/analyze.ts';
import { closeShards, openShards } from '../analyzer/read-spans.ts';
import { CSV_COLUMNS, renderCsv } from '../analyzer/render-csv.ts';
import { renderHtml } from '../analyzer/render-html.ts';
import { renderTable } from '../analyzer/render-table.ts';
import { ExitCodes } from '../model/errors.ts';
import { SpanStore } from '../model/store.ts';
import { runCli } from './helpers/cli.ts';
import { LOCUST_RESOURCE, TraceBuilder, type Phases } from './helpers/analyzer-traces.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-trust-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write what the builder holds into a fresh store file. */
function write(name: string, build: (b: TraceBuilder) => void): string {
  const path = join(dir, name);
  const store = SpanStore.open(path);
  const b = new TraceBuilder(1);
  build(b);
  store.insertTraces(b.take());
  store.close();
  return path;
}

async function analyzeFile(path: string, extra: Partial<Parameters<typeof analyze>[1]> = {}): Promise<Report> {
  const shards = openShards([path]);
  try {
    return await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 3, threads: 1, ...extra });
  } finally {
    closeShards(shards);
  }
}

function only(report: Report): RunReport {
  expect(report.runs).toHaveLength(1);
  return report.runs[0] as RunReport;
}

const REUSED: Phases = { blocked: 0, dns: 0, connect: 0, tls: 0, sending: 0.5, waiting: 20, receiving: 1 };

describe('no server data is null, never 0, and a gate over it fails', () => {
  let db: string;
  let report: Report;
  beforeAll(async () => {
    // An untraced service: 10 load-test requests, no server span anywhere.
    db = write('untraced.db', (b) => {
      for (let i = 0; i < 10; i++) b.root({ startMs: i * 100, requestName: '/search', phases: REUSED });
    });
    report = await analyzeFile(db);
  });

  it('reports server, gap and its parts as null, coverage 0, and warns with what to check', () => {
    const run = only(report);
    expect(run.rootSpans).toBe(10);
    expect(run.matched).toBe(0);
    expect(run.propagationCoverage).toBe(0);
    for (const ep of [run.total, ...run.endpoints]) {
      expect(ep.serverMs).toBeNull();
      expect(ep.gapMs).toBeNull();
      expect(ep.phasesMs).toBeNull();
      expect(ep.clientMs.p50).toBeCloseTo(21.5, 9);
    }
    expect(run.warnings.map((w) => w.code)).toEqual(['no-server-data']);
    expect(run.warnings[0]?.message).toMatch(/instrumented.*exports its spans to this receiver.*traceparent/);
    const json = JSON.parse(JSON.stringify(report)) as { runs: Array<{ total: Record<string, unknown> }> };
    expect(json.runs[0]?.total.gapMs).toBeNull();
  });

  it('shows – in the table and HTML, an empty cell in CSV, the warning red in HTML', () => {
    const table = renderTable(report);
    expect(table).toMatch(/WARNING: No server span matched any of the 10 load-test requests/);
    const totalLine = table.split('\n').find((l) => l.startsWith('Aggregated')) ?? '';
    // Count, coverage, errors, client p50/p99, then – for the seven server and gap columns.
    expect(totalLine.split(/\s+/)).toEqual(['Aggregated', '10', '0.0%', '0', '21.5', '21.5', '–', '–', '–', '–', '–', '–', '–']);
    expect(table).not.toMatch(/ 0\.00( |$)/m);
    const csv = renderCsv(report).trim().split('\r\n');
    const row = (csv[csv.length - 1] ?? '').split(',');
    for (const col of ['server_p50_ms', 'gap_p99_ms', 'phase_before_server_ms', 'explained_share']) expect(row[CSV_COLUMNS.indexOf(col)]).toBe('');
    expect(row[CSV_COLUMNS.indexOf('client_p50_ms')]).toBe('21.5');
    const html = renderHtml(report);
    expect(html).toMatch(/<p class="warning" data-warning="no-server-data">No server span matched/);
    expect(html).toContain('<b>– ms</b><span>gap p99</span>');
  });

  it('fails a threshold over a figure with no data, saying why (exit 99)', async () => {
    const r = await runCli(['analyze', '--db', db, '--assert', 'gap.p99<50ms', '--assert', 'server.p50<1s', '--assert', 'client.p99<1s']);
    expect(r.code).toBe(ExitCodes.THRESHOLDS_FAILED);
    expect(r.stdout).toMatch(/✗ gap\.p99<50ms — run run-1: no data: no matched server span/);
    expect(r.stdout).toMatch(/✗ server\.p50<1s — run run-1: no data/);
    expect(r.stdout).toMatch(/✓ client\.p99<1s — run run-1: 21\.5ms/);
    expect(r.stdout).toContain('2 of 3 thresholds breached');
  });

  it('takes coverage in one unit everywhere: 0.99 and 99% accepted, a bare 99 refused with what to write', async () => {
    for (const args of [['--min-coverage', '99'], ['--assert', 'coverage>=99']]) {
      const r = await runCli(['analyze', '--db', db, ...args]);
      expect(r.code, args.join(' ')).toBe(ExitCodes.USAGE);
      expect(r.stderr).toMatch(/0\.99 or 99%/);
    }
    for (const args of [['--min-coverage', '0.99'], ['--min-coverage', '99%'], ['--assert', 'coverage>=99%'], ['--assert', 'coverage>=0.99']]) {
      const r = await runCli(['analyze', '--db', db, ...args]);
      // Parsed, then breached: 0% of the requests matched.
      expect(r.code, args.join(' ')).toBe(ExitCodes.THRESHOLDS_FAILED);
      expect(r.stdout).toMatch(/✗ coverage>=(0\.99|99%) — run run-1: 0%/);
    }
  });
});

describe('only load tests are runs', () => {
  let db: string;
  let cronOnly: string;
  beforeAll(() => {
    db = write('mixed.db', (b) => {
      b.resource('locust', LOCUST_RESOURCE);
      // firstspan's run (run id on the resource) and a Locust run (Locust's resource, no run id).
      for (let i = 0; i < 4; i++) b.server(b.root({ startMs: i * 100, phases: REUSED }), { beforeMs: 1, durationMs: 10 });
      for (let i = 0; i < 3; i++) b.server(b.root({ service: 'locust', runId: null, requestName: null, name: 'GET /items', startMs: i * 100, durationMs: 30 }), { startMs: i * 100 + 5, durationMs: 10, beforeMs: 0 });
      // A cron job calling the API: an ordinary service's trace-root CLIENT span, with the API's server child.
      const cron = b.root({ service: 'cron', runId: null, requestName: null, name: 'POST /reindex', startMs: 50, durationMs: 80 });
      b.server(cron, { startMs: 60, durationMs: 50, beforeMs: 0 });
    });
    cronOnly = write('cron.db', (b) => {
      b.server(b.root({ service: 'cron', runId: null, requestName: null, name: 'POST /reindex', startMs: 50, durationMs: 80 }), { startMs: 60, durationMs: 50, beforeMs: 0 });
    });
  });

  it("finds firstspan's run and Locust's, and counts the cron job's CLIENT root apart as other client traffic", async () => {
    const report = await analyzeFile(db);
    expect(report.runs.map((r) => [r.service, r.generator, r.rootSpans]).sort()).toEqual([
      ['firstspan', 'firstspan', 4],
      ['locust', 'locust', 3],
    ]);
    expect(report.otherClientTraffic).toEqual([{ service: 'cron', rootSpans: 1 }]);
    // The cron job's server span is in no run's figures and is not background traffic either.
    for (const r of report.runs) expect(r.backgroundServerSpans).toBe(0);
    expect(renderTable(report)).toMatch(/Other client traffic \(trace-root CLIENT spans from services that are no load generator; not runs, not in any figure\): cron 1/);
  });

  it('reports no run for the cron job alone (exit 3, saying why and how to name it), and a run once named with --service', async () => {
    const r = await runCli(['analyze', '--db', cronOnly]);
    expect(r.code).toBe(ExitCodes.NO_RUNS);
    expect(r.stderr).toMatch(/other client traffic, not runs \(cron: 1\): name one with --service NAME/);
    const named = await runCli(['analyze', '--db', cronOnly, '--service', 'cron', '--format', 'json']);
    expect(named.code, named.stderr).toBe(ExitCodes.OK);
    const runs = (JSON.parse(named.stdout) as Report).runs;
    expect(runs.map((x) => [x.service, x.generator, x.rootSpans, x.matched])).toEqual([['cron', 'named', 1, 1]]);
  });
});
