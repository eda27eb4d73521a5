// The report model's own helpers (analyzer/report.ts) that every renderer shares: the stored
// attribute and event JSON as a person reads it in the waterfall, and the notes on clock offsets.
import { describe, expect, it } from 'vitest';
import type { OffsetEstimate } from '../analyzer/clock-offset.ts';
import { displayAttributes, displayEvents, explainedByOffset, offsetNote, parseJson, residualNote, type RunReport } from '../analyzer/report.ts';

describe('stored attributes and events for display', () => {
  it('reads the stored JSON, and a missing or damaged text as nothing', () => {
    expect(parseJson('{"a":{"stringValue":"x"}}')).toEqual({ a: { stringValue: 'x' } });
    expect(parseJson(null)).toBeNull();
    expect(parseJson('{"a":')).toBeNull();
  });

  it('shows each kind of OTLP value as its plain text: scalars, arrays, nested maps, empty values', () => {
    expect(
      displayAttributes({
        's': { stringValue: 'GET /cart' },
        'i': { intValue: '9007199254740993' },
        'd': { doubleValue: 0.25 },
        'nan': { doubleValue: 'NaN' },
        'b': { boolValue: false },
        'bytes': { bytesValue: 'AAE=' },
        'arr': { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }, { arrayValue: { values: [{ boolValue: true }] } }] } },
        'emptyArr': { arrayValue: {} },
        'nullArr': { arrayValue: null },
        'kv': { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }, { key: 'n', value: { intValue: '1' } }] } },
        'emptyKv': { kvlistValue: null },
        'empty': {},
        'plain': 'text',
        'number': 3,
        'nothing': null,
      }),
    ).toEqual({
      s: 'GET /cart',
      i: '9007199254740993',
      d: '0.25',
      nan: 'NaN',
      b: 'false',
      bytes: 'AAE=',
      arr: '[a, 2, [true]]',
      emptyArr: '[]',
      nullArr: '[]',
      kv: '{"k":"v","n":"1"}',
      emptyKv: '{}',
      empty: '{}',
      plain: 'text',
      number: '3',
      nothing: 'null',
    });
  });

  it('shows no attributes for anything but a map', () => {
    for (const notAMap of [null, 'a', 3, [{ stringValue: 'x' }], undefined]) expect(displayAttributes(notAMap)).toEqual({});
  });

  it('places each event at its time from the span\'s start, in ms, and keeps an event without a usable time', () => {
    const start = 1_700_000_000_000_000_000n;
    const events = displayEvents(
      [
        { name: 'cache miss', timeUnixNano: String(start + 2_500_000n), attributes: { key: { stringValue: 'reco:42' } } },
        { name: 'early', timeUnixNano: Number(1_000_000), attributes: null },
        { name: 'bad time', timeUnixNano: 'soon' },
        { timeUnixNano: true },
      ],
      start,
    );
    expect(events).toEqual([
      { name: 'cache miss', atMs: 2.5, attributes: { key: 'reco:42' } },
      { name: 'early', atMs: Number(1_000_000n - start) / 1e6, attributes: {} },
      { name: 'bad time', atMs: null, attributes: {} },
      { name: '', atMs: null, attributes: {} },
    ]);
    expect(displayEvents({ name: 'not a list' }, start)).toEqual([]);
    expect(displayEvents(null, start)).toEqual([]);
  });
});

function offset(service: string, pairs: number, samples = 50): OffsetEstimate {
  return { service, offsetMs: 3000, samples, trusted: 10, delayMs: 0.4, method: 'phases', residual: { pairs, p50Ms: 0.1234, maxMs: 2 } };
}

function runWith(outside: number, offsets: OffsetEstimate[]): RunReport {
  return { oddities: { serverOutsideClientSpan: outside }, clockOffsets: offsets } as unknown as RunReport;
}

describe('clock offset notes', () => {
  it('says nothing when no server span lies outside its client span, or when no offset was estimated', () => {
    expect(offsetNote(runWith(0, [offset('shop', 3)]))).toBeUndefined();
    expect(offsetNote(runWith(12, []))).toBeUndefined();
  });

  it('says the offsets explain every outside span when none sticks out once corrected', () => {
    expect(offsetNote(runWith(12, [offset('shop', 0), offset('db', 0)]))).toBe(
      '12 server spans lie outside their client span on the raw clocks: what a clock offset between the hosts looks like, and the gap, which needs no offset, is not affected; with the estimated offsets removed, every one lies inside',
    );
  });

  it('counts the residual pairs over every service, even more than lay outside on the raw clocks', () => {
    const note = offsetNote(runWith(2, [offset('shop', 3), offset('db', 4)]));
    expect(note?.startsWith('2 server spans lie outside their client span on the raw clocks')).toBe(true);
    expect(note).toContain('; with the estimated offsets removed, 7 pairs still stick out a little: noise in the span timestamps');
  });

  it('notes one service\'s residual with three decimals, and nothing without one', () => {
    expect(residualNote(offset('shop', 4, 80))).toBe('4 of 80 corrected server spans still stick out of their client span, by p50 0.123 ms, max 2.000 ms');
    expect(residualNote(offset('shop', 0))).toBeUndefined();
  });

  it('lets only the outside-span oddity be explained by an offset, and only when there is one', () => {
    expect(explainedByOffset(runWith(1, [offset('shop', 0)]), 'serverOutsideClientSpan')).toBe(true);
    expect(explainedByOffset(runWith(1, []), 'serverOutsideClientSpan')).toBe(false);
    expect(explainedByOffset(runWith(1, [offset('shop', 0)]), 'serverLongerThanClient')).toBe(false);
  });
});
