// The OTLP/HTTP protobuf span exporter the generator uses by default: the OpenTelemetry SDK's own
// exporter, assembled from the SDK's public parts exactly as
// @opentelemetry/exporter-trace-otlp-proto assembles its OTLPTraceExporter (OTLPExporterBase, the
// node-http export delegate, the legacy-options conversion that reads the OTEL_EXPORTER_OTLP_*
// variables, the response deserializer and the exporter self-metrics helper), with one part
// swapped: requests are encoded by OtlpTraceEncoder (otlp-trace-encoder.ts) instead of the SDK's
// general serializer, which was most of what tracing cost a busy generator.
//
// FIRSTSPAN_OTLP_ENCODER=sdk selects the unmodified SDK exporter instead (telemetry.ts).
//
// EncodedSpansExporter is the same exporter for batches that are already bytes: the generator's
// request spans are encoded as they end (otlp-span-batches.ts), so its serializer only hands the
// bytes on.
import { OTLPExporterBase, type OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, TraceExporterMetricsHelper, type IExporterMetricsHelper, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OtlpTraceEncoder } from './otlp-trace-encoder.ts';

/** The exporter's component type in the SDK's self-observability metrics (semconv value). */
const COMPONENT_TYPE = 'otlp_http_span_exporter';

/** The SDK's serializer contract, with firstspan's encoder for requests. */
export function firstspanTraceSerializer(): ISerializer<ReadableSpan[], IExportTraceServiceResponse> {
  const encoder = new OtlpTraceEncoder();
  return {
    serializeRequest: (spans) => encoder.encode(spans),
    // Responses are rare and small (a partial success at most): the SDK's reader is used as it is.
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
  };
}

export class FirstspanOtlpTraceExporter extends OTLPExporterBase<ReadableSpan[]> implements SpanExporter {
  constructor(config: OTLPExporterNodeConfigBase = {}) {
    super(
      createOtlpHttpExportDelegate(
        convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
        firstspanTraceSerializer(),
        COMPONENT_TYPE,
        TraceExporterMetricsHelper,
        undefined,
      ),
    );
  }
}

/** An ExportTraceServiceRequest already encoded, and how many spans it holds. */
export interface EncodedSpans {
  bytes: Uint8Array;
  count: number;
}

/** The SDK's exporter self-metrics count spans, as for ReadableSpan[] batches. */
const ENCODED_SPANS_METRICS: IExporterMetricsHelper<EncodedSpans> = { name: TraceExporterMetricsHelper.name, countItems: (batch) => batch.count };

export class EncodedSpansExporter extends OTLPExporterBase<EncodedSpans> {
  constructor(config: OTLPExporterNodeConfigBase = {}) {
    super(
      createOtlpHttpExportDelegate(
        convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
        { serializeRequest: (batch) => batch.bytes, deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data) },
        COMPONENT_TYPE,
        ENCODED_SPANS_METRICS,
        undefined,
      ),
    );
  }
}
