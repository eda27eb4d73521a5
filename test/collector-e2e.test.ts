// End to end through the real OpenTelemetry Collector with collector-config/otelcol.yaml:
//   firstspan run --otel ─┐
//                          ├─▶ Collector (OTLP in, batch, otlphttp gzip out) ─▶ tap ─▶ firstspan receiver
//   demo shop (OTel SDK) ─┘
// Every span the generator and the shop say they exported must be stored, and every request the
// Collector sent must have been gzip-compressed (a recording pass-through in front of the receiver
// sees the real headers).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { startShop } from '../examples/shop/shop.ts';
import { runCli } from './helpers/cli.ts';
import { startTap } from './helpers/http-tap.ts';
import { CONFIG_DIR, otelcolMissing, startCollector } from './helpers/otelcol.ts';
import { spanCountsByService } from './helpers/stored-spans.ts';

if (otelcolMissing) console.warn(`collector end-to-end test skipped: ${otelcolMissing}`);

const SCRIPT = fileURLToPath(new URL('../examples/ecommerce_shopper.ts', import.meta.url));
const RUN_ID = `e2e-${randomBytes(4).toString('hex')}`;
const ITERATIONS = 6;

describe.skipIf(otelcolMissing !== undefined)('generator and shop → real Collector (gzip) → receiver', () => {
  let dir: string;
  let receiver: RunningReceiver;
  let tap: Awaited<ReturnType<typeof startTap>>;
  let generatorSpans: { exported: number; failed: number; dropped: number; ended: number };
  let shopExported = 0;
  const stored = new Map<string, number>();
  let requests = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'firstspan-e2e-'));
    receiver = await startReceiver({ db: path.join(dir, 'e2e.db'), port: 0, grpcPort: false });
    tap = await startTap(receiver.url);
    const collector = await startCollector(path.join(CONFIG_DIR, 'otelcol.yaml'), { FIRSTSPAN_RECEIVER_ENDPOINT: tap.url });
    try {
      const shop = await startShop({
        port: 0,
        host: '127.0.0.1',
        inventoryPort: 0,
        latencies: { shopMs: 1, dbMs: 1, inventoryMs: 1, jitter: 0 },
        shopServiceName: 'shop',
        inventoryServiceName: 'inventory',
        exporter: 'otlp',
        resource: {},
        tracesUrl: `${collector.httpUrl}/v1/traces`,
      });
      const run = await runCli(
        ['run', SCRIPT, '--host', shop.url.origin, '-u', '3', '-r', '3', '-i', String(ITERATIONS), '-t', '60s', '--headless', '--otel', '--run-id', RUN_ID, '--json'],
        { env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.httpUrl, OTEL_SERVICE_NAME: 'firstspan' }, timeoutMs: 90_000 },
      );
      expect(run.code, run.stderr).toBe(0);
      const m = /spans (\d+) exported, (\d+) failed, (\d+) dropped \(of (\d+)\)/.exec(run.stderr);
      expect(m, run.stderr).not.toBeNull();
      generatorSpans = { exported: Number(m?.[1]), failed: Number(m?.[2]), dropped: Number(m?.[3]), ended: Number(m?.[4]) };
      requests = Number(/stopped by [\w-]+ · (\d+) requests/.exec(run.stderr)?.[1]);
      shopExported = (await shop.close()).exported;
    } finally {
      // SIGTERM: the Collector flushes its batch processor and sending queue before it exits.
      const stopped = await collector.stop();
      expect(stopped.code, collector.logs()).toBe(0);
    }
    for (const [service, n] of spanCountsByService(receiver.store.path)) stored.set(service, n);
  });

  afterAll(async () => {
    await tap?.close();
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the generator exported one span per request, none dropped or failed', () => {
    // The seed's iteration is 10 requests; the iteration cap makes the total exact.
    expect(requests).toBe(ITERATIONS * 10);
    expect(generatorSpans).toEqual({ exported: requests, failed: 0, dropped: 0, ended: requests });
  });

  it('stores every span the generator exported', () => {
    expect(stored.get('firstspan')).toBe(generatorSpans.exported);
  });

  it('stores every span the shop and its inventory exported', () => {
    expect(shopExported).toBeGreaterThan(requests);
    expect((stored.get('shop') ?? 0) + (stored.get('inventory') ?? 0)).toBe(shopExported);
  });

  it('the Collector sent traces (and metrics) to the receiver gzip-compressed', () => {
    const traces = tap.seen.filter((s) => s.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    expect(new Set(tap.seen.map((s) => s.encoding))).toEqual(new Set(['gzip']));
  });
});
