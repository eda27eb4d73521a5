// The decoded form of OTLP trace and metric requests: what the receiver's decoders produce from
// protobuf or JSON, and what the store writes. Field meanings follow opentelemetry-proto
// (trace/v1/trace.proto, metrics/v1/metrics.proto). Ids are raw bytes; nanosecond times are bigint
// because they do not fit a JS number exactly (1.7e18 > 2^53).

/**
 * A double as OTLP/JSON writes it (the proto3 JSON mapping): a number, or one of the strings
 * "NaN", "Infinity", "-Infinity" for what a JSON number cannot hold — and "-0", a quoted double the
 * mapping accepts too, because JSON.stringify writes -0 as 0. Kept in this form so that any
 * JSON.stringify of an AnyValue (the store's attribute columns) round-trips it exactly.
 */
export type JsonDouble = number | 'NaN' | 'Infinity' | '-Infinity' | '-0';

/** The JSON-safe form of a double (see JsonDouble). */
export function jsonDouble(n: number): JsonDouble {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (Object.is(n, -0)) return '-0';
  return n;
}

/** The double a JsonDouble stands for (Number() reads all four strings exactly). */
export function doubleOf(v: JsonDouble): number {
  return typeof v === 'number' ? v : Number(v);
}

/** OTLP/JSON-shaped AnyValue: lossless (int64 kept as a decimal string, bytes as base64). */
export type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: JsonDouble }
  | { bytesValue: string }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } }
  | Record<string, never>;

export interface KeyValue {
  key: string;
  value: AnyValue;
}

/** Attributes as a map from key to typed value; a repeated key keeps its last value. */
export type Attributes = Record<string, AnyValue>;

export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags: number;
}

export interface Span {
  traceId: Uint8Array;
  spanId: Uint8Array;
  /** Empty for a root span. */
  parentSpanId: Uint8Array;
  traceState: string;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  status: { code: number; message: string };
  flags: number;
}

export interface Resource {
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface ScopeSpans {
  scope: InstrumentationScope;
  schemaUrl: string;
  spans: Span[];
}

export interface ResourceSpans {
  resource: Resource;
  schemaUrl: string;
  scopeSpans: ScopeSpans[];
}

export interface TracesRequest {
  resourceSpans: ResourceSpans[];
}

export const MetricType = {
  GAUGE: 'gauge',
  SUM: 'sum',
  HISTOGRAM: 'histogram',
  EXPONENTIAL_HISTOGRAM: 'exponential_histogram',
  SUMMARY: 'summary',
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

/** One data point, flattened: value for gauges and sums; count/sum/buckets for histograms. */
export interface MetricPoint {
  metricName: string;
  description: string;
  unit: string;
  type: MetricType;
  /** AggregationTemporality for sums and histograms: 1 delta, 2 cumulative, 0 unspecified. */
  temporality: number;
  isMonotonic: boolean;
  attributes: Attributes;
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  value: number | null;
  count: number | null;
  sum: number | null;
  min: number | null;
  max: number | null;
  bucketCounts: number[] | null;
  explicitBounds: number[] | null;
}

export interface ScopeMetrics {
  scope: InstrumentationScope;
  schemaUrl: string;
  points: MetricPoint[];
}

export interface ResourceMetrics {
  resource: Resource;
  schemaUrl: string;
  scopeMetrics: ScopeMetrics[];
}

export interface MetricsRequest {
  resourceMetrics: ResourceMetrics[];
}

/** Read a plain JS value out of an AnyValue (int64 as bigint only when it exceeds 2^53). */
export function anyValueToJs(value: AnyValue | undefined): unknown {
  if (value === undefined) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) {
    const n = Number(value.intValue);
    return Number.isSafeInteger(n) ? n : BigInt(value.intValue);
  }
  if ('doubleValue' in value) return doubleOf(value.doubleValue);
  if ('bytesValue' in value) return value.bytesValue;
  if ('arrayValue' in value) return value.arrayValue.values.map(anyValueToJs);
  if ('kvlistValue' in value) {
    return Object.fromEntries(value.kvlistValue.values.map((kv) => [kv.key, anyValueToJs(kv.value)]));
  }
  return null;
}

export function attrString(attrs: Attributes, key: string): string | undefined {
  const v = attrs[key];
  return v !== undefined && 'stringValue' in v ? v.stringValue : undefined;
}

/** A numeric attribute whether it was sent as int or double. */
export function attrNumber(attrs: Attributes, key: string): number | undefined {
  const v = attrs[key];
  if (v === undefined) return undefined;
  if ('doubleValue' in v) return doubleOf(v.doubleValue);
  if ('intValue' in v) return Number(v.intValue);
  return undefined;
}
