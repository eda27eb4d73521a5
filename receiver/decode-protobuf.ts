// OTLP protobuf → firstspan's decoded model (model/otlp.ts), by hand, in one pass over the bytes,
// with the wire reader of model/protobuf-wire.ts and the field tags of model/otlp-fields.ts
// (opentelemetry-proto's trace, metrics, common and resource messages). Unknown fields are skipped
// by wire type; fixed64 timestamps are read exactly as bigint; int64 values become decimal strings.
// Spans that decode but are unusable (bad id lengths) are dropped and counted for partial success.
import type {
  AnyValue,
  Attributes,
  InstrumentationScope,
  KeyValue,
  MetricPoint,
  MetricsRequest,
  MetricType,
  Resource,
  ResourceMetrics,
  ResourceSpans,
  ScopeMetrics,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
  TracesRequest,
} from '../model/otlp.ts';
import { jsonDouble } from '../model/otlp.ts';
import {
  AggregationTag,
  AnyValueTag,
  ExponentialHistogramDataPointTag,
  ExportMetricsServiceRequestTag,
  ExportTraceServiceRequestTag,
  HistogramDataPointTag,
  InstrumentationScopeTag,
  KeyValueTag,
  MetricTag,
  NumberDataPointTag,
  ResourceMetricsTag,
  ResourceSpansTag,
  ResourceTag,
  ScopeMetricsTag,
  ScopeSpansTag,
  SpanEventTag,
  SpanLinkTag,
  SpanTag,
  StatusTag,
  SummaryDataPointTag,
  ValuesTag,
} from '../model/otlp-fields.ts';
import { DecodeError, expectWire, ProtobufReader, WireType } from '../model/protobuf-wire.ts';
import { keepStorablePoints, Rejections, setAttribute, spanProblem } from './span-checks.ts';

/** AnyValue nesting deeper than this is refused rather than risking the stack. */
export const MAX_DEPTH = 64;
const EMPTY = Buffer.alloc(0);

export interface DecodedTraces {
  request: TracesRequest;
  spans: number;
  rejected: Rejections;
}

export interface DecodedMetrics {
  request: MetricsRequest;
  points: number;
  rejected: Rejections;
}

/** Decode an ExportTraceServiceRequest. Throws DecodeError on malformed input. */
export function decodeTracesProtobuf(buf: Buffer): DecodedTraces {
  const r = new ProtobufReader(buf);
  const end = buf.length;
  const resourceSpans: ResourceSpans[] = [];
  const ctx = { spans: 0, rejected: new Rejections() };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ExportTraceServiceRequestTag.RESOURCE_SPANS) resourceSpans.push(readResourceSpans(r, r.lengthEnd(end), ctx));
    else skipField(r, tag, end);
  }
  return { request: { resourceSpans }, spans: ctx.spans, rejected: ctx.rejected };
}

/** Decode an ExportMetricsServiceRequest. Throws DecodeError on malformed input. */
export function decodeMetricsProtobuf(buf: Buffer): DecodedMetrics {
  const r = new ProtobufReader(buf);
  const end = buf.length;
  const resourceMetrics: ResourceMetrics[] = [];
  const ctx = { points: 0, rejected: new Rejections() };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ExportMetricsServiceRequestTag.RESOURCE_METRICS) resourceMetrics.push(readResourceMetrics(r, r.lengthEnd(end), ctx));
    else skipField(r, tag, end);
  }
  return { request: { resourceMetrics }, points: ctx.points, rejected: ctx.rejected };
}

export function skipField(r: ProtobufReader, tag: number, end: number): void {
  if (tag >>> 3 === 0) throw new DecodeError('field number 0 is invalid');
  r.skip(tag & 7, end);
}

// ---- common ----

function emptyResource(): Resource {
  return { attributes: {}, droppedAttributesCount: 0 };
}

function emptyScope(): InstrumentationScope {
  return { name: '', version: '', attributes: {}, droppedAttributesCount: 0 };
}

export function readResource(r: ProtobufReader, end: number): Resource {
  const res = emptyResource();
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ResourceTag.ATTRIBUTES) readKeyValueInto(r, r.lengthEnd(end), res.attributes, 0);
    else if (tag === ResourceTag.DROPPED_ATTRIBUTES_COUNT) res.droppedAttributesCount = r.uint32(end);
    else skipField(r, tag, end); // entity_refs (3) and future fields
  }
  return res;
}

export function readScope(r: ProtobufReader, end: number): InstrumentationScope {
  const scope = emptyScope();
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === InstrumentationScopeTag.NAME) scope.name = r.string(end);
    else if (tag === InstrumentationScopeTag.VERSION) scope.version = r.string(end);
    else if (tag === InstrumentationScopeTag.ATTRIBUTES) readKeyValueInto(r, r.lengthEnd(end), scope.attributes, 0);
    else if (tag === InstrumentationScopeTag.DROPPED_ATTRIBUTES_COUNT) scope.droppedAttributesCount = r.uint32(end);
    else skipField(r, tag, end);
  }
  return scope;
}

/** KeyValue { key = 1; value = 2 } into a map (a repeated key keeps its last value). */
function readKeyValueInto(r: ProtobufReader, end: number, attrs: Attributes, depth: number): void {
  const kv = readKeyValue(r, end, depth);
  setAttribute(attrs, kv.key, kv.value);
}

function readKeyValue(r: ProtobufReader, end: number, depth: number): KeyValue {
  let key = '';
  let value: AnyValue = {};
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === KeyValueTag.KEY) key = r.string(end);
    else if (tag === KeyValueTag.VALUE) value = readAnyValue(r, r.lengthEnd(end), depth + 1);
    else skipField(r, tag, end); // key_strindex (3) is for profiles only
  }
  return { key, value };
}

function readAnyValue(r: ProtobufReader, end: number, depth: number): AnyValue {
  if (depth > MAX_DEPTH) throw new DecodeError(`AnyValue nested deeper than ${MAX_DEPTH}`);
  let value: AnyValue = {};
  // oneof: the last value field on the wire wins, as in any proto3 decoder.
  while (r.pos < end) {
    const tag = r.uint32(end);
    switch (tag) {
      case AnyValueTag.STRING_VALUE:
        value = { stringValue: r.string(end) };
        break;
      case AnyValueTag.BOOL_VALUE:
        value = { boolValue: r.bool(end) };
        break;
      case AnyValueTag.INT_VALUE:
        value = { intValue: r.int64String(end) };
        break;
      case AnyValueTag.DOUBLE_VALUE:
        value = { doubleValue: jsonDouble(r.double(end)) };
        break;
      case AnyValueTag.ARRAY_VALUE: {
        const stop = r.lengthEnd(end);
        const values: AnyValue[] = [];
        while (r.pos < stop) {
          const t = r.uint32(stop);
          if (t === ValuesTag.VALUES) values.push(readAnyValue(r, r.lengthEnd(stop), depth + 1));
          else skipField(r, t, stop);
        }
        value = { arrayValue: { values } };
        break;
      }
      case AnyValueTag.KVLIST_VALUE: {
        const stop = r.lengthEnd(end);
        const values: KeyValue[] = [];
        while (r.pos < stop) {
          const t = r.uint32(stop);
          if (t === ValuesTag.VALUES) values.push(readKeyValue(r, r.lengthEnd(stop), depth + 1));
          else skipField(r, t, stop);
        }
        value = { kvlistValue: { values } };
        break;
      }
      case AnyValueTag.BYTES_VALUE:
        value = { bytesValue: r.bytes(end).toString('base64') };
        break;
      default:
        checkKnownWire(tag, AnyValueTag);
        skipField(r, tag, end);
    }
  }
  return value;
}

/** A known field number with the wrong wire type is corrupt input, not an unknown field. */
export function checkKnownWire(tag: number, message: Readonly<Record<string, number>>): void {
  const field = tag >>> 3;
  for (const known of Object.values(message)) {
    if (known >>> 3 === field) expectWire(tag & 7, known & 7, String(field));
  }
}

// ---- traces ----

function readResourceSpans(
  r: ProtobufReader,
  end: number,
  ctx: { spans: number; rejected: Rejections },
): ResourceSpans {
  const rs: ResourceSpans = { resource: emptyResource(), schemaUrl: '', scopeSpans: [] };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ResourceSpansTag.RESOURCE) rs.resource = readResource(r, r.lengthEnd(end));
    else if (tag === ResourceSpansTag.SCOPE_SPANS) rs.scopeSpans.push(readScopeSpans(r, r.lengthEnd(end), ctx));
    else if (tag === ResourceSpansTag.SCHEMA_URL) rs.schemaUrl = r.string(end);
    else skipField(r, tag, end);
  }
  return rs;
}

function readScopeSpans(r: ProtobufReader, end: number, ctx: { spans: number; rejected: Rejections }): ScopeSpans {
  const ss: ScopeSpans = { scope: emptyScope(), schemaUrl: '', spans: [] };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ScopeSpansTag.SCOPE) ss.scope = readScope(r, r.lengthEnd(end));
    else if (tag === ScopeSpansTag.SPANS) {
      const span = readSpan(r, r.lengthEnd(end));
      const problem = spanProblem(span);
      if (problem === undefined) {
        ss.spans.push(span);
        ctx.spans += 1;
      } else ctx.rejected.add(`span '${span.name}'`, problem);
    } else if (tag === ScopeSpansTag.SCHEMA_URL) ss.schemaUrl = r.string(end);
    else skipField(r, tag, end);
  }
  return ss;
}

/** A Span; with `onAttribute`, its attribute fields go there instead of into span.attributes. */
export function readSpan(r: ProtobufReader, end: number, onAttribute?: (r: ProtobufReader, end: number) => void): Span {
  const span: Span = {
    traceId: EMPTY,
    spanId: EMPTY,
    parentSpanId: EMPTY,
    traceState: '',
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
    flags: 0,
  };
  while (r.pos < end) {
    const tag = r.uint32(end);
    switch (tag) {
      case SpanTag.TRACE_ID:
        span.traceId = r.bytes(end);
        break;
      case SpanTag.SPAN_ID:
        span.spanId = r.bytes(end);
        break;
      case SpanTag.TRACE_STATE:
        span.traceState = r.string(end);
        break;
      case SpanTag.PARENT_SPAN_ID:
        span.parentSpanId = r.bytes(end);
        break;
      case SpanTag.NAME:
        span.name = r.string(end);
        break;
      case SpanTag.KIND:
        span.kind = r.uint32(end);
        break;
      case SpanTag.START_TIME_UNIX_NANO:
        span.startTimeUnixNano = r.fixed64(end);
        break;
      case SpanTag.END_TIME_UNIX_NANO:
        span.endTimeUnixNano = r.fixed64(end);
        break;
      case SpanTag.ATTRIBUTES:
        if (onAttribute === undefined) readKeyValueInto(r, r.lengthEnd(end), span.attributes, 0);
        else onAttribute(r, r.lengthEnd(end));
        break;
      case SpanTag.DROPPED_ATTRIBUTES_COUNT:
        span.droppedAttributesCount = r.uint32(end);
        break;
      case SpanTag.EVENTS:
        span.events.push(readEvent(r, r.lengthEnd(end)));
        break;
      case SpanTag.DROPPED_EVENTS_COUNT:
        span.droppedEventsCount = r.uint32(end);
        break;
      case SpanTag.LINKS:
        span.links.push(readLink(r, r.lengthEnd(end)));
        break;
      case SpanTag.DROPPED_LINKS_COUNT:
        span.droppedLinksCount = r.uint32(end);
        break;
      case SpanTag.STATUS:
        span.status = readStatus(r, r.lengthEnd(end));
        break;
      case SpanTag.FLAGS:
        span.flags = r.fixed32(end);
        break;
      default:
        checkKnownWire(tag, SpanTag);
        skipField(r, tag, end);
    }
  }
  return span;
}

function readEvent(r: ProtobufReader, end: number): SpanEvent {
  const ev: SpanEvent = { timeUnixNano: 0n, name: '', attributes: {}, droppedAttributesCount: 0 };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === SpanEventTag.TIME_UNIX_NANO) ev.timeUnixNano = r.fixed64(end);
    else if (tag === SpanEventTag.NAME) ev.name = r.string(end);
    else if (tag === SpanEventTag.ATTRIBUTES) readKeyValueInto(r, r.lengthEnd(end), ev.attributes, 0);
    else if (tag === SpanEventTag.DROPPED_ATTRIBUTES_COUNT) ev.droppedAttributesCount = r.uint32(end);
    else {
      checkKnownWire(tag, SpanEventTag);
      skipField(r, tag, end);
    }
  }
  return ev;
}

function readLink(r: ProtobufReader, end: number): SpanLink {
  const link: SpanLink = {
    traceId: EMPTY,
    spanId: EMPTY,
    traceState: '',
    attributes: {},
    droppedAttributesCount: 0,
    flags: 0,
  };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === SpanLinkTag.TRACE_ID) link.traceId = r.bytes(end);
    else if (tag === SpanLinkTag.SPAN_ID) link.spanId = r.bytes(end);
    else if (tag === SpanLinkTag.TRACE_STATE) link.traceState = r.string(end);
    else if (tag === SpanLinkTag.ATTRIBUTES) readKeyValueInto(r, r.lengthEnd(end), link.attributes, 0);
    else if (tag === SpanLinkTag.DROPPED_ATTRIBUTES_COUNT) link.droppedAttributesCount = r.uint32(end);
    else if (tag === SpanLinkTag.FLAGS) link.flags = r.fixed32(end);
    else {
      checkKnownWire(tag, SpanLinkTag);
      skipField(r, tag, end);
    }
  }
  return link;
}

function readStatus(r: ProtobufReader, end: number): { code: number; message: string } {
  const status = { code: 0, message: '' };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === StatusTag.MESSAGE) status.message = r.string(end);
    else if (tag === StatusTag.CODE) status.code = r.uint32(end);
    else skipField(r, tag, end);
  }
  return status;
}

// ---- metrics ----

interface MetricHead {
  name: string;
  description: string;
  unit: string;
}

function readResourceMetrics(
  r: ProtobufReader,
  end: number,
  ctx: { points: number; rejected: Rejections },
): ResourceMetrics {
  const rm: ResourceMetrics = { resource: emptyResource(), schemaUrl: '', scopeMetrics: [] };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ResourceMetricsTag.RESOURCE) rm.resource = readResource(r, r.lengthEnd(end));
    else if (tag === ResourceMetricsTag.SCOPE_METRICS) rm.scopeMetrics.push(readScopeMetrics(r, r.lengthEnd(end), ctx));
    else if (tag === ResourceMetricsTag.SCHEMA_URL) rm.schemaUrl = r.string(end);
    else skipField(r, tag, end);
  }
  return rm;
}

function readScopeMetrics(
  r: ProtobufReader,
  end: number,
  ctx: { points: number; rejected: Rejections },
): ScopeMetrics {
  const sm: ScopeMetrics = { scope: emptyScope(), schemaUrl: '', points: [] };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ScopeMetricsTag.SCOPE) sm.scope = readScope(r, r.lengthEnd(end));
    else if (tag === ScopeMetricsTag.METRICS) readMetric(r, r.lengthEnd(end), sm.points);
    else if (tag === ScopeMetricsTag.SCHEMA_URL) sm.schemaUrl = r.string(end);
    else skipField(r, tag, end);
  }
  sm.points = keepStorablePoints(sm.points, ctx.rejected);
  ctx.points += sm.points.length;
  return sm;
}

/**
 * Metric: name 1, description 2, unit 3, gauge 5, sum 7, histogram 9, exponential_histogram 10,
 * summary 11. The data field may come before the name on the wire, so points are read into a
 * local list and stamped with the metric's head afterwards.
 */
function readMetric(r: ProtobufReader, end: number, out: MetricPoint[]): void {
  const head: MetricHead = { name: '', description: '', unit: '' };
  const points: MetricPoint[] = [];
  while (r.pos < end) {
    const tag = r.uint32(end);
    switch (tag) {
      case MetricTag.NAME:
        head.name = r.string(end);
        break;
      case MetricTag.DESCRIPTION:
        head.description = r.string(end);
        break;
      case MetricTag.UNIT:
        head.unit = r.string(end);
        break;
      case MetricTag.GAUGE:
        readAggregation(r, r.lengthEnd(end), 'gauge', points);
        break;
      case MetricTag.SUM:
        readAggregation(r, r.lengthEnd(end), 'sum', points);
        break;
      case MetricTag.HISTOGRAM:
        readAggregation(r, r.lengthEnd(end), 'histogram', points);
        break;
      case MetricTag.EXPONENTIAL_HISTOGRAM:
        readAggregation(r, r.lengthEnd(end), 'exponential_histogram', points);
        break;
      case MetricTag.SUMMARY:
        readAggregation(r, r.lengthEnd(end), 'summary', points);
        break;
      default:
        checkKnownWire(tag, MetricTag);
        skipField(r, tag, end);
    }
  }
  for (const p of points) {
    p.metricName = head.name;
    p.description = head.description;
    p.unit = head.unit;
    out.push(p);
  }
}

/** Gauge/Sum/Histogram/ExponentialHistogram/Summary: data_points 1, temporality 2, is_monotonic 3 (sum). */
function readAggregation(r: ProtobufReader, end: number, type: MetricType, out: MetricPoint[]): void {
  const first = out.length;
  let temporality = 0;
  let isMonotonic = false;
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === AggregationTag.DATA_POINTS) out.push(readPoint(r, r.lengthEnd(end), type));
    else if (tag === AggregationTag.AGGREGATION_TEMPORALITY && type !== 'gauge' && type !== 'summary') temporality = r.uint32(end);
    else if (tag === AggregationTag.IS_MONOTONIC && type === 'sum') isMonotonic = r.bool(end);
    else skipField(r, tag, end);
  }
  for (let i = first; i < out.length; i++) {
    const p = out[i]!;
    p.temporality = temporality;
    p.isMonotonic = isMonotonic;
  }
}

function newPoint(type: MetricType): MetricPoint {
  return {
    metricName: '',
    description: '',
    unit: '',
    type,
    temporality: 0,
    isMonotonic: false,
    attributes: {},
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    value: null,
    count: null,
    sum: null,
    min: null,
    max: null,
    bucketCounts: null,
    explicitBounds: null,
  };
}

/** The attributes field of each point type: the one field its messages number differently. */
const POINT_ATTRIBUTES: Record<MetricType, number> = {
  gauge: NumberDataPointTag.ATTRIBUTES,
  sum: NumberDataPointTag.ATTRIBUTES,
  histogram: HistogramDataPointTag.ATTRIBUTES,
  exponential_histogram: ExponentialHistogramDataPointTag.ATTRIBUTES,
  summary: SummaryDataPointTag.ATTRIBUTES,
};

/**
 * One data point: a NumberDataPoint (gauge, sum), HistogramDataPoint, ExponentialHistogramDataPoint
 * (its buckets are not stored: count, sum, min and max are, and the docs say so) or
 * SummaryDataPoint (quantiles not stored). Every point type numbers start_time_unix_nano and
 * time_unix_nano alike, and the last three count and sum alike (otlp-fields.ts; the test
 * model-protobuf-wire checks both against the .proto).
 */
function readPoint(r: ProtobufReader, end: number, type: MetricType): MetricPoint {
  const p = newPoint(type);
  const attributes = POINT_ATTRIBUTES[type];
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === attributes) {
      readKeyValueInto(r, r.lengthEnd(end), p.attributes, 0);
      continue;
    }
    if (tag === NumberDataPointTag.START_TIME_UNIX_NANO) {
      p.startTimeUnixNano = r.fixed64(end);
      continue;
    }
    if (tag === NumberDataPointTag.TIME_UNIX_NANO) {
      p.timeUnixNano = r.fixed64(end);
      continue;
    }
    if (type === 'gauge' || type === 'sum') {
      if (tag === NumberDataPointTag.AS_DOUBLE) p.value = r.double(end);
      else if (tag === NumberDataPointTag.AS_INT) p.value = Number(r.sfixed64String(end));
      else skipField(r, tag, end);
      continue;
    }
    if (tag === HistogramDataPointTag.COUNT) p.count = r.fixed64Number(end);
    else if (tag === HistogramDataPointTag.SUM) p.sum = r.double(end);
    // Repeated: packed or not, so matched on the field number alone.
    else if (type === 'histogram' && sameField(tag, HistogramDataPointTag.BUCKET_COUNTS)) p.bucketCounts = readRepeatedFixed64(r, tag & 7, end, p.bucketCounts);
    else if (type === 'histogram' && sameField(tag, HistogramDataPointTag.EXPLICIT_BOUNDS)) p.explicitBounds = readRepeatedDouble(r, tag & 7, end, p.explicitBounds);
    else if (type === 'histogram' && tag === HistogramDataPointTag.MIN) p.min = r.double(end);
    else if (type === 'histogram' && tag === HistogramDataPointTag.MAX) p.max = r.double(end);
    else if (type === 'exponential_histogram' && tag === ExponentialHistogramDataPointTag.MIN) p.min = r.double(end);
    else if (type === 'exponential_histogram' && tag === ExponentialHistogramDataPointTag.MAX) p.max = r.double(end);
    else skipField(r, tag, end);
  }
  // proto3 omits zero and empty fields: give them the same values the JSON decoder gives.
  if (type !== 'gauge' && type !== 'sum') p.count ??= 0;
  if (type === 'histogram') {
    p.bucketCounts ??= [];
    p.explicitBounds ??= [];
  }
  return p;
}

function sameField(tag: number, known: number): boolean {
  return tag >>> 3 === known >>> 3;
}

/** Repeated fixed64: packed (one LEN field) or not (one I64 field per value); proto3 accepts both. */
function readRepeatedFixed64(r: ProtobufReader, wire: number, end: number, acc: number[] | null): number[] {
  const out = acc ?? [];
  if (wire === WireType.LEN) {
    const stop = r.lengthEnd(end);
    if ((stop - r.pos) % 8 !== 0) throw new DecodeError('packed fixed64 field length is not a multiple of 8');
    while (r.pos < stop) out.push(r.fixed64Number(stop));
  } else {
    expectWire(wire, WireType.I64, 'bucket_counts');
    out.push(r.fixed64Number(end));
  }
  return out;
}

function readRepeatedDouble(r: ProtobufReader, wire: number, end: number, acc: number[] | null): number[] {
  const out = acc ?? [];
  if (wire === WireType.LEN) {
    const stop = r.lengthEnd(end);
    if ((stop - r.pos) % 8 !== 0) throw new DecodeError('packed double field length is not a multiple of 8');
    while (r.pos < stop) out.push(r.double(stop));
  } else {
    expectWire(wire, WireType.I64, 'explicit_bounds');
    out.push(r.double(end));
  }
  return out;
}
