// OTLP/JSON decoding (receiver/decode-json.ts) of what the round-trip and fuzz tests rarely hit
// exactly: uint32 counts at and past their bounds, doubles and enums given as strings, the nesting
// limit, the message of every refusal (a user fixes their exporter from it, so it must name the
// field and the rule), the partial-success reason of a rejected span, null as "not set", and the
// keys a metric kind does not have.
import { describe, expect, it } from 'vitest';
import { decodeMetricsJson, decodeTracesJson } from '../receiver/decode-json.ts';
import { DecodeError } from '../model/protobuf-wire.ts';

const TRACE = '5b8efff798038103d269b633813fc60c';
function traces(spans: Array<Record<string, unknown>>): string {
  return JSON.stringify({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeSpans: [{ scope: { name: 's' }, spans }] }],
  });
}
const span = (i: number, more: Record<string, unknown> = {}): Record<string, unknown> => ({
  traceId: TRACE, spanId: `eee19b7ec3c1b17${i}`, name: `span ${i}`, kind: 2, startTimeUnixNano: '1000', endTimeUnixNano: '2000', ...more,
});

describe('decodeTracesJson', () => {
  it('counts the spans it accepted', () => {
    const decoded = decodeTracesJson(traces([span(1), span(2), span(3)]));
    expect(decoded.spans).toBe(3);
    expect(decoded.request.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name)).toEqual(['span 1', 'span 2', 'span 3']);
  });

  it('takes a uint32 count as a number or a decimal string, up to 2^32 − 1', () => {
    for (const value of [0, 7, '7', 4294967295, '4294967295']) {
      const s = decodeTracesJson(traces([span(1, { droppedAttributesCount: value })])).request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
      expect(s.droppedAttributesCount, String(value)).toBe(Number(value));
    }
  });

  it('refuses a uint32 count that is negative, fractional, past 2^32 − 1 or not a number, saying which field', () => {
    for (const value of [-1, 1.5, 4294967296, '4294967296', '-1', '1e3', true, 'seven']) {
      expect(() => decodeTracesJson(traces([span(1, { droppedAttributesCount: value })])), JSON.stringify(value)).toThrow(DecodeError);
      expect(() => decodeTracesJson(traces([span(1, { droppedAttributesCount: value })]))).toThrow(/droppedAttributesCount must be an unsigned 32-bit integer/);
    }
  });
});

/** The message of the DecodeError a request is refused with (fails when it decodes). */
function refusal(decode: (text: string) => unknown, request: unknown): string {
  try {
    decode(typeof request === 'string' ? request : JSON.stringify(request));
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return (error as DecodeError).message;
  }
  throw new Error(`decoded without error: ${JSON.stringify(request).slice(0, 200)}`);
}
const tracesRefusal = (request: unknown): string => refusal(decodeTracesJson, request);
const metricsRefusal = (request: unknown): string => refusal(decodeMetricsJson, request);

const spanRequest = (more: Record<string, unknown>): Record<string, unknown> => JSON.parse(traces([span(1, more)])) as Record<string, unknown>;
const withValue = (value: unknown): Record<string, unknown> => spanRequest({ attributes: [{ key: 'a', value }] });
const firstSpan = (text: string) => decodeTracesJson(text).request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
const attribute = (value: unknown) => firstSpan(JSON.stringify(withValue(value))).attributes.a;

describe('decodeTracesJson refusals name the field and the rule', () => {
  it.each([
    ['text that is not JSON', '{"resourceSpans": [', /^invalid JSON: \S/],
    ['a request that is not an object', '[]', /request must be an object/],
    ['resourceSpans not an array', { resourceSpans: {} }, /resourceSpans must be an array/],
    ['a resourceSpans entry not an object', { resourceSpans: [7] }, /resourceSpans\[\] must be an object/],
    ['a span name not a string', spanRequest({ name: 5 }), /name must be a string/],
    ['a trace id not a string', spanRequest({ traceId: 5 }), /traceId must be a hex string/],
    ['attributes not an array', spanRequest({ attributes: { a: 1 } }), /attributes must be an array of \{key, value\}/],
    ['boolValue not a boolean', withValue({ boolValue: 'true' }), /boolValue must be true or false/],
    ['doubleValue a boolean', withValue({ doubleValue: true }), /doubleValue must be a number/],
    ['bytesValue not a string', withValue({ bytesValue: 5 }), /bytesValue must be a string/],
    ['arrayValue not an object', withValue({ arrayValue: [] }), /arrayValue must be an object/],
    ['arrayValue.values not an array', withValue({ arrayValue: { values: {} } }), /values must be an array/],
    ['kvlistValue not an object', withValue({ kvlistValue: [] }), /kvlistValue must be an object/],
    ['kvlistValue.values not an array', withValue({ kvlistValue: { values: 'x' } }), /values must be an array/],
    ['an event not an object', spanRequest({ events: [5] }), /event must be an object/],
    ['an event time that is negative', spanRequest({ events: [{ timeUnixNano: -1 }] }), /event timeUnixNano must be an unsigned 64-bit integer/],
    ['an event name not a string', spanRequest({ events: [{ name: 5 }] }), /event name must be a string/],
    ['an event dropped count that is negative', spanRequest({ events: [{ droppedAttributesCount: -1 }] }), /droppedAttributesCount must be an unsigned 32-bit/],
    ['a link not an object', spanRequest({ links: ['x'] }), /link must be an object/],
    ['a link trace id not a string', spanRequest({ links: [{ traceId: 1 }] }), /link traceId must be a hex string/],
    ['a link span id not a string', spanRequest({ links: [{ traceId: TRACE, spanId: 1 }] }), /link spanId must be a hex string/],
    ['a link trace state not a string', spanRequest({ links: [{ traceState: 1 }] }), /link traceState must be a string/],
    ['a link dropped count that is negative', spanRequest({ links: [{ droppedAttributesCount: -1 }] }), /droppedAttributesCount must be an unsigned 32-bit/],
    ['link flags that are negative', spanRequest({ links: [{ flags: -1 }] }), /link flags must be an unsigned 32-bit/],
  ])('refuses %s', (_, request, message) => {
    expect(tracesRefusal(request)).toMatch(message);
  });
});

describe('decodeTracesJson numbers', () => {
  it('reads a double given as a decimal string, and the three non-finite names', () => {
    expect(attribute({ doubleValue: '1.5' })).toEqual({ doubleValue: 1.5 });
    expect(attribute({ doubleValue: '-2e3' })).toEqual({ doubleValue: -2000 });
    expect(attribute({ doubleValue: 'Infinity' })).toEqual({ doubleValue: 'Infinity' });
    expect(attribute({ doubleValue: '-Infinity' })).toEqual({ doubleValue: '-Infinity' });
  });

  it('refuses a double given as an empty, blank or non-numeric string', () => {
    for (const text of ['', '   ', 'abc', '1.5x', 'infinity']) {
      expect(tracesRefusal(withValue({ doubleValue: text })), JSON.stringify(text)).toMatch(/doubleValue must be a number/);
    }
  });

  it('reads an enum as a name, an integer or a decimal string, and nothing else', () => {
    expect(firstSpan(traces([span(1, { kind: 'SPAN_KIND_CONSUMER' })])).kind).toBe(5);
    expect(firstSpan(traces([span(1, { kind: '4' })])).kind).toBe(4);
    // proto3 enums are open: an unknown number is kept, as the protobuf decoder keeps it.
    expect(firstSpan(traces([span(1, { kind: '12' })])).kind).toBe(12);
    expect(firstSpan(traces([span(1, { status: { code: '2' } })])).status.code).toBe(2);
    for (const kind of ['12a', 'a12', ' 12', '1.5', [2], true]) {
      expect(tracesRefusal(spanRequest({ kind })), JSON.stringify(kind)).toMatch(`kind must be an enum integer or name, got ${JSON.stringify(kind)}`);
    }
  });
});

describe('decodeTracesJson AnyValue nesting', () => {
  /** A value `levels` AnyValues deep through arrays: an array in an array … around a string. */
  const arrays = (levels: number): unknown => (levels === 1 ? { stringValue: 'leaf' } : { arrayValue: { values: [arrays(levels - 1)] } });
  /** `lists` key-value lists, each holding the next under key 'k', around a string: a list costs two levels (its KeyValue and the AnyValue in it). */
  const kvlists = (lists: number): unknown => (lists === 0 ? { stringValue: 'leaf' } : { kvlistValue: { values: [{ key: 'k', value: kvlists(lists - 1) }] } });
  const leaf = (value: unknown): unknown => JSON.stringify(value).match(/"stringValue":"leaf"/g)?.length;

  it('takes 64 levels of arrays and refuses 65', () => {
    const deepest = attribute(arrays(64));
    expect(leaf(deepest)).toBe(1); // the leaf came through all 64 levels
    expect(tracesRefusal(withValue(arrays(65)))).toMatch(/AnyValue nested deeper than 64/);
  });

  it('takes 31 nested key-value lists (63 levels) and refuses 32 (65 levels)', () => {
    expect(leaf(attribute(kvlists(31)))).toBe(1);
    expect(tracesRefusal(withValue(kvlists(32)))).toMatch(/AnyValue nested deeper than 64/);
  });
});

describe('decodeTracesJson rejected spans', () => {
  const reasons = (spans: Array<Record<string, unknown>>): string => {
    const decoded = decodeTracesJson(traces(spans));
    return decoded.rejected.message('span');
  };

  it('rejects a span whose id is not hex alone, naming the span and the id', () => {
    const decoded = decodeTracesJson(traces([span(1, { name: 'checkout', traceId: 'zz' }), span(2)]));
    expect(decoded.spans).toBe(1);
    expect(decoded.rejected.count).toBe(1);
    expect(decoded.rejected.message('span')).toBe("rejected 1 span: span 'checkout': traceId 'zz' is not hex");
  });

  it('shows at most 40 characters of a bad id', () => {
    const id = 'q'.repeat(30) + 'r'.repeat(30);
    expect(reasons([span(1, { spanId: id })])).toContain(`span 'span 1': spanId '${id.slice(0, 40)}' is not hex`);
  });

  it('names a rejected span with no usable name as ""', () => {
    expect(reasons([span(1, { name: undefined, parentSpanId: 'xyz' })])).toContain("span '': parentSpanId 'xyz' is not hex");
    expect(reasons([span(1, { name: 5, parentSpanId: 'xyz' })])).toContain("span '': parentSpanId 'xyz' is not hex");
  });

  it('rejects a span with a link whose ids are not hex, naming the link id', () => {
    expect(reasons([span(1, { links: [{ traceId: 'nothex', spanId: 'eee19b7ec3c1b171' }] })])).toContain("span 'span 1': link traceId 'nothex' is not hex");
    expect(reasons([span(1, { links: [{ traceId: TRACE, spanId: 'nothex!' }] })])).toContain("span 'span 1': link spanId 'nothex!' is not hex");
  });
});

describe('decodeMetricsJson', () => {
  it("reads a histogram point's count, and 0 when it is left out", () => {
    const metrics = (count: unknown): string =>
      JSON.stringify({
        resourceMetrics: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
          scopeMetrics: [{ scope: { name: 's' }, metrics: [{ name: 'latency', unit: 'ms', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: '1000', ...(count === undefined ? {} : { count }), sum: 3, bucketCounts: ['1', '2'], explicitBounds: [1] }] } }] }],
        }],
      });
    const point = (count: unknown) => decodeMetricsJson(metrics(count)).request.resourceMetrics[0]!.scopeMetrics[0]!.points[0]!;
    expect(point('3').count).toBe(3);
    expect(point(3).count).toBe(3);
    expect(point(undefined).count).toBe(0);
    expect(point(null).count).toBe(0);
  });
});

/** A metrics request with the given metrics; `resource` and `scope` add fields to those levels. */
function metricsRequest(metrics: unknown[], more: { resource?: Record<string, unknown>; scope?: Record<string, unknown> } = {}): Record<string, unknown> {
  return { resourceMetrics: [{ ...more.resource, scopeMetrics: [{ scope: { name: 's' }, ...more.scope, metrics }] }] };
}
const TIMES = { startTimeUnixNano: '1000', timeUnixNano: '2000' };
const metricPoints = (request: Record<string, unknown>) => decodeMetricsJson(JSON.stringify(request)).request.resourceMetrics[0]!.scopeMetrics[0]!.points;
const onePoint = (metric: Record<string, unknown>) => metricPoints(metricsRequest([{ name: 'm', ...metric }]))[0]!;
const gaugePoint = (point: Record<string, unknown>) => onePoint({ gauge: { dataPoints: [{ ...TIMES, ...point }] } });
const histogramPoint = (point: Record<string, unknown>) => metricsRequest([{ name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [{ ...TIMES, count: '1', ...point }] } }]);

describe('decodeMetricsJson refusals name the field and the rule', () => {
  it.each([
    ['resourceMetrics not an array', { resourceMetrics: {} }, /resourceMetrics must be an array/],
    ['a resourceMetrics entry not an object', { resourceMetrics: [5] }, /resourceMetrics\[\] must be an object/],
    ['a resource schemaUrl not a string', metricsRequest([], { resource: { schemaUrl: 5 } }), /schemaUrl must be a string/],
    ['a scopeMetrics entry not an object', { resourceMetrics: [{ scopeMetrics: [5] }] }, /scopeMetrics\[\] must be an object/],
    ['a scope schemaUrl not a string', metricsRequest([], { scope: { schemaUrl: 5 } }), /schemaUrl must be a string/],
    ['metrics not an array', { resourceMetrics: [{ scopeMetrics: [{ metrics: {} }] }] }, /metrics must be an array/],
    ['a metric not an object', metricsRequest([5]), /metrics\[\] must be an object/],
    ['a metric name not a string', metricsRequest([{ name: 5 }]), /metric name must be a string/],
    ['a metric description not a string', metricsRequest([{ name: 'm', description: 5 }]), /metric description must be a string/],
    ['a metric unit not a string', metricsRequest([{ name: 'm', unit: 5 }]), /metric unit must be a string/],
    ['an aggregation not an object', metricsRequest([{ name: 'm', sum: [] }]), /sum must be an object/],
    ['an unknown temporality', metricsRequest([{ name: 'm', sum: { aggregationTemporality: 'DELTA' } }]), /aggregationTemporality must be an enum integer or name, got "DELTA"/],
    ['dataPoints not an array', metricsRequest([{ name: 'm', gauge: { dataPoints: {} } }]), /dataPoints must be an array/],
    ['a data point not an object', metricsRequest([{ name: 'm', gauge: { dataPoints: [5] } }]), /dataPoints\[\] must be an object/],
    ['a negative start time', metricsRequest([{ name: 'm', gauge: { dataPoints: [{ startTimeUnixNano: -1 }] } }]), /startTimeUnixNano must be an unsigned 64-bit/],
    ['a negative time', metricsRequest([{ name: 'm', gauge: { dataPoints: [{ timeUnixNano: '-1' }] } }]), /timeUnixNano must be an unsigned 64-bit/],
    ['asDouble not a number', metricsRequest([{ name: 'm', gauge: { dataPoints: [{ asDouble: 'x' }] } }]), /asDouble must be a number/],
    ['asInt a fraction', metricsRequest([{ name: 'm', gauge: { dataPoints: [{ asInt: 1.5 }] } }]), /asInt must be a 64-bit integer/],
    ['a negative count', histogramPoint({ count: -1 }), /count must be an unsigned 64-bit/],
    ['a sum not a number', histogramPoint({ sum: 'x' }), /sum must be a number/],
    ['a min not a number', histogramPoint({ min: 'x' }), /min must be a number/],
    ['a max not a number', histogramPoint({ max: 'x' }), /max must be a number/],
    ['a negative bucket count', histogramPoint({ bucketCounts: [-1] }), /bucketCounts must be an unsigned 64-bit/],
    ['a bound not a number', histogramPoint({ explicitBounds: ['x'] }), /explicitBounds must be a number/],
  ])('refuses %s', (_, request, message) => {
    expect(metricsRefusal(request)).toMatch(message);
  });
});

describe('decodeMetricsJson fields', () => {
  it('counts the points of every scope and resource, and rejects none of a valid request', () => {
    const scope = (n: number) => ({ metrics: [{ name: 'g', gauge: { dataPoints: Array.from({ length: n }, () => ({ ...TIMES, asInt: 1 })) } }] });
    const decoded = decodeMetricsJson(JSON.stringify({ resourceMetrics: [{ scopeMetrics: [scope(2), scope(3)] }, { scopeMetrics: [scope(4)] }] }));
    expect(decoded.points).toBe(9);
    expect(decoded.rejected.count).toBe(0);
    expect(decoded.request.resourceMetrics.map((rm) => rm.scopeMetrics.map((sm) => sm.points.length))).toEqual([[2, 3], [4]]);
  });

  it('reads null as "not set" for an aggregation, a value, a sum, a min and a max (proto3 JSON mapping)', () => {
    expect(onePoint({ gauge: null, sum: { aggregationTemporality: 1, dataPoints: [{ ...TIMES, asInt: '3' }] } })).toMatchObject({ type: 'sum', value: 3 });
    expect(gaugePoint({ asDouble: null, asInt: '5' }).value).toBe(5);
    expect(gaugePoint({ asInt: null }).value).toBeNull();
    expect(gaugePoint({}).value).toBeNull();
    const h = metricPoints(histogramPoint({ sum: null, min: null, max: null }))[0]!;
    expect([h.count, h.sum, h.min, h.max]).toEqual([1, null, null, null]);
  });

  it('ignores the keys a kind does not have: temporality on a gauge or summary, monotonic off a sum, min and max on a summary', () => {
    // Gauge and Summary have no aggregation_temporality, only Sum has is_monotonic and Summary no
    // min/max (metrics.proto): unknown keys, ignored as the JSON mapping ignores any unknown key.
    const extra = { aggregationTemporality: 2, isMonotonic: true };
    expect(onePoint({ gauge: { ...extra, dataPoints: [{ ...TIMES, asInt: 1 }] } })).toMatchObject({ type: 'gauge', temporality: 0, isMonotonic: false });
    const summary = onePoint({ summary: { ...extra, dataPoints: [{ ...TIMES, count: 2, sum: 3, min: 1, max: 2 }] } });
    expect(summary).toMatchObject({ type: 'summary', temporality: 0, isMonotonic: false, count: 2, sum: 3, min: null, max: null });
    expect(onePoint({ histogram: { ...extra, dataPoints: [{ ...TIMES, count: 2, min: 1, max: 2 }] } })).toMatchObject({ type: 'histogram', temporality: 2, isMonotonic: false, min: 1, max: 2 });
    expect(onePoint({ sum: { ...extra, dataPoints: [{ ...TIMES, asInt: 1 }] } })).toMatchObject({ type: 'sum', temporality: 2, isMonotonic: true });
  });
});
