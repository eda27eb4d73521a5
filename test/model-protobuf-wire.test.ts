// The one protobuf wire module (model/protobuf-wire.ts, model/otlp-fields.ts) against protobufjs:
// every named field tag has the number and wire type protobufjs reads from the .proto text of the
// test oracle, and what ProtobufWriter writes (nested lengths of every size, long tags, negative
// int64, exact nanosecond times, non-ASCII strings) reads back with protobufjs's own reader.
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import * as Fields from '../model/otlp-fields.ts';
import { ProtobufReader, ProtobufWriter, tag, WireType } from '../model/protobuf-wire.ts';
import { Oracle } from './helpers/receiver-oracle.ts';

const root = Oracle.Span.root;
const type = (name: string): protobuf.Type => root.lookupType(`opentelemetry.proto.${name}`);

/** A field's wire type from its protobufjs type; repeated numbers are packed (one LEN field), proto3's default. */
function wireTypeOf(field: protobuf.Field): number {
  field.resolve();
  if (field.resolvedType !== null && !(field.resolvedType instanceof protobuf.Enum)) return WireType.LEN;
  if (field.repeated && (protobuf.types.packed as Record<string, number | undefined>)[field.type] !== undefined) return WireType.LEN;
  switch (field.type) {
    case 'string':
    case 'bytes':
      return WireType.LEN;
    case 'fixed64':
    case 'sfixed64':
    case 'double':
      return WireType.I64;
    case 'fixed32':
    case 'sfixed32':
    case 'float':
      return WireType.I32;
    default:
      return WireType.VARINT;
  }
}

/** UPPER_SNAKE (otlp-fields.ts) → protobufjs's camelCase field name. */
const camel = (name: string): string => name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Tag objects and the oracle messages they name; `alias` maps a property shared by several messages to each one's field. */
const CHECKED: Array<{ tags: Readonly<Record<string, number>>; messages: string[]; alias?: Record<string, string[]> }> = [
  { tags: Fields.ExportTraceServiceRequestTag, messages: ['ExportTraceServiceRequest'] },
  { tags: Fields.ExportMetricsServiceRequestTag, messages: ['ExportMetricsServiceRequest'] },
  { tags: Fields.ExportServiceResponseTag, messages: ['ExportTraceServiceResponse', 'ExportMetricsServiceResponse'] },
  {
    tags: Fields.ExportPartialSuccessTag,
    messages: ['ExportTracePartialSuccess', 'ExportMetricsPartialSuccess'],
    alias: { REJECTED: ['rejectedSpans', 'rejectedDataPoints'] },
  },
  { tags: Fields.AnyValueTag, messages: ['AnyValue'] },
  { tags: Fields.ValuesTag, messages: ['ArrayValue', 'KeyValueList'] },
  { tags: Fields.KeyValueTag, messages: ['KeyValue'] },
  { tags: Fields.InstrumentationScopeTag, messages: ['InstrumentationScope'] },
  { tags: Fields.ResourceTag, messages: ['Resource'] },
  { tags: Fields.ResourceSpansTag, messages: ['ResourceSpans'] },
  { tags: Fields.ScopeSpansTag, messages: ['ScopeSpans'] },
  { tags: Fields.SpanTag, messages: ['Span'] },
  { tags: Fields.SpanEventTag, messages: ['Span.Event'] },
  { tags: Fields.SpanLinkTag, messages: ['Span.Link'] },
  { tags: Fields.StatusTag, messages: ['Status'] },
  { tags: Fields.ResourceMetricsTag, messages: ['ResourceMetrics'] },
  { tags: Fields.ScopeMetricsTag, messages: ['ScopeMetrics'] },
  { tags: Fields.MetricTag, messages: ['Metric'] },
  { tags: Fields.AggregationTag, messages: ['Sum'] },
  { tags: { DATA_POINTS: Fields.AggregationTag.DATA_POINTS, AGGREGATION_TEMPORALITY: Fields.AggregationTag.AGGREGATION_TEMPORALITY }, messages: ['Histogram', 'ExponentialHistogram'] },
  { tags: { DATA_POINTS: Fields.AggregationTag.DATA_POINTS }, messages: ['Gauge', 'Summary'] },
  { tags: Fields.NumberDataPointTag, messages: ['NumberDataPoint'] },
  { tags: Fields.HistogramDataPointTag, messages: ['HistogramDataPoint'] },
  { tags: Fields.ExponentialHistogramDataPointTag, messages: ['ExponentialHistogramDataPoint'] },
  { tags: Fields.SummaryDataPointTag, messages: ['SummaryDataPoint'] },
  { tags: Fields.RpcStatusTag, messages: ['RpcStatus'] },
  { tags: Fields.AnyTag, messages: ['AnyMessage'] },
  { tags: Fields.ErrorInfoTag, messages: ['ErrorInfo'] },
];

describe('OTLP field tags (model/otlp-fields.ts)', () => {
  it('name the field number and wire type the .proto gives each field', () => {
    let checked = 0;
    for (const { tags, messages, alias } of CHECKED) {
      messages.forEach((message, i) => {
        const fields = type(message).fields;
        for (const [name, value] of Object.entries(tags)) {
          const fieldName = alias?.[name]?.[i] ?? camel(name);
          const field = fields[fieldName];
          expect(field, `${message}.${fieldName}`).toBeDefined();
          expect({ field: value >>> 3, wire: value & 7 }, `${message}.${fieldName}`).toEqual({ field: field!.id, wire: wireTypeOf(field!) });
          checked += 1;
        }
      });
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('number the point fields the metrics decoder shares alike in every point type', () => {
    const points = [Fields.NumberDataPointTag, Fields.HistogramDataPointTag, Fields.ExponentialHistogramDataPointTag, Fields.SummaryDataPointTag];
    for (const point of points) {
      expect(point.START_TIME_UNIX_NANO).toBe(Fields.NumberDataPointTag.START_TIME_UNIX_NANO);
      expect(point.TIME_UNIX_NANO).toBe(Fields.NumberDataPointTag.TIME_UNIX_NANO);
    }
    for (const point of points.slice(1) as Array<{ COUNT: number; SUM: number }>) {
      expect(point.COUNT).toBe(Fields.HistogramDataPointTag.COUNT);
      expect(point.SUM).toBe(Fields.HistogramDataPointTag.SUM);
    }
  });
});

describe('ProtobufWriter', () => {
  it('writes what protobufjs reads: nested lengths of 1 to 4 bytes, long tags, every scalar', () => {
    const w = new ProtobufWriter(16);
    const sizes = [0, 127, 128, 16_383, 16_384, 2_097_152];
    const seconds = 1_764_000_123;
    w.tag(tag(2047, WireType.LEN)); // a three-byte tag
    const outer = w.open();
    for (const size of sizes) {
      w.ensure();
      w.tag(tag(1, WireType.LEN));
      const inner = w.open();
      w.bytes(Buffer.alloc(size, size % 251));
      w.close(inner);
    }
    w.tag(tag(16, WireType.I32));
    w.fixed32(0x8000_0101);
    w.tag(tag(3, WireType.VARINT));
    w.int64(-3);
    w.tag(tag(3, WireType.VARINT));
    w.varint(2 ** 40 + 5);
    w.tag(tag(4, WireType.I64));
    w.double(-0.1);
    w.tag(tag(7, WireType.I64));
    w.time(seconds, 999_999_999);
    w.tag(tag(5, WireType.LEN));
    w.string('tést 用户');
    w.tag(tag(5, WireType.LEN));
    w.string('x'.repeat(20_000));
    w.tag(tag(5, WireType.LEN));
    w.string2('GET', '/produkt/{ïd}');
    w.tag(tag(1, WireType.LEN));
    w.hexId('0af7651916cd43dd8448eb211c80319c');
    w.close(outer);
    const bytes = w.copy();

    const r = protobuf.Reader.create(bytes);
    expect(r.uint32()).toBe((2047 << 3) | 2);
    const end = r.uint32() + r.pos;
    expect(end).toBe(bytes.length);
    for (const size of sizes) {
      expect(r.uint32()).toBe(0x0a);
      const inner = Buffer.from(r.bytes());
      expect(inner.length).toBe(size);
      expect(inner.every((b) => b === size % 251)).toBe(true);
    }
    expect(r.uint32()).toBe((16 << 3) | 5);
    expect(r.fixed32()).toBe(0x8000_0101);
    r.uint32();
    expect(r.int64().toString()).toBe('-3');
    r.uint32();
    expect(r.uint64().toString()).toBe(String(2 ** 40 + 5));
    r.uint32();
    expect(r.double()).toBe(-0.1);
    r.uint32();
    expect(BigInt(r.fixed64().toString())).toBe(BigInt(seconds) * 1_000_000_000n + 999_999_999n);
    r.uint32();
    expect(r.string()).toBe('tést 用户');
    r.uint32();
    expect(r.string()).toBe('x'.repeat(20_000));
    r.uint32();
    expect(r.string()).toBe('GET /produkt/{ïd}');
    r.uint32();
    expect(Buffer.from(r.bytes()).toString('hex')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(r.pos).toBe(end);

    // And the receiver's reader reads the same bytes the same way.
    const ours = new ProtobufReader(bytes);
    expect(ours.uint32(bytes.length)).toBe((2047 << 3) | 2);
    expect(ours.lengthEnd(bytes.length)).toBe(bytes.length);
  });

  it('refuses an id that is not hex', () => {
    expect(() => new ProtobufWriter().hexId('0af765191xcd43dd')).toThrow(/not a hex id/);
    expect(() => new ProtobufWriter().hexId('abc')).toThrow(/not a hex id/);
  });

  it('copy() is a snapshot: later writes do not change it', () => {
    const w = new ProtobufWriter();
    w.string('first');
    const first = w.copy();
    w.pos = 0;
    w.string('other');
    expect(first.toString('latin1', 1)).toBe('first');
  });
});
