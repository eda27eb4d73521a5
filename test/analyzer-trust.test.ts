// Numbers that cannot mislead (issue 11), each on synthetic traces with exact expected figures:
// no server data is null (never 0) and fails a gate, coverage takes one unit, unknown connection
// counts are null, only load tests are runs, cut-off requests stay out, Locust's gap is split by
// the clock offset, users are summed over classes and processes, the tail's parts, the sentences,
// and a run still receiving spans says so.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { type Report, type RunReport } from '../analyzer/report.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { CSV_COLUMNS, renderCsv } from '../analyzer/render-csv.ts';
import { renderHtml } from '../analyzer/render-html.ts';
import { renderTable } from '../analyzer/render-table.ts';
import { ExitCodes } from '../model/errors.ts';
import { SpanStore } from '../model/store.ts';
import { runCli } from './helpers/cli.ts';
import { startStack, writeScript, type Summary } from './helpers/generator-harness.ts';
import type { MetricsRequest } from '../model/otlp.ts';
import { LOCUST_RESOURCE, TraceBuilder, usersMetric, type Phases, type RootOptions } from './helpers/analyzer-traces.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-trust-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write what the builder holds into a fresh store file. */
/** Spans that arrived a minute ago: the run has settled (unless a test says otherwise). */
function write(name: string, build: (b: TraceBuilder) => void, metrics: MetricsRequest[] = [], receivedAtMs = Date.now() - 60_000): string {
  const path = join(dir, name);
  const store = SpanStore.open(path);
  const b = new TraceBuilder(1);
  build(b);
  store.insertTraces(b.take(), receivedAtMs);
  for (const m of metrics) store.insertMetrics(m, receivedAtMs);
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
    // The timeline too: each second's server and gap percentiles are null, its client ones are data.
    expect(run.timeline.map((p) => [p.requests, p.clientP50, p.serverP50, p.gapP99])).toEqual([[10, 21.5, null, null]]);
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
    expect(html).toContain('<b>–</b><span>gap p99</span>');
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

describe('requests cut off by the end of a run stay out of every figure', () => {
  // /cart/add: 10 completed requests with gaps 1..10 ms, then one cut off at the run's end whose
  // server child makes its "gap" 500 ms: it must not reach p99, the mean, the errors or coverage.
  const gaps = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  let firstspanRun: RunReport;
  let locustRun: RunReport;
  beforeAll(async () => {
    const fs = write('cutoff-firstspan.db', (b) => {
      gaps.forEach((gap, i) => {
        const root = b.root({ startMs: i * 100, requestName: '/cart/add', method: 'POST', phases: { ...REUSED, waiting: 10 + gap - 1.5 } });
        b.server(root, { beforeMs: 0.5, durationMs: 10 - 1.5 + 1.5 });
      });
      // firstspan's mark: error status, error.type run_stopped, firstspan.request.cut_off = true.
      const cut = b.root({
        startMs: 1000,
        requestName: '/cart/add',
        method: 'POST',
        error: true,
        httpStatus: null,
        phases: { ...REUSED, waiting: 510 - 1.5 },
        attributes: { 'firstspan.request.cut_off': { boolValue: true }, 'error.type': { stringValue: 'run_stopped' } },
      });
      b.server(cut, { beforeMs: 0.5, durationMs: 10 });
      // A connection refused mid-run: no status either, but a real failed request, not cut off.
      b.root({ startMs: 450, requestName: '/refused', error: true, httpStatus: null, phases: { ...REUSED, waiting: 1 } });
    });
    firstspanRun = only(await analyzeFile(fs));
    const lo = write('cutoff-locust.db', (b) => {
      b.resource('locust', LOCUST_RESOURCE);
      const locust = { service: 'locust', runId: null, requestName: null, name: 'POST /cart/add', method: 'POST', oldSemconv: true };
      gaps.forEach((gap, i) => b.server(b.root({ ...locust, startMs: i * 100, durationMs: 10 + gap }), { startMs: i * 100 + gap / 2, durationMs: 10, beforeMs: 0 }));
      // Killed by Locust's shutdown mid-request: exported with no http.status_code, ending last.
      b.server(b.root({ ...locust, startMs: 950, durationMs: 510, httpStatus: null }), { startMs: 955, durationMs: 10, beforeMs: 0 });
    });
    locustRun = only(await analyzeFile(lo));
  });

  it("leaves firstspan's marked request out of counts, percentiles, gaps, errors and coverage, and counts it apart", () => {
    const cart = firstspanRun.endpoints.find((e) => e.name === '/cart/add');
    expect(cart?.count).toBe(10);
    expect(cart?.cutOff).toBe(1);
    expect(cart?.errors).toBe(0);
    expect(cart?.matched).toBe(10);
    expect(cart?.gapMs?.p99).toBeCloseTo(10, 9);
    expect(cart?.gapMs?.max).toBeCloseTo(10, 9);
    expect(cart?.gapMs?.mean).toBeCloseTo(5.5, 9);
    expect(firstspanRun.cutOff).toBe(1);
    expect(firstspanRun.total.cutOff).toBe(1);
    // The refused request has no status too, but it was no cut-off: a counted error.
    expect(firstspanRun.endpoints.find((e) => e.name === '/refused')?.errors).toBe(1);
    expect(firstspanRun.rootSpans).toBe(11);
    expect(firstspanRun.propagationCoverage).toBeCloseTo(10 / 11, 12);
    expect(renderTable({ ...emptyReport(), runs: [firstspanRun] })).toContain('cut off by the end of the run: 1 requests');
  });

  it('leaves it out the same way when the hash join runs in worker threads, over many trace-id ranges', async () => {
    // The cut-off rowids travel to each thread with the pair request (join-worker.ts); a budget of
    // 1 byte makes every thread take its traces in many ranges, one after another.
    const threaded = only(
      await analyzeFile(join(dir, 'cutoff-firstspan.db'), { threads: 2, parallelMinRoots: 1, tableBudgetBytes: 1 }),
    );
    expect(threaded.cutOff).toBe(1);
    expect(threaded.rootSpans).toBe(11);
    expect(threaded.endpoints).toEqual(firstspanRun.endpoints);
  });

  it('recognises Locust by its resource even when given a run id, and still leaves its cut-off span out', async () => {
    const r = only(
      await analyzeFile(
        write('cutoff-locust-runid.db', (b) => {
          b.resource('locust', LOCUST_RESOURCE);
          const locust = { service: 'locust', runId: 'nightly-42', requestName: null, name: 'GET /items', oldSemconv: true };
          for (let i = 0; i < 5; i++) b.root({ ...locust, startMs: i * 100, durationMs: 20 });
          b.root({ ...locust, startMs: 450, durationMs: 300, httpStatus: null });
        }),
      ),
    );
    expect([r.runId, r.generator, r.rootSpans, r.cutOff]).toEqual(['nightly-42', 'locust', 5, 1]);
  });

  it("leaves Locust's status-less span at the run's end out the same way", () => {
    const cart = locustRun.endpoints.find((e) => e.name === '/cart/add');
    expect(cart?.count).toBe(10);
    expect(cart?.cutOff).toBe(1);
    expect(cart?.gapMs?.p99).toBeCloseTo(10, 9);
    expect(cart?.gapMs?.mean).toBeCloseTo(5.5, 9);
    expect(locustRun.propagationCoverage).toBe(1);
    const csv = renderCsv({ ...emptyReport(), runs: [locustRun] }).trim().split('\r\n');
    expect(csv[csv.length - 1]?.split(',')[CSV_COLUMNS.indexOf('cut_off')]).toBe('1');
  });
});

// Under `npm run mutation` (stryker.config.mjs sets the variable) the generator runs in a child
// process Stryker cannot see into, and the test would be rerun, seconds each time, for every
// receiver mutant its in-process receiver happens to touch; the receiver tests cover those.
const UNDER_MUTATION = process.env.FIRSTSPAN_MUTATION === '1';
if (UNDER_MUTATION) console.warn('analyzer-trust: the end-to-end generator test is skipped under mutation testing');

describe("firstspan's own cut-off requests, end to end", () => {
  it.skipIf(UNDER_MUTATION)('the real generator marks the requests its run time cut off; the analyzer counts them apart, as the run did, and out of every figure', async () => {
    const stack = await startStack();
    try {
      // Each task: a quick request, then one the target never answers: the run time cuts it off.
      const file = writeScript(
        stack.dir,
        'held.ts',
        `import { HttpUser, task, constant } from 'firstspan';
         export class Holder extends HttpUser {
           override waitTime = constant(0.01);
           @task async t() {
             await this.client.get('/quick');
             await this.client.get('/held?hang=1', { name: '/held' });
           }
         }`,
      );
      const run = await runCli(['run', file, '--host', stack.target.url, '-u', '3', '-r', '100', '-t', '1s', '--otel', '--run-id', 'held', '--json'], { env: stack.otelEnv, cwd: stack.dir });
      expect(run.code, run.stderr).toBe(0);
      const summary = JSON.parse(run.stdout) as Summary;
      expect(summary.cutOff).toBeGreaterThanOrEqual(3);
      const r = await runCli(['analyze', '--db', join(stack.dir, 'spans.db'), '--run-id', 'held', '--format', 'json', '--settle', '0']);
      expect(r.code, r.stderr).toBe(ExitCodes.OK);
      const analysed = only(JSON.parse(r.stdout) as Report);
      expect(analysed.cutOff).toBe(summary.cutOff);
      expect(analysed.rootSpans).toBe(summary.total.count);
      expect(analysed.total.errors).toBe(0);
      // Every /held request was cut off: no such endpoint in the figures.
      expect(analysed.endpoints.map((e) => e.name)).toEqual(['/quick']);
    } finally {
      await stack.close();
    }
  }, 60_000);
});

function emptyReport(): Report {
  return { schemaVersion: 1, generatedAt: '2025-10-09T09:46:40.000Z', databases: [], runs: [], otherClientTraffic: [] };
}

describe("Locust's gap is split by the measured clock offset, the equal split only without a trustworthy one", () => {
  const locust = { service: 'locust', runId: null, requestName: null, method: 'GET', oldSemconv: true } as const;
  let placed: RunReport;
  let equal: RunReport;
  beforeAll(async () => {
    // The shop's clock runs 3 s ahead. Reused connections: 1 ms each way around a 10 ms server span.
    // Logins through a proxy that holds each new connection: 150 ms before the server, 5 ms after.
    placed = only(
      await analyzeFile(
        write('locust-offset.db', (b) => {
          b.resource('locust', LOCUST_RESOURCE);
          for (let i = 0; i < 20; i++) b.server(b.root({ ...locust, name: 'GET /product', startMs: i * 50, durationMs: 12 }), { beforeMs: 1, durationMs: 10, offsetMs: 3000 });
          for (let i = 0; i < 4; i++) {
            b.server(b.root({ ...locust, name: 'POST /authenticate', method: 'POST', startMs: 1000 + i * 50, durationMs: 175 }), { beforeMs: 150, durationMs: 20, offsetMs: 3000 });
          }
        }),
      ),
    );
    // Every pair has 8 ms before and 2 ms after: the least slack is 10 ms, so the offset is known
    // only to ±5 ms, no better than half the gap: the equal split, labelled.
    equal = only(
      await analyzeFile(
        write('locust-equal.db', (b) => {
          b.resource('locust', LOCUST_RESOURCE);
          for (let i = 0; i < 10; i++) b.server(b.root({ ...locust, name: 'GET /slow', startMs: i * 50, durationMs: 30 }), { beforeMs: 8, durationMs: 20, offsetMs: 3000 });
        }),
      ),
    );
  });

  it('places the server span inside its client span with the offset: before and after as they were, with the error bound', () => {
    expect(placed.clockOffsets.map((o) => [o.service, o.offsetMs, o.method])).toEqual([['shop', 3000, 'span bounds']]);
    const auth = placed.endpoints.find((e) => e.name === '/authenticate')?.phasesMs;
    expect(auth?.basis).toBe('offset');
    expect(auth?.errorBoundMs).toBe(1);
    expect(auth?.beforeServer).toBeCloseTo(150, 6);
    expect(auth?.afterServer).toBeCloseTo(5, 6);
    expect(auth?.gap).toBeCloseTo(155, 6);
    const product = placed.endpoints.find((e) => e.name === '/product')?.phasesMs;
    expect(product?.beforeServer).toBeCloseTo(1, 6);
    expect(product?.afterServer).toBeCloseTo(1, 6);
    expect(renderTable({ ...emptyReport(), runs: [placed] })).toMatch(/\/authenticate .* clock offset ±1\.00 ms/);
  });

  it('prints what Locust cannot say (which requests opened a connection) as unknown, never 0', () => {
    for (const ep of [placed.total, ...placed.endpoints]) {
      expect(ep.newConnections).toBeNull();
      expect(ep.gapByConnection).toBeNull();
    }
    const report = { ...emptyReport(), runs: [placed] };
    const csv = renderCsv(report).trim().split('\r\n');
    const row = (csv[csv.length - 1] ?? '').split(',');
    for (const col of ['new_connections', 'gap_opened_count', 'gap_reused_p50_ms']) expect(row[CSV_COLUMNS.indexOf(col)], col).toBe('');
    expect(renderTable(report)).not.toMatch(/Gap by connection/);
  });

  it("names Locust's login as the endpoint that matters, and before-server as its cause, with the offset's bound", () => {
    expect(placed.summary[0]).toBe("/authenticate is where the gap matters most: a mean of 155 ms per request (p99 155 ms) over 4 requests, 93.9% of the run's 660 ms of hidden latency.");
    expect(placed.summary[1]).toBe(
      'Its main cause is the time before the server span started (network, proxies, load balancers, queues in front of the server), 150 ms of it, placed by the clock offset to ±1.00 ms.',
    );
  });

  it('falls back to the equal split, labelled, where the offset is no better than half the gap', () => {
    const p = equal.total.phasesMs;
    expect(p?.basis).toBe('estimated');
    expect(p?.errorBoundMs).toBeNull();
    expect(p?.beforeServer).toBeCloseTo(5, 6);
    expect(p?.afterServer).toBeCloseTo(5, 6);
    expect(p?.explainedShare).toBe(0);
    expect(renderTable({ ...emptyReport(), runs: [equal] })).toContain('estimated (equal split)');
  });
});

describe('users over time: summed over user classes and processes, the ramp visible from the first second', () => {
  // Requests: second s has s + 1 requests of 100 ms each (a ramp). The users gauge is first
  // exported at 2.5 s, as a coarse metric interval would.
  const ramp = (b: TraceBuilder, extra: Partial<RootOptions> = {}): void => {
    for (let s = 0; s < 4; s++) for (let k = 0; k <= s; k++) b.root({ ...extra, startMs: s * 1000 + k * 150, durationMs: 100 });
  };

  it("sums firstspan's classes (7 + 3) and Locust's classes over two processes (4 + 1 + 3 + 2)", async () => {
    const fs = only(
      await analyzeFile(
        write('users-firstspan.db', (b) => ramp(b), [
          usersMetric({
            points: [
              { atMs: 2500, users: 7, attributes: { 'firstspan.user.class': { stringValue: 'Shopper' } } },
              { atMs: 2500, users: 3, attributes: { 'firstspan.user.class': { stringValue: 'Browser' } } },
            ],
          }),
        ]),
      ),
    );
    expect(fs.timeline.map((p) => p.users)).toEqual([null, null, 10, 10]);
    // Little's law from the spans: 1, 2, 3, 4 requests of 100 ms starting in each second.
    expect(fs.timeline.map((p) => p.inFlight)).toEqual([0.1, 0.2, 0.3, 0.4]);

    const locustPoint = (atMs: number, users: number, cls: string) => ({ atMs, users, attributes: { user_class: { stringValue: cls } } });
    const lo = only(
      await analyzeFile(
        write(
          'users-locust.db',
          (b) => {
            b.resource('locust', LOCUST_RESOURCE);
            ramp(b, { service: 'locust', runId: null, requestName: null, name: 'GET /items' });
          },
          [
            usersMetric({ service: 'locust', runId: null, metricName: 'locust.users.count', instance: 'a', points: [locustPoint(1500, 4, 'Shopper'), locustPoint(1500, 1, 'Browser')] }),
            usersMetric({ service: 'locust', runId: null, metricName: 'locust.users.count', instance: 'b', points: [locustPoint(2500, 3, 'Shopper'), locustPoint(2500, 2, 'Browser')] }),
          ],
        ),
      ),
    );
    expect(lo.timeline.map((p) => p.users)).toEqual([null, 5, 10, 10]);
    expect(lo.timeline[0]?.inFlight).toBe(0.1);
  });
});

describe('the tail: where the gap of the slowest 10% and 1% went', () => {
  let run: RunReport;
  beforeAll(async () => {
    // /login: 90 requests on a reused connection (1 ms before and after the server), 10 that
    // opened one (25 ms connect) and waited 100 ms before the server — one of them 200 ms.
    run = only(
      await analyzeFile(
        write('tail.db', (b) => {
          for (let i = 0; i < 100; i++) {
            const opener = i % 10 === 3;
            const before = !opener ? 1 : i === 53 ? 200 : 100;
            const phases: Phases = { blocked: 0, dns: 0, connect: opener ? 25 : 0, tls: 0, sending: 0.5, waiting: before + 10 + 1, receiving: 1 };
            b.server(b.root({ startMs: i * 20, requestName: '/login', method: 'POST', phases }), { beforeMs: before, durationMs: 10, offsetMs: 500 });
          }
        }),
      ),
    );
  });

  it('gives the mean of each part over exactly those requests, in JSON, CSV, the table and HTML', () => {
    const tail = run.endpoints[0]?.tailPhasesMs;
    expect(tail?.slowest10?.pairs).toBe(10);
    expect(tail?.slowest10?.connectionSetup).toBeCloseTo(25, 6);
    expect(tail?.slowest10?.beforeServer).toBeCloseTo(110, 6);
    expect(tail?.slowest10?.afterServer).toBeCloseTo(1, 6);
    expect(tail?.slowest10?.gap).toBeCloseTo(25 + 0.5 + 110 + 1 + 1, 6);
    expect(tail?.slowest1?.pairs).toBe(1);
    expect(tail?.slowest1?.beforeServer).toBeCloseTo(200, 6);
    expect(tail?.slowest1?.connectionSetup).toBeCloseTo(25, 6);
    // The mean over all requests hides it: 10% of them carry almost all of the gap.
    expect(run.endpoints[0]?.phasesMs?.beforeServer).toBeCloseTo((90 * 1 + 9 * 100 + 200) / 100, 6);
    const report = { ...emptyReport(), runs: [run] };
    const csv = renderCsv(report).trim().split('\r\n');
    const row = csv[1]?.split(',') ?? [];
    expect(Number(row[CSV_COLUMNS.indexOf('tail10_phase_before_server_ms')])).toBeCloseTo(110, 6);
    expect(Number(row[CSV_COLUMNS.indexOf('tail1_phase_before_server_ms')])).toBeCloseTo(200, 6);
    expect(renderTable(report)).toMatch(/The tail[^\n]*\n[^]*\/login\s+10%\s+10\s+138\s+0\.00\s+25\.0\s+0\.50\s+110\s+0\.00\s+1\.00\s+1\.00\s+0\.00/);
    expect(renderHtml(report)).toMatch(/<tr class="tail" data-tail="1%"><td class="name">\/<wbr>login<\/td><td>1%<\/td><td>1<\/td><td>228<\/td>/);
  });

  it('says in words which endpoint matters most, how much, and why: the cost of a new connection', () => {
    expect(run.summary).toEqual([
      '/login is where the gap matters most: a mean of 16.9 ms per request (p99 128 ms) over 100 requests, 100% of the run\'s 1.7 s of hidden latency.',
      'The 10 requests that opened a connection waited 134 ms more than the 90 that reused one (gap 138 ms against 3.50 ms): the cost of a new connection.',
      'Propagation 100% (100 of 100 requests matched a server span).',
    ]);
    const table = renderTable({ ...emptyReport(), runs: [run] });
    expect(table.indexOf('/login is where the gap matters most')).toBeLessThan(table.indexOf('Endpoint '));
    expect(renderHtml({ ...emptyReport(), runs: [run] })).toContain('<div class="summary"><p>/login is where the gap matters most');
  });

  it('takes the bucket the cut falls in in proportion (15 requests: the slowest 10% is 2 of them)', async () => {
    const r = only(
      await analyzeFile(
        write('tail-cut.db', (b) => {
          // Gaps (before the server): 14 requests of 1 ms, then one of 50 ms; the cut of 2 takes
          // the 50 ms one and one of the 1 ms ones.
          for (let i = 0; i < 15; i++) {
            const before = i === 7 ? 50 : 1;
            b.server(b.root({ startMs: i * 20, requestName: '/x', phases: { ...REUSED, waiting: before + 10 + 1 } }), { beforeMs: before, durationMs: 10 });
          }
        }),
      ),
    );
    expect(r.total.tailPhasesMs.slowest10?.pairs).toBe(2);
    expect(r.total.tailPhasesMs.slowest10?.beforeServer).toBeCloseTo(25.5, 6);
  });
});

describe('a run whose spans are still arriving says so', () => {
  it('warns when the last span arrived within the settle time, and not once it has settled', async () => {
    const now = 1_900_000_000_000;
    const db = write('arriving.db', (b) => b.server(b.root({ startMs: 0, phases: REUSED }), { beforeMs: 1, durationMs: 10 }), [], now - 1500);
    const early = only(await analyzeFile(db, { nowMs: now }));
    expect(early.warnings.map((w) => w.code)).toEqual(['still-receiving']);
    expect(early.warnings[0]?.message).toMatch(/^The last span of this run arrived 1\.5 s ago: the run may still be receiving spans/);
    expect(renderTable({ ...emptyReport(), runs: [early] })).toContain('WARNING: The last span of this run arrived 1.5 s ago');
    expect(only(await analyzeFile(db, { nowMs: now + 2000 })).warnings).toEqual([]);
    expect(only(await analyzeFile(db, { nowMs: now, settleMs: 0 })).warnings).toEqual([]);
  });
});

describe('odd data is explained in words', () => {
  it('says what a server span longer than its client span means and whether it distorts the figures', async () => {
    const r = only(
      await analyzeFile(
        write('odd.db', (b) => {
          for (let i = 0; i < 5; i++) b.server(b.root({ startMs: i * 100, phases: REUSED }), { beforeMs: 1, durationMs: 10 });
          // The server ends its span late: 30 ms of server time in a 21.5 ms client span.
          b.server(b.root({ startMs: 600, phases: REUSED }), { beforeMs: 1, durationMs: 30 });
        }),
      ),
    );
    expect(r.oddities.serverLongerThanClient).toBe(1);
    const table = renderTable({ ...emptyReport(), runs: [r] });
    expect(table).toMatch(/serverLongerThanClient: 1 — server spans that last longer than their client span: the server ended its span after the response had left.*they have no gap, so the gap figures leave them out/);
    expect(renderHtml({ ...emptyReport(), runs: [r] })).toMatch(/<li data-oddity="serverLongerThanClient"><b>serverLongerThanClient: 1<\/b> — server spans that last longer/);
    // The gap figures hold the five others only.
    expect(r.total.gapMs?.max).toBeCloseTo(11.5, 9);
  });
});
