// The run's per-second timeline, the users series and the per-endpoint response times over time
// (analyzer/timeline.ts), fed by hand in process: every second from 0 to the last one, the counts
// and percentiles of each (null where a second has no value), requests in flight by Little's law,
// users carried forward, merges (through a structured clone, as from a worker thread), and the
// per-endpoint buckets that widen for runs longer than 300 s.
import { describe, expect, it } from 'vitest';
import { EndpointTimeline, TimelineAccumulator, usersPerSecond } from '../analyzer/timeline.ts';

const MS = 1e6;
const START = Date.parse('2026-11-30T10:00:00.000Z');

describe('run timeline', () => {
  it('has a point for every second up to the last, with its requests, errors and percentiles', () => {
    const t = new TimelineAccumulator();
    for (let i = 1; i <= 100; i++) t.record(0, i * MS, (i / 2) * MS, (i / 2) * MS, i % 10 === 0);
    t.record(2, 40 * MS, null, null, false);
    t.record(2, null, null, null, true);
    const points = t.finish(START, new Map());
    expect(points.map((p) => [p.second, p.time, p.requests, p.errors])).toEqual([
      [0, '2026-11-30T10:00:00.000Z', 100, 10],
      [1, '2026-11-30T10:00:01.000Z', 0, 0],
      [2, '2026-11-30T10:00:02.000Z', 2, 1],
    ]);
    expect(points[0]).toMatchObject({ clientP50: 50, clientP99: 99, serverP50: 25, serverP99: 49.5, gapP50: 25, gapP99: 49.5 });
    expect(points[1]).toMatchObject({ clientP50: null, clientP99: null, serverP50: null, gapP99: null, inFlight: 0, users: null });
    expect(points[2]).toMatchObject({ clientP50: 40, clientP99: 40, serverP50: null, serverP99: null, gapP50: null, gapP99: null });
    expect(new TimelineAccumulator().finish(START, new Map())).toEqual([]);
  });

  it('gives requests in flight as the client time started in each second, to two decimals', () => {
    const t = new TimelineAccumulator();
    // 0 s: 1,250 ms + 1,000 ms of client time → 2.25 in flight; 1 s: 3.333 ms → 0.00; 2 s: 5 ms → 0.01.
    t.record(0, 1250 * MS, null, null, false);
    t.record(0, 1000 * MS, null, null, false);
    t.record(1, 3.333 * MS, null, null, false);
    t.record(2, 5 * MS, null, null, false);
    expect(t.finish(START, new Map()).map((p) => p.inFlight)).toEqual([2.25, 0, 0.01]);
  });

  it('carries users forward from each report, and runs to the last report even past the last request', () => {
    const t = new TimelineAccumulator();
    t.record(1, MS, null, null, false);
    const points = t.finish(START, new Map([
      [0, 5],
      [2, 0],
      [4, 12],
    ]));
    expect(points.map((p) => [p.second, p.users, p.requests])).toEqual([
      [0, 5, 0],
      [1, 5, 1],
      [2, 0, 0],
      [3, 0, 0],
      [4, 12, 0],
    ]);
  });

  it('merges two halves, one through a structured clone, into what one accumulator fed both gives', () => {
    const whole = new TimelineAccumulator();
    const a = new TimelineAccumulator();
    const b = new TimelineAccumulator();
    for (let i = 0; i < 400; i++) {
      const args = [i % 7, (10 + (i % 37)) * MS, (3 + (i % 11)) * MS, i % 5 === 0 ? null : (7 + (i % 13)) * MS, i % 9 === 0] as const;
      whole.record(...args);
      (i % 3 === 0 ? a : b).record(...args);
    }
    const merged = TimelineAccumulator.revive(structuredClone(a));
    merged.merge(TimelineAccumulator.revive(structuredClone(b)));
    const users = new Map([[3, 4]]);
    expect(merged.finish(START, users)).toEqual(whole.finish(START, users));
    // Seconds only the other side has are taken in.
    const c = new TimelineAccumulator();
    c.record(9, 5 * MS, 1 * MS, 4 * MS, true);
    merged.merge(c);
    expect(merged.finish(START, users)[9]).toMatchObject({ requests: 1, errors: 1, clientP50: 5, serverP50: 1, gapP50: 4 });
  });
});

describe('users per second', () => {
  it('sums the last value of each series and process in each second, from the run start on', () => {
    const users = usersPerSecond([
      { resourceId: 1, series: 'A', relMs: -500, value: 99 }, // before the run: left out
      { resourceId: 1, series: 'A', relMs: 100, value: 2 },
      { resourceId: 1, series: 'B', relMs: 200, value: 3 },
      { resourceId: 2, series: 'A', relMs: 900, value: 4 }, // another process's class A
      { resourceId: 1, series: 'A', relMs: 1500, value: 6 },
      { resourceId: 1, series: 'A', relMs: 1999, value: 7 }, // last in second 1 wins
      { resourceId: 2, series: 'A', relMs: 0, value: 1 },
    ]);
    expect([...users]).toEqual([
      [0, 1 + 3 + 7],
      [1, 7 + 3 + 4],
    ]);
    expect(usersPerSecond([{ resourceId: 1, series: 'A', relMs: 0, value: 3 }]).get(0)).toBe(3);
    expect(usersPerSecond([])).toEqual(new Map());
  });
});

describe('endpoint timeline', () => {
  it('gives p50 and p95 of each second, in order', () => {
    const e = new EndpointTimeline();
    for (let i = 1; i <= 20; i++) e.record(3, i * MS);
    e.record(0, 7 * MS);
    expect(e.finish(3)).toEqual([
      { second: 0, requests: 1, p50: 7, p95: 7 },
      { second: 3, requests: 20, p50: 10, p95: 19 },
    ]);
  });

  it('folds seconds into buckets of ⌈(last + 1) / 300⌉ s for long runs', () => {
    const e = new EndpointTimeline();
    for (let s = 0; s < 900; s++) e.record(s, (s + 1) * MS);
    expect(e.finish(299).length).toBe(900); // one second each up to 300 s: the run's last second decides
    const points = e.finish(899);
    expect(points.length).toBe(300);
    expect(points.slice(0, 2)).toEqual([
      { second: 0, requests: 3, p50: 2, p95: 3 },
      { second: 3, requests: 3, p50: 5, p95: 6 },
    ]);
    expect(points.at(-1)?.second).toBe(897);
    // 300 s fit one second each; 301 s need 2-second buckets.
    expect(e.finish(300).slice(0, 2).map((p) => [p.second, p.requests])).toEqual([
      [0, 2],
      [2, 2],
    ]);
  });

  it('merges without sharing digests with the side merged in', () => {
    const a = new EndpointTimeline();
    const b = new EndpointTimeline();
    a.record(0, 1 * MS);
    b.record(0, 3 * MS);
    b.record(1, 5 * MS);
    const merged = EndpointTimeline.revive(structuredClone(a));
    merged.merge(b);
    expect(merged.finish(1)).toEqual([
      { second: 0, requests: 2, p50: 1, p95: 3 },
      { second: 1, requests: 1, p50: 5, p95: 5 },
    ]);
    // Recording into the merged timeline leaves b as it was.
    merged.record(1, 9 * MS);
    expect(b.finish(1)[1]).toEqual({ second: 1, requests: 1, p50: 5, p95: 5 });
  });
});
