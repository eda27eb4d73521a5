// Start the demo shop and its inventory service, each with its own tracing, from resolved options.
// main.ts is the thin shell that reads argv/env; tests and `firstspan demo` can call startShop too.
import { parseDuration } from '../../cli/args.ts';
import { DEFAULT_LATENCIES, inventoryRoutes, listen, shopRoutes, type Latencies } from './services.ts';
import { parseResourceAttributes, startRuntimeMetrics, startTracing } from './telemetry.ts';

export interface ShopOptions {
  port: number;
  host: string;
  inventoryPort: number;
  latencies: Latencies;
  shopServiceName: string;
  inventoryServiceName: string;
  exporter: 'otlp' | 'none';
  resource: Record<string, string>;
  /** OTLP/HTTP traces URL; default: the OTEL_EXPORTER_OTLP_* variables (tests pass it directly). */
  tracesUrl?: string;
  /** The process's runtime metrics (CPU, memory, event-loop delay) under the shop's name: 'none' turns them off. */
  metricsExporter?: 'otlp' | 'none';
  /** Metric export interval, ms (OTEL_METRIC_EXPORT_INTERVAL; default 1000). */
  metricsIntervalMs?: number;
}

export interface RunningShop {
  url: URL;
  inventoryUrl: URL;
  /** Stop listening, flush every span to the exporter, and report what was exported. */
  close(): Promise<{ exported: number; failed: number }>;
}

export async function startShop(options: ShopOptions): Promise<RunningShop> {
  const shopTracing = startTracing({
    serviceName: options.shopServiceName,
    exporter: options.exporter,
    resource: options.resource,
    tracesUrl: options.tracesUrl,
  });
  const inventoryTracing = startTracing({
    serviceName: options.inventoryServiceName,
    exporter: options.exporter,
    resource: options.resource,
    tracesUrl: options.tracesUrl,
  });
  // One process serves both services; its runtime metrics go out under the shop's name.
  const runtime = startRuntimeMetrics({
    serviceName: options.shopServiceName,
    exporter: options.metricsExporter ?? options.exporter,
    resource: options.resource,
    ...(options.metricsIntervalMs === undefined ? {} : { intervalMs: options.metricsIntervalMs }),
    // Metrics go where the traces go when a traces URL is given (tests): never to a default port.
    ...(options.tracesUrl === undefined ? {} : { metricsUrl: options.tracesUrl.replace(/\/v1\/traces$/, '/v1/metrics') }),
  });
  const inventory = await listen(inventoryTracing.tracer, inventoryRoutes(inventoryTracing.tracer, options.latencies), options.inventoryPort, options.host);
  const shop = await listen(shopTracing.tracer, shopRoutes(shopTracing.tracer, options.latencies, inventory.url), options.port, options.host);
  return {
    url: shop.url,
    inventoryUrl: inventory.url,
    async close() {
      await shop.close();
      await inventory.close();
      await Promise.all([shopTracing.shutdown(), inventoryTracing.shutdown(), runtime.shutdown()]);
      const a = shopTracing.counts();
      const b = inventoryTracing.counts();
      return { exported: a.exported + b.exported, failed: a.failed + b.failed };
    },
  };
}

const HELP = `Usage: npx tsx examples/shop/main.ts [options]

The firstspan demo shop: POST /authenticate, GET /product/:id, POST /cart/add, POST /checkout/confirm,
and an inventory service it calls over HTTP. Traces go wherever OTEL_EXPORTER_OTLP_* say
(default http://localhost:4318); OTEL_TRACES_EXPORTER=none turns export off. The process's runtime
metrics (process.cpu.utilization, process.memory.usage, nodejs.eventloop.delay.p99) go out under
the shop's name every OTEL_METRIC_EXPORT_INTERVAL ms (default 1000); OTEL_METRICS_EXPORTER=none
turns them off.

Options (each also an environment variable):
  --port N               shop port (PORT, default 8080; 0 picks a free one)
  --host ADDR            address to bind (SHOP_HOST, default 127.0.0.1)
  --inventory-port N     inventory port (SHOP_INVENTORY_PORT, default 0: a free one)
  --latency MS           work per shop request (SHOP_LATENCY_MS, default ${DEFAULT_LATENCIES.shopMs})
  --db-latency MS        per simulated DB query (SHOP_DB_LATENCY_MS, default ${DEFAULT_LATENCIES.dbMs})
  --inventory-latency MS work per inventory request (SHOP_INVENTORY_LATENCY_MS, default ${DEFAULT_LATENCIES.inventoryMs})
  --jitter F             random spread of every latency, 0..1 (SHOP_JITTER, default 0)
  --exit-with-stdin      exit when stdin closes (a parent process uses this so no shop outlives it)
Service names: OTEL_SERVICE_NAME (default shop), SHOP_INVENTORY_SERVICE_NAME (default inventory).
Latencies take milliseconds, or a duration with a unit (250ms, 0.5s).
`;

export type Parsed = { options: ShopOptions; exitWithStdin: boolean } | { help: string } | { problems: string[] };

/** Resolve options: defaults < environment < flags; every problem reported at once. */
export function resolveShopOptions(argv: string[], env: Record<string, string | undefined>): Parsed {
  const problems: string[] = [];
  const flags = new Map<string, string>();
  let exitWithStdin = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return { help: HELP };
    if (arg === '--exit-with-stdin') {
      exitWithStdin = true;
      continue;
    }
    const [name, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!['--port', '--host', '--inventory-port', '--latency', '--db-latency', '--inventory-latency', '--jitter'].includes(name)) {
      problems.push(`unknown option '${arg}'`);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) problems.push(`${name} needs a value`);
    else flags.set(name, value);
  }
  const get = (flag: string, envName: string): string | undefined => {
    const fromEnv = env[envName]?.trim();
    return flags.get(flag) ?? (fromEnv === '' ? undefined : fromEnv);
  };
  const int = (flag: string, envName: string, fallback: number): number => {
    const raw = get(flag, envName);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) problems.push(`${flag} (${envName}) must be a port 0..65535, got '${raw}'`);
    return n;
  };
  const ms = (flag: string, envName: string, fallback: number): number => {
    const raw = get(flag, envName);
    if (raw === undefined) return fallback;
    const n = /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : parseDuration(raw);
    if (n === undefined || !Number.isFinite(n) || n < 0) {
      problems.push(`${flag} (${envName}) must be milliseconds or a duration like 250ms, got '${raw}'`);
      return fallback;
    }
    return n;
  };
  const jitterRaw = get('--jitter', 'SHOP_JITTER');
  const jitter = jitterRaw === undefined ? DEFAULT_LATENCIES.jitter : Number(jitterRaw);
  if (!(jitter >= 0 && jitter <= 1)) problems.push(`--jitter (SHOP_JITTER) must be between 0 and 1, got '${jitterRaw}'`);
  const options: ShopOptions = {
    port: int('--port', 'PORT', 8080),
    host: get('--host', 'SHOP_HOST') ?? '127.0.0.1',
    inventoryPort: int('--inventory-port', 'SHOP_INVENTORY_PORT', 0),
    latencies: {
      shopMs: ms('--latency', 'SHOP_LATENCY_MS', DEFAULT_LATENCIES.shopMs),
      dbMs: ms('--db-latency', 'SHOP_DB_LATENCY_MS', DEFAULT_LATENCIES.dbMs),
      inventoryMs: ms('--inventory-latency', 'SHOP_INVENTORY_LATENCY_MS', DEFAULT_LATENCIES.inventoryMs),
      jitter,
    },
    shopServiceName: env.OTEL_SERVICE_NAME?.trim() || 'shop',
    inventoryServiceName: env.SHOP_INVENTORY_SERVICE_NAME?.trim() || 'inventory',
    exporter: env.OTEL_TRACES_EXPORTER?.trim() === 'none' ? 'none' : 'otlp',
    metricsExporter: env.OTEL_METRICS_EXPORTER?.trim() === 'none' || env.OTEL_TRACES_EXPORTER?.trim() === 'none' ? 'none' : 'otlp',
    resource: parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES),
  };
  const interval = get('', 'OTEL_METRIC_EXPORT_INTERVAL');
  if (interval !== undefined) {
    const n = Number(interval);
    if (!Number.isInteger(n) || n <= 0) problems.push(`OTEL_METRIC_EXPORT_INTERVAL must be a positive number of milliseconds, got '${interval}'`);
    else options.metricsIntervalMs = n;
  }
  return problems.length > 0 ? { problems } : { options, exitWithStdin };
}
