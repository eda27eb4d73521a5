// The gateway configuration with the real Collector: its load-balancing exporter routes by trace
// id to two `firstspan receive` shards (OTLP/gRPC), so every trace lands whole in one database even
// though its CLIENT root and its SERVER child were exported by two different SDK processes' worth of
// exporters. Then the analyzer reads both shards as one.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpanKind, trace, ROOT_CONTEXT } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { runCli } from './helpers/cli.ts';
import { CONFIG_DIR, otelcolMissing, startCollector, type RunningCollector } from './helpers/otelcol.ts';
import { spanCountsByTrace } from './helpers/stored-spans.ts';

if (otelcolMissing) console.warn(`collector gateway test skipped: ${otelcolMissing}`);

const TRACES = 300;
const RUN_ID = `gateway-${randomBytes(4).toString('hex')}`;

describe.skipIf(otelcolMissing !== undefined)('Collector gateway: load-balancing by trace id over two receivers', () => {
  let dir: string;
  const shards: RunningReceiver[] = [];
  let gateway: RunningCollector;
  let perShard: Map<string, number>[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'firstspan-gateway-'));
    for (const name of ['a', 'b']) {
      shards.push(await startReceiver({ db: path.join(dir, `${name}.db`), port: 0, grpcPort: 0 }));
    }
    gateway = await startCollector(path.join(CONFIG_DIR, 'otelcol-gateway.yaml'), {
      FIRSTSPAN_SHARD_0: shards[0]?.grpcUrl as string,
      FIRSTSPAN_SHARD_1: shards[1]?.grpcUrl as string,
    });
    // Two providers, two exporters: the load generator and the service under test, each sending
    // its half of every trace to the gateway separately, as they would from two hosts.
    const provider = (service: string): BasicTracerProvider =>
      new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service, 'firstspan.run.id': RUN_ID }),
        spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${gateway.httpUrl}/v1/traces` }), { maxQueueSize: 4096 })],
      });
    const generator = provider('firstspan');
    const shop = provider('shop');
    const start = Date.now() - 60_000;
    for (let i = 0; i < TRACES; i++) {
      const t0 = start + i * 10;
      const root = generator.getTracer('test').startSpan(
        'GET /product/{id}',
        { kind: SpanKind.CLIENT, startTime: t0, attributes: { 'firstspan.request.name': '/product/{id}', 'http.request.method': 'GET' } },
        ROOT_CONTEXT,
      );
      const child = shop.getTracer('test').startSpan(
        'GET /product/:id',
        { kind: SpanKind.SERVER, startTime: t0 + 2 },
        trace.setSpan(ROOT_CONTEXT, root),
      );
      child.end(t0 + 6);
      root.end(t0 + 8);
    }
    await Promise.all([generator.shutdown(), shop.shutdown()]);
    // SIGTERM drains the gateway's batch processor and exporter queues before it exits.
    const stopped = await gateway.stop();
    expect(stopped.code, gateway.logs()).toBe(0);
    perShard = shards.map((s) => spanCountsByTrace(s.store.path));
    await Promise.all(shards.map((s) => s.close()));
  });

  afterAll(async () => {
    await Promise.all(shards.map((s) => s.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every trace, each whole (root and server child) in exactly one shard', () => {
    const [a, b] = perShard as [Map<string, number>, Map<string, number>];
    expect(a.size + b.size).toBe(TRACES);
    for (const id of a.keys()) expect(b.has(id)).toBe(false);
    for (const counts of perShard) for (const n of counts.values()) expect(n).toBe(2);
  });

  it('uses both shards', () => {
    // 300 trace ids hashed onto two back-ends: an empty shard would mean no balancing at all.
    for (const counts of perShard) expect(counts.size).toBeGreaterThan(TRACES / 10);
  });

  it('the analyzer reads the shards as one run and pairs every root', async () => {
    const result = await runCli(['analyze', '--db', path.join(dir, 'a.db'), '--db', path.join(dir, 'b.db'), '--format', 'json'], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { runs: { runId: string; rootSpans: number; matched: number }[] };
    const run = report.runs.find((r) => r.runId === RUN_ID);
    expect(run?.rootSpans).toBe(TRACES);
    expect(run?.matched).toBe(TRACES);
  });
});
