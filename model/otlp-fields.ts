// The field tags (field number and wire type, protobuf-wire.ts `tag`) of every OTLP message
// firstspan reads or writes, named once for both directions: the receiver's decoders compare what
// they read against them, the generator's span encoder and the receiver's responses write them.
// One object per message, its properties named after the .proto fields (upper case), from
// opentelemetry-proto (https://github.com/open-telemetry/opentelemetry-proto, opentelemetry/proto/):
// collector/{trace,metrics,logs}/v1/*_service.proto, trace/v1/trace.proto, metrics/v1/metrics.proto,
// logs/v1/logs.proto, common/v1/common.proto, resource/v1/resource.proto; and from googleapis
// (https://github.com/googleapis/googleapis): google/rpc/status.proto, google/rpc/error_details.proto,
// and protobuf's google/protobuf/any.proto.
// Only the fields firstspan reads or writes are named; a decoder skips the others by wire type.
import { tag, WireType } from './protobuf-wire.ts';

const { VARINT, I64, LEN, I32 } = WireType;

// ---- collector services ----

/** ExportTraceServiceRequest. */
export const ExportTraceServiceRequestTag = { RESOURCE_SPANS: tag(1, LEN) } as const;
/** ExportMetricsServiceRequest. */
export const ExportMetricsServiceRequestTag = { RESOURCE_METRICS: tag(1, LEN) } as const;
/** ExportLogsServiceRequest. */
export const ExportLogsServiceRequestTag = { RESOURCE_LOGS: tag(1, LEN) } as const;

/** Export{Trace,Metrics,Logs}ServiceResponse: the three number their one field alike. */
export const ExportServiceResponseTag = { PARTIAL_SUCCESS: tag(1, LEN) } as const;
/**
 * Export{Trace,Metrics,Logs}PartialSuccess: rejected_spans, rejected_data_points or
 * rejected_log_records (int64) is field 1 in each, error_message field 2.
 */
export const ExportPartialSuccessTag = { REJECTED: tag(1, VARINT), ERROR_MESSAGE: tag(2, LEN) } as const;

// ---- common, resource ----

export const AnyValueTag = {
  STRING_VALUE: tag(1, LEN),
  BOOL_VALUE: tag(2, VARINT),
  INT_VALUE: tag(3, VARINT),
  DOUBLE_VALUE: tag(4, I64),
  ARRAY_VALUE: tag(5, LEN),
  KVLIST_VALUE: tag(6, LEN),
  BYTES_VALUE: tag(7, LEN),
} as const;

/** ArrayValue and KeyValueList: `values` is field 1 of both. */
export const ValuesTag = { VALUES: tag(1, LEN) } as const;

export const KeyValueTag = { KEY: tag(1, LEN), VALUE: tag(2, LEN) } as const;

export const InstrumentationScopeTag = {
  NAME: tag(1, LEN),
  VERSION: tag(2, LEN),
  ATTRIBUTES: tag(3, LEN),
  DROPPED_ATTRIBUTES_COUNT: tag(4, VARINT),
} as const;

export const ResourceTag = { ATTRIBUTES: tag(1, LEN), DROPPED_ATTRIBUTES_COUNT: tag(2, VARINT) } as const;

// ---- traces ----

export const ResourceSpansTag = { RESOURCE: tag(1, LEN), SCOPE_SPANS: tag(2, LEN), SCHEMA_URL: tag(3, LEN) } as const;

export const ScopeSpansTag = { SCOPE: tag(1, LEN), SPANS: tag(2, LEN), SCHEMA_URL: tag(3, LEN) } as const;

export const SpanTag = {
  TRACE_ID: tag(1, LEN),
  SPAN_ID: tag(2, LEN),
  TRACE_STATE: tag(3, LEN),
  PARENT_SPAN_ID: tag(4, LEN),
  NAME: tag(5, LEN),
  KIND: tag(6, VARINT),
  START_TIME_UNIX_NANO: tag(7, I64),
  END_TIME_UNIX_NANO: tag(8, I64),
  ATTRIBUTES: tag(9, LEN),
  DROPPED_ATTRIBUTES_COUNT: tag(10, VARINT),
  EVENTS: tag(11, LEN),
  DROPPED_EVENTS_COUNT: tag(12, VARINT),
  LINKS: tag(13, LEN),
  DROPPED_LINKS_COUNT: tag(14, VARINT),
  STATUS: tag(15, LEN),
  /** Field 16: the only span tag that takes two bytes on the wire. */
  FLAGS: tag(16, I32),
} as const;

/** Span.Event. */
export const SpanEventTag = {
  TIME_UNIX_NANO: tag(1, I64),
  NAME: tag(2, LEN),
  ATTRIBUTES: tag(3, LEN),
  DROPPED_ATTRIBUTES_COUNT: tag(4, VARINT),
} as const;

/** Span.Link. */
export const SpanLinkTag = {
  TRACE_ID: tag(1, LEN),
  SPAN_ID: tag(2, LEN),
  TRACE_STATE: tag(3, LEN),
  ATTRIBUTES: tag(4, LEN),
  DROPPED_ATTRIBUTES_COUNT: tag(5, VARINT),
  FLAGS: tag(6, I32),
} as const;

/** The span's Status (field 1 is reserved). */
export const StatusTag = { MESSAGE: tag(2, LEN), CODE: tag(3, VARINT) } as const;

// ---- metrics ----

export const ResourceMetricsTag = { RESOURCE: tag(1, LEN), SCOPE_METRICS: tag(2, LEN), SCHEMA_URL: tag(3, LEN) } as const;

export const ScopeMetricsTag = { SCOPE: tag(1, LEN), METRICS: tag(2, LEN), SCHEMA_URL: tag(3, LEN) } as const;

/** Metric: its data is a oneof of five aggregations. */
export const MetricTag = {
  NAME: tag(1, LEN),
  DESCRIPTION: tag(2, LEN),
  UNIT: tag(3, LEN),
  GAUGE: tag(5, LEN),
  SUM: tag(7, LEN),
  HISTOGRAM: tag(9, LEN),
  EXPONENTIAL_HISTOGRAM: tag(10, LEN),
  SUMMARY: tag(11, LEN),
} as const;

/**
 * Gauge, Sum, Histogram, ExponentialHistogram and Summary number their shared fields alike:
 * data_points 1; aggregation_temporality 2 (not Gauge or Summary); is_monotonic 3 (Sum only).
 */
export const AggregationTag = {
  DATA_POINTS: tag(1, LEN),
  AGGREGATION_TEMPORALITY: tag(2, VARINT),
  IS_MONOTONIC: tag(3, VARINT),
} as const;

// The data points: each point message numbers its fields its own way, except that all four number
// start_time_unix_nano 2 and time_unix_nano 3, and the last three count 4 and sum 5.

export const NumberDataPointTag = {
  ATTRIBUTES: tag(7, LEN),
  START_TIME_UNIX_NANO: tag(2, I64),
  TIME_UNIX_NANO: tag(3, I64),
  AS_DOUBLE: tag(4, I64),
  AS_INT: tag(6, I64),
} as const;

export const HistogramDataPointTag = {
  ATTRIBUTES: tag(9, LEN),
  START_TIME_UNIX_NANO: tag(2, I64),
  TIME_UNIX_NANO: tag(3, I64),
  COUNT: tag(4, I64),
  SUM: tag(5, I64),
  /** Repeated fixed64, packed (LEN) by default; a decoder also takes it unpacked (I64). */
  BUCKET_COUNTS: tag(6, LEN),
  /** Repeated double, packed (LEN) by default; a decoder also takes it unpacked (I64). */
  EXPLICIT_BOUNDS: tag(7, LEN),
  MIN: tag(11, I64),
  MAX: tag(12, I64),
} as const;

/** Its buckets (positive 8, negative 9) are not stored: count, sum, min and max are. */
export const ExponentialHistogramDataPointTag = {
  ATTRIBUTES: tag(1, LEN),
  START_TIME_UNIX_NANO: tag(2, I64),
  TIME_UNIX_NANO: tag(3, I64),
  COUNT: tag(4, I64),
  SUM: tag(5, I64),
  MIN: tag(12, I64),
  MAX: tag(13, I64),
} as const;

/** Its quantile_values (6) are not stored. */
export const SummaryDataPointTag = {
  ATTRIBUTES: tag(7, LEN),
  START_TIME_UNIX_NANO: tag(2, I64),
  TIME_UNIX_NANO: tag(3, I64),
  COUNT: tag(4, I64),
  SUM: tag(5, I64),
} as const;

// ---- logs (counted, never stored) ----

export const ResourceLogsTag = { SCOPE_LOGS: tag(2, LEN) } as const;
export const ScopeLogsTag = { LOG_RECORDS: tag(2, LEN) } as const;

// ---- errors (google.rpc) ----

/** google.rpc.Status: the body of a refusal (and the gRPC grpc-status-details-bin trailer). */
export const RpcStatusTag = { CODE: tag(1, VARINT), MESSAGE: tag(2, LEN), DETAILS: tag(3, LEN) } as const;
/** google.protobuf.Any, the type of Status.details. */
export const AnyTag = { TYPE_URL: tag(1, LEN), VALUE: tag(2, LEN) } as const;
/** google.rpc.ErrorInfo. */
export const ErrorInfoTag = { REASON: tag(1, LEN), DOMAIN: tag(2, LEN) } as const;
