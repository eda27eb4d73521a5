// The OTLP/HTTP protobuf span exporter the generator uses by default: the OpenTelemetry SDK's own
// exporter, assembled from the SDK's public parts exactly as
// @opentelemetry/exporter-trace-otlp-proto assembles its OTLPTraceExporter (OTLPExporterBase, the
// node-http export delegate, the legacy-options conversion that reads the OTEL_EXPORTER_OTLP_*
// variables, the response deserializer and the exporter self-metrics helper), with one part
// swapped: its batches arrive already encoded by OtlpTraceEncoder (otlp-trace-encoder.ts), each
// span as its request ended (otlp-span-batches.ts), so its serializer only hands the bytes on.
// The SDK's general serializer was most of what tracing cost a busy generator.
//
// FIRSTSPAN_OTLP_ENCODER=sdk selects the unmodified SDK exporter instead (telemetry.ts).
import { OTLPExporterBase, type OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, TraceExporterMetricsHelper, type IExporterMetricsHelper, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';

/** The exporter's component type in the SDK's self-observability metrics (semconv value). */
const COMPONENT_TYPE = 'otlp_http_span_exporter';

/** An ExportTraceServiceRequest already encoded, and how many spans it holds. */
export interface EncodedSpans {
  bytes: Uint8Array;
  count: number;
}

/** The SDK's serializer contract for batches that are already bytes. */
export function encodedSpansSerializer(): ISerializer<EncodedSpans, IExportTraceServiceResponse> {
  return {
    serializeRequest: (batch) => batch.bytes,
    // Responses are rare and small (a partial success at most): the SDK's reader is used as it is.
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
  };
}

/** The SDK's exporter self-metrics count spans, as for ReadableSpan[] batches. */
const ENCODED_SPANS_METRICS: IExporterMetricsHelper<EncodedSpans> = { name: TraceExporterMetricsHelper.name, countItems: (batch) => batch.count };

export class EncodedSpansExporter extends OTLPExporterBase<EncodedSpans> {
  constructor(config: OTLPExporterNodeConfigBase = {}) {
    super(
      createOtlpHttpExportDelegate(
        convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
        encodedSpansSerializer(),
        COMPONENT_TYPE,
        ENCODED_SPANS_METRICS,
        undefined,
      ),
    );
  }
}
