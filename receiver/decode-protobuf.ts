// OTLP protobuf → firstspan's decoded model (model/otlp.ts), by hand, in one pass over the bytes.
// Field numbers: opentelemetry-proto trace/v1/trace.proto, metrics/v1/metrics.proto,
// common/v1/common.proto (github.com/open-telemetry/opentelemetry-proto). Unknown fields are skipped
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
import { DecodeError, expectWire, ProtobufReader, WireType } from './protobuf-reader.ts';
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
    if (tag === 0x0a) resourceSpans.push(readResourceSpans(r, r.lengthEnd(end), ctx));
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
    if (tag === 0x0a) resourceMetrics.push(readResourceMetrics(r, r.lengthEnd(end), ctx));
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
    if (tag === 0x0a) readKeyValueInto(r, r.lengthEnd(end), res.attributes, 0);
    else if (tag === 0x10) res.droppedAttributesCount = r.uint32(end);
    else skipField(r, tag, end); // entity_refs (3) and future fields
  }
  return res;
}

export function readScope(r: ProtobufReader, end: number): InstrumentationScope {
  const scope = emptyScope();
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === 0x0a) scope.name = r.string(end);
    else if (tag === 0x12) scope.version = r.string(end);
    else if (tag === 0x1a) readKeyValueInto(r, r.lengthEnd(end), scope.attributes, 0);
    else if (tag === 0x20) scope.droppedAttributesCount = r.uint32(end);
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
    if (tag === 0x0a) key = r.string(end);
    else if (tag === 0x12) value = readAnyValue(r, r.lengthEnd(end), depth + 1);
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
      case 0x0a:
        value = { stringValue: r.string(end) };
        break;
      case 0x10:
        value = { boolValue: r.bool(end) };
        break;
      case 0x18:
        value = { intValue: r.int64String(end) };
        break;
      case 0x21:
        value = { doubleValue: jsonDouble(r.double(end)) };
        break;
      case 0x2a: {
        const stop = r.lengthEnd(end);
        const values: AnyValue[] = [];
        while (r.pos < stop) {
          const t = r.uint32(stop);
          if (t === 0x0a) values.push(readAnyValue(r, r.lengthEnd(stop), depth + 1));
          else skipField(r, t, stop);
        }
        value = { arrayValue: { values } };
        break;
      }
      case 0x32: {
        const stop = r.lengthEnd(end);
        const values: KeyValue[] = [];
        while (r.pos < stop) {
          const t = r.uint32(stop);
          if (t === 0x0a) values.push(readKeyValue(r, r.lengthEnd(stop), depth + 1));
          else skipField(r, t, stop);
        }
        value = { kvlistValue: { values } };
        break;
      }
      case 0x3a:
        value = { bytesValue: r.bytes(end).toString('base64') };
        break;
      default:
        checkKnownWire(tag, [1, 2, 3, 4, 5, 6, 7], [2, 0, 0, 1, 2, 2, 2]);
        skipField(r, tag, end);
    }
  }
  return value;
}

/** A known field number with the wrong wire type is corrupt input, not an unknown field. */
export function checkKnownWire(tag: number, fields: number[], wires: number[]): void {
  const i = fields.indexOf(tag >>> 3);
  if (i >= 0) expectWire(tag & 7, wires[i]!, String(tag >>> 3));
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
    if (tag === 0x0a) rs.resource = readResource(r, r.lengthEnd(end));
    else if (tag === 0x12) rs.scopeSpans.push(readScopeSpans(r, r.lengthEnd(end), ctx));
    else if (tag === 0x1a) rs.schemaUrl = r.string(end);
    else skipField(r, tag, end);
  }
  return rs;
}

function readScopeSpans(r: ProtobufReader, end: number, ctx: { spans: number; rejected: Rejections }): ScopeSpans {
  const ss: ScopeSpans = { scope: emptyScope(), schemaUrl: '', spans: [] };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === 0x0a) ss.scope = readScope(r, r.lengthEnd(end));
    else if (tag === 0x12) {
      const span = readSpan(r, r.lengthEnd(end));
      const problem = spanProblem(span);
      if (problem === undefined) {
        ss.spans.push(span);
        ctx.spans += 1;
      } else ctx.rejected.add(`span '${span.name}'`, problem);
    } else if (tag === 0x1a) ss.schemaUrl = r.string(end);
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
      case 0x0a:
        span.traceId = r.bytes(end);
        break;
      case 0x12:
        span.spanId = r.bytes(end);
        break;
      case 0x1a:
        span.traceState = r.string(end);
        break;
      case 0x22:
        span.parentSpanId = r.bytes(end);
        break;
      case 0x2a:
        span.name = r.string(end);
        break;
      case 0x30:
        span.kind = r.uint32(end);
        break;
      case 0x39:
        span.startTimeUnixNano = r.fixed64(end);
        break;
      case 0x41:
        span.endTimeUnixNano = r.fixed64(end);
        break;
      case 0x4a:
        if (onAttribute === undefined) readKeyValueInto(r, r.lengthEnd(end), span.attributes, 0);
        else onAttribute(r, r.lengthEnd(end));
        break;
      case 0x50:
        span.droppedAttributesCount = r.uint32(end);
        break;
      case 0x5a:
        span.events.push(readEvent(r, r.lengthEnd(end)));
        break;
      case 0x60:
        span.droppedEventsCount = r.uint32(end);
        break;
      case 0x6a:
        span.links.push(readLink(r, r.lengthEnd(end)));
        break;
      case 0x70:
        span.droppedLinksCount = r.uint32(end);
        break;
      case 0x7a:
        span.status = readStatus(r, r.lengthEnd(end));
        break;
      case 0x85: // field 16 needs a two-byte tag: 0x85 0x01
        span.flags = r.fixed32(end);
        break;
      default:
        checkKnownWire(
          tag,
          [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
          [2, 2, 2, 2, 2, 0, 1, 1, 2, 0, 2, 0, 2, 0, 2, 5],
        );
        skipField(r, tag, end);
    }
  }
  return span;
}

function readEvent(r: ProtobufReader, end: number): SpanEvent {
  const ev: SpanEvent = { timeUnixNano: 0n, name: '', attributes: {}, droppedAttributesCount: 0 };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === 0x09) ev.timeUnixNano = r.fixed64(end);
    else if (tag === 0x12) ev.name = r.string(end);
    else if (tag === 0x1a) readKeyValueInto(r, r.lengthEnd(end), ev.attributes, 0);
    else if (tag === 0x20) ev.droppedAttributesCount = r.uint32(end);
    else {
      checkKnownWire(tag, [1, 2, 3, 4], [1, 2, 2, 0]);
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
    if (tag === 0x0a) link.traceId = r.bytes(end);
    else if (tag === 0x12) link.spanId = r.bytes(end);
    else if (tag === 0x1a) link.traceState = r.string(end);
    else if (tag === 0x22) readKeyValueInto(r, r.lengthEnd(end), link.attributes, 0);
    else if (tag === 0x28) link.droppedAttributesCount = r.uint32(end);
    else if (tag === 0x35) link.flags = r.fixed32(end);
    else {
      checkKnownWire(tag, [1, 2, 3, 4, 5, 6], [2, 2, 2, 2, 0, 5]);
      skipField(r, tag, end);
    }
  }
  return link;
}

function readStatus(r: ProtobufReader, end: number): { code: number; message: string } {
  const status = { code: 0, message: '' };
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === 0x12) status.message = r.string(end);
    else if (tag === 0x18) status.code = r.uint32(end);
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
    if (tag === 0x0a) rm.resource = readResource(r, r.lengthEnd(end));
    else if (tag === 0x12) rm.scopeMetrics.push(readScopeMetrics(r, r.lengthEnd(end), ctx));
    else if (tag === 0x1a) rm.schemaUrl = r.string(end);
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
    if (tag === 0x0a) sm.scope = readScope(r, r.lengthEnd(end));
    else if (tag === 0x12) readMetric(r, r.lengthEnd(end), sm.points);
    else if (tag === 0x1a) sm.schemaUrl = r.string(end);
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
      case 0x0a:
        head.name = r.string(end);
        break;
      case 0x12:
        head.description = r.string(end);
        break;
      case 0x1a:
        head.unit = r.string(end);
        break;
      case 0x2a:
        readAggregation(r, r.lengthEnd(end), 'gauge', points);
        break;
      case 0x3a:
        readAggregation(r, r.lengthEnd(end), 'sum', points);
        break;
      case 0x4a:
        readAggregation(r, r.lengthEnd(end), 'histogram', points);
        break;
      case 0x52:
        readAggregation(r, r.lengthEnd(end), 'exponential_histogram', points);
        break;
      case 0x5a:
        readAggregation(r, r.lengthEnd(end), 'summary', points);
        break;
      default:
        checkKnownWire(tag, [1, 2, 3, 5, 7, 9, 10, 11], [2, 2, 2, 2, 2, 2, 2, 2]);
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
    if (tag === 0x0a) out.push(readPoint(r, r.lengthEnd(end), type));
    else if (tag === 0x10 && type !== 'gauge' && type !== 'summary') temporality = r.uint32(end);
    else if (tag === 0x18 && type === 'sum') isMonotonic = r.bool(end);
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

/**
 * One data point. Field numbers differ per point type (metrics.proto):
 * - NumberDataPoint: start 2, time 3, as_double 4, as_int 6 (sfixed64), attributes 7
 * - HistogramDataPoint: start 2, time 3, count 4, sum 5, bucket_counts 6, explicit_bounds 7,
 *   attributes 9, min 11, max 12
 * - ExponentialHistogramDataPoint: attributes 1, start 2, time 3, count 4, sum 5, min 12, max 13
 *   (buckets are not stored: count, sum, min and max are, and the docs say so)
 * - SummaryDataPoint: start 2, time 3, count 4, sum 5, attributes 7 (quantiles not stored)
 */
function readPoint(r: ProtobufReader, end: number, type: MetricType): MetricPoint {
  const p = newPoint(type);
  const attrField = type === 'histogram' ? 9 : type === 'exponential_histogram' ? 1 : 7;
  while (r.pos < end) {
    const tag = r.uint32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === attrField && wire === WireType.LEN) {
      readKeyValueInto(r, r.lengthEnd(end), p.attributes, 0);
      continue;
    }
    if (field === 2 && wire === WireType.I64) {
      p.startTimeUnixNano = r.fixed64(end);
      continue;
    }
    if (field === 3 && wire === WireType.I64) {
      p.timeUnixNano = r.fixed64(end);
      continue;
    }
    if (type === 'gauge' || type === 'sum') {
      if (field === 4 && wire === WireType.I64) p.value = r.double(end);
      else if (field === 6 && wire === WireType.I64) p.value = Number(r.sfixed64String(end));
      else skipField(r, tag, end);
      continue;
    }
    if (field === 4 && wire === WireType.I64) p.count = r.fixed64Number(end);
    else if (field === 5 && wire === WireType.I64) p.sum = r.double(end);
    else if (type === 'histogram' && field === 6) p.bucketCounts = readRepeatedFixed64(r, wire, end, p.bucketCounts);
    else if (type === 'histogram' && field === 7) p.explicitBounds = readRepeatedDouble(r, wire, end, p.explicitBounds);
    else if (type === 'histogram' && field === 11 && wire === WireType.I64) p.min = r.double(end);
    else if (type === 'histogram' && field === 12 && wire === WireType.I64) p.max = r.double(end);
    else if (type === 'exponential_histogram' && field === 12 && wire === WireType.I64) p.min = r.double(end);
    else if (type === 'exponential_histogram' && field === 13 && wire === WireType.I64) p.max = r.double(end);
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
