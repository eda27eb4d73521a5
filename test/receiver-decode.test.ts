// The hand-written protobuf and JSON decoders against an independent encoder (protobufjs over
// .proto text) and against hand-written OTLP/JSON: same model from both, exact 64-bit values,
// unknown fields skipped, the liberal JSON forms the Collector accepts, and hostile input that
// must end in a DecodeError — never another exception, never a hang.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeMetricsJson, decodeTracesJson, quoteLongIntegers } from '../receiver/decode-json.ts';
import { countLogRecordsJson, countLogRecordsProtobuf } from '../receiver/decode-logs.ts';
import { decodeMetricsProtobuf, decodeTracesProtobuf } from '../receiver/decode-protobuf.ts';
import { DecodeError } from '../model/protobuf-wire.ts';
import { metricsOracleRequest, richExpected, richJsonRequest, richOracleRequest } from './helpers/receiver-fixtures.ts';
import { encodeWith, Oracle } from './helpers/receiver-oracle.ts';

/** Unknown fields of every wire type: 1000 varint, 1001 fixed64, 1002 bytes, 1003 fixed32. */
const UNKNOWN = Buffer.from([
  0xc0, 0x3e, 0x96, 0x01, // field 1000, varint 150
  0xc9, 0x3e, 1, 2, 3, 4, 5, 6, 7, 8, // field 1001, fixed64
  0xd2, 0x3e, 0x03, 0x61, 0x62, 0x63, // field 1002, "abc"
  0xdd, 0x3e, 9, 9, 9, 9, // field 1003, fixed32
]);

function len(field: number, bytes: Buffer): Buffer {
  const header: number[] = [(field << 3) | 2];
  let n = bytes.length;
  while (n >= 0x80) {
    header.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  header.push(n);
  return Buffer.concat([Buffer.from(header), bytes]);
}

describe('protobuf decoder', () => {
  it('decodes what protobufjs encodes, exactly', () => {
    const bytes = encodeWith(Oracle.TraceRequest, richOracleRequest());
    const decoded = decodeTracesProtobuf(bytes);
    expect(decoded.rejected.count).toBe(0);
    expect(decoded.spans).toBe(1);
    expect(decoded.request).toEqual(richExpected());
  });

  it('skips unknown fields of every wire type at every level', () => {
    const oracle = richOracleRequest() as { resourceSpans: [{ resource: unknown; scopeSpans: [{ scope: unknown; spans: unknown[] }] }] };
    const rs = oracle.resourceSpans[0];
    const ss = rs.scopeSpans[0];
    const span = Buffer.concat([UNKNOWN, encodeWith(Oracle.Span, ss.spans[0] as Record<string, unknown>), UNKNOWN]);
    const scopeSpans = Buffer.concat([
      encodeWith(Oracle.ScopeSpans, { ...ss, spans: [] }),
      UNKNOWN,
      len(2, span),
    ]);
    const resourceSpans = Buffer.concat([
      len(1, encodeWith(Oracle.Resource, rs.resource as Record<string, unknown>)),
      UNKNOWN,
      len(2, scopeSpans),
      len(3, Buffer.from('https://opentelemetry.io/schemas/1.30.0')),
    ]);
    const request = Buffer.concat([UNKNOWN, len(1, resourceSpans), UNKNOWN]);
    expect(decodeTracesProtobuf(request).request).toEqual(richExpected());
  });

  it('keeps int64 attribute values and fixed64 times exact at their extremes', () => {
    const span = (richExpected().resourceSpans[0]!.scopeSpans[0]!.spans[0]!);
    const decoded = decodeTracesProtobuf(encodeWith(Oracle.TraceRequest, richOracleRequest()));
    const got = decoded.request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(got.endTimeUnixNano).toBe(2n ** 63n - 1n);
    expect(got.attributes.imin).toEqual({ intValue: '-9223372036854775808' });
    expect(got.startTimeUnixNano).toBe(span.startTimeUnixNano);
  });

  it('rejects, through partial success, a span whose time SQLite cannot hold (fixed64 > 2^63 - 1)', () => {
    const oracle = richOracleRequest() as { resourceSpans: [{ scopeSpans: [{ spans: Record<string, unknown>[] }] }] };
    oracle.resourceSpans[0].scopeSpans[0].spans[0]!.endTimeUnixNano = '18446744073709551615';
    const decoded = decodeTracesProtobuf(encodeWith(Oracle.TraceRequest, oracle));
    expect(decoded.spans).toBe(0);
    expect(decoded.rejected.count).toBe(1);
    expect(decoded.rejected.message('span')).toMatch(/end time 18446744073709551615 is after the year 2262/);
  });

  it('decodes every metric kind that protobufjs encodes', () => {
    const decoded = decodeMetricsProtobuf(encodeWith(Oracle.MetricsRequest, metricsOracleRequest()));
    expect(decoded.points).toBe(5);
    const points = decoded.request.resourceMetrics[0]!.scopeMetrics[0]!.points;
    const byName = Object.fromEntries(points.map((p) => [p.metricName, p]));
    expect(byName.users).toMatchObject({ type: 'gauge', value: 12, unit: '{user}', description: 'active users', timeUnixNano: 1764000010000000002n });
    expect(byName.requests).toMatchObject({ type: 'sum', value: 340.5, temporality: 2, isMonotonic: true, startTimeUnixNano: 1764000000000000001n });
    expect(byName.latency).toMatchObject({
      type: 'histogram',
      temporality: 1,
      count: 6,
      sum: 123.5,
      min: 1.5,
      max: 250,
      bucketCounts: [1, 2, 3],
      explicitBounds: [10, 100],
    });
    expect(byName['latency.exp']).toMatchObject({ type: 'exponential_histogram', count: 4, sum: 10, min: 0, max: 7, temporality: 2 });
    expect(byName['latency.summary']).toMatchObject({ type: 'summary', count: 9, sum: 99 });
    expect(byName.users!.attributes).toEqual({ endpoint: { stringValue: '/cart' } });
  });

  it('reads unpacked repeated fixed64 and double fields too', () => {
    // HistogramDataPoint with bucket_counts (6) and explicit_bounds (7) as one field per value.
    const point = Buffer.alloc(9 * 3 + 9 * 1);
    let o = 0;
    for (const c of [4, 5, 6]) {
      point[o++] = (6 << 3) | 1;
      point.writeBigUInt64LE(BigInt(c), o);
      o += 8;
    }
    point[o++] = (7 << 3) | 1;
    point.writeDoubleLE(2.5, o);
    const request = len(1, len(2, len(2, Buffer.concat([len(1, Buffer.from('h')), len(9, len(1, point))]))));
    const p = decodeMetricsProtobuf(request).request.resourceMetrics[0]!.scopeMetrics[0]!.points[0]!;
    expect(p).toMatchObject({ metricName: 'h', type: 'histogram', bucketCounts: [4, 5, 6], explicitBounds: [2.5], count: 0 });
  });

  it('throws DecodeError for truncation, bad lengths, groups and wrong wire types', () => {
    const valid = encodeWith(Oracle.TraceRequest, richOracleRequest());
    for (let cut = 1; cut < valid.length; cut++) {
      try {
        decodeTracesProtobuf(valid.subarray(0, cut));
      } catch (error) {
        expect(error, `cut at ${cut}`).toBeInstanceOf(DecodeError);
      }
    }
    expect(() => decodeTracesProtobuf(Buffer.from([0x0a, 0x05, 0x01]))).toThrow(DecodeError); // length past the end
    expect(() => decodeTracesProtobuf(Buffer.from([0x0b]))).toThrow(/wire type 3/); // start group
    expect(() => decodeTracesProtobuf(Buffer.from([0x0a, 0x02, 0x0a, 0x00, 0x00]))).toThrow(DecodeError); // field 0
    expect(() => decodeTracesProtobuf(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(
      /varint/,
    );
    // span field 7 (start time, fixed64) sent as a varint
    const badWire = len(1, len(2, len(2, Buffer.from([0x38, 0x01]))));
    expect(() => decodeTracesProtobuf(badWire)).toThrow(/wire type 0, expected 1/);
  });

  it('refuses AnyValue nesting deep enough to threaten the stack', () => {
    let value: Buffer = Buffer.from([0x0a, 0x01, 0x78]); // stringValue "x"
    for (let i = 0; i < 200; i++) value = len(5, len(1, value)); // arrayValue { values: [value] }
    const span = Buffer.concat([len(9, Buffer.concat([len(1, Buffer.from('k')), len(2, value)]))]);
    expect(() => decodeTracesProtobuf(len(1, len(2, len(2, span))))).toThrow(/nested deeper/);
  });
});

describe('JSON decoder', () => {
  it('produces the same model as the protobuf decoder from hand-written OTLP/JSON', () => {
    const decoded = decodeTracesJson(richJsonRequest());
    expect(decoded.rejected.count).toBe(0);
    expect(decoded.request).toEqual(richExpected());
  });

  it('reads snake_case keys, enum names and numbers-as-strings like the Collector', () => {
    const text = JSON.stringify({
      resource_spans: [
        {
          scope_spans: [
            {
              spans: [
                {
                  trace_id: 'AB'.repeat(16),
                  span_id: 'cd'.repeat(8),
                  parent_span_id: '',
                  name: 'snake',
                  kind: 'SPAN_KIND_CLIENT',
                  start_time_unix_nano: '100',
                  end_time_unix_nano: 200,
                  flags: '1',
                  status: { code: 'STATUS_CODE_OK' },
                  attributes: [{ key: 'n', value: { int_value: '12' } }, { key: 'd', value: { double_value: 'NaN' } }],
                },
              ],
            },
          ],
        },
      ],
    });
    const span = decodeTracesJson(text).request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(Buffer.from(span.traceId).toString('hex')).toBe('ab'.repeat(16));
    expect(span.parentSpanId.length).toBe(0);
    expect(span).toMatchObject({ name: 'snake', kind: 3, startTimeUnixNano: 100n, endTimeUnixNano: 200n, flags: 1, status: { code: 1, message: '' } });
    expect(span.attributes.n).toEqual({ intValue: '12' });
    expect(span.attributes.d).toEqual({ doubleValue: 'NaN' }); // kept in its JSON-safe form (model/otlp.ts JsonDouble)
  });

  it('never passes a long integer literal through a double', () => {
    // 2^53 + 1 has no double: a JSON.parse of the bare number would give ...992.
    const text = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + '1'.repeat(32) + '","spanId":"' + '2'.repeat(16) +
      '","startTimeUnixNano":9007199254740993,"endTimeUnixNano":1764000000123456789,' +
      '"attributes":[{"key":"i","value":{"intValue":-9007199254740993}},{"key":"s","value":{"stringValue":"12345678901234567890"}},' +
      '{"key":"d","value":{"doubleValue":1.2345678901234567e300}}]}]}]}]}';
    const span = decodeTracesJson(text).request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span.startTimeUnixNano).toBe(9007199254740993n);
    expect(span.endTimeUnixNano).toBe(1764000000123456789n);
    expect(span.attributes.i).toEqual({ intValue: '-9007199254740993' });
    expect(span.attributes.s).toEqual({ stringValue: '12345678901234567890' }); // strings untouched
    expect(span.attributes.d).toEqual({ doubleValue: 1.2345678901234567e300 });
    expect(quoteLongIntegers('{"a":"x\\"1234567890123456789","b":1234567890123456789}')).toBe(
      '{"a":"x\\"1234567890123456789","b":"1234567890123456789"}',
    );
  });

  it('decodes every metric kind from OTLP/JSON like the protobuf decoder', () => {
    const oracle = metricsOracleRequest();
    const typed = Oracle.MetricsRequest.fromObject(oracle);
    // protobufjs's own JSON form: camelCase, 64-bit values as strings, enums as numbers.
    const json = JSON.stringify(Oracle.MetricsRequest.toObject(typed, { longs: String, bytes: String, defaults: false }));
    const fromJson = decodeMetricsJson(json).request;
    const fromProto = decodeMetricsProtobuf(encodeWith(Oracle.MetricsRequest, oracle)).request;
    expect(fromJson).toEqual(fromProto);
  });

  it('throws DecodeError for every truncation of a valid request and for wrong types', () => {
    const valid = richJsonRequest();
    for (let cut = 0; cut < valid.length - 1; cut++) {
      if (valid.slice(0, cut).trim() === '') continue; // an empty body is an empty request
      expect(() => decodeTracesJson(valid.slice(0, cut)), `cut at ${cut}`).toThrow(DecodeError);
    }
    expect(() => decodeTracesJson('{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_NOPE"}]}]}]}')).toThrow(/enum/);
    expect(() => decodeTracesJson('{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":-5}]}]}]}')).toThrow(/unsigned 64-bit/);
    expect(() => decodeTracesJson('{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":{"intValue":1.5}}]}]}]}]}')).toThrow(
      /64-bit integer/,
    );
    expect(() => decodeTracesJson('{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"18446744073709551616"}]}]}]}')).toThrow(
      DecodeError,
    );
  });
});

describe('fuzz, in process', () => {
  /** Deterministic PRNG so a failure can be replayed. */
  function prng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }

  it('random, truncated and mutated protobuf bodies end in a result or a DecodeError', () => {
    const rand = prng(42);
    const valid = [encodeWith(Oracle.TraceRequest, richOracleRequest()), encodeWith(Oracle.MetricsRequest, metricsOracleRequest())];
    let errors = 0;
    let decoded = 0;
    for (let i = 0; i < 12_000; i++) {
      const base = valid[i % 2]!;
      let body: Buffer;
      const mode = i % 3;
      if (mode === 0) body = randomBytes(Math.floor(rand() * 200));
      else if (mode === 1) body = base.subarray(0, Math.floor(rand() * base.length));
      else {
        body = Buffer.from(base);
        for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) body[Math.floor(rand() * body.length)] = Math.floor(rand() * 256);
      }
      for (const decode of [decodeTracesProtobuf, decodeMetricsProtobuf]) {
        try {
          decode(body);
          decoded += 1;
        } catch (error) {
          if (!(error instanceof DecodeError)) throw new Error(`input ${i} (${body.toString('hex')}) threw ${String(error)}`);
          errors += 1;
        }
      }
    }
    expect(errors).toBeGreaterThan(6_000); // most hostile inputs are refused, none crash
    expect(decoded).toBeGreaterThan(1_000); // and a decoder that refused everything would fail
  });

  it('mutated JSON bodies end in a result or a DecodeError', () => {
    const rand = prng(7);
    const valid = richJsonRequest();
    const alphabet = '{}[]":,0123456789-eE. abcnulltruefalse\\';
    let decoded = 0;
    let errors = 0;
    for (let i = 0; i < 3_000; i++) {
      const chars = valid.split('');
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) {
        chars[Math.floor(rand() * chars.length)] = alphabet[Math.floor(rand() * alphabet.length)]!;
      }
      const text = chars.join('');
      try {
        decodeTracesJson(text);
        decoded += 1;
      } catch (error) {
        if (!(error instanceof DecodeError)) throw new Error(`input ${i} threw ${String(error)}: ${text}`);
        errors += 1;
      }
    }
    // Both outcomes are common: a decoder that refused everything (or accepted everything) fails.
    expect(decoded).toBeGreaterThan(300);
    expect(errors).toBeGreaterThan(300);
  });
});

describe('logs: counting the records of an ExportLogsServiceRequest', () => {
  // ExportLogsServiceRequest { resource_logs = 1 } > ResourceLogs { resource = 1; scope_logs = 2;
  // schema_url = 3 } > ScopeLogs { scope = 1; log_records = 2; schema_url = 3 } (logs/v1/logs.proto).
  const record = (body: string): Buffer => len(2, len(5, Buffer.from(body)));
  const scopeLogs = (n: number): Buffer =>
    len(2, Buffer.concat([len(1, len(1, Buffer.from('scope'))), ...Array.from({ length: n }, (_, i) => record(`log ${i}`)), UNKNOWN, len(3, Buffer.from('schema'))]));
  const resourceLogsBody = (...scopes: Buffer[]): Buffer =>
    Buffer.concat([len(1, len(1, Buffer.concat([len(1, Buffer.from('service.name'))]))), ...scopes, UNKNOWN, len(3, Buffer.from('schema'))]);
  const resourceLogs = (...scopes: Buffer[]): Buffer => len(1, resourceLogsBody(...scopes));

  it('counts the records under every resource and scope, skipping every other field at every level', () => {
    // An unknown field shaped like a ResourceLogs: counted only if it were read as one.
    const decoy = len(12, resourceLogsBody(scopeLogs(5)));
    const request = Buffer.concat([UNKNOWN, resourceLogs(scopeLogs(2), scopeLogs(0), scopeLogs(3)), decoy, resourceLogs(), resourceLogs(scopeLogs(1)), UNKNOWN]);
    expect(countLogRecordsProtobuf(request)).toBe(6);
    expect(countLogRecordsProtobuf(Buffer.alloc(0))).toBe(0);
  });

  it('refuses field number 0 and truncation at every level with a DecodeError', () => {
    for (const zero of [Buffer.from([0x00, 0x01]), resourceLogs(Buffer.from([0x02, 0x00])), resourceLogs(len(2, Buffer.from([0x00, 0x00])))]) {
      const decode = (): number => countLogRecordsProtobuf(zero);
      expect(decode).toThrow(DecodeError);
      expect(decode).toThrow('field number 0 is invalid');
    }
    const whole = resourceLogs(scopeLogs(2));
    for (let cut = 1; cut < whole.length; cut++) expect(() => countLogRecordsProtobuf(whole.subarray(0, cut)), `cut ${cut}`).toThrow(DecodeError);
  });

  it('counts OTLP/JSON records under camelCase and snake_case names; null or missing lists are empty', () => {
    const camel = { resourceLogs: [{ scopeLogs: [{ logRecords: [{}, {}] }, { logRecords: [{}] }] }, { scopeLogs: [{ logRecords: [{}] }] }] };
    expect(countLogRecordsJson(JSON.stringify(camel))).toBe(4);
    const snake = { resource_logs: [{ scope_logs: [{ log_records: [{}, {}, {}] }] }, { scope_logs: [{ log_records: [{}] }] }] };
    expect(countLogRecordsJson(JSON.stringify(snake))).toBe(4);
    for (const empty of [{}, { resourceLogs: null }, { resource_logs: null }, { resourceLogs: [{}] }, { resourceLogs: [{ scopeLogs: null }] }, { resourceLogs: [{ scopeLogs: [{}] }] }, { resourceLogs: [{ scopeLogs: [{ logRecords: null }] }] }]) {
      expect(countLogRecordsJson(JSON.stringify(empty)), JSON.stringify(empty)).toBe(0);
    }
  });

  it('refuses OTLP/JSON of the wrong shape with a DecodeError naming the field', () => {
    const refusal = (text: string): string => {
      try {
        countLogRecordsJson(text);
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
        return (error as Error).message;
      }
      throw new Error(`accepted: ${text}`);
    };
    expect(refusal('{"resourceLogs": [')).toMatch(/^not JSON: ./);
    for (const top of ['[]', 'null', '"logs"', '5', 'true']) expect(refusal(top), top).toBe('the request must be a JSON object');
    expect(refusal('{"resourceLogs": {}}')).toBe('resourceLogs must be an array');
    expect(refusal('{"resource_logs": "x"}')).toBe('resourceLogs must be an array');
    for (const item of ['5', 'null', '[]', '"x"']) expect(refusal(`{"resourceLogs": [${item}]}`), item).toBe('resourceLogs[] must be a JSON object');
    expect(refusal('{"resourceLogs": [{"scope_logs": 1}]}')).toBe('scopeLogs must be an array');
    for (const item of ['5', 'null', '[]']) expect(refusal(`{"resourceLogs": [{"scopeLogs": [${item}]}]}`), item).toBe('scopeLogs[] must be a JSON object');
    expect(refusal('{"resourceLogs": [{"scopeLogs": [{"logRecords": {}}]}]}')).toBe('logRecords must be an array');
    expect(refusal('{"resourceLogs": [{"scopeLogs": [{"log_records": 2}]}]}')).toBe('logRecords must be an array');
  });
});
