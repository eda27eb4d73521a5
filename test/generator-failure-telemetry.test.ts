// What --otel records for requests that fail, through the real binary into a real receiver: the
// span's error.type and ERROR status for an HTTP error, a verdict of catchResponse and a refused
// connection (none for a success), and the request-duration histogram by name, method and status
// beside the active-users gauge by user class.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { clientSpansOfRun, type Stack, startStack, type Summary, writeScript } from './helpers/generator-harness.ts';
import { metricPointsOfRun } from './helpers/stored-metrics.ts';
import { resourceAttributesOfRun } from './helpers/stored-spans.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

const STATUS_ERROR = 2;

describe('--otel for failed requests', () => {
  it('marks each failed span with error.type and ERROR status, and the duration histogram counts by name, method and status', async () => {
    const file = writeScript(
      stack.dir,
      'failing.ts',
      `import { HttpUser, task } from 'firstspan';
       export class Failing extends HttpUser {
         @task async t() {
           await this.client.get('/ok');
           await this.client.get('/missing?status=404', { name: '/missing' });
           const judged = await this.client.get('/judged', { catchResponse: true });
           judged.failure('wanted something else');
           await this.client.get('http://127.0.0.1:9/down', { name: '/down' });
         }
       }`,
    );
    const r = await runCli(['run', file, '--host', stack.target.url, '-i', '2', '--otel', '--run-id', 'failed-spans', '--json'], { env: stack.otelEnv, cwd: stack.dir });
    expect(r.code, r.stderr).toBe(1);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.total).toMatchObject({ count: 8, failures: 6 });
    expect(s.telemetry).toMatchObject({ spansEnded: 8, spansExported: 8 });

    const spans = clientSpansOfRun(stack.receiver, 'failed-spans');
    expect(spans).toHaveLength(8);
    const byName = (name: string) => spans.filter((x) => x.name === name);
    const expected: Record<string, { errorType: string | undefined; status: number | undefined }> = {
      'GET /ok': { errorType: undefined, status: 200 },
      'GET /missing': { errorType: '404', status: 404 },
      'GET /judged': { errorType: 'check_failed', status: 200 },
      'GET /down': { errorType: 'ECONNREFUSED', status: undefined },
    };
    for (const [name, want] of Object.entries(expected)) {
      const these = byName(name);
      expect(these, name).toHaveLength(2);
      for (const span of these) {
        expect(span.attributes['error.type']?.stringValue, name).toBe(want.errorType);
        expect(span.statusCode, name).toBe(want.errorType === undefined ? 0 : STATUS_ERROR);
        const status = span.attributes['http.response.status_code']?.intValue;
        expect(status === undefined ? undefined : Number(status), name).toBe(want.status);
        expect(span.attributes['http.request.method']?.stringValue).toBe('GET');
        expect(span.attributes['firstspan.user.class']?.stringValue).toBe('Failing');
        expect(span.requestName).toBe(name.slice(4));
      }
    }

    // Cumulative histogram: the last point of each series holds the whole run.
    const points = metricPointsOfRun(stack.receiver.store.path, 'failed-spans');
    const series = new Map<string, number>();
    for (const p of points.filter((x) => x.metric_name === 'firstspan.request.duration')) {
      const a = JSON.parse(p.attributes) as Record<string, { stringValue?: string; intValue?: string | number }>;
      const key = `${a['http.request.method']?.stringValue} ${a['firstspan.request.name']?.stringValue} ${a['http.response.status_code']?.intValue ?? '-'} ${a['error.type']?.stringValue ?? '-'}`;
      series.set(key, p.count ?? 0);
    }
    expect(Object.fromEntries(series)).toEqual({
      'GET /ok 200 -': 2,
      'GET /missing 404 404': 2,
      'GET /judged 200 check_failed': 2,
      'GET /down 0 ECONNREFUSED': 2,
    });
    const users = points.filter((x) => x.metric_name === 'firstspan.users.active');
    expect(users.length).toBeGreaterThan(0);
    expect(users.every((u) => (JSON.parse(u.attributes) as Record<string, { stringValue?: string }>)['firstspan.user.class']?.stringValue === 'Failing')).toBe(true);
  });

  it('exports over http/json when OTEL_EXPORTER_OTLP_PROTOCOL says so, under OTEL_SERVICE_NAME with OTEL_RESOURCE_ATTRIBUTES', async () => {
    const file = writeScript(stack.dir, 'json-proto.ts', `import { HttpUser, task } from 'firstspan';\nexport class J extends HttpUser { @task async t() { await this.client.get('/json-proto'); } }\n`);
    const env = { ...stack.otelEnv, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'shop-load', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test' };
    const r = await runCli(['run', file, '--host', stack.target.url, '-i', '5', '--otel', '--run-id', 'json-proto', '--json'], { env, cwd: stack.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('(http/json)');
    const s = JSON.parse(r.stdout) as Summary & { service: string };
    expect(s.service).toBe('shop-load');
    expect(s.telemetry).toMatchObject({ spansEnded: 5, spansExported: 5 });
    const spans = clientSpansOfRun(stack.receiver, 'json-proto');
    expect(spans).toHaveLength(5);
    expect(new Set(spans.map((x) => x.serviceName))).toEqual(new Set(['shop-load']));
    const resource = resourceAttributesOfRun(stack.receiver.store.path, 'json-proto');
    expect(JSON.parse(resource ?? 'null')).toMatchObject({ 'deployment.environment.name': { stringValue: 'test' } });
  });
});
