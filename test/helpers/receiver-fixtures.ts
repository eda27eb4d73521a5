// One rich OTLP trace request written three ways, by hand: as protobufjs input (the oracle encodes
// it), as OTLP/JSON text, and as the decoded model both of firstspan's decoders must produce.
// It covers every AnyValue kind, int64 extremes, the largest storable fixed64 time (2^63 - 1), flags above bit 8,
// events, links, status and every dropped count.
import type { TracesRequest } from '../../model/otlp.ts';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');

export const IDS = {
  trace: '5b8efff798038103d269b633813fc60c',
  span: 'eee19b7ec3c1b174',
  parent: 'eee19b7ec3c1b173',
  linkTrace: '0af7651916cd43dd8448eb211c80319c',
  linkSpan: 'b7ad6b7169203331',
};

/** protobufjs object form: bytes as Buffers, 64-bit values as decimal strings. */
export function richOracleRequest(): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [{ key: 'service.name', value: { stringValue: 'rich' } }],
          droppedAttributesCount: 1,
        },
        schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
        scopeSpans: [
          {
            scope: { name: 'lib', version: '9.9', attributes: [{ key: 'scope.attr', value: { intValue: '1' } }], droppedAttributesCount: 2 },
            schemaUrl: 'https://example.test/scope',
            spans: [
              {
                traceId: hex(IDS.trace),
                spanId: hex(IDS.span),
                parentSpanId: hex(IDS.parent),
                traceState: 'k=v',
                name: 'op ü',
                kind: 3,
                flags: 0x301,
                startTimeUnixNano: '1764000000123456789',
                endTimeUnixNano: '9223372036854775807',
                attributes: [
                  { key: 's', value: { stringValue: 'ü ✓' } },
                  { key: 'b', value: { boolValue: true } },
                  { key: 'imin', value: { intValue: '-9223372036854775808' } },
                  { key: 'imax', value: { intValue: '9223372036854775807' } },
                  { key: 'ineg', value: { intValue: '-1' } },
                  { key: 'd', value: { doubleValue: -0.25 } },
                  { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2, 255]) } },
                  {
                    key: 'arr',
                    value: {
                      arrayValue: {
                        values: [{ stringValue: 'x' }, { intValue: '5' }, { arrayValue: { values: [{ boolValue: true }] } }],
                      },
                    },
                  },
                  {
                    key: 'kv',
                    value: { kvlistValue: { values: [{ key: 'inner', value: { doubleValue: 1.5 } }, { key: 'empty', value: {} }] } },
                  },
                  { key: 'none', value: {} },
                ],
                droppedAttributesCount: 3,
                events: [
                  {
                    timeUnixNano: '1764000000123456790',
                    name: 'e1',
                    attributes: [{ key: 'ev', value: { stringValue: 'yes' } }],
                    droppedAttributesCount: 1,
                  },
                ],
                droppedEventsCount: 2,
                links: [
                  {
                    traceId: hex(IDS.linkTrace),
                    spanId: hex(IDS.linkSpan),
                    traceState: 'a=b',
                    attributes: [{ key: 'ln', value: { intValue: '7' } }],
                    droppedAttributesCount: 4,
                    flags: 0x101,
                  },
                ],
                droppedLinksCount: 5,
                status: { code: 2, message: 'boom' },
              },
            ],
          },
        ],
      },
    ],
  };
}

/** The same request as OTLP/JSON text: hex ids (upper case here), int64 as strings, enums as ints. */
export function richJsonRequest(): string {
  return `{
  "resourceSpans": [{
    "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "rich" } }], "droppedAttributesCount": 1 },
    "schemaUrl": "https://opentelemetry.io/schemas/1.30.0",
    "scopeSpans": [{
      "scope": { "name": "lib", "version": "9.9", "attributes": [{ "key": "scope.attr", "value": { "intValue": 1 } }], "droppedAttributesCount": 2 },
      "schemaUrl": "https://example.test/scope",
      "spans": [{
        "traceId": "${IDS.trace.toUpperCase()}", "spanId": "${IDS.span}", "parentSpanId": "${IDS.parent}",
        "traceState": "k=v", "name": "op \\u00fc", "kind": 3, "flags": ${0x301},
        "startTimeUnixNano": 1764000000123456789, "endTimeUnixNano": "9223372036854775807",
        "attributes": [
          { "key": "s", "value": { "stringValue": "ü ✓" } },
          { "key": "b", "value": { "boolValue": true } },
          { "key": "imin", "value": { "intValue": "-9223372036854775808" } },
          { "key": "imax", "value": { "intValue": 9223372036854775807 } },
          { "key": "ineg", "value": { "intValue": -1 } },
          { "key": "d", "value": { "doubleValue": -0.25 } },
          { "key": "bytes", "value": { "bytesValue": "AAEC/w==" } },
          { "key": "arr", "value": { "arrayValue": { "values": [{ "stringValue": "x" }, { "intValue": "5" }, { "arrayValue": { "values": [{ "boolValue": true }] } }] } } },
          { "key": "kv", "value": { "kvlistValue": { "values": [{ "key": "inner", "value": { "doubleValue": 1.5 } }, { "key": "empty", "value": {} }] } } },
          { "key": "none", "value": {} }
        ],
        "droppedAttributesCount": 3,
        "events": [{ "timeUnixNano": "1764000000123456790", "name": "e1", "attributes": [{ "key": "ev", "value": { "stringValue": "yes" } }], "droppedAttributesCount": 1 }],
        "droppedEventsCount": 2,
        "links": [{ "traceId": "${IDS.linkTrace}", "spanId": "${IDS.linkSpan}", "traceState": "a=b", "attributes": [{ "key": "ln", "value": { "intValue": "7" } }], "droppedAttributesCount": 4, "flags": ${0x101} }],
        "droppedLinksCount": 5,
        "status": { "code": 2, "message": "boom" },
        "someFutureField": { "ignored": [1, 2, 3] }
      }]
    }]
  }]
}`;
}

/** What both decoders must produce. */
export function richExpected(): TracesRequest {
  return {
    resourceSpans: [
      {
        resource: { attributes: { 'service.name': { stringValue: 'rich' } }, droppedAttributesCount: 1 },
        schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
        scopeSpans: [
          {
            scope: { name: 'lib', version: '9.9', attributes: { 'scope.attr': { intValue: '1' } }, droppedAttributesCount: 2 },
            schemaUrl: 'https://example.test/scope',
            spans: [
              {
                traceId: hex(IDS.trace),
                spanId: hex(IDS.span),
                parentSpanId: hex(IDS.parent),
                traceState: 'k=v',
                name: 'op ü',
                kind: 3,
                flags: 0x301,
                startTimeUnixNano: 1764000000123456789n,
                endTimeUnixNano: 9223372036854775807n,
                attributes: {
                  s: { stringValue: 'ü ✓' },
                  b: { boolValue: true },
                  imin: { intValue: '-9223372036854775808' },
                  imax: { intValue: '9223372036854775807' },
                  ineg: { intValue: '-1' },
                  d: { doubleValue: -0.25 },
                  bytes: { bytesValue: 'AAEC/w==' },
                  arr: {
                    arrayValue: {
                      values: [{ stringValue: 'x' }, { intValue: '5' }, { arrayValue: { values: [{ boolValue: true }] } }],
                    },
                  },
                  kv: {
                    kvlistValue: {
                      values: [
                        { key: 'inner', value: { doubleValue: 1.5 } },
                        { key: 'empty', value: {} },
                      ],
                    },
                  },
                  none: {},
                },
                droppedAttributesCount: 3,
                events: [
                  {
                    timeUnixNano: 1764000000123456790n,
                    name: 'e1',
                    attributes: { ev: { stringValue: 'yes' } },
                    droppedAttributesCount: 1,
                  },
                ],
                droppedEventsCount: 2,
                links: [
                  {
                    traceId: hex(IDS.linkTrace),
                    spanId: hex(IDS.linkSpan),
                    traceState: 'a=b',
                    attributes: { ln: { intValue: '7' } },
                    droppedAttributesCount: 4,
                    flags: 0x101,
                  },
                ],
                droppedLinksCount: 5,
                status: { code: 2, message: 'boom' },
              },
            ],
          },
        ],
      },
    ],
  };
}

/** A metrics request with one metric of each kind, in protobufjs object form. */
export function metricsOracleRequest(): Record<string, unknown> {
  const attrs = [{ key: 'endpoint', value: { stringValue: '/cart' } }];
  const start = '1764000000000000001';
  const time = '1764000010000000002';
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'metrics-svc' } },
            { key: 'firstspan.run.id', value: { stringValue: 'run-m' } },
          ],
        },
        scopeMetrics: [
          {
            scope: { name: 'meter' },
            metrics: [
              { name: 'users', description: 'active users', unit: '{user}', gauge: { dataPoints: [{ attributes: attrs, timeUnixNano: time, asInt: '12' }] } },
              {
                name: 'requests',
                unit: '{request}',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: [{ attributes: attrs, startTimeUnixNano: start, timeUnixNano: time, asDouble: 340.5 }],
                },
              },
              {
                name: 'latency',
                unit: 'ms',
                histogram: {
                  aggregationTemporality: 1,
                  dataPoints: [
                    {
                      attributes: attrs,
                      startTimeUnixNano: start,
                      timeUnixNano: time,
                      count: '6',
                      sum: 123.5,
                      bucketCounts: ['1', '2', '3'],
                      explicitBounds: [10, 100],
                      min: 1.5,
                      max: 250,
                    },
                  ],
                },
              },
              {
                name: 'latency.exp',
                exponentialHistogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      attributes: attrs,
                      startTimeUnixNano: start,
                      timeUnixNano: time,
                      count: '4',
                      sum: 10,
                      scale: 3,
                      zeroCount: '1',
                      positive: { offset: -2, bucketCounts: ['1', '2'] },
                      min: 0,
                      max: 7,
                    },
                  ],
                },
              },
              {
                name: 'latency.summary',
                summary: {
                  dataPoints: [
                    {
                      attributes: attrs,
                      startTimeUnixNano: start,
                      timeUnixNano: time,
                      count: '9',
                      sum: 99,
                      quantileValues: [{ quantile: 0.5, value: 10 }],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
}
