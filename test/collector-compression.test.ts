// Every compression the real OpenTelemetry Collector can send, end to end: one Collector with one
// pipeline per compression (its own OTLP receiver in, one exporter out), each exporter sending to
// the firstspan receiver with its `compression:` setting, otlphttp and otlp (gRPC) each through a
// recording tap that sees the real Content-Encoding / grpc-encoding. Each pipeline carries its own
// spans; every one must be stored exactly once.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { startGrpcTap, startTap, type GrpcTap, type Tap } from './helpers/http-tap.ts';
import { oracleSpan, tracesProtobuf } from './helpers/receiver-http.ts';
import { otelcolMissing, startCollector } from './helpers/otelcol.ts';
import { spanCountNamed } from './helpers/stored-spans.ts';

if (otelcolMissing) console.warn(`collector compression test skipped: ${otelcolMissing}`);

/** As configcompression names them; `snappy` is the block format, `x-snappy-framed` the framing format. */
const HTTP_COMPRESSIONS = ['gzip', 'zstd', 'snappy', 'x-snappy-framed', 'zlib', 'deflate', 'lz4'] as const;
const GRPC_COMPRESSIONS = ['gzip', 'zstd', 'snappy'] as const;
const SPANS_PER_PIPELINE = 40;

interface Pipeline {
  id: string;
  transport: 'http' | 'grpc';
  compression: string;
}

const pipelines: Pipeline[] = [
  ...HTTP_COMPRESSIONS.map((compression, i) => ({ id: `h${i}`, transport: 'http' as const, compression })),
  ...GRPC_COMPRESSIONS.map((compression, i) => ({ id: `g${i}`, transport: 'grpc' as const, compression })),
];

function config(tap: Tap, grpcTap: GrpcTap): string {
  const receivers = pipelines
    .map((p) => `  otlp/${p.id}:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n      grpc:\n        endpoint: 127.0.0.1:0\n`)
    .join('');
  const exporters = pipelines
    .map((p) =>
      p.transport === 'http'
        ? `  otlphttp/${p.id}:\n    endpoint: ${tap.url}\n    compression: ${p.compression}\n`
        : `  otlp/${p.id}:\n    endpoint: ${grpcTap.address}\n    tls:\n      insecure: true\n    compression: ${p.compression}\n`,
    )
    .join('');
  const service = pipelines
    .map((p) => `    traces/${p.id}:\n      receivers: [otlp/${p.id}]\n      exporters: [${p.transport === 'http' ? 'otlphttp' : 'otlp'}/${p.id}]\n`)
    .join('');
  return `receivers:\n${receivers}exporters:\n${exporters}service:\n  pipelines:\n${service}  telemetry:\n    metrics:\n      level: none\n`;
}

/** The HTTP endpoint the Collector logged for each receiver component. */
function httpEndpoints(logs: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of logs.split('\n')) {
    const m = /Starting HTTP server.*"otelcol\.component\.id": "otlp\/([^"]+)".*"endpoint": "([^"]+)"/.exec(line);
    if (m !== null) found.set(m[1]!, m[2]!);
  }
  return found;
}

const spanName = (p: Pipeline): string => `collector-${p.transport}-${p.compression}`;

describe.skipIf(otelcolMissing !== undefined)('real Collector → receiver, once per compression', () => {
  let dir: string;
  let receiver: RunningReceiver;
  let tap: Tap;
  let grpcTap: GrpcTap;
  const answers = new Map<string, number>();
  let collectorExit: number | null = null;
  let collectorLogs = '';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'firstspan-codecs-'));
    receiver = await startReceiver({ db: path.join(dir, 'c.db'), port: 0, grpcPort: 0 });
    tap = await startTap(receiver.url);
    grpcTap = await startGrpcTap(receiver.grpcUrl!);
    const configPath = path.join(dir, 'otelcol.yaml');
    writeFileSync(configPath, config(tap, grpcTap));
    const collector = await startCollector(configPath, {});
    try {
      const endpoints = httpEndpoints(collector.logs());
      for (const p of pipelines) {
        const endpoint = endpoints.get(p.id);
        if (endpoint === undefined) throw new Error(`the Collector did not log an endpoint for otlp/${p.id}:\n${collector.logs()}`);
        const spans = Array.from({ length: SPANS_PER_PIPELINE }, () => oracleSpan({ name: spanName(p) }));
        const answer = await fetch(`http://${endpoint}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: tracesProtobuf(spans, 'collector-codecs'),
        });
        await answer.arrayBuffer();
        answers.set(p.id, answer.status);
      }
    } finally {
      // SIGTERM: every exporter drains its sending queue before the Collector exits.
      const stopped = await collector.stop();
      collectorExit = stopped.code;
      collectorLogs = collector.logs();
    }
  }, 120_000);

  afterAll(async () => {
    await tap?.close();
    await grpcTap?.close();
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the Collector took every request and stopped cleanly', () => {
    expect([...answers.values()]).toEqual(pipelines.map(() => 200));
    expect(collectorExit, collectorLogs).toBe(0);
    // A compression the receiver could not read would be a permanent error: the batch dropped.
    expect(collectorLogs).not.toMatch(/Dropping data|Permanent error|Unimplemented|unsupported/i);
  });

  it.each(pipelines.map((p) => [spanName(p), p] as const))('%s: every span stored exactly once', (name) => {
    const stored = spanCountNamed(receiver.store.path, name);
    expect(stored).toBe(SPANS_PER_PIPELINE);
  });

  it('each otlphttp exporter used its own Content-Encoding', () => {
    const encodings = new Set(tap.seen.filter((s) => s.path === '/v1/traces').map((s) => s.encoding));
    expect(encodings).toEqual(new Set(HTTP_COMPRESSIONS));
  });

  it('each otlp (gRPC) exporter used its own grpc-encoding', () => {
    expect(new Set(grpcTap.encodings)).toEqual(new Set(GRPC_COMPRESSIONS));
  });
});
