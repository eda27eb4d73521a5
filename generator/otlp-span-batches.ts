// The generator's default span export (OTLP/HTTP protobuf with firstspan's encoder): each request
// span is encoded into the current batch's bytes the moment its request ends, and batches go to
// the SDK's own OTLP/HTTP exporter already encoded. It does what the SDK's BatchSpanProcessor did
// for this path, with the same OTEL_BSP_* settings: a batch leaves when it holds
// maxExportBatchSize spans or scheduledDelayMillis after its first span, at most `inFlight`
// exports run at once and the rest wait their turn, and past maxQueueSize spans not yet confirmed
// a span is dropped and counted.
//
// Why not the BatchSpanProcessor: it queues span objects until their batch is exported. Under
// load that wait (the batch filling, the export before it in flight) outlives several
// young-generation collections, so every span and what it holds was copied and promoted to the
// old generation, then marked and swept there: a cost per request that no encoder could remove.
// Here a request leaves about 200 bytes in a buffer and nothing on the heap.
import type { InstrumentationScope } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { RequestSpan } from './otlp-request-span.ts';
import { OtlpTraceEncoder, RequestSpanBuffer } from './otlp-trace-encoder.ts';
import type { EncodedSpans, EncodedSpansExporter } from './otlp-trace-exporter.ts';

export interface SpanBatchOptions {
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  /** Exports in flight at once. */
  inFlight: number;
}

export class SpanBatches {
  readonly #encoder = new OtlpTraceEncoder();
  readonly #current = new RequestSpanBuffer();
  /** Sealed batches waiting for an export slot. */
  readonly #waiting: EncodedSpans[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  /** Spans accepted and not yet confirmed or failed: the current batch, waiting and in flight. */
  #pending = 0;
  /** Flushes waiting for the next export to finish. */
  #onSettled: Array<() => void> = [];
  exported = 0;
  failed = 0;
  dropped = 0;
  lastError: string | undefined;

  constructor(
    private readonly exporter: EncodedSpansExporter,
    private readonly resource: Resource,
    private readonly scope: InstrumentationScope,
    private readonly options: SpanBatchOptions,
    private readonly describe: (error: unknown) => string,
  ) {}

  add(span: RequestSpan): void {
    if (this.#pending >= this.options.maxQueueSize) {
      this.dropped += 1;
      return;
    }
    this.#pending += 1;
    this.#current.add(span);
    if (this.#current.count >= this.options.maxExportBatchSize) this.#seal();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#seal(), this.options.scheduledDelayMillis);
      this.#timer.unref();
    }
  }

  /** Sends the current batch and waits until every batch accepted so far is confirmed or failed. */
  async flush(): Promise<void> {
    this.#seal();
    while (this.#inFlight > 0 || this.#waiting.length > 0) {
      await new Promise<void>((resolve) => this.#onSettled.push(resolve));
    }
  }

  async shutdown(): Promise<void> {
    await this.flush();
    await this.exporter.shutdown();
  }

  #seal(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const count = this.#current.count;
    if (count === 0) return;
    this.#waiting.push({ bytes: this.#encoder.wrap(this.resource, this.scope, this.#current.take()), count });
    this.#send();
  }

  #send(): void {
    while (this.#inFlight < this.options.inFlight) {
      const batch = this.#waiting.shift();
      if (batch === undefined) return;
      this.#inFlight += 1;
      this.exporter.export(batch, (result) => {
        this.#inFlight -= 1;
        this.#pending -= batch.count;
        if (result.code === ExportResultCode.SUCCESS) this.exported += batch.count;
        else {
          this.failed += batch.count;
          this.lastError = this.describe(result.error);
        }
        this.#send();
        for (const settled of this.#onSettled.splice(0)) settled();
      });
    }
  }
}
