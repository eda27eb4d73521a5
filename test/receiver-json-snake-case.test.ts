// OTLP/JSON under its proto field names. OTLP has senders write lowerCamelCase keys only
// (opentelemetry-proto specification.md, "JSON Protobuf Encoding"), but the proto3 JSON mapping has
// parsers accept the proto field name too, and receiver/decode-json.ts reads both (liberal like the
// Collector, its header says). A rich trace request and a metrics request with every kind, each key
// renamed to snake_case, must decode to exactly what the camelCase text decodes to, and that must be
// the independent expectation (the fixture's model; the protobuf decoder's result for the same
// request encoded by protobufjs).
import { describe, expect, it } from 'vitest';
import { decodeMetricsJson, decodeTracesJson } from '../receiver/decode-json.ts';
import { decodeMetricsProtobuf } from '../receiver/decode-protobuf.ts';
import { richExpected, richJsonRequest } from './helpers/receiver-fixtures.ts';
import { encodeWith, Oracle } from './helpers/receiver-oracle.ts';

/**
 * Every object key of a JSON text in snake_case. Done on the text, not on a parsed copy, so that
 * the fixture's integers past 2^53 keep their exact digits: in valid JSON a string followed by a
 * colon is always a key, and the fixtures have no escaped quote inside a key.
 */
function snakeCaseKeys(json: string): string {
  return json.replace(/"(\w+)"(\s*):/g, (_, key: string, space: string) => `"${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}"${space}:`);
}

const CAMEL_KEY = /"[a-z]+[A-Z]\w*"\s*:/;

/** Every metric kind, with every field the decoder reads; 64-bit values as strings (valid for protobufjs and for JSON). */
function richMetrics(): Record<string, unknown> {
  const attributes = [{ key: 'endpoint', value: { stringValue: '/cart' } }];
  const times = { startTimeUnixNano: '1764000000000000001', timeUnixNano: '1764000010000000002' };
  return {
    resourceMetrics: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }], droppedAttributesCount: 3 },
      schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
      scopeMetrics: [{
        scope: { name: 'meter', version: '1.2', attributes: [{ key: 'scope.attr', value: { boolValue: true } }], droppedAttributesCount: 1 },
        schemaUrl: 'https://example.test/scope',
        metrics: [
          {
            name: 'users',
            description: 'active users',
            unit: '{user}',
            gauge: { dataPoints: [{ attributes, ...times, asInt: '-12' }, { attributes, ...times, asDouble: 0.5 }] },
          },
          { name: 'requests', unit: '{request}', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ attributes, ...times, asDouble: 340.5 }] } },
          {
            name: 'latency',
            unit: 'ms',
            histogram: {
              aggregationTemporality: 2,
              dataPoints: [{ attributes, ...times, count: '6', sum: 123.5, bucketCounts: ['1', '2', '3'], explicitBounds: [10, 100], min: 1.5, max: 250 }],
            },
          },
          {
            name: 'latency.exp',
            exponentialHistogram: {
              aggregationTemporality: 1,
              dataPoints: [{ attributes, ...times, count: '4', sum: 10, scale: 3, zeroCount: '1', positive: { offset: -2, bucketCounts: ['1', '2'] }, min: 0.25, max: 7 }],
            },
          },
          { name: 'latency.summary', summary: { dataPoints: [{ attributes, ...times, count: '9', sum: 99, quantileValues: [{ quantile: 0.5, value: 10 }] }] } },
        ],
      }],
    }],
  };
}

describe('OTLP/JSON with snake_case (proto) field names', () => {
  it('decodes a rich trace request (events, links, every AnyValue kind) exactly as under camelCase', () => {
    const camel = richJsonRequest();
    const snake = snakeCaseKeys(camel);
    // The renaming reached every level: no camelCase key is left, and the nested ones are renamed.
    expect(camel).toMatch(CAMEL_KEY);
    expect(snake).not.toMatch(CAMEL_KEY);
    for (const key of ['resource_spans', 'time_unix_nano', 'bytes_value', 'array_value', 'kvlist_value', 'trace_state', 'dropped_links_count']) {
      expect(snake).toContain(`"${key}"`);
    }

    const fromSnake = decodeTracesJson(snake);
    expect(fromSnake.request).toEqual(richExpected());
    expect(fromSnake).toEqual(decodeTracesJson(camel));
    // Not an empty comparison: the span, its event, its link and nested values all came through.
    expect(fromSnake.spans).toBe(1);
    expect(fromSnake.rejected.count).toBe(0);
    const span = fromSnake.request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span.events.map((e) => [e.name, e.timeUnixNano, e.droppedAttributesCount])).toEqual([['e1', 1764000000123456790n, 1]]);
    expect(Buffer.from(span.links[0]!.traceId).toString('hex')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span.links[0]).toMatchObject({ traceState: 'a=b', droppedAttributesCount: 4, flags: 0x101 });
    expect(span.attributes.kv).toEqual({ kvlistValue: { values: [{ key: 'inner', value: { doubleValue: 1.5 } }, { key: 'empty', value: {} }] } });
    expect(span.attributes.bytes).toEqual({ bytesValue: 'AAEC/w==' });
  });

  it('decodes every metric kind exactly as under camelCase, and as the protobuf decoder does', () => {
    const request = richMetrics();
    const camel = JSON.stringify(request);
    const snake = snakeCaseKeys(camel);
    expect(snake).not.toMatch(CAMEL_KEY);
    expect(snake).toContain('"exponential_histogram"');

    const fromCamel = decodeMetricsJson(camel);
    expect(fromCamel.request).toEqual(decodeMetricsProtobuf(encodeWith(Oracle.MetricsRequest, request)).request);
    const fromSnake = decodeMetricsJson(snake);
    expect(fromSnake).toEqual(fromCamel);

    expect(fromSnake.points).toBe(6);
    expect(fromSnake.rejected.count).toBe(0);
    const rm = fromSnake.request.resourceMetrics[0]!;
    expect(rm.schemaUrl).toBe('https://opentelemetry.io/schemas/1.30.0');
    expect(rm.resource.droppedAttributesCount).toBe(3);
    const sm = rm.scopeMetrics[0]!;
    expect(sm.schemaUrl).toBe('https://example.test/scope');
    expect(sm.scope).toEqual({ name: 'meter', version: '1.2', attributes: { 'scope.attr': { boolValue: true } }, droppedAttributesCount: 1 });
    const [users, half, requests, latency, exp, summary] = sm.points;
    expect([users!.value, half!.value]).toEqual([-12, 0.5]);
    expect(users).toMatchObject({ metricName: 'users', type: 'gauge', startTimeUnixNano: 1764000000000000001n, timeUnixNano: 1764000010000000002n });
    expect(users!.attributes).toEqual({ endpoint: { stringValue: '/cart' } });
    expect(requests).toMatchObject({ type: 'sum', temporality: 1, isMonotonic: true, value: 340.5 });
    expect(latency).toMatchObject({ type: 'histogram', temporality: 2, count: 6, sum: 123.5, min: 1.5, max: 250, bucketCounts: [1, 2, 3], explicitBounds: [10, 100] });
    expect(exp).toMatchObject({ type: 'exponential_histogram', temporality: 1, count: 4, sum: 10, min: 0.25, max: 7 });
    expect(summary).toMatchObject({ type: 'summary', temporality: 0, count: 9, sum: 99 });
  });
});
