// OTLP/JSON → firstspan's decoded model (model/otlp.ts).
// The OTLP JSON mapping (opentelemetry-proto specification.md, "JSON Protobuf Encoding"): ids are
// case-insensitive hex, int64 values are decimal strings or numbers, enums are integers, unknown
// keys are ignored. Like the Collector we are liberal: snake_case keys and enum names are read too.
// Nanosecond timestamps never pass through a JS number: before JSON.parse, every integer literal
// too long to be exact as a double is turned into a string, so it is parsed from the raw text.
import type {
  AnyValue,
  Attributes,
  InstrumentationScope,
  KeyValue,
  MetricPoint,
  MetricType,
  Resource,
  ResourceMetrics,
  ResourceSpans,
  ScopeMetrics,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
} from '../model/otlp.ts';
import { jsonDouble } from '../model/otlp.ts';
import type { DecodedMetrics, DecodedTraces } from './decode-protobuf.ts';
import { DecodeError } from '../model/protobuf-wire.ts';
import { keepStorablePoints, Rejections, setAttribute, spanProblem } from './span-checks.ts';

const MAX_DEPTH = 64;
type Json = Record<string, unknown>;

/** Decode an ExportTraceServiceRequest in OTLP/JSON. Throws DecodeError on malformed input. */
export function decodeTracesJson(text: string): DecodedTraces {
  const root = parseRoot(text);
  const rejected = new Rejections();
  let spans = 0;
  const resourceSpans: ResourceSpans[] = [];
  for (const rsJson of list(root, 'resourceSpans', 'resource_spans')) {
    const rs = object(rsJson, 'resourceSpans[]');
    const out: ResourceSpans = {
      resource: readResource(field(rs, 'resource', 'resource')),
      schemaUrl: str(field(rs, 'schemaUrl', 'schema_url'), 'schemaUrl'),
      scopeSpans: [],
    };
    for (const ssJson of list(rs, 'scopeSpans', 'scope_spans')) {
      const ss = object(ssJson, 'scopeSpans[]');
      const scopeOut: ScopeSpans = {
        scope: readScope(field(ss, 'scope', 'scope')),
        schemaUrl: str(field(ss, 'schemaUrl', 'schema_url'), 'schemaUrl'),
        spans: [],
      };
      for (const spanJson of list(ss, 'spans', 'spans')) {
        const result = readSpan(object(spanJson, 'spans[]'));
        const problem = typeof result === 'string' ? result : spanProblem(result.span);
        if (problem === undefined && typeof result !== 'string') {
          scopeOut.spans.push(result.span);
          spans += 1;
        } else {
          const name = typeof result === 'string' ? strOr(field(object(spanJson, 'span'), 'name', 'name')) : result.span.name;
          rejected.add(`span '${name}'`, problem ?? 'invalid');
        }
      }
      out.scopeSpans.push(scopeOut);
    }
    resourceSpans.push(out);
  }
  return { request: { resourceSpans }, spans, rejected };
}

/** Decode an ExportMetricsServiceRequest in OTLP/JSON. Throws DecodeError on malformed input. */
export function decodeMetricsJson(text: string): DecodedMetrics {
  const root = parseRoot(text);
  const rejected = new Rejections();
  let points = 0;
  const resourceMetrics: ResourceMetrics[] = [];
  for (const rmJson of list(root, 'resourceMetrics', 'resource_metrics')) {
    const rm = object(rmJson, 'resourceMetrics[]');
    const out: ResourceMetrics = {
      resource: readResource(field(rm, 'resource', 'resource')),
      schemaUrl: str(field(rm, 'schemaUrl', 'schema_url'), 'schemaUrl'),
      scopeMetrics: [],
    };
    for (const smJson of list(rm, 'scopeMetrics', 'scope_metrics')) {
      const sm = object(smJson, 'scopeMetrics[]');
      const scopeOut: ScopeMetrics = {
        scope: readScope(field(sm, 'scope', 'scope')),
        schemaUrl: str(field(sm, 'schemaUrl', 'schema_url'), 'schemaUrl'),
        points: [],
      };
      for (const mJson of list(sm, 'metrics', 'metrics')) readMetric(object(mJson, 'metrics[]'), scopeOut.points);
      scopeOut.points = keepStorablePoints(scopeOut.points, rejected);
      points += scopeOut.points.length;
      out.scopeMetrics.push(scopeOut);
    }
    resourceMetrics.push(out);
  }
  return { request: { resourceMetrics }, points, rejected };
}

// ---- raw text → JSON with exact big integers ----

function parseRoot(text: string): Json {
  // An empty body is an empty request, as it is in protobuf (and an empty request gets success).
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(quoteLongIntegers(text));
  } catch (error) {
    throw new DecodeError(`invalid JSON: ${(error as Error).message}`);
  }
  return object(parsed, 'request');
}

/**
 * Quote every integer literal of 16 or more digits (outside strings), so JSON.parse keeps its
 * exact text. 2^53 has 16 digits; shorter integers are exact as doubles. Fast path: text with no
 * run of 16 digits at all is returned as it is.
 */
export function quoteLongIntegers(text: string): string {
  if (!/\d{16}/.test(text)) return text;
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) i++;
        else break;
      }
      const token = text.slice(start, i);
      if (/^-?\d{16,}$/.test(token)) {
        out += text.slice(last, start) + '"' + token + '"';
        last = i;
      }
      continue;
    }
    i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

// ---- field access helpers ----

function field(obj: Json, camel: string, snake: string): unknown {
  const v = obj[camel];
  return v !== undefined ? v : obj[snake];
}

function object(v: unknown, what: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DecodeError(`${what} must be an object`);
  return v as Json;
}

function list(obj: Json, camel: string, snake: string): unknown[] {
  const v = field(obj, camel, snake);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DecodeError(`${camel} must be an array`);
  return v;
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new DecodeError(`${what} must be a string`);
  return v;
}

function strOr(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** uint32 counts and fixed32 flags: a number or a decimal string. */
function uint(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new DecodeError(`${what} must be an unsigned 32-bit integer`);
  }
  return n;
}

/** fixed64 nanoseconds: a decimal string (exact) or a number; never through a double when long. */
function nanos(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) {
    const b = BigInt(v);
    if (b <= 0xffffffffffffffffn) return b;
  } else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new DecodeError(`${what} must be an unsigned 64-bit integer (decimal string or number)`);
}

/** int64 as an exact decimal string. */
function int64(v: unknown, what: string): string {
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) {
    const b = BigInt(v);
    if (b >= -(2n ** 63n) && b < 2n ** 63n) return b.toString();
  } else if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw new DecodeError(`${what} must be a 64-bit integer (decimal string or number)`);
}

function double(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  // proto3 JSON writes non-finite doubles as strings, and any double may be quoted.
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw new DecodeError(`${what} must be a number`);
}

function optionalDouble(v: unknown, what: string): number | null {
  return v === undefined || v === null ? null : double(v, what);
}

function enumValue(v: unknown, names: Record<string, number>, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const n = names[v];
    if (n !== undefined) return n;
    if (/^\d+$/.test(v)) return Number(v);
  }
  throw new DecodeError(`${what} must be an enum integer or name, got ${JSON.stringify(v)}`);
}

const SPAN_KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
const TEMPORALITIES: Record<string, number> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** A hex id, or a string explaining why it is not one (the span is then rejected, not the request). */
function hexId(v: unknown, what: string): Buffer | string {
  if (v === undefined || v === null || v === '') return Buffer.alloc(0);
  if (typeof v !== 'string') throw new DecodeError(`${what} must be a hex string`);
  if (!HEX.test(v)) return `${what} '${v.slice(0, 40)}' is not hex`;
  return Buffer.from(v, 'hex');
}

// ---- messages ----

function readAttributes(v: unknown, into: Attributes, depth: number): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) throw new DecodeError('attributes must be an array of {key, value}');
  for (const kvJson of v) {
    const kv = readKeyValue(kvJson, depth);
    setAttribute(into, kv.key, kv.value);
  }
}

function readKeyValue(v: unknown, depth: number): KeyValue {
  const kv = object(v, 'attribute');
  return { key: str(kv.key, 'attribute key'), value: readAnyValue(kv.value, depth + 1) };
}

function readAnyValue(v: unknown, depth: number): AnyValue {
  if (depth > MAX_DEPTH) throw new DecodeError(`AnyValue nested deeper than ${MAX_DEPTH}`);
  if (v === undefined || v === null) return {};
  const o = object(v, 'attribute value');
  let x: unknown;
  if ((x = field(o, 'stringValue', 'string_value')) !== undefined) return { stringValue: str(x, 'stringValue') };
  if ((x = field(o, 'boolValue', 'bool_value')) !== undefined) {
    if (typeof x !== 'boolean') throw new DecodeError('boolValue must be true or false');
    return { boolValue: x };
  }
  if ((x = field(o, 'intValue', 'int_value')) !== undefined) return { intValue: int64(x, 'intValue') };
  if ((x = field(o, 'doubleValue', 'double_value')) !== undefined) return { doubleValue: jsonDouble(double(x, 'doubleValue')) };
  if ((x = field(o, 'bytesValue', 'bytes_value')) !== undefined) {
    // Normalise (base64url, missing padding) to standard base64, as a protobuf round trip would.
    return { bytesValue: Buffer.from(str(x, 'bytesValue'), 'base64').toString('base64') };
  }
  if ((x = field(o, 'arrayValue', 'array_value')) !== undefined) {
    const values = list(object(x, 'arrayValue'), 'values', 'values').map((e) => readAnyValue(e, depth + 1));
    return { arrayValue: { values } };
  }
  if ((x = field(o, 'kvlistValue', 'kvlist_value')) !== undefined) {
    const values = list(object(x, 'kvlistValue'), 'values', 'values').map((e) => readKeyValue(e, depth + 1));
    return { kvlistValue: { values } };
  }
  return {};
}

function readResource(v: unknown): Resource {
  const res: Resource = { attributes: {}, droppedAttributesCount: 0 };
  if (v === undefined || v === null) return res;
  const o = object(v, 'resource');
  readAttributes(o.attributes, res.attributes, 0);
  res.droppedAttributesCount = uint(field(o, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount');
  return res;
}

function readScope(v: unknown): InstrumentationScope {
  const scope: InstrumentationScope = { name: '', version: '', attributes: {}, droppedAttributesCount: 0 };
  if (v === undefined || v === null) return scope;
  const o = object(v, 'scope');
  scope.name = str(o.name, 'scope.name');
  scope.version = str(o.version, 'scope.version');
  readAttributes(o.attributes, scope.attributes, 0);
  scope.droppedAttributesCount = uint(field(o, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount');
  return scope;
}

function readSpan(o: Json): { span: Span } | string {
  const traceId = hexId(field(o, 'traceId', 'trace_id'), 'traceId');
  if (typeof traceId === 'string') return traceId;
  const spanId = hexId(field(o, 'spanId', 'span_id'), 'spanId');
  if (typeof spanId === 'string') return spanId;
  const parentSpanId = hexId(field(o, 'parentSpanId', 'parent_span_id'), 'parentSpanId');
  if (typeof parentSpanId === 'string') return parentSpanId;
  const span: Span = {
    traceId,
    spanId,
    parentSpanId,
    traceState: str(field(o, 'traceState', 'trace_state'), 'traceState'),
    name: str(o.name, 'name'),
    kind: enumValue(o.kind, SPAN_KINDS, 'kind'),
    startTimeUnixNano: nanos(field(o, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano'),
    endTimeUnixNano: nanos(field(o, 'endTimeUnixNano', 'end_time_unix_nano'), 'endTimeUnixNano'),
    attributes: {},
    droppedAttributesCount: uint(field(o, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount'),
    events: [],
    droppedEventsCount: uint(field(o, 'droppedEventsCount', 'dropped_events_count'), 'droppedEventsCount'),
    links: [],
    droppedLinksCount: uint(field(o, 'droppedLinksCount', 'dropped_links_count'), 'droppedLinksCount'),
    status: { code: 0, message: '' },
    flags: uint(o.flags, 'flags'),
  };
  readAttributes(o.attributes, span.attributes, 0);
  for (const evJson of list(o, 'events', 'events')) span.events.push(readEvent(object(evJson, 'event')));
  for (const linkJson of list(o, 'links', 'links')) {
    const link = readLink(object(linkJson, 'link'));
    if (typeof link === 'string') return link;
    span.links.push(link);
  }
  if (o.status !== undefined && o.status !== null) {
    const s = object(o.status, 'status');
    span.status = { code: enumValue(s.code, STATUS_CODES, 'status.code'), message: str(s.message, 'status.message') };
  }
  return { span };
}

function readEvent(o: Json): SpanEvent {
  const ev: SpanEvent = {
    timeUnixNano: nanos(field(o, 'timeUnixNano', 'time_unix_nano'), 'event timeUnixNano'),
    name: str(o.name, 'event name'),
    attributes: {},
    droppedAttributesCount: uint(field(o, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount'),
  };
  readAttributes(o.attributes, ev.attributes, 0);
  return ev;
}

function readLink(o: Json): SpanLink | string {
  const traceId = hexId(field(o, 'traceId', 'trace_id'), 'link traceId');
  if (typeof traceId === 'string') return traceId;
  const spanId = hexId(field(o, 'spanId', 'span_id'), 'link spanId');
  if (typeof spanId === 'string') return spanId;
  const link: SpanLink = {
    traceId,
    spanId,
    traceState: str(field(o, 'traceState', 'trace_state'), 'link traceState'),
    attributes: {},
    droppedAttributesCount: uint(field(o, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount'),
    flags: uint(o.flags, 'link flags'),
  };
  readAttributes(o.attributes, link.attributes, 0);
  return link;
}

const AGGREGATIONS: [string, string, MetricType][] = [
  ['gauge', 'gauge', 'gauge'],
  ['sum', 'sum', 'sum'],
  ['histogram', 'histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram', 'exponential_histogram'],
  ['summary', 'summary', 'summary'],
];

function readMetric(o: Json, out: MetricPoint[]): void {
  const name = str(o.name, 'metric name');
  const description = str(o.description, 'metric description');
  const unit = str(o.unit, 'metric unit');
  for (const [camel, snake, type] of AGGREGATIONS) {
    const aggJson = field(o, camel, snake);
    if (aggJson === undefined || aggJson === null) continue;
    const agg = object(aggJson, camel);
    const temporality = enumValue(
      field(agg, 'aggregationTemporality', 'aggregation_temporality'),
      TEMPORALITIES,
      'aggregationTemporality',
    );
    const mono = field(agg, 'isMonotonic', 'is_monotonic');
    const isMonotonic = mono === true;
    for (const pJson of list(agg, 'dataPoints', 'data_points')) {
      const p = object(pJson, 'dataPoints[]');
      const point: MetricPoint = {
        metricName: name,
        description,
        unit,
        type,
        temporality: type === 'gauge' || type === 'summary' ? 0 : temporality,
        isMonotonic: type === 'sum' && isMonotonic,
        attributes: {},
        startTimeUnixNano: nanos(field(p, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano'),
        timeUnixNano: nanos(field(p, 'timeUnixNano', 'time_unix_nano'), 'timeUnixNano'),
        value: null,
        count: null,
        sum: null,
        min: null,
        max: null,
        bucketCounts: null,
        explicitBounds: null,
      };
      readAttributes(p.attributes, point.attributes, 0);
      if (type === 'gauge' || type === 'sum') {
        const asDouble = field(p, 'asDouble', 'as_double');
        const asInt = field(p, 'asInt', 'as_int');
        if (asDouble !== undefined && asDouble !== null) point.value = double(asDouble, 'asDouble');
        else if (asInt !== undefined && asInt !== null) point.value = Number(int64(asInt, 'asInt'));
      } else {
        const count = p.count;
        point.count = count === undefined || count === null ? 0 : Number(nanos(count, 'count'));
        point.sum = optionalDouble(p.sum, 'sum');
        if (type !== 'summary') {
          point.min = optionalDouble(p.min, 'min');
          point.max = optionalDouble(p.max, 'max');
        }
        if (type === 'histogram') {
          point.bucketCounts = list(p, 'bucketCounts', 'bucket_counts').map((c) => Number(nanos(c, 'bucketCounts')));
          point.explicitBounds = list(p, 'explicitBounds', 'explicit_bounds').map((b) => double(b, 'explicitBounds'));
        }
      }
      out.push(point);
    }
  }
}
