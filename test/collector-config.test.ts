// Both Collector configurations, and the commented vendor example, validated by the real
// OpenTelemetry Collector (`otelcol validate`). A deliberately broken copy must fail, so a pass
// means the Collector really checked the file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_DIR, otelcolMissing, validateConfig } from './helpers/otelcol.ts';

if (otelcolMissing) console.warn(`collector-config tests skipped: ${otelcolMissing}`);

describe.skipIf(otelcolMissing !== undefined)('collector-config/ validated by the real Collector', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'firstspan-otelcol-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('otelcol.yaml is valid with its defaults', async () => {
    const result = await validateConfig(path.join(CONFIG_DIR, 'otelcol.yaml'), {});
    expect(result.code, result.stderr).toBe(0);
  });

  it('otelcol.yaml is valid with every endpoint from the environment', async () => {
    const result = await validateConfig(path.join(CONFIG_DIR, 'otelcol.yaml'), {
      FIRSTSPAN_RECEIVER_ENDPOINT: 'http://receiver:4318',
      FIRSTSPAN_OTLP_GRPC_ENDPOINT: '127.0.0.1:14317',
      FIRSTSPAN_OTLP_HTTP_ENDPOINT: '127.0.0.1:14318',
    });
    expect(result.code, result.stderr).toBe(0);
  });

  it('otelcol-gateway.yaml is valid with two shards', async () => {
    const result = await validateConfig(path.join(CONFIG_DIR, 'otelcol-gateway.yaml'), {
      FIRSTSPAN_SHARD_0: '127.0.0.1:14317',
      FIRSTSPAN_SHARD_1: '127.0.0.1:24317',
    });
    expect(result.code, result.stderr).toBe(0);
  });

  it('the commented vendor example is valid once uncommented and wired in', async () => {
    const source = readFileSync(path.join(CONFIG_DIR, 'otelcol.yaml'), 'utf8');
    const lines = source.split('\n');
    const begin = lines.findIndex((l) => l.includes('>>> vendor backend'));
    const end = lines.findIndex((l) => l.includes('<<< vendor backend'));
    expect(begin).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(begin);
    const enabled = lines
      .map((line, i) => (i > begin && i < end && !line.includes('>>>') ? line.replace(/^(\s*)# /, '$1') : line))
      .join('\n')
      .replaceAll('exporters: [otlphttp/firstspan]', 'exporters: [otlphttp/firstspan, otlphttp/vendor]');
    expect(enabled).toContain('\n  otlphttp/vendor:');
    const file = path.join(dir, 'vendor.yaml');
    writeFileSync(file, enabled);
    const result = await validateConfig(file, {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://ingest.us1.signalfx.com/v2/trace/otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://ingest.us1.signalfx.com/v2/datapoint/otlp',
      SPLUNK_ACCESS_TOKEN: 'not-a-real-token',
    });
    expect(result.code, result.stderr).toBe(0);
  });

  it('a broken copy fails validation (the check is real)', async () => {
    const source = readFileSync(path.join(CONFIG_DIR, 'otelcol-gateway.yaml'), 'utf8');
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, source.replace('routing_key: traceID', 'routing_key: traceID\n    no_such_option: true'));
    const result = await validateConfig(file, {});
    expect(result.code).not.toBe(0);
    expect(result.stderr + result.stdout).toMatch(/no_such_option/);
  });
});
