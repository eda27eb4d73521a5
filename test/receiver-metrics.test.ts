// Metrics over OTLP/HTTP: the OpenTelemetry JS SDK's metric exporters (protobuf and JSON) and an
// oracle-encoded request with every metric kind land in metric_points, one row per data point.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { metricsOracleRequest } from './helpers/receiver-fixtures.ts';
import { post, PROTO } from './helpers/receiver-http.ts';
import { decodeWith, encodeWith, Oracle } from './helpers/receiver-oracle.ts';
import { metricPointsOfService } from './helpers/stored-metrics.ts';

let dir: string;
let receiver: RunningReceiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-metrics-'));
  receiver = await startReceiver({ db: join(dir, 'm.db'), port: 0 });
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

async function sendSdkMetrics(exporter: PushMetricExporter, service: string): Promise<void> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': service }), readers: [reader] });
  const meter = provider.getMeter('rx-metrics-test');
  meter.createCounter('requests').add(7, { endpoint: '/a' });
  meter.createUpDownCounter('users.active').add(3);
  const h = meter.createHistogram('latency', { unit: 'ms' });
  for (const v of [1, 20, 300]) h.record(v, { endpoint: '/a' });
  meter.createGauge('queue.depth').record(11);
  await provider.forceFlush();
  await provider.shutdown();
}

describe('metrics from the OpenTelemetry JS SDK exporters', () => {
  for (const [name, make] of [
    ['http/protobuf', () => new ProtoMetricExporter({ url: `${receiver.url}/v1/metrics` })],
    ['http/json', () => new JsonMetricExporter({ url: `${receiver.url}/v1/metrics` })],
  ] as const) {
    it(`stores counters, up-down counters, histograms and gauges sent over ${name}`, async () => {
      const service = `metrics-${name.replace(/\W/g, '-')}`;
      await sendSdkMetrics(make(), service);
      const rows = metricPointsOfService(receiver.store.path, service);
      const by = Object.fromEntries(rows.map((r) => [r.metric_name, r]));
      expect(Object.keys(by).sort()).toEqual(['latency', 'queue.depth', 'requests', 'users.active']);
      expect(by.requests).toMatchObject({ type: 'sum', value: 7, is_monotonic: 1, temporality: 2 });
      expect(JSON.parse(by.requests!.attributes)).toEqual({ endpoint: { stringValue: '/a' } });
      expect(by['users.active']).toMatchObject({ type: 'sum', value: 3, is_monotonic: 0 });
      expect(by['queue.depth']).toMatchObject({ type: 'gauge', value: 11 });
      expect(by.latency).toMatchObject({ type: 'histogram', count: 3, sum: 321, min: 1, max: 300 });
      const buckets = JSON.parse(by.latency!.bucket_counts!) as number[];
      const bounds = JSON.parse(by.latency!.explicit_bounds!) as number[];
      expect(buckets).toHaveLength(bounds.length + 1);
      expect(buckets.reduce((a, b) => a + b, 0)).toBe(3);
      expect(by.latency!.time_ns).toBeGreaterThan(1_700_000_000_000_000_000n);
    });
  }
});

describe('metrics over OTLP/HTTP', () => {
  it('stores one row per data point of every kind, with the resource run id', async () => {
    const res = await post(receiver.url, '/v1/metrics', encodeWith(Oracle.MetricsRequest, metricsOracleRequest()), PROTO);
    expect(res.status).toBe(200);
    expect(decodeWith(Oracle.MetricsResponse, res.body)).toEqual({});
    const rows = metricPointsOfService(receiver.store.path, 'metrics-svc');
    expect(rows.map((r) => [r.metric_name, r.type])).toEqual([
      ['latency', 'histogram'],
      ['latency.exp', 'exponential_histogram'],
      ['latency.summary', 'summary'],
      ['requests', 'sum'],
      ['users', 'gauge'],
    ]);
    expect(rows.every((r) => r.run_id === 'run-m')).toBe(true);
    expect(rows[0]).toMatchObject({ count: 6, sum: 123.5, bucket_counts: '[1,2,3]', explicit_bounds: '[10,100]', temporality: 1 });
    expect(rows[1]).toMatchObject({ count: 4, sum: 10, min: 0, max: 7, bucket_counts: null });
    expect(rows[2]).toMatchObject({ count: 9, sum: 99 });
    expect(rows[4]).toMatchObject({ value: 12, time_ns: 1764000010000000002n });
  });

  it('answers a bad metrics body with 400 and a Status', async () => {
    const res = await post(receiver.url, '/v1/metrics', Buffer.from([0x0a, 0x09, 0x01]), PROTO);
    expect(res.status).toBe(400);
    expect((decodeWith(Oracle.Status, res.body) as { message: string }).message).toMatch(/metrics request/);
  });
});
