// The decoded OTLP value helpers (model/otlp.ts) every stage reads attributes through: each AnyValue
// kind to its JS value, int64 past 2^53 kept exact, and the typed readers answering undefined for
// a value of another type rather than a wrong one.
import { describe, expect, it } from 'vitest';
import { anyValueToJs, attrNumber, attrString, doubleOf, jsonDouble, type Attributes } from '../model/otlp.ts';

describe('anyValueToJs', () => {
  it('reads every AnyValue kind, nested ones included', () => {
    expect(anyValueToJs(undefined)).toBeUndefined();
    expect(anyValueToJs({ stringValue: 'GET' })).toBe('GET');
    expect(anyValueToJs({ boolValue: false })).toBe(false);
    expect(anyValueToJs({ intValue: '-42' })).toBe(-42);
    expect(anyValueToJs({ doubleValue: 2.5 })).toBe(2.5);
    expect(anyValueToJs({ doubleValue: '-Infinity' })).toBe(-Infinity);
    expect(anyValueToJs({ bytesValue: 'AAEC' })).toBe('AAEC');
    expect(anyValueToJs({ arrayValue: { values: [{ intValue: '1' }, { stringValue: 'x' }] } })).toEqual([1, 'x']);
    expect(anyValueToJs({ kvlistValue: { values: [{ key: 'a', value: { boolValue: true } }, { key: 'b', value: { arrayValue: { values: [] } } }] } })).toEqual({ a: true, b: [] });
    expect(anyValueToJs({})).toBeNull();
  });

  it('keeps an int64 beyond 2^53 exact, as a bigint, and a smaller one a number', () => {
    expect(anyValueToJs({ intValue: '9007199254740993' })).toBe(9007199254740993n);
    expect(anyValueToJs({ intValue: '-9007199254740993' })).toBe(-9007199254740993n);
    expect(anyValueToJs({ intValue: '9007199254740991' })).toBe(9007199254740991);
  });
});

describe('typed attribute readers', () => {
  const attrs: Attributes = {
    s: { stringValue: '200' },
    i: { intValue: '200' },
    d: { doubleValue: 1.5 },
    nan: { doubleValue: 'NaN' },
    b: { boolValue: true },
    f: { boolValue: false },
    empty: {},
  };

  it('read a value of their own type', () => {
    expect(attrString(attrs, 's')).toBe('200');
    expect(attrNumber(attrs, 'i')).toBe(200);
    expect(attrNumber(attrs, 'd')).toBe(1.5);
    expect(attrNumber(attrs, 'nan')).toBeNaN();
  });

  it('answer undefined for a missing key or a value of another type', () => {
    for (const key of ['missing', 'i', 'd', 'b', 'empty']) expect(attrString(attrs, key), key).toBeUndefined();
    for (const key of ['missing', 's', 'b', 'empty']) expect(attrNumber(attrs, key), key).toBeUndefined();
  });
});

describe('JSON doubles', () => {
  it('round-trip every double a JSON number cannot hold', () => {
    for (const n of [NaN, Infinity, -Infinity, -0, 0, 1.25, -3]) expect(Object.is(doubleOf(jsonDouble(n)), n), String(n)).toBe(true);
    expect([NaN, Infinity, -Infinity, -0].map(jsonDouble)).toEqual(['NaN', 'Infinity', '-Infinity', '-0']);
  });
});
