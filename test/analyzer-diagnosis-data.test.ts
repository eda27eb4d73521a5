// The per-second, per-service and per-endpoint series behind the findings (analyzer/diagnosis-data.ts),
// fed by hand in process: each second's counts, requests in flight, server mean and carried-forward
// users; the clock sample with the least slack; the coverage buckets as they widen past 120; each
// request's row in the endpoint's sample; and a merge of two halves (through a structured clone, as
// from a worker thread) giving what one accumulator fed everything gives.
import { describe, expect, it } from 'vitest';
import { COVERAGE_BUCKETS, DiagnosisAccumulator, type DiagnosisData } from '../analyzer/diagnosis-data.ts';
import type { SampleField } from '../analyzer/reservoir.ts';

const MS = 1e6;
const noOffset = (): undefined => undefined;

/** A measured pair: client 40 ms, server 10 ms, sent at 3 ms, first byte at 33 ms, 2 ms download. */
function measure(d: DiagnosisAccumulator, second: number, endpoint: string, service: string, t2Ms: number, t3Ms: number, over: { sentMs?: number; waitingMs?: number } = {}): void {
  const sent = (over.sentMs ?? 3) * MS;
  const waiting = (over.waitingMs ?? 30) * MS;
  d.measured(second, endpoint, service, 40 * MS, 10 * MS, 1 * MS, 1.5 * MS, sent, waiting, 2 * MS, t2Ms * MS, t3Ms * MS);
}

describe('per-second series', () => {
  it('counts roots and matched roots, requests in flight by client time, and the mean server time', () => {
    const d = new DiagnosisAccumulator();
    d.root(0, '/a', true, 400 * MS);
    d.root(0, '/a', false, 600 * MS);
    d.root(0, '/b', true, null);
    d.root(2, '/a', true, 2000 * MS);
    measure(d, 0, '/a', 'shop', 10, 20);
    d.bounds(0, '/b', 'shop', 30 * MS, 20 * MS, 4 * MS, 24 * MS);
    const data = d.finish(noOffset, new Map());
    expect(data.seconds.map((s) => s.second)).toEqual([0, 2]);
    const [s0, s2] = data.seconds;
    expect(s0).toMatchObject({ roots: 3, matched: 2, pairs: 2, inFlight: 1, users: null, serverMeanMs: 15 });
    expect(s0?.parts?.pairs).toBe(2);
    expect(s2).toMatchObject({ roots: 1, matched: 1, pairs: 0, inFlight: 2, serverMeanMs: null, parts: null });
  });

  it("carries the generator's active users forward to the seconds after each report", () => {
    const d = new DiagnosisAccumulator();
    for (const s of [0, 1, 3, 5, 6]) d.root(s, '/a', true, MS);
    const users = new Map([
      [1, 5],
      [4, 10],
    ]);
    expect(d.finish(noOffset, users).seconds.map((s) => [s.second, s.users])).toEqual([
      [0, null],
      [1, 5],
      [3, 5],
      [5, 10],
      [6, 10],
    ]);
  });

  it('splits each second\'s gap with the server offset it is given', () => {
    const d = new DiagnosisAccumulator();
    measure(d, 0, '/a', 'shop', 10, 20);
    const plain = d.finish(noOffset, new Map()).seconds[0]?.parts;
    const shifted = d.finish(() => ({ offsetNs: 4 * MS, errorNs: 0 }), new Map()).seconds[0]?.parts;
    // Sent at 3 ms, server start at 10 ms: 7 ms before it on the raw clocks, 3 ms with the 4 ms offset removed.
    expect(plain?.beforeServer).toBeCloseTo(7, 9);
    expect(shifted?.beforeServer).toBeCloseTo(3, 9);
    expect(shifted?.afterServer).toBeCloseTo((plain?.afterServer ?? 0) + 4, 9);
  });
});

describe('clock samples', () => {
  it("keep each second's sample with the least round-trip slack, per server service", () => {
    const d = new DiagnosisAccumulator();
    // Sent at 3 ms, first byte at 33 ms: a server span from 10 to 20 ms leaves 20 ms of slack and
    // puts the server clock (10 + 20 − 3 − 33) / 2 = −3 ms off; 12 to 30 ms: 12 ms, +3 ms.
    measure(d, 0, '/a', 'shop', 10, 20);
    measure(d, 0, '/a', 'shop', 12, 30);
    measure(d, 0, '/a', 'shop', 11, 20); // 21 ms of slack: not kept
    measure(d, 0, '/a', 'shop', 14, 32); // 12 ms again: the first one stays
    measure(d, 0, '/a', 'db', 5, 6);
    measure(d, 1, '/a', 'shop', 100, 110);
    const clock = d.finish(noOffset, new Map()).clock;
    expect(clock).toHaveLength(3);
    const at = (service: string, second: number) => clock.find((c) => c.service === service && c.second === second);
    expect(at('shop', 0)?.delayMs).toBeCloseTo(12, 9);
    expect(at('shop', 0)?.offsetMs).toBeCloseTo(3, 9);
    expect(at('db', 0)?.delayMs).toBeCloseTo(29, 9);
    expect(at('db', 0)?.offsetMs).toBeCloseTo((5 + 6 - 3 - 33) / 2, 9);
    expect(at('shop', 1)?.offsetMs).toBeCloseTo((100 + 110 - 3 - 33) / 2, 9);
    // The first byte at sent + waiting: waiting 50 ms leaves 40 ms of slack around a 10 ms span.
    const w = new DiagnosisAccumulator();
    measure(w, 0, '/a', 'shop', 10, 20, { waitingMs: 50 });
    expect(w.finish(noOffset, new Map()).clock[0]?.delayMs).toBeCloseTo(40, 9);
  });
});

describe('coverage buckets', () => {
  it('count roots and matched roots per second while the run is under 120 s', () => {
    const d = new DiagnosisAccumulator();
    d.root(0, '/a', true, MS);
    d.root(0, '/a', false, MS);
    d.root(3, '/a', true, MS);
    d.root(-1, '/a', true, MS); // before the run's first root (a skewed clock): the first bucket
    d.root(1, '/b', false, MS);
    const { coverage } = d.finish(noOffset, new Map());
    expect(coverage).toEqual([
      { endpoint: '/a', widthS: 1, roots: [3, 0, 0, 1], matched: [2, 0, 0, 1] },
      { endpoint: '/b', widthS: 1, roots: [0, 1], matched: [0, 0] },
    ]);
  });

  it('double their width as the run passes 120 buckets, folding neighbours together', () => {
    const d = new DiagnosisAccumulator();
    // One root a second for 0..129 s, every third one matched.
    for (let s = 0; s < 130; s++) d.root(s, '/a', s % 3 === 0, MS);
    let c = d.finish(noOffset, new Map()).coverage[0];
    expect(c?.widthS).toBe(2);
    expect(c?.roots).toEqual(Array.from({ length: 65 }, () => 2));
    expect(c?.matched).toEqual(Array.from({ length: 65 }, (_, i) => [2 * i, 2 * i + 1].filter((s) => s % 3 === 0).length));
    // A root at 500 s needs width 8 (500 / 8 = 62.5 < 120; 500 / 4 = 125 is not).
    d.root(500, '/a', true, MS);
    c = d.finish(noOffset, new Map()).coverage[0];
    expect(c?.widthS).toBe(8);
    expect(c?.roots.length).toBe(63);
    expect(c?.roots.slice(0, 17)).toEqual([...Array.from({ length: 16 }, () => 8), 2]);
    expect(c?.roots[62]).toBe(1);
    expect(c?.roots.reduce((a, b) => a + b, 0)).toBe(131);
    expect(c?.matched.reduce((a, b) => a + b, 0)).toBe(44 + 1);
    // Exactly at the edge: second 119 fits width 1, second 120 does not.
    const edge = new DiagnosisAccumulator();
    edge.root(COVERAGE_BUCKETS - 1, '/a', true, MS);
    expect(edge.finish(noOffset, new Map()).coverage[0]?.widthS).toBe(1);
    edge.root(COVERAGE_BUCKETS, '/a', true, MS);
    const wide = edge.finish(noOffset, new Map()).coverage[0];
    expect(wide?.widthS).toBe(2);
    expect(wide?.roots).toEqual([...Array.from({ length: 59 }, () => 0), 1, 1]);
  });
});

describe('endpoint samples', () => {
  it("hold each request's client, server, gap and gap parts, in ms", () => {
    const d = new DiagnosisAccumulator();
    measure(d, 0, '/a', 'shop', 10, 20);
    d.bounds(0, '/b', 'db', 30 * MS, 20 * MS, 4 * MS, 24 * MS);
    const row = (endpoint: string): Record<SampleField, number> => {
      const r = d.samples.get(endpoint);
      const fields: SampleField[] = ['client', 'server', 'gap', 'poolWait', 'connectionSetup', 'sending', 'beforeServer', 'betweenAttempts', 'afterServer', 'download', 'unexplained'];
      return Object.fromEntries(fields.map((f) => [f, r?.column(f, () => 0)[0] ?? NaN])) as Record<SampleField, number>;
    };
    // Client 40, server 10; blocked 1, set-up 1.5, sent at 3; server 10→20; first byte at 33; 2 ms download.
    expect(row('/a')).toEqual({ client: 40, server: 10, gap: 30, poolWait: 1, connectionSetup: 1.5, sending: 0.5, beforeServer: 7, betweenAttempts: 0, afterServer: 13, download: 2, unexplained: 5 });
    // Without phases: the client's start and end stand for sent and first byte.
    expect(row('/b')).toEqual({ client: 30, server: 20, gap: 10, poolWait: 0, connectionSetup: 0, sending: 0, beforeServer: 4, betweenAttempts: 0, afterServer: 6, download: 0, unexplained: 0 });
    expect(d.samples.get('/a')?.services).toEqual(['shop']);
  });
});

describe('merge', () => {
  /** Feeds requests i of n into `d`: roots over 300 s, pairs on two services. */
  function feed(d: DiagnosisAccumulator, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const second = (i * 7) % 300;
      const endpoint = i % 4 === 0 ? '/b' : '/a';
      d.root(second, endpoint, i % 5 !== 0, (20 + (i % 13)) * MS);
      if (i % 5 === 0) continue;
      if (i % 3 === 0) d.bounds(second, endpoint, 'db', 30 * MS, 20 * MS, (4 + (i % 3)) * MS, 24 * MS);
      else measure(d, second, endpoint, 'shop', 8 + (i % 9), 20 + (i % 4));
    }
  }

  const finish = (d: DiagnosisAccumulator): DiagnosisData => d.finish((s) => (s === 'shop' ? { offsetNs: MS, errorNs: 0 } : undefined), new Map([[0, 3]]));

  it('of two halves, one through a structured clone, gives what one accumulator gives', () => {
    const whole = new DiagnosisAccumulator();
    feed(whole, 0, 600);
    // The first half stops at 100 s (coverage width 1), the second spans the rest (width 4).
    const early = new DiagnosisAccumulator();
    const late = new DiagnosisAccumulator();
    for (let i = 0; i < 600; i++) feed((i * 7) % 300 < 100 ? early : late, i, i + 1);
    const merged = DiagnosisAccumulator.revive(structuredClone(early));
    merged.merge(DiagnosisAccumulator.revive(structuredClone(late)));
    const a = finish(whole);
    const b = finish(merged);
    const sorted = (x: DiagnosisData) => ({
      seconds: x.seconds,
      clock: [...x.clock].sort((p, q) => p.second - q.second || p.service.localeCompare(q.service)),
      coverage: [...x.coverage].sort((p, q) => p.endpoint.localeCompare(q.endpoint)),
    });
    expect(sorted(b).seconds.length).toBe(300);
    expect(sorted(b).coverage.map((c) => c.widthS)).toEqual([4, 4]);
    // Sums in another order: equal to rounding.
    expect(JSON.parse(JSON.stringify(sorted(b), (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)))).toEqual(
      JSON.parse(JSON.stringify(sorted(a), (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v))),
    );
    for (const endpoint of ['/a', '/b']) expect(merged.samples.get(endpoint)?.seen).toBe(whole.samples.get(endpoint)?.seen);
  });

  it('widens either side to the other: the wider one into the narrower and the narrower into the wider', () => {
    const narrow = new DiagnosisAccumulator();
    const wide = new DiagnosisAccumulator();
    narrow.root(10, '/a', true, MS);
    wide.root(10, '/a', false, MS);
    wide.root(250, '/a', true, MS); // width 4
    const intoNarrow = DiagnosisAccumulator.revive(structuredClone(narrow));
    intoNarrow.merge(DiagnosisAccumulator.revive(structuredClone(wide)));
    const intoWide = DiagnosisAccumulator.revive(structuredClone(wide));
    intoWide.merge(DiagnosisAccumulator.revive(structuredClone(narrow)));
    for (const d of [intoNarrow, intoWide]) {
      const c = d.finish(noOffset, new Map()).coverage[0];
      expect(c?.widthS).toBe(4);
      expect(c?.roots[2]).toBe(2);
      expect(c?.matched[2]).toBe(1);
      expect(c?.roots[62]).toBe(1);
      expect(c?.roots.reduce((x, y) => x + y, 0)).toBe(3);
    }
    // The merge does not change the side merged in.
    expect(narrow.finish(noOffset, new Map()).coverage[0]?.widthS).toBe(1);
  });

  it('takes in the endpoints only the other side has', () => {
    const a = new DiagnosisAccumulator();
    const b = new DiagnosisAccumulator();
    a.root(0, '/a', true, MS);
    b.root(1, '/c', false, MS);
    measure(b, 1, '/c', 'shop', 10, 20);
    a.merge(b);
    expect(a.finish(noOffset, new Map()).coverage.map((c) => [c.endpoint, c.roots])).toEqual([
      ['/a', [1]],
      ['/c', [0, 1]],
    ]);
    expect(a.samples.get('/c')?.seen).toBe(1);
  });

  it('keeps the least-slack clock sample of both sides', () => {
    const a = new DiagnosisAccumulator();
    const b = new DiagnosisAccumulator();
    measure(a, 0, '/a', 'shop', 10, 20); // 20 ms slack
    measure(b, 0, '/a', 'shop', 12, 30); // 12 ms slack
    measure(b, 1, '/a', 'shop', 12, 20); // 22 ms
    measure(a, 1, '/a', 'shop', 11, 20); // 21 ms
    a.merge(b);
    expect(a.finish(noOffset, new Map()).clock.map((c) => [c.second, Math.round(c.delayMs)])).toEqual([
      [0, 12],
      [1, 21],
    ]);
  });
});
