// Tracing for one service of the demo shop, with the real OpenTelemetry Node SDK.
//
// Each service (shop, inventory) gets its own TracerProvider so each carries its own service.name,
// as two separately deployed services would. Export goes wherever the standard OTEL_EXPORTER_OTLP_*
// variables say (the exporter reads them itself; default http://localhost:4318, http/protobuf).
//
// No global context manager is registered: handlers pass the parent context explicitly. That keeps
// the shop free of async_hooks/ESM-loader instrumentation, which is fragile under tsx.
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface ServiceTracing {
  tracer: Tracer;
  /** Spans handed to the exporter and acknowledged / refused: printed at shutdown, never hidden. */
  counts(): { exported: number; failed: number };
  /** Flush every queued span and stop. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  serviceName: string;
  /** `none` turns export off (OTEL_TRACES_EXPORTER=none), e.g. to run the shop alone. */
  exporter?: 'otlp' | 'none';
  /** Extra resource attributes (e.g. parsed from OTEL_RESOURCE_ATTRIBUTES by the caller). */
  resource?: Record<string, string>;
  /** OTLP/HTTP traces URL; default: what OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT say. */
  tracesUrl?: string;
}

/** Wraps the OTLP exporter to count what was acknowledged, so the shop can report losses. */
class CountingExporter implements SpanExporter {
  exported = 0;
  failed = 0;
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.exported += spans.length;
      else this.failed += spans.length;
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export function startTracing(options: TracingOptions): ServiceTracing {
  const resource = defaultResource().merge(
    resourceFromAttributes({ ...options.resource, 'service.name': options.serviceName }),
  );
  if (options.exporter === 'none') {
    const provider = new BasicTracerProvider({ resource });
    return {
      tracer: provider.getTracer('firstspan-demo-shop'),
      counts: () => ({ exported: 0, failed: 0 }),
      shutdown: () => provider.shutdown(),
    };
  }
  const exporter = new CountingExporter(new OTLPTraceExporter(options.tracesUrl === undefined ? {} : { url: options.tracesUrl }));
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [
      // A queue deep enough for a few seconds of demo load at full speed: the BatchSpanProcessor
      // drops spans when its queue is full, and a dropped server span looks like a broken trace.
      new BatchSpanProcessor(exporter, {
        maxQueueSize: 32_768,
        maxExportBatchSize: 1024,
        scheduledDelayMillis: 500,
      }),
    ],
  });
  return {
    tracer: provider.getTracer('firstspan-demo-shop'),
    counts: () => ({ exported: exporter.exported, failed: exporter.failed }),
    shutdown: () => provider.shutdown(),
  };
}

/** OTEL_RESOURCE_ATTRIBUTES: `key=value,key2=value2`, values percent-encoded (OTel spec). */
export function parseResourceAttributes(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined) return out;
  for (const pair of raw.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[pair.slice(0, eq).trim()] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      // A malformed value is skipped, as the SDK's own env detector does.
    }
  }
  return out;
}

export interface RuntimeMetrics {
  /** Export what is pending and stop. */
  shutdown(): Promise<void>;
}

/**
 * The process's runtime metrics under the service's name, with the SDK's own OTLP exporter (same
 * OTEL_EXPORTER_OTLP_* variables as the traces), so the analyzer can chart them under the gap:
 * `process.cpu.utilization` (CPU time since the last report / wall time / CPUs, semantic
 * conventions' process metrics), `process.memory.usage` (resident set, bytes) and
 * `nodejs.eventloop.delay.p99` (seconds, since the last report). The export interval is
 * OTEL_METRIC_EXPORT_INTERVAL, 1 s by default here (the SDK's is 60 s) because the timeline is
 * per second. OTEL_METRICS_EXPORTER=none (or exporter 'none') turns it off.
 */
export function startRuntimeMetrics(options: TracingOptions & { intervalMs?: number; metricsUrl?: string }): RuntimeMetrics {
  if (options.exporter === 'none') return { shutdown: () => Promise.resolve() };
  const resource = defaultResource().merge(resourceFromAttributes({ ...options.resource, 'service.name': options.serviceName }));
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter(options.metricsUrl === undefined ? {} : { url: options.metricsUrl }),
    exportIntervalMillis: options.intervalMs ?? 1000,
    exportTimeoutMillis: Math.min(options.intervalMs ?? 1000, 30_000),
  });
  const provider = new MeterProvider({ resource, readers: [reader] });
  const meter = provider.getMeter('firstspan-demo-shop');
  const cpus = availableParallelism();
  let lastCpu = process.cpuUsage();
  let lastWall = performance.now();
  meter.createObservableGauge('process.cpu.utilization', { unit: '1', description: 'CPU time used since the last report / elapsed time / CPUs available' }).addCallback((result) => {
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const usedUs = cpu.user - lastCpu.user + (cpu.system - lastCpu.system);
    const elapsedUs = (wall - lastWall) * 1000;
    lastCpu = cpu;
    lastWall = wall;
    if (elapsedUs > 0) result.observe(usedUs / elapsedUs / cpus);
  });
  meter.createObservableGauge('process.memory.usage', { unit: 'By', description: 'Resident set size' }).addCallback((result) => result.observe(process.memoryUsage.rss()));
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  meter.createObservableGauge('nodejs.eventloop.delay.p99', { unit: 's', description: 'Event loop delay p99 since the last report' }).addCallback((result) => {
    if (delay.count > 0) result.observe(delay.percentile(99) / 1e9);
    delay.reset();
  });
  return {
    async shutdown() {
      delay.disable();
      await provider.shutdown();
    },
  };
}
