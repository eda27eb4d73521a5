// The official Collector image in front of the receiver, testcontainers-style: `docker run` the
// image (sharing the host network), wait for its ready line, send spans with the OTel SDK, stop it,
// and check every span reached SQLite. Driven through the docker CLI rather than the testcontainers
// package, which needs a newer Node than this project's 20. Needs a Docker engine: where
// `docker info` fails (CI machines with the client only), it skips and prints why.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { CONFIG_DIR, OTELCOL_IMAGE, startCollector } from './helpers/otelcol.ts';
import { spanCount } from './helpers/stored-spans.ts';

function dockerEngine(): string | undefined {
  const probe = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.error) return `no docker client (${probe.error.message})`;
  if (probe.status !== 0) {
    const why = (probe.stderr || probe.stdout).trim().split('\n').find((l) => l.trim() !== '') ?? `exit ${probe.status}`;
    return `no Docker engine: \`docker info\` failed: ${why}`;
  }
  return undefined;
}

const noEngine = dockerEngine();
if (noEngine) console.warn(`collector container test skipped: ${noEngine}`);

describe.skipIf(noEngine !== undefined)(`Collector container (${OTELCOL_IMAGE}) in front of the receiver`, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'firstspan-container-'));
  let receiver: RunningReceiver | undefined;
  afterAll(async () => {
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every span through collector-config/otelcol.yaml', async () => {
    receiver = await startReceiver({ db: path.join(dir, 'c.db'), port: 0, grpcPort: false });
    const collector = await startCollector(path.join(CONFIG_DIR, 'otelcol.yaml'), { FIRSTSPAN_RECEIVER_ENDPOINT: receiver.url }, { container: true });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'firstspan' }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${collector.httpUrl}/v1/traces` }))],
    });
    const tracer = provider.getTracer('test');
    const traces = 50;
    for (let i = 0; i < traces; i++) {
      const root = tracer.startSpan('GET /', { kind: SpanKind.CLIENT }, ROOT_CONTEXT);
      tracer.startSpan('GET /', { kind: SpanKind.SERVER }, trace.setSpan(ROOT_CONTEXT, root)).end();
      root.end();
    }
    await provider.shutdown();
    const stopped = await collector.stop();
    expect(stopped.code, collector.logs()).toBe(0);
    expect(spanCount(receiver.store.path)).toBe(traces * 2);
  }, 300_000);
});
