// The generator's pure parts: phase tiling, wait times, flags, OTEL_* resolution, task discovery,
// and the renderers over stats built here.
import { describe, expect, it } from 'vitest';
import { Problems } from '../cli/args.ts';
import { tilePhases, type ConnectionMarks } from '../generator/connection-timing.ts';
import { MAX_NAMES, mergeWorkers, OVERFLOW_NAME, RequestStats, snapshot, statsToWire } from '../generator/request-stats.ts';
import { generateRunId, parseRunArgs, share } from '../generator/run-options.ts';
import { collectTasks } from '../generator/script-loader.ts';
import { failuresCsv, historyCsv, renderTable, statsCsv, summaryJson, type RunSummary } from '../generator/stats-report.ts';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { resolveTelemetryConfig } from '../generator/telemetry-config.ts';
import { DURATION_BOUNDARIES, DurationHistogram, type DurationKey } from '../generator/telemetry-duration.ts';
import { Telemetry } from '../generator/telemetry.ts';
import { HttpUser, task, type UserClass } from '../generator/user-model.ts';
import { between, constant, constantPacing, constantThroughput } from '../generator/wait-time.ts';

const conn = (c: Partial<ConnectionMarks>): ConnectionMarks => ({ start: 0, claimed: true, secure: false, lookup: false, ...c });

describe('tilePhases', () => {
  it('splits a request that opened a TLS connection into consecutive phases that add up to the whole', () => {
    const marks = {
      start: 100,
      connection: conn({ start: 101, lookupEnd: 103, tcpEnd: 106, tlsEnd: 110, secure: true, lookup: true }),
      headersSent: 110.5,
      bodySent: 111,
      responseHeaders: 131,
    };
    const p = tilePhases(marks, 140);
    expect(p).toEqual({ blocked: 1.5, dns: 2, connect: 3, tls: 4, sending: 0.5, waiting: 20, receiving: 9 });
    expect(Object.values(p).reduce((a, b) => a + b, 0)).toBe(40);
  });

  it('gives a reused connection no set-up phases', () => {
    const p = tilePhases({ start: 0, headersSent: 0.25, bodySent: 0.5, responseHeaders: 5 }, 6);
    expect(p).toEqual({ blocked: 0.25, dns: 0, connect: 0, tls: 0, sending: 0.25, waiting: 4.5, receiving: 1 });
  });

  it('leaves the rest of a failed request in the phase it was in', () => {
    // Refused while connecting (IP literal: no DNS).
    expect(tilePhases({ start: 0, connection: conn({ start: 1 }) }, 3)).toMatchObject({ blocked: 1, connect: 2, waiting: 0 });
    // DNS never answered.
    expect(tilePhases({ start: 0, connection: conn({ start: 0, lookup: true }) }, 5)).toMatchObject({ dns: 5, connect: 0 });
    // Timed out waiting for the response.
    expect(tilePhases({ start: 0, headersSent: 1, bodySent: 1 }, 60)).toMatchObject({ blocked: 1, waiting: 59, receiving: 0 });
    // TLS handshake failed.
    expect(tilePhases({ start: 0, connection: conn({ start: 0, tcpEnd: 1, secure: true }) }, 4)).toMatchObject({ connect: 1, tls: 3 });
  });

  it('never yields a negative phase when marks come out of order', () => {
    const p = tilePhases({ start: 10, headersSent: 9, bodySent: 12, responseHeaders: 11 }, 13);
    for (const v of Object.values(p)) expect(v).toBeGreaterThanOrEqual(0);
    expect(Object.values(p).reduce((a, b) => a + b, 0)).toBeCloseTo(3, 10);
  });
});

describe('wait times', () => {
  it('between, constant, constantPacing and constantThroughput', () => {
    const state = { taskStartedAt: 1000, taskEndedAt: 1300 };
    for (let i = 0; i < 100; i++) {
      const w = between(1, 2)(state);
      expect(w).toBeGreaterThanOrEqual(1);
      expect(w).toBeLessThanOrEqual(2);
    }
    expect(constant(3)(state)).toBe(3);
    expect(constantPacing(1)(state)).toBeCloseTo(0.7, 10);
    expect(constantPacing(0.2)(state)).toBe(0);
    expect(constantThroughput(2)(state)).toBeCloseTo(0.2, 10);
    expect(() => between(2, 1)).toThrow(RangeError);
    expect(() => constantThroughput(0)).toThrow(RangeError);
  });
});

describe('run flags', () => {
  it('parses Locust names and reports every problem at once', () => {
    const ok = parseRunArgs(['s.ts', '-u', '10', '-r', '2.5', '-t', '1m30s', '-i', '100', '--host', 'http://x:8080/', '--otel', '--run-id', 'r1', '--csv', 'out/a']);
    expect('options' in ok && ok.options).toMatchObject({ script: 's.ts', users: 10, spawnRate: 2.5, runTimeMs: 90_000, iterations: 100, host: 'http://x:8080', otel: true, runId: 'r1', csv: 'out/a' });
    const bad = parseRunArgs(['-u', 'lots', '--run-id', 'has space', '--worker-index', '1']);
    expect('problems' in bad).toBe(true);
    if ('problems' in bad) {
      expect(bad.problems.list).toHaveLength(4);
      expect(bad.problems.list.join('\n')).toMatch(/script to run is missing[\s\S]*-u\/--users[\s\S]*--run-id[\s\S]*go together/);
    }
  });

  it('takes --stop-timeout as seconds or a duration, 0 by default, and refuses anything else', () => {
    const timeout = (...flag: string[]): unknown => {
      const r = parseRunArgs(['s.ts', ...flag]);
      return 'options' in r ? r.options.stopTimeoutMs : 'problems' in r ? r.problems.list : r;
    };
    expect(timeout()).toBe(0);
    expect(timeout('--stop-timeout', '10')).toBe(10_000);
    expect(timeout('-s', '1m')).toBe(60_000);
    expect(timeout('--stop-timeout=2.5s')).toBe(2500);
    expect(timeout('--stop-timeout', '0')).toBe(0);
    expect(timeout('--stop-timeout=-5')).toEqual(["-s/--stop-timeout must be seconds or a duration like 10s or 1m (0 to cut off at once), got '-5'"]);
    expect(timeout('--stop-timeout', 'later')).toEqual(["-s/--stop-timeout must be seconds or a duration like 10s or 1m (0 to cut off at once), got 'later'"]);
  });

  it('splits users between workers and generates sortable run ids', () => {
    expect([0, 1, 2].map((i) => share(10, i, 3))).toEqual([4, 3, 3]);
    expect([0, 1, 2].reduce((s, i) => s + share(7, i, 3), 0)).toBe(7);
    expect(generateRunId(new Date('2026-01-02T03:04:05Z'))).toMatch(/^20260102-030405-[0-9a-f]{6}$/);
  });
});

describe('OTEL_* resolution', () => {
  it('follows the OTLP exporter spec for endpoints, protocol, headers and service name', () => {
    const problems = new Problems();
    const c = resolveTelemetryConfig(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:9/custom',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-a=1',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-a=2',
        OTEL_RESOURCE_ATTRIBUTES: 'service.name=ignored,deployment.environment=ci',
        OTEL_SERVICE_NAME: 'loadgen',
        OTEL_BSP_MAX_QUEUE_SIZE: '',
      },
      problems,
    );
    expect(problems.list).toEqual([]);
    expect(c).toMatchObject({
      tracesUrl: 'http://collector:4318/v1/traces',
      metricsUrl: 'http://m:9/custom',
      protocol: 'http/json',
      tracesHeaders: { authorization: 'Bearer abc', 'x-a': '2' },
      metricsHeaders: { authorization: 'Bearer abc', 'x-a': '1' },
      serviceName: 'loadgen',
      resourceAttributes: { 'deployment.environment': 'ci' },
      maxQueueSize: 262_144,
    });
    const d = resolveTelemetryConfig({}, new Problems());
    expect(d).toMatchObject({ tracesUrl: 'http://localhost:4318/v1/traces', protocol: 'http/protobuf', serviceName: 'firstspan' });
  });

  it('over gRPC, uses the endpoint as the server address (default port 4317), per signal', () => {
    const problems = new Problems();
    const g = resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, problems);
    expect(g).toMatchObject({ protocol: 'grpc', metricsProtocol: 'grpc', tracesUrl: 'http://localhost:4317', metricsUrl: 'http://localhost:4317' });
    const mixed = resolveTelemetryConfig(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4318/v1/metrics' },
      problems,
    );
    // Traces over gRPC to the server as named; metrics keep http/protobuf and their own URL.
    expect(mixed).toMatchObject({ protocol: 'grpc', tracesUrl: 'http://collector:4317', metricsProtocol: 'http/protobuf', metricsUrl: 'http://m:4318/v1/metrics' });
    expect(problems.list).toEqual([]);
  });

  it('rejects unknown protocols, bad URLs and bad numbers, all at once', () => {
    const problems = new Problems();
    resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'localhost:4318', OTEL_BSP_MAX_QUEUE_SIZE: '-3', OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }, problems);
    const text = problems.list.join('\n');
    expect(text).toContain("OTEL_EXPORTER_OTLP_PROTOCOL must be one of http/protobuf, http/json, grpc, got 'http/xml'");
    expect(text).toContain('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http(s) URL');
    expect(text).toContain('OTEL_BSP_MAX_QUEUE_SIZE must be a positive integer');
    expect(text).toContain('OTEL_EXPORTER_OTLP_HEADERS must be key=value');
  });
});

describe('task discovery', () => {
  it('finds @task methods with weights, inherited ones included', () => {
    // Decorator syntax itself runs through tsx in the CLI tests; vitest's transform keeps it as
    // is, so the decorators are applied by hand here, as the compiled code does.
    const method = { kind: 'method' } as ClassMethodDecoratorContext;
    class Base extends HttpUser {
      async browse(): Promise<void> {}
      helper(): void {}
    }
    class Shopper extends Base {
      async buy(): Promise<void> {}
    }
    task(2)(Base.prototype.browse, method);
    task(Shopper.prototype.buy, method);
    const tasks = collectTasks(Shopper as unknown as UserClass, 'x.ts');
    expect(tasks.map((t) => [t.name, t.weight]).sort()).toEqual([
      ['browse', 2],
      ['buy', 1],
    ]);
  });

  it('reads static tasks as names, functions, [name, weight] pairs or an object', () => {
    class A extends HttpUser {
      static override tasks: typeof HttpUser.tasks = ['a', ['b', 3]];
      a(): void {}
      b(): void {}
    }
    expect(collectTasks(A as unknown as UserClass, 'x.js').map((t) => [t.name, t.weight])).toEqual([
      ['a', 1],
      ['b', 3],
    ]);
    class B extends HttpUser {
      static override tasks = { go: 5 };
      go(): void {}
    }
    expect(collectTasks(B as unknown as UserClass, 'x.js')).toMatchObject([{ name: 'go', weight: 5 }]);
    class C extends HttpUser {
      static override tasks = ['nope'];
    }
    expect(() => collectTasks(C as unknown as UserClass, 'x.js')).toThrow(/'nope', which is not a method/);
    expect(() => task(0)).toThrow(RangeError);
  });
});

describe('renderers', () => {
  function summary(): RunSummary {
    const stats = new RequestStats();
    for (let i = 1; i <= 100; i++) stats.record('GET', '/product/{id}', i, 10, undefined);
    stats.record('POST', '/cart', 5, 0, 'HTTP 500');
    stats.record('POST', '/cart', 7, 0, 'HTTP 500');
    stats.record('POST', '/cart, "quoted"', 1, 0, undefined);
    stats.tick(3, 1_700_000_000);
    return { runId: 'r', service: 'firstspan', startedAt: new Date(0), endedAt: new Date(10_000), stopReason: 'run-time', peakUsers: 3, stats };
  }

  it('computes Locust figures from the HDR histograms', () => {
    const json = summaryJson(summary());
    const product = json.requests.find((r) => r.name === '/product/{id}');
    expect(product).toMatchObject({ count: 100, failures: 0, minMs: 1, maxMs: 100, averageMs: 50.5, requestsPerSecond: 10, averageContentSize: 10 });
    // HDR with 3 significant digits: within 0.1% of the exact percentile.
    for (const [value, exact] of [
      [product?.medianMs, 50],
      [product?.p90Ms, 90],
      [product?.p99Ms, 99],
    ] as const) {
      expect(Math.abs((value ?? 0) - exact) / exact).toBeLessThan(0.001);
    }
    expect(json.total).toMatchObject({ count: 103, failures: 2 });
    expect(json.failures).toEqual([{ method: 'POST', name: '/cart', error: 'HTTP 500', occurrences: 2 }]);
  });

  it('writes CSV with quoting, and a table with the aggregate row', () => {
    const s = summary();
    const csv = statsCsv(s).trim().split('\n');
    expect(csv[2]).toMatch(/^POST,"\/cart, ""quoted""",1,0,/);
    expect(csv[4]).toMatch(/^,Aggregated,103,2,/);
    expect(failuresCsv(s)).toBe('Method,Name,Error,Occurrences\nPOST,/cart,HTTP 500,2\n');
    expect(historyCsv(s.stats.history).trim().split('\n')[1]).toMatch(/^1700000000,3,,Aggregated,103,2,/);
    const table = renderTable(s);
    expect(table).toMatch(/^POST\s+\/cart\s+2\s+2\(100\.00%\)/m);
    expect(table).toMatch(/^\s+Aggregated\s+103\s+2\(1\.94%\)/m);
    expect(table).toContain('Error report');
  });
});

describe('request names', () => {
  it('folds names past the limit into one entry and says so, keeping every request counted', () => {
    const stats = new RequestStats();
    for (let i = 0; i < MAX_NAMES + 5; i++) stats.record('GET', `/raw/${i}`, 1, 0, i % 2 === 0 ? undefined : 'HTTP 500');
    stats.record('GET', '/raw/0', 1, 0, undefined); // an existing name still has its own entry
    expect(stats.entries.size).toBe(MAX_NAMES + 1);
    expect(stats.overflowed).toBe(true);
    expect(stats.entries.get(`GET ${OVERFLOW_NAME}`)?.count).toBe(5);
    expect(stats.entries.get('GET /raw/0')?.count).toBe(2);
    expect(stats.total.count).toBe(MAX_NAMES + 6);
    expect([...stats.failures.values()].find((f) => f.name === OVERFLOW_NAME)?.occurrences).toBe(2);
  });
});

describe('merging the stats of --processes workers', () => {
  it('rebuilds each second of the history from every worker, as one process recording all requests would have', () => {
    // Worker A ticks at seconds 100 and 101, worker B at 101 and 103: at 100 only A has reported,
    // at 103 A counts with its row of 101. The oracle records the same values in one RequestStats.
    const a = new RequestStats({ historyWire: true });
    const b = new RequestStats({ historyWire: true });
    const oracle = new RequestStats();
    const rec = (s: RequestStats, ms: number, fail?: string): void => {
      s.record('GET', '/x', ms, 100, fail);
      oracle.record('GET', '/x', ms, 100, fail);
    };
    for (let i = 1; i <= 50; i++) rec(a, i);
    a.tick(2, 100.2);
    const at100 = snapshot(oracle.total);
    for (let i = 0; i < 10; i++) rec(a, 3);
    for (let i = 0; i < 30; i++) rec(b, 400 + i, i < 3 ? 'HTTP 500' : undefined);
    a.tick(2, 101.4);
    b.tick(1, 101.9);
    const at101 = snapshot(oracle.total);
    for (let i = 0; i < 5; i++) rec(b, 900);
    b.tick(0, 103.1);
    a.tick(0, 101.99); // A's final row, still in second 101
    const at103 = snapshot(oracle.total);

    const merged = mergeWorkers([statsToWire(a), statsToWire(b)]);
    expect(merged.history.map((r) => [r.timestamp, r.users, r.requestsPerSecond, r.failuresPerSecond])).toEqual([
      [100, 2, 50, 0],
      [101, 1, 40, 3],
      [103, 0, 5, 0],
    ]);
    expect(merged.history.map((r) => r.total)).toEqual([at100, at101, at103]);
    // The highest worker's median at 101 (B's, >= 400 ms) is not the run's median.
    expect(merged.history[1]?.total.p50).toBeLessThan(400);
    // The last row and the final aggregate are the same figures.
    expect(merged.history[2]?.total).toEqual(snapshot(merged.total));
  });

  it('adds up the requests each worker cut off at the stop, apart from the stats', () => {
    const a = new RequestStats();
    const b = new RequestStats();
    a.cutOff = 2;
    b.cutOff = 3;
    b.record('GET', '/x', 5, 0, undefined);
    const merged = mergeWorkers([statsToWire(a), statsToWire(b)]);
    expect(merged.cutOff).toBe(5);
    expect(merged.total.count).toBe(1);
  });
});

describe('DurationHistogram', () => {
  const scope = { name: 'firstspan', version: 't' };
  const points = (h: DurationHistogram, now?: number) => {
    const metrics = h.snapshot(now).resourceMetrics.scopeMetrics[0]?.metrics ?? [];
    return (metrics[0] as HistogramMetricData | undefined)?.dataPoints ?? [];
  };

  it('exports the same buckets, count, sum, min and max per attribute set as the SDK histogram fed the same values', async () => {
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const sdk = provider.getMeter('reference').createHistogram('d', { advice: { explicitBucketBoundaries: DURATION_BOUNDARIES } });
    const ours = new DurationHistogram(scope);
    const ok: DurationKey = { name: '/a', method: 'GET', status: 200 };
    const failed: DurationKey = { name: '/a', method: 'GET', status: 0, errorType: 'ECONNREFUSED' };
    // Values on, just past and between boundaries, past the last one, and a NaN (ignored by both).
    const values: Array<[number, DurationKey]> = [0.3, 1, 1.0001, 2, 4.9, 5, 7, 25, 26, 999, 30000, 30001, 12.5, Number.NaN].map((v, i) => [v, i % 3 === 0 ? failed : ok]);
    for (const [v, key] of values) {
      ours.record(v, key);
      const attributes: Record<string, string | number> = { 'firstspan.request.name': key.name, 'http.request.method': key.method, 'http.response.status_code': key.status };
      if (key.errorType !== undefined) attributes['error.type'] = key.errorType;
      sdk.record(v, attributes);
    }
    const { resourceMetrics } = await reader.collect();
    await provider.shutdown();
    const reference = (resourceMetrics.scopeMetrics[0]?.metrics[0] as HistogramMetricData).dataPoints;
    const mine = points(ours);
    expect(mine).toHaveLength(2);
    const byAttributes = (ps: typeof mine) => new Map(ps.map((p) => [JSON.stringify(Object.entries(p.attributes).sort()), p.value]));
    const expected = byAttributes(reference);
    for (const [attributes, value] of byAttributes(mine)) {
      const sdkValue = expected.get(attributes);
      expect(sdkValue, attributes).toBeDefined();
      expect(value.buckets).toEqual(sdkValue?.buckets);
      expect(value.count).toBe(sdkValue?.count);
      expect(value.sum).toBeCloseTo(sdkValue?.sum ?? Number.NaN, 9);
      expect(value.min).toBe(sdkValue?.min);
      expect(value.max).toBe(sdkValue?.max);
    }
  });

  it('is cumulative by default; in delta mode each export holds only what came since the last', () => {
    const key: DurationKey = { name: '/', method: 'GET', status: 200 };
    const cumulative = new DurationHistogram(scope, AggregationTemporality.CUMULATIVE, 1_000);
    const delta = new DurationHistogram(scope, AggregationTemporality.DELTA, 1_000);
    for (const h of [cumulative, delta]) {
      h.record(3, key);
      h.record(40, key);
    }
    expect(points(cumulative, 2_000)[0]?.value.count).toBe(2);
    expect(points(delta, 2_000)[0]?.value.count).toBe(2);
    for (const h of [cumulative, delta]) h.record(0.5, key);
    const c = points(cumulative, 3_000)[0];
    const d = points(delta, 3_000)[0];
    expect(c?.value).toMatchObject({ count: 3, min: 0.5, max: 40 });
    expect(c?.startTime).toEqual([1, 0]);
    expect(d?.value).toMatchObject({ count: 1, min: 0.5, max: 0.5, sum: 0.5 });
    expect(d?.startTime).toEqual([2, 0]);
    expect(d?.endTime).toEqual([3, 0]);
    // Nothing new: a delta export has no point at all, as the SDK's would.
    expect(points(delta, 4_000)).toHaveLength(0);
  });
});

describe('Telemetry.begin', () => {
  it('gives every request its own W3C traceparent, also across refills of the random id pool', async () => {
    const problems = new Problems();
    // Nothing listens on port 9: no span is ended here, and the metric flush at shutdown just fails.
    const config = resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_TIMEOUT: '1000' }, problems);
    const telemetry = await Telemetry.create({ config, runId: 'ids', version: 't', activeUsers: () => new Map() });
    try {
      const traceIds = new Set<string>();
      const spanIds = new Set<string>();
      const n = 5000; // several pools of 1,024
      for (let i = 0; i < n; i++) {
        const { headers, context } = telemetry.begin();
        expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
        expect(headers.traceparent).toBe(`00-${context.traceId}-${context.spanId}-01`);
        traceIds.add(context.traceId);
        spanIds.add(context.spanId);
      }
      expect(traceIds.size).toBe(n);
      expect(spanIds.size).toBe(n);
    } finally {
      await telemetry.shutdown(1000);
    }
  });
});
