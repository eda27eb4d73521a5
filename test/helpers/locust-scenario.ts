// The Locust interop scenario, end to end with real parts: firstspan's receiver (HTTP and gRPC
// listeners) → the demo shop as a child process exporting to it with the OTel Node SDK → the delay
// proxy in front of the shop → real Locust --otel driving the seed's MockTarget through the proxy
// and exporting to the receiver over the chosen protocol. Returns what each party says happened,
// plus the ground truth read straight from the SQLite file, so tests can hold the analyzer to it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDelayProxy } from '../../demo/delay-proxy.ts';
import { startReceiver } from '../../receiver/start.ts';
import { LOCUSTFILES, runLocust, type LocustRunResult } from './locust-peer.ts';
import { startShopProcess } from './locust-shop.ts';
import { readStoreFile } from './store-file.ts';

export type LocustProtocol = 'grpc' | 'http/protobuf';

export interface ScenarioOptions {
  protocol: LocustProtocol;
  users: number;
  runTime: string;
  connectDelayMs: number;
  /** Run Locust this many times, one after another, into the same database (default 1). */
  runs?: number;
  /** Pause between those runs, after one Locust process exits and before the next starts. */
  pauseMs?: number;
  /** Users started per second (default: all at once, users × 10). */
  spawnRate?: number;
  /** The locustfile (default: the seed's MockTarget). */
  locustfile?: string;
  /**
   * Send each of the shop's routes a few requests first, straight to the shop (no proxy, no
   * trace), so the figures of the run's first requests do not carry the shop's cold start.
   */
  warmUpShop?: boolean;
}

/** A few requests to every route of the shop, straight to it: its code paths are loaded and compiled. */
async function warmUp(shop: URL): Promise<void> {
  const json = { method: 'POST', headers: { 'content-type': 'application/json' } } as const;
  for (let i = 0; i < 20; i++) {
    for (const [path, init] of [
      ['/authenticate', { ...json, body: JSON.stringify({ user: 'foo', password: 'bar' }) }],
      ['/product/42', {}],
      ['/cart/add', { ...json, body: JSON.stringify({ productId: 42 }) }],
      ['/checkout/confirm', { method: 'POST' }],
    ] as const) {
      const response = await fetch(new URL(path, shop), init);
      await response.arrayBuffer();
    }
  }
}

/** One stored span, as the test reads it back (nanoseconds exact, as bigint). */
export interface StoredSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  service: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  statusCode: number;
  attributes: Record<string, { stringValue?: string; intValue?: string | number }>;
  scopeName: string;
  scopeVersion: string;
  resource: Record<string, { stringValue?: string }>;
}

export interface ScenarioResult {
  dir: string;
  db: string;
  /** The first (usually only) Locust run. */
  locust: LocustRunResult;
  /** Every Locust run, in order. */
  locustRuns: LocustRunResult[];
  /** New connections the proxy accepted: each one's first request waited connectDelayMs. */
  proxyConnections: number;
  shopExit: string;
  spans: StoredSpan[];
  /** Distinct (service, metric name) pairs of the stored metric points. */
  metrics: Array<{ service: string; name: string; points: number }>;
  cleanup(): void;
}

export async function runLocustScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'firstspan-locust-'));
  const db = join(dir, 'spans.db');
  const receiver = await startReceiver({ db, port: 0, grpcPort: 0 });
  let shop: Awaited<ReturnType<typeof startShopProcess>> | undefined;
  let proxy: Awaited<ReturnType<typeof startDelayProxy>> | undefined;
  try {
    shop = await startShopProcess({ otlpEndpoint: receiver.url });
    proxy = await startDelayProxy({
      target: { host: shop.url.hostname, port: Number(shop.url.port) },
      connectDelayMs: options.connectDelayMs,
      port: 0,
    });
    if (options.warmUpShop === true) await warmUp(shop.url);
    if (options.protocol === 'grpc' && receiver.grpcUrl === undefined) throw new Error('receiver started without its gRPC listener');
    const endpoint = options.protocol === 'grpc' ? `http://${receiver.grpcUrl ?? ''}` : receiver.url;
    const locustRuns: LocustRunResult[] = [];
    for (let i = 0; i < (options.runs ?? 1); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 0));
      locustRuns.push(
        await runLocust({
          locustfile: options.locustfile ?? LOCUSTFILES.mockTarget,
          host: `http://127.0.0.1:${proxy.port}`,
          users: options.users,
          // Spawn every user at once, so each user's first (connection-opening) request starts
          // before any user's second one.
          spawnRate: options.spawnRate ?? options.users * 10,
          runTime: options.runTime,
          otel: { endpoint, protocol: options.protocol },
          // Metrics every second, so the run's metric points arrive too (Locust's default is 60 s).
          env: { OTEL_METRIC_EXPORT_INTERVAL: '1000' },
          timeoutMs: 90_000,
        }),
      );
    }
    const locust = locustRuns[0] as LocustRunResult;
    const proxyConnections = proxy.connections;
    // Locust flushed its spans at exit (the SDK's atexit shutdown); the shop flushes on SIGTERM.
    const shopExit = await shop.stop();
    shop = undefined;
    await proxy.close();
    proxy = undefined;
    await receiver.close();
    return { dir, db, locust, locustRuns, proxyConnections, shopExit, spans: readSpans(db), metrics: readMetricNames(db), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    await shop?.stop();
    await proxy?.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Every span in the file, with its resource, read independently of the analyzer. */
export function readSpans(db: string): StoredSpan[] {
  const rows = readStoreFile(db, (sqlite) =>
    sqlite
      .prepare(
        `SELECT hex(s.trace_id) AS traceId, hex(s.span_id) AS spanId, hex(s.parent_span_id) AS parentSpanId,
                s.service_name AS service, s.name, s.kind, s.start_ns AS startNs, s.end_ns AS endNs,
                s.status_code AS statusCode, s.attributes, s.scope_name AS scopeName,
                s.scope_version AS scopeVersion, r.attributes AS resource
           FROM spans s JOIN resources r ON r.resource_id = s.resource_id`,
      )
      .safeIntegers(true)
      .all() as Array<Record<string, unknown>>,
  );
  return rows.map((row) => ({
    traceId: String(row.traceId),
    spanId: String(row.spanId),
    parentSpanId: row.parentSpanId === null || row.parentSpanId === '' ? null : String(row.parentSpanId),
    service: String(row.service),
    name: String(row.name),
    kind: Number(row.kind),
    startNs: row.startNs as bigint,
    endNs: row.endNs as bigint,
    statusCode: Number(row.statusCode),
    attributes: JSON.parse(String(row.attributes)) as StoredSpan['attributes'],
    scopeName: String(row.scopeName),
    scopeVersion: String(row.scopeVersion),
    resource: JSON.parse(String(row.resource)) as StoredSpan['resource'],
  }));
}

export function readMetricNames(db: string): ScenarioResult['metrics'] {
  return readStoreFile(
    db,
    (sqlite) =>
      sqlite.prepare('SELECT service_name AS service, metric_name AS name, count(*) AS points FROM metric_points GROUP BY 1, 2 ORDER BY 1, 2').all() as ScenarioResult['metrics'],
  );
}

export function durationMs(span: StoredSpan): number {
  return Number(span.endNs - span.startNs) / 1e6;
}
