// The receiver's per-span and per-point checks (receiver/span-checks.ts): what makes one span or
// data point unstorable, alone, and the partial-success message built from the rejections.
import { describe, expect, it } from 'vitest';
import type { MetricPoint, Span } from '../model/otlp.ts';
import { keepStorablePoints, MAX_STORABLE_NANOS, pointProblem, Rejections, setAttribute, spanProblem } from '../receiver/span-checks.ts';

const ok: Span = {
  traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2), parentSpanId: new Uint8Array(0), traceState: '', name: 's', kind: 2,
  startTimeUnixNano: 1n, endTimeUnixNano: 2n, attributes: {}, droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [],
  droppedLinksCount: 0, status: { code: 0, message: '' }, flags: 0,
};
const link = { traceId: new Uint8Array(16).fill(3), spanId: new Uint8Array(8).fill(4), traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 };

describe('spanProblem', () => {
  it('accepts a span with valid ids, a parent of 8 bytes, links and the last storable time', () => {
    expect(spanProblem(ok)).toBeUndefined();
    expect(spanProblem({ ...ok, parentSpanId: new Uint8Array(8).fill(5), links: [link], endTimeUnixNano: MAX_STORABLE_NANOS })).toBeUndefined();
    const oneBit = new Uint8Array(16);
    oneBit[15] = 1;
    expect(spanProblem({ ...ok, traceId: oneBit })).toBeUndefined();
  });

  it('names what is wrong with ids, times, the parent or a link', () => {
    expect(spanProblem({ ...ok, traceId: new Uint8Array(15).fill(1) })).toBe('trace id must be 16 bytes, got 15');
    expect(spanProblem({ ...ok, traceId: new Uint8Array(16) })).toBe('trace id is all zeroes');
    expect(spanProblem({ ...ok, spanId: new Uint8Array(9).fill(1) })).toBe('span id must be 8 bytes, got 9');
    expect(spanProblem({ ...ok, spanId: new Uint8Array(8) })).toBe('span id is all zeroes');
    expect(spanProblem({ ...ok, startTimeUnixNano: MAX_STORABLE_NANOS + 1n })).toBe(`start time ${MAX_STORABLE_NANOS + 1n} is after the year 2262`);
    expect(spanProblem({ ...ok, endTimeUnixNano: MAX_STORABLE_NANOS + 1n })).toBe(`end time ${MAX_STORABLE_NANOS + 1n} is after the year 2262`);
    expect(spanProblem({ ...ok, parentSpanId: new Uint8Array(4).fill(1) })).toBe('parent span id must be empty or 8 bytes, got 4');
    expect(spanProblem({ ...ok, links: [link, { ...link, spanId: new Uint8Array(7) }] })).toBe('link ids must be 16 and 8 bytes, got 16 and 7');
    expect(spanProblem({ ...ok, links: [{ ...link, traceId: new Uint8Array(8) }] })).toBe('link ids must be 16 and 8 bytes, got 8 and 8');
  });
});

describe('data points and rejections', () => {
  const point = (name: string, more: Partial<MetricPoint> = {}): MetricPoint =>
    ({ metricName: name, startTimeUnixNano: 0n, timeUnixNano: 1n, count: null, ...more }) as MetricPoint;

  it('keeps the storable points, the same array when all are, and counts the others with their reasons', () => {
    const good = [point('a'), point('b', { count: 3 })];
    const rejected = new Rejections();
    expect(keepStorablePoints(good, rejected)).toBe(good);
    expect(rejected.message('data point')).toBe('');
    const mixed = [point('a'), point('late', { timeUnixNano: MAX_STORABLE_NANOS + 1n }), point('huge', { count: 2 ** 53 }), point('early', { startTimeUnixNano: MAX_STORABLE_NANOS + 1n })];
    expect(keepStorablePoints(mixed, rejected).map((p) => p.metricName)).toEqual(['a']);
    expect(pointProblem(mixed[2]!)).toBe(`count ${2 ** 53} is not exact as a 53-bit integer`);
    expect(rejected.count).toBe(3);
    expect(rejected.message('data point')).toBe(
      "rejected 3 data points: data point of 'late': time is after the year 2262; data point of 'huge': count 9007199254740992 is not exact as a 53-bit integer; data point of 'early': time is after the year 2262",
    );
  });

  it('a point at exactly the last storable time is kept', () => {
    expect(pointProblem(point('at', { startTimeUnixNano: MAX_STORABLE_NANOS, timeUnixNano: MAX_STORABLE_NANOS }))).toBeUndefined();
    expect(pointProblem(point('over', { timeUnixNano: MAX_STORABLE_NANOS + 1n }))).toBe('time is after the year 2262');
  });

  it('lists the first three reasons and counts the rest; one is singular', () => {
    const one = new Rejections();
    one.add("span 'a'", 'trace id is all zeroes');
    expect(one.message('span')).toBe("rejected 1 span: span 'a': trace id is all zeroes");
    const many = new Rejections();
    for (let i = 0; i < 5; i++) many.add(`span '${i}'`, 'bad');
    expect(many.message('span')).toBe("rejected 5 spans: span '0': bad; span '1': bad; span '2': bad; and 2 more");
  });

  it('stores an attribute named __proto__ as data', () => {
    const attrs = {};
    setAttribute(attrs, '__proto__', { stringValue: 'x' });
    setAttribute(attrs, 'k', { intValue: '1' });
    expect(Object.getPrototypeOf(attrs)).toBe(Object.prototype);
    expect(Object.keys(attrs)).toEqual(['__proto__', 'k']);
    expect(JSON.stringify(attrs)).toBe('{"__proto__":{"stringValue":"x"},"k":{"intValue":"1"}}');
  });
});
