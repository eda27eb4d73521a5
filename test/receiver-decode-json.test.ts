// OTLP/JSON decoding (receiver/decode-json.ts) of the values the fuzz tests rarely hit exactly:
// uint32 counts at and past their bounds, as numbers and as decimal strings, the count of spans
// accepted, and a histogram point's count when it is left out.
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
