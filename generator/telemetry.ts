// The OpenTelemetry side of a run: one CLIENT span per request, the root of its own trace, whose
// context goes out in `traceparent` so the target's SERVER span becomes its child; the
// request-duration histogram and the active-users gauge.
//
// Spans get explicit start and end times derived from the same monotonic marks as the phases, so
// the phase attributes add up to the span's duration (to the nanosecond rounding). Export is
// counted: every ended span is exported, failed, or dropped, and the run says how many of each.
import { randomFillSync } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { TraceFlags, type SpanContext } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult, type InstrumentationScope } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes, type Resource as OtelResource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InstrumentType, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { Attr, Metric, Resource } from '../model/attributes.ts';
import { RequestSpan } from './otlp-request-span.ts';
import { SpanBatches } from './otlp-span-batches.ts';
import type { EncodedSpansExporter } from './otlp-trace-exporter.ts';
import type { RequestOutcome } from './http-session.ts';
import type { TelemetryConfig } from './telemetry-config.ts';
import { DurationHistogram } from './telemetry-duration.ts';
import type { TelemetryReport } from './stats-report.ts';

/** Counts what the exporter confirmed; the rest of the ended spans were dropped. */
class CountingExporter implements SpanExporter {
  exported = 0;
  failed = 0;
  lastError: string | undefined;
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.exported += spans.length;
      else {
        this.failed += spans.length;
        this.lastError = describe(result.error);
      }
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

/**
 * At most `limit` exports in flight; the rest wait their turn. The BatchSpanProcessor flushes its
 * whole queue at once on shutdown (one export per batch, all concurrent) and the OTLP exporter
 * rejects exports past its concurrency limit ("Concurrent export limit reached"), which would lose
 * the end of a busy run. Queued here, every batch gets sent.
 */
class OrderlyExporter implements SpanExporter {
  readonly #waiting: Array<() => void> = [];
  #running = 0;
  constructor(
    private readonly inner: SpanExporter,
    private readonly limit: number,
  ) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const start = (): void => {
      this.#running += 1;
      this.inner.export(spans, (result) => {
        this.#running -= 1;
        this.#waiting.shift()?.();
        done(result);
      });
    };
    if (this.#running < this.limit) start();
    else this.#waiting.push(start);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** OTEL_EXPORTER_OTLP_*HEADERS as gRPC metadata (the gRPC exporters take metadata, not headers). */
async function grpcMetadata(headers: Record<string, string>): Promise<Metadata> {
  const { Metadata } = await import('@grpc/grpc-js');
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return metadata;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = (error as { code?: string | number }).code ?? (cause as { code?: string } | undefined)?.code;
    return code !== undefined ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** Span exports in flight at once (a BatchSpanProcessor sends one at a time while it runs). */
const EXPORTS_IN_FLIGHT = 4;

/**
 * Trace and span ids from one pool of random bytes, refilled 1,024 requests at a time: one
 * `randomFillSync` and one hex conversion per refill instead of per id; each id is a slice of
 * that hex string (V8 keeps a slice as a reference into it, without copying). W3C ids are random
 * hex, never all zeros.
 */
class IdPool {
  static readonly #PER_REQUEST = 24; // 16-byte trace id + 8-byte span id
  readonly #bytes = Buffer.allocUnsafe(IdPool.#PER_REQUEST * 1024);
  #hex = '';
  #offset = this.#bytes.length;
  next(): { traceId: string; spanId: string } {
    for (;;) {
      if (this.#offset === this.#bytes.length) {
        randomFillSync(this.#bytes);
        this.#hex = this.#bytes.toString('hex');
        this.#offset = 0;
      }
      const at = 2 * this.#offset;
      this.#offset += IdPool.#PER_REQUEST;
      const traceId = this.#hex.slice(at, at + 32);
      const spanId = this.#hex.slice(at + 32, at + 48);
      if (traceId !== INVALID_TRACE_ID && spanId !== INVALID_SPAN_ID) return { traceId, spanId };
    }
  }
}
const INVALID_TRACE_ID = '0'.repeat(32);
const INVALID_SPAN_ID = '0'.repeat(16);

/** A request in flight: its span context (also sent as `traceparent`) until the span is built. */
export interface TracedRequest {
  headers: { traceparent: string };
  context: SpanContext;
}

export interface TelemetryOptions {
  config: TelemetryConfig;
  runId: string;
  version: string;
  /** Active users per class, read by the gauge. */
  activeUsers: () => Map<string, number>;
}

/**
 * Where spans go: the generator's own batches of spans encoded as they end (the default,
 * OTLP/HTTP protobuf with firstspan's encoder; otlp-span-batches.ts), or the SDK's
 * BatchSpanProcessor and a SpanExporter (gRPC, http/json, FIRSTSPAN_OTLP_ENCODER=sdk).
 */
type SpanExport = { kind: 'encoded'; exporter: EncodedSpansExporter } | { kind: 'sdk'; exporter: SpanExporter };

export class Telemetry {
  readonly #meters: MeterProvider;
  /** Exactly one of the two paths is set. */
  readonly #exporter: CountingExporter | undefined;
  readonly #processor: BatchSpanProcessor | undefined;
  readonly #batches: SpanBatches | undefined;
  readonly #resource: OtelResource;
  readonly #scope: InstrumentationScope;
  readonly #ids = new IdPool();
  /** Spans handed to the batch processor; those it neither exported nor failed were dropped. */
  #ended = 0;
  /** Requests the sampler left untraced. */
  #notSampled = 0;
  /** A trace id whose low 52 bits are below this is sampled (OTEL_TRACES_SAMPLER, traceidratio). */
  readonly #sampleBelow: number;
  readonly #durations: DurationHistogram;
  readonly #runId: string;
  readonly #config: TelemetryConfig;
  #metricsError: string | undefined;

  private constructor(options: TelemetryOptions, spanExport: SpanExport, metricExporter: PushMetricExporter) {
    const { config } = options;
    this.#config = config;
    this.#runId = options.runId;
    this.#sampleBelow = config.sampleRatio * 2 ** 52;
    const resource = defaultResource().merge(
      resourceFromAttributes({
        ...config.resourceAttributes,
        'service.name': config.serviceName,
        'service.version': options.version,
        'service.instance.id': crypto.randomUUID(),
        [Resource.RUN_ID]: options.runId,
      }),
    );
    this.#resource = resource;
    // One object for the run: the OTLP serializer groups spans by scope identity.
    this.#scope = { name: 'firstspan', version: options.version };
    const batching = { maxQueueSize: config.maxQueueSize, maxExportBatchSize: config.maxExportBatchSize, scheduledDelayMillis: config.scheduledDelayMillis };
    if (spanExport.kind === 'encoded') {
      this.#batches = new SpanBatches(spanExport.exporter, resource, this.#scope, { ...batching, inFlight: EXPORTS_IN_FLIGHT }, describe);
    } else {
      this.#exporter = new CountingExporter(spanExport.exporter);
      this.#processor = new BatchSpanProcessor(new OrderlyExporter(this.#exporter, EXPORTS_IN_FLIGHT), {
        ...batching,
        // Includes the time a batch waits for its turn in OrderlyExporter at shutdown; what is
        // not confirmed within the shutdown bound is reported as dropped.
        exportTimeoutMillis: config.timeoutMillis * 6,
      });
    }
    this.#durations = new DurationHistogram(this.#scope, metricExporter.selectAggregationTemporality?.(InstrumentType.HISTOGRAM) ?? AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({
      exporter: {
        export: (metrics, done) =>
          metricExporter.export(metrics, (result) => {
            if (result.code !== ExportResultCode.SUCCESS) this.#metricsError = describe(result.error);
            done(result);
          }),
        shutdown: () => metricExporter.shutdown(),
        forceFlush: () => metricExporter.forceFlush(),
        selectAggregationTemporality: metricExporter.selectAggregationTemporality?.bind(metricExporter),
      } as PushMetricExporter,
      exportIntervalMillis: config.metricExportIntervalMillis,
      exportTimeoutMillis: Math.min(config.timeoutMillis, config.metricExportIntervalMillis),
      // The request-duration histogram, aggregated by us (see telemetry-duration.ts).
      metricProducers: [this.#durations],
    });
    this.#meters = new MeterProvider({ resource, readers: [reader] });
    const meter = this.#meters.getMeter('firstspan', options.version);
    const users = meter.createObservableGauge(Metric.ACTIVE_USERS, { unit: '{user}', description: 'Virtual users running' });
    users.addCallback((result) => {
      for (const [userClass, count] of options.activeUsers()) result.observe(count, { [Attr.USER_CLASS]: userClass });
    });
  }

  static async create(options: TelemetryOptions): Promise<Telemetry> {
    const { config } = options;
    // The exporter's own limit stays above ours, so it never refuses a batch.
    const common = { timeoutMillis: config.timeoutMillis, concurrencyLimit: EXPORTS_IN_FLIGHT * 4 };
    const traceOptions = { ...common, url: config.tracesUrl, headers: config.tracesHeaders };
    const traces: SpanExport =
      config.protocol === 'grpc'
        ? { kind: 'sdk', exporter: new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter({ ...common, url: config.tracesUrl, metadata: await grpcMetadata(config.tracesHeaders) }) }
        : config.protocol === 'http/json'
          ? { kind: 'sdk', exporter: new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter(traceOptions) }
          : config.encoder === 'sdk'
            ? { kind: 'sdk', exporter: new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter(traceOptions) }
            : { kind: 'encoded', exporter: new (await import('./otlp-trace-exporter.ts')).EncodedSpansExporter(traceOptions) };
    const metricOptions = { ...common, url: config.metricsUrl, headers: config.metricsHeaders };
    const metrics =
      config.metricsProtocol === 'grpc'
        ? new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter({ ...common, url: config.metricsUrl, metadata: await grpcMetadata(config.metricsHeaders) })
        : config.metricsProtocol === 'http/json'
          ? new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter(metricOptions)
          : new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter(metricOptions);
    return new Telemetry(options, traces, metrics);
  }

  /** Ids for a request about to start, and the `traceparent` header that carries them. */
  begin(): TracedRequest {
    const { traceId, spanId } = this.#ids.next();
    // Ratio sampling decided by the trace id's random low bits (the last 13 hex digits: 52 bits,
    // exact in a double), as consistent-probability samplers do, so the decision travels with
    // the id: an unsampled traceparent tells the target's parent-based sampler not to record.
    const sampled = this.#sampleBelow >= 2 ** 52 || parseInt(traceId.slice(19), 16) < this.#sampleBelow;
    // W3C trace context, version 00: https://www.w3.org/TR/trace-context/#traceparent-header
    // (what W3CTraceContextPropagator.inject writes for a root span with no tracestate).
    return {
      headers: { traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}` },
      context: { traceId, spanId, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: false },
    };
  }

  /** The request's span (if sampled), handed to the batch processor; and its duration in the histogram unless the stop cut it off. */
  finish(traced: TracedRequest, userClass: string, outcome: RequestOutcome): void {
    if (traced.context.traceFlags === TraceFlags.SAMPLED) {
      this.#ended += 1;
      const span = new RequestSpan(traced.context, userClass, this.#runId, outcome, this.#resource, this.#scope);
      if (this.#batches !== undefined) this.#batches.add(span);
      else this.#processor?.onEnd(span);
    } else this.#notSampled += 1;
    // The histogram agrees with the stats table, which leaves cut-off requests out.
    if (outcome.cutOff !== true) this.#durations.record(outcome.end - outcome.start, outcome);
  }

  /**
   * Flush and shut down. A collector that keeps confirming batches is waited for however long the
   * backlog takes; one that stops answering costs at most `stallMs` without progress, and whatever
   * was not confirmed by then is reported as dropped, never silently lost.
   */
  async shutdown(stallMs = this.#config.timeoutMillis + 5000): Promise<TelemetryReport> {
    const spans = this.#batches ?? this.#exporter;
    const work = Promise.allSettled([this.#batches?.shutdown() ?? this.#processor?.shutdown(), this.#meters.shutdown()]).then(() => 'done' as const);
    let result: 'done' | 'stalled' = 'stalled';
    let confirmed = -1;
    while ((spans?.exported ?? 0) + (spans?.failed ?? 0) !== confirmed) {
      confirmed = (spans?.exported ?? 0) + (spans?.failed ?? 0);
      let timer: NodeJS.Timeout | undefined;
      const stall = new Promise<'stalled'>((resolve) => {
        timer = setTimeout(() => resolve('stalled'), stallMs);
      });
      result = await Promise.race([work, stall]);
      clearTimeout(timer);
      if (result === 'done') break;
    }
    const ended = this.#ended;
    const exported = spans?.exported ?? 0;
    const failed = spans?.failed ?? 0;
    const report: TelemetryReport = {
      endpoint: this.#config.tracesUrl,
      protocol: this.#config.protocol,
      spansEnded: ended,
      spansExported: exported,
      spansFailed: failed,
      spansDropped: Math.max(0, ended - exported - failed),
      spansNotSampled: this.#notSampled,
    };
    const problems: string[] = [];
    if (spans?.lastError !== undefined) problems.push(`span export failed: ${spans.lastError}`);
    if (result === 'stalled') problems.push(`the collector confirmed nothing for ${stallMs} ms; gave up on the rest`);
    if (this.#metricsError !== undefined) problems.push(`metric export failed: ${this.#metricsError}`);
    if (problems.length > 0) report.warning = problems.join('; ');
    return report;
  }
}
