// firstspan run --otel with OTEL_EXPORTER_OTLP_PROTOCOL=grpc, through the real binary into the real
// receiver's OTLP/gRPC listener: every span and the metrics arrive, headers travel as gRPC
// metadata, and the target (exporting over HTTP to the same receiver) still continues each trace.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { runCli } from './helpers/cli.ts';
import { clientSpansOfRun, serverSpansOf, type Summary, tempDir, writeScript } from './helpers/generator-harness.ts';
import { metricPointsOfRun } from './helpers/stored-metrics.ts';
import { startTargetService, type TargetService } from './helpers/target-service.ts';

let dir: { dir: string; remove: () => void };
let receiver: RunningReceiver;
let target: TargetService;

beforeAll(async () => {
  dir = tempDir('firstspan-gen-grpc-');
  // A token on the receiver: an export without the metadata would be refused (UNAUTHENTICATED).
  receiver = await startReceiver({ db: path.join(dir.dir, 'spans.db'), port: 0, grpcPort: 0, token: 'grpc-secret' });
  target = await startTargetService({ otlpTracesUrl: `${receiver.url}/v1/traces`, serviceName: 'target-service', otlpHeaders: { authorization: 'Bearer grpc-secret' } });
});

afterAll(async () => {
  await target?.close().catch(() => undefined);
  await receiver?.close();
  dir?.remove();
});

describe('--otel over OTLP/gRPC', () => {
  it('exports every span and the metrics to a gRPC receiver, with headers as metadata', async () => {
    expect(receiver.grpcUrl).toBeDefined();
    const script = writeScript(dir.dir, 'grpc.ts', `import { HttpUser, task } from 'firstspan';\nexport class G extends HttpUser { @task async t() { await this.client.get('/grpc'); } }\n`);
    const r = await runCli(['run', script, '--host', target.url, '-u', '2', '-r', '100', '-i', '30', '--otel', '--run-id', 'over-grpc', '--json'], {
      env: {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://${receiver.grpcUrl}`,
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20grpc-secret',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
      },
      cwd: dir.dir,
    });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.total.count).toBe(30);
    expect(s.telemetry).toMatchObject({ spansEnded: 30, spansExported: 30, spansDropped: 0 });
    await target.close();

    const clients = clientSpansOfRun(receiver, 'over-grpc');
    expect(clients).toHaveLength(30);
    const servers = new Map(serverSpansOf(receiver, 'target-service').map((x) => [x.parentSpanId, x.traceId]));
    for (const c of clients) {
      expect(c.name).toBe('GET /grpc');
      expect(c.phases.waiting).not.toBeNull();
      expect(servers.get(c.spanId), 'the target continued the trace').toBe(c.traceId);
    }
    const metrics = [...new Set(metricPointsOfRun(receiver.store.path, 'over-grpc').map((p) => p.metric_name))];
    expect(metrics).toEqual(expect.arrayContaining(['firstspan.request.duration', 'firstspan.users.active']));
  });

  it('warns, counts the spans it could not export, and still succeeds when no gRPC server answers', async () => {
    const script = writeScript(dir.dir, 'nobody.ts', `import { HttpUser, task } from 'firstspan';\nexport class N extends HttpUser { @task async t() { await this.client.get('/x'); } }\n`);
    const down = await startTargetService({ serviceName: 'unexported' });
    try {
      const r = await runCli(['run', script, '--host', down.url, '-i', '5', '--otel', '--json'], {
        env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_TIMEOUT: '1000' },
        cwd: dir.dir,
      });
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout) as Summary;
      expect(s.telemetry).toMatchObject({ spansEnded: 5, spansExported: 0 });
      expect(r.stderr).toMatch(/span export failed/);
    } finally {
      await down.close();
    }
  });
});
