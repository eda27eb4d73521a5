// The receiver's fast path (receiver/protobuf-span-rows.ts, attributes-json.ts: protobuf bytes
// straight to rows) against the full path it stands in for (decodeTracesProtobuf, then
// spanRows with JSON.stringify of each attribute map): on random requests of every attribute
// value type, on the receiver's own fixtures, and on mutated bytes, the fast path either gives up
// or gives exactly the same rows — never other rows, never rows for a request the full path refuses.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { spanRows, type SpanRows } from '../model/span-rows.ts';
import { textOf } from '../model/utf8-text.ts';
import { NotStraight } from '../receiver/attributes-json.ts';
import { decodeTracesProtobuf } from '../receiver/decode-protobuf.ts';
import { DecodeError } from '../model/protobuf-wire.ts';
import { spanRowsFromProtobuf, walkSpanRows } from '../receiver/protobuf-span-rows.ts';
import { richOracleRequest } from './helpers/receiver-fixtures.ts';
import { encodeWith, Oracle } from './helpers/receiver-oracle.ts';

/** Deterministic PRNG so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Rand = () => number;
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const STRINGS = ['', 'GET', 'a"quote', 'back\\slash', 'tab\there', 'nl\n', '\u0001ctl', 'ü ✓', '😀 pair', '/product/{id}', '\u2028sep', 'x'.repeat(40)];
const DOUBLES = [0, -0, NaN, Infinity, -Infinity, 5e-324, 1.5, -0.25, 1e21, 0.1 + 0.2, 2 ** 53 + 2, 12.345];
const INTS = ['0', '1', '-1', '200', '9007199254740993', '9223372036854775807', '-9223372036854775808'];
/** Hot keys (columns of their own) among ordinary ones, and keys the fast path must give up on. */
const KEYS = [
  'http.request.method',
  'http.method',
  'http.response.status_code',
  'http.status_code',
  'firstspan.request.name',
  'firstspan.run.id',
  'firstspan.phase.waiting_ms',
  'firstspan.phase.dns_ms',
  'firstspan.connection.reused',
  'url.full',
  'k"q',
  'ü',
  '',
  '__proto__',
  'constructor',
];
const RARE_KEYS = ['0', '7', '12abc'];

function anyValue(rand: Rand, depth: number): Record<string, unknown> {
  const kind = Math.floor(rand() * (depth > 2 ? 6 : 8));
  switch (kind) {
    case 0:
      return { stringValue: pick(rand, STRINGS) };
    case 1:
      return { boolValue: rand() < 0.5 };
    case 2:
      return { intValue: pick(rand, INTS) };
    case 3:
      return { doubleValue: pick(rand, DOUBLES) };
    case 4:
      return { bytesValue: randomBytesOf(rand) };
    case 5:
      return {};
    case 6:
      return { arrayValue: { values: Array.from({ length: Math.floor(rand() * 4) }, () => anyValue(rand, depth + 1)) } };
    default:
      return {
        kvlistValue: {
          values: Array.from({ length: Math.floor(rand() * 4) }, () => ({ key: pick(rand, [...KEYS, ...RARE_KEYS]), value: anyValue(rand, depth + 1) })),
        },
      };
  }
}

function randomBytesOf(rand: Rand): Buffer {
  return Buffer.from(Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * 256)));
}

/**
 * A span's attributes: unique keys mostly; rarely a repeat or a digit-led key (the fast path gives
 * up). Most spans of a request start with the same attributes, as a generator's do (the fast
 * path's byte cache), some with the same keys only.
 */
function attributes(rand: Rand, shared: { key: string; value: Record<string, unknown> }[]): Record<string, unknown>[] {
  const prefix = rand() < 0.7 ? shared.slice(0, Math.floor(rand() * (shared.length + 1))) : [];
  const head = prefix.map((kv) => (rand() < 0.8 ? kv : { key: kv.key, value: anyValue(rand, 0) }));
  const rest = KEYS.filter((k) => !head.some((kv) => kv.key === k))
    .sort(() => rand() - 0.5)
    .slice(0, Math.floor(rand() * 6))
    .map((key) => ({ key, value: anyValue(rand, 0) }));
  const out: Record<string, unknown>[] = [...head, ...rest];
  if (rand() < 0.02 && out.length > 0) out.push({ key: out[0]!.key as string, value: anyValue(rand, 0) });
  if (rand() < 0.02) out.push({ key: pick(rand, RARE_KEYS), value: anyValue(rand, 0) });
  return out;
}

function randomRequest(rand: Rand): Record<string, unknown> {
  const shared = Array.from({ length: 6 }, (_, i) => ({ key: KEYS[i]!, value: anyValue(rand, 0) }));
  const span = (): Record<string, unknown> => ({
    traceId: randomBytes(16),
    spanId: randomBytes(8),
    ...(rand() < 0.5 ? { parentSpanId: randomBytes(8) } : {}),
    ...(rand() < 0.2 ? { traceState: pick(rand, STRINGS) } : {}),
    name: pick(rand, STRINGS),
    kind: Math.floor(rand() * 6),
    flags: Math.floor(rand() * 0x400),
    startTimeUnixNano: String(1_764_000_000_000_000_000n + BigInt(Math.floor(rand() * 1e9))),
    endTimeUnixNano: String(1_764_000_001_000_000_000n + BigInt(Math.floor(rand() * 1e9))),
    attributes: attributes(rand, shared),
    droppedAttributesCount: Math.floor(rand() * 3),
    ...(rand() < 0.15
      ? { events: [{ timeUnixNano: '1764000000000000001', name: pick(rand, STRINGS), attributes: [{ key: 'e', value: anyValue(rand, 0) }] }] }
      : {}),
    ...(rand() < 0.1 ? { links: [{ traceId: randomBytes(16), spanId: randomBytes(8), attributes: [{ key: 'l', value: anyValue(rand, 0) }] }] } : {}),
    ...(rand() < 0.3 ? { status: { code: Math.floor(rand() * 3), message: pick(rand, STRINGS) } } : {}),
  });
  const scope = (): Record<string, unknown> => ({
    scope: { name: pick(rand, STRINGS), version: pick(rand, STRINGS), ...(rand() < 0.3 ? { attributes: [{ key: 's', value: anyValue(rand, 0) }] } : {}) },
    ...(rand() < 0.3 ? { schemaUrl: pick(rand, STRINGS) } : {}),
    spans: Array.from({ length: Math.floor(rand() * 5) }, span),
  });
  return {
    resourceSpans: Array.from({ length: 1 + Math.floor(rand() * 2) }, () => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: pick(rand, STRINGS) } }, ...(rand() < 0.5 ? [{ key: 'firstspan.run.id', value: { stringValue: 'run-1' } }] : [])] },
      ...(rand() < 0.3 ? { schemaUrl: pick(rand, STRINGS) } : {}),
      scopeSpans: Array.from({ length: 1 + Math.floor(rand() * 2) }, scope),
    })),
  };
}

/** The full path's rows, or undefined when it refuses the request or rejects a span. */
function fullRows(body: Buffer): SpanRows | undefined {
  let decoded;
  try {
    decoded = decodeTracesProtobuf(body);
  } catch (error) {
    if (error instanceof DecodeError || error instanceof RangeError) return undefined;
    throw error;
  }
  return decoded.rejected.count > 0 ? undefined : spanRows(decoded.request);
}

/** The fast path's rows; undefined or a give-up (NotStraight, DecodeError) is "take the full path". */
function fastRows(body: Buffer): SpanRows | undefined {
  try {
    return walkSpanRows(body);
  } catch (error) {
    if (error instanceof NotStraight || error instanceof DecodeError || error instanceof RangeError) return undefined;
    throw error; // a bug, not a give-up
  }
}

describe('protobuf bytes straight to rows', () => {
  it('gives the rows of the full decoder for the rich fixture (every value type, events, links)', () => {
    const body = encodeWith(Oracle.TraceRequest, richOracleRequest());
    expect(fastRows(body)).toEqual(fullRows(body));
    expect(fastRows(body)).toBeDefined();
  });

  it('gives exactly the full path rows for 3000 random requests, or gives up', () => {
    const rand = prng(1);
    let same = 0;
    let gaveUp = 0;
    for (let i = 0; i < 3000; i++) {
      const body = encodeWith(Oracle.TraceRequest, randomRequest(rand));
      const full = fullRows(body);
      const fast = fastRows(body);
      if (fast === undefined) gaveUp += 1;
      else {
        expect(fast, `request ${i}: ${body.toString('hex')}`).toEqual(full);
        same += 1;
      }
    }
    // Both outcomes happen: random keys repeat or start with a digit in some requests only.
    expect(same).toBeGreaterThan(1500);
    expect(gaveUp).toBeGreaterThan(100);
  });

  it('never gives rows for mutated bytes the full path refuses, and the same rows otherwise', () => {
    const rand = prng(2);
    let refusedByBoth = 0;
    let same = 0;
    for (let i = 0; i < 4000; i++) {
      const body = Buffer.from(encodeWith(Oracle.TraceRequest, randomRequest(rand)));
      if (body.length === 0) continue;
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) body[Math.floor(rand() * body.length)] = Math.floor(rand() * 256);
      const cut = rand() < 0.3 ? body.subarray(0, Math.floor(rand() * body.length)) : body;
      const full = fullRows(cut);
      const fast = fastRows(cut);
      if (full === undefined) {
        expect(fast, `input ${i}: ${cut.toString('hex')}`).toBeUndefined();
        refusedByBoth += 1;
      } else if (fast !== undefined) {
        expect(fast, `input ${i}: ${cut.toString('hex')}`).toEqual(full);
        same += 1;
      }
    }
    expect(refusedByBoth).toBeGreaterThan(500);
    expect(same).toBeGreaterThan(500);
  });

  it('gives up, for the full path to decide, on a repeated key and a key that starts with a digit', () => {
    const request = (keys: string[]): Buffer =>
      encodeWith(Oracle.TraceRequest, {
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: randomBytes(16),
                    spanId: randomBytes(8),
                    name: 'n',
                    attributes: keys.map((key, i) => ({ key, value: { intValue: String(i) } })),
                  },
                ],
              },
            ],
          },
        ],
      });
    expect(() => walkSpanRows(request(['a', 'b', 'a']))).toThrow(NotStraight);
    expect(() => walkSpanRows(request(['b', '10', '2']))).toThrow(NotStraight);
    expect(spanRowsFromProtobuf(request(['a', 'b', 'a']))).toBeUndefined();
    // The full path's text for them: first position, last value; integer keys first, ascending.
    expect(textOf(fullRows(request(['a', 'b', 'a']))!.text)).toContain('{"a":{"intValue":"2"},"b":{"intValue":"1"}}');
    expect(textOf(fullRows(request(['b', '10', '2']))!.text)).toContain('{"2":{"intValue":"2"},"10":{"intValue":"1"},"b":{"intValue":"0"}}');
    const plain = request(['a', 'b']);
    expect(spanRowsFromProtobuf(plain)).toEqual(fullRows(plain));
  });
});
