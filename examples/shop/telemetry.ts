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
