// Each finding rule of analyzer/findings.ts on hand-built inputs, in process: the figures it
// reports worked out here from the inputs, its summary's wording, and each of its conditions at
// its edge (just inside: a finding; just outside: none). test/analyzer-findings.test.ts shows the
// rules find their cause in whole simulated runs; this file pins what each rule does with numbers.
import { describe, expect, it } from 'vitest';
import type { OffsetEstimate } from '../analyzer/clock-offset.ts';
import type { ClockSample, CoverageSeries, SecondPoint } from '../analyzer/diagnosis-data.ts';
import {
  clientSaturation,
  clockTrouble,
  connectionChurn,
  diagnose,
  propagationBreak,
  queueingBeforeServer,
  slowServerTail,
  type EndpointFacts,
  type Finding,
} from '../analyzer/findings.ts';
import type { PhasesMs } from '../analyzer/gap-breakdown.ts';
import type { Stats } from '../analyzer/stats.ts';
import { gapSplit } from './helpers/gap-split.ts';

const stats = (p50: number, p99: number, mean = p50): Stats => ({ p50, p90: p99, p95: p99, p99, max: p99, mean });

/** A measured split with 20 ms of gap unless `over` says otherwise. */
const phases = (over: Partial<PhasesMs>): PhasesMs => gapSplit({ gap: 20, ...over });

function only(findings: Finding[]): Finding {
  expect(findings).toHaveLength(1);
  return findings[0] as Finding;
}

describe('connection churn', () => {
  /** An endpoint whose opened requests carry `openedMean` ms of gap and reused ones `reusedMean`. */
  function ep(opened: number, openedMean: number, reused: number, reusedMean: number, setupMs = 0): EndpointFacts {
    const pairs = opened + reused;
    return {
      name: '/login',
      matched: pairs,
      clientMs: stats(50, 80),
      serverMs: stats(10, 20),
      gapMs: stats(20, 40),
      // connectionSetup is the mean over all pairs: setupMs per opened request spread over them.
      phasesMs: phases({ connectionSetup: (setupMs * opened) / pairs, pairs }),
      gapByConnection: { opened: { count: opened, gapMs: stats(openedMean, openedMean, openedMean) }, reused: { count: reused, gapMs: stats(reusedMean, reusedMean, reusedMean) } },
    };
  }

  it('reports the extra gap of the opened requests and the share of the gap it explains', () => {
    // 20 opened at 30 ms, 80 reused at 10 ms: 20 ms extra each, 400 of the 1,400 ms of gap.
    const f = only(connectionChurn([ep(20, 30, 80, 10, 20)]));
    expect(f).toEqual({
      rule: 'connection-churn',
      endpoint: '/login',
      summary:
        "20% of /login requests opened a new connection and carried 20.0 ms more gap each: 29% of the endpoint's gap. " +
        'The connection phases (DNS, connect, TLS) take 20.0 ms of it. ' +
        'Reuse connections: HTTP keep-alive, a larger client pool, a longer idle timeout on the server or proxy.',
      figures: { openedShare: 0.2, opened: 20, reused: 80, openedGapMeanMs: 30, reusedGapMeanMs: 10, extraGapMs: 20, connectionSetupMs: 20 },
      explainedShare: 0.286,
    });
  });

  it('says the cost comes before the first byte when the connection phases are under half of it', () => {
    const f = only(connectionChurn([ep(20, 30, 80, 10, 9.99)]));
    expect(f.summary).toContain(
      "29% of the endpoint's gap. The connection phases take only 9.99 ms of it; the rest comes before the first byte, as when a proxy or the server holds each new connection before answering. Reuse",
    );
    expect(only(connectionChurn([ep(20, 30, 80, 10, 10)])).summary).toContain('The connection phases (DNS, connect, TLS) take 10.0 ms of it.');
  });

  it('measures the extra gap by the set-up time when fewer than five requests reused a connection', () => {
    // 4 reused: their mean (10 ms) is not trusted; the 12 ms set-up per opened request is the extra.
    const f = only(connectionChurn([ep(10, 30, 4, 10, 12)]));
    expect(f.figures.extraGapMs).toBe(12);
    expect(f.figures.reusedGapMeanMs).toBe(10);
    expect(f.explainedShare).toBe(Math.round(((10 * 12) / (10 * 30 + 4 * 10)) * 1000) / 1000);
    // With 5 reused, the difference of the means (20 ms) is.
    expect(only(connectionChurn([ep(10, 30, 5, 10, 12)])).figures.extraGapMs).toBe(20);
    // Nothing reused at all: no reused mean, and a share of at most 1.
    const none = only(connectionChurn([ep(12, 5, 0, 0, 40)]));
    expect(none.figures.reusedGapMeanMs).toBeNull();
    expect(none.figures.extraGapMs).toBe(40);
    expect(none.explainedShare).toBe(1);
  });

  it('needs 10 requests, 3 opened, 5% of them opening, 1 ms extra and 10% of the gap', () => {
    const found = (e: EndpointFacts): number => connectionChurn([e]).length;
    expect(found(ep(3, 30, 7, 10, 20))).toBe(1);
    expect(found(ep(3, 30, 6, 10, 20))).toBe(0); // 9 requests
    expect(found(ep(2, 30, 8, 10, 20))).toBe(0); // 2 opened
    expect(found(ep(3, 30, 57, 1, 20))).toBe(1); // 3 of 60: 5%
    expect(found(ep(3, 30, 58, 1, 20))).toBe(0); // 3 of 61
    expect(found(ep(20, 1.5, 80, 0.5, 1))).toBe(1); // exactly 1 ms extra
    expect(found(ep(20, 1.49, 80, 0.5, 1))).toBe(0);
    // 10 opened at 19 ms, 90 reused at 9 ms: 100 of 1,000 ms of gap is exactly 10%.
    expect(found(ep(10, 19, 90, 9, 10))).toBe(1);
    expect(found(ep(10, 19.1, 90, 9.1, 10))).toBe(0); // 100 of 1,010 ms
  });

  it('skips endpoints without a connection split or phases, and reads a missing gap as 0 ms', () => {
    expect(connectionChurn([{ ...ep(20, 30, 80, 10, 20), gapByConnection: null }])).toEqual([]);
    expect(connectionChurn([{ ...ep(20, 30, 80, 10, 20), phasesMs: null }])).toEqual([]);
    const e = ep(20, 30, 80, 10, 20);
    const noReusedGap: EndpointFacts = { ...e, gapByConnection: { opened: e.gapByConnection!.opened, reused: { count: 80, gapMs: null } } };
    const f = only(connectionChurn([noReusedGap]));
    expect(f.figures.reusedGapMeanMs).toBe(0);
    expect(f.figures.extraGapMs).toBe(30);
    expect(f.explainedShare).toBe(1);
    const noGapAtAll: EndpointFacts = { ...e, gapByConnection: { opened: { count: 20, gapMs: null }, reused: { count: 80, gapMs: null } } };
    expect(connectionChurn([noGapAtAll])).toEqual([]);
    // Set-up measured but no gap anywhere (nothing reused, the opened ones' gap missing): no share to give.
    const setupOnly = ep(12, 5, 0, 0, 40);
    expect(connectionChurn([{ ...setupOnly, gapByConnection: { opened: { count: 12, gapMs: null }, reused: { count: 0, gapMs: null } } }])).toEqual([]);
  });
});

/** A second of the run with `pairs` split pairs at load `users`, its gap parts and server mean. */
function second(i: number, users: number | null, parts: Partial<PhasesMs> | null, over: Partial<SecondPoint> = {}): SecondPoint {
  return { second: i, roots: 10, matched: 10, pairs: 10, inFlight: 1, users, serverMeanMs: 10, parts: parts === null ? null : phases(parts), ...over };
}

/** 12 seconds at 2, 4, …, 24 users; `y(users)` ms of the part under test, 20 ms of gap each. */
function loadRamp(part: (y: number) => Partial<PhasesMs>, y: (users: number) => number, over: (users: number) => Partial<SecondPoint> = () => ({})): SecondPoint[] {
  return Array.from({ length: 12 }, (_, i) => {
    const users = 2 * (i + 1);
    return second(i, users, part(y(users)), over(users));
  });
}

// Flat at 1 ms up to 10 users, then +0.5 ms per user: 8 ms at 24 users. The growth above the base,
// weighted by pairs, is 0.5 × (2 + 4 + … + 14) = 28 ms of 12 × 20 = 240 ms of gap.
const hinge = (users: number): number => 1 + 0.5 * Math.max(0, users - 10);
const QUEUE_SHARE = 28 / 240;
const before = (y: number): Partial<PhasesMs> => ({ beforeServer: y });

describe('queueing before the server', () => {
  it('fits the hinge: base, knee, slope, peak, and the share of the gap above the base', () => {
    const f = only(queueingBeforeServer(loadRamp(before, hinge)));
    expect(f.rule).toBe('queueing-before-server');
    expect(f.endpoint).toBeUndefined();
    expect(f.summary).toBe(
      'Queueing before the server: the time from request sent to server span start grows with load, from 1.00 ms to 8.00 ms at 24 users, ' +
        "bending at about 10 users, +0.50 ms per user: 12% of the gap. Requests wait in front of the server's span (accept backlog, proxy or " +
        'load-balancer queue, worker pool): add capacity or cap concurrency.',
    );
    expect(f.figures).toEqual({ load: 'users', kneeLoad: 10, slopeMsPerLoad: 0.5, baseMs: 1, peakMs: 8, peakLoad: 24, r2: 1 });
    expect(f.explainedShare).toBe(Math.round(QUEUE_SHARE * 1000) / 1000);
  });

  it('says it grows from the lowest load on when there is no flat part', () => {
    const f = only(queueingBeforeServer(loadRamp(before, (u) => 1 + 0.5 * (u - 2))));
    expect(f.figures.kneeLoad).toBeNull();
    expect(f.summary).toContain('from 1.00 ms to 12.0 ms at 24 users (from the lowest load on), +0.50 ms per user:');
  });

  it('fits against requests in flight when the generator reports users for under 80% of the seconds', () => {
    // 9 of 12 seconds with users (75%): the in-flight series (2, 4, …, 24) is used instead.
    const seconds = loadRamp(before, hinge, (u) => ({ inFlight: u, users: u > 6 ? 100 : null }));
    const f = only(queueingBeforeServer(seconds));
    expect(f.figures.load).toBe('in-flight requests');
    expect(f.summary).toContain('at 24 in-flight requests, bending at about 10 in-flight requests, +0.50 ms per request in flight:');
    // 10 of 12 (83%): users, here a constant 100, which cannot be fitted.
    expect(queueingBeforeServer(loadRamp(before, hinge, (u) => ({ inFlight: u, users: u > 4 ? 100 : null })))).toEqual([]);
    // Loads to one decimal in the words, to three in the figures.
    const odd = only(queueingBeforeServer(loadRamp(before, hinge, (u) => ({ inFlight: u * 1.01, users: null }))));
    expect(odd.summary).toContain('at 24.2 in-flight requests, bending at about 10.1 in-flight requests,');
    expect(odd.figures).toMatchObject({ kneeLoad: 10.1, peakLoad: 24.24 });
    // Exactly 80% (8 of 10 seconds): users.
    const ten = loadRamp(before, hinge, (u) => ({ inFlight: u, users: u > 4 ? 100 : null })).slice(0, 10);
    expect(queueingBeforeServer(ten)).toEqual([]);
    expect(queueingBeforeServer(ten.map((s, i) => (i === 2 ? { ...s, users: null } : s)))).toHaveLength(1);
    // Users of 0 count as not reported.
    expect(only(queueingBeforeServer(loadRamp(before, hinge, (u) => ({ inFlight: u, users: u > 6 ? 0 : 5 })))).figures.load).toBe('in-flight requests');
  });

  it('uses only seconds with 3 or more pairs, a gap split, and at most half of it estimated', () => {
    const ramp = loadRamp(before, hinge);
    // 8 usable seconds are enough; 7 are not.
    const spoil = (n: number, how: Partial<SecondPoint>): SecondPoint[] => ramp.map((s, i) => (i < n ? { ...s, ...how } : s));
    expect(queueingBeforeServer(spoil(4, { pairs: 2 }))).toHaveLength(1);
    expect(queueingBeforeServer(spoil(5, { pairs: 2 }))).toEqual([]);
    expect(queueingBeforeServer(spoil(5, { pairs: 3 }))).toHaveLength(1);
    expect(queueingBeforeServer(spoil(5, { parts: null }))).toEqual([]);
    expect(queueingBeforeServer(spoil(5, { parts: phases({ beforeServer: 1, estimatedShare: 0.51 }) }))).toEqual([]);
    expect(queueingBeforeServer(spoil(5, { parts: phases({ beforeServer: 1, estimatedShare: 0.5 }) }))).toHaveLength(1);
  });

  it('needs a load that varies: 4 distinct values, the highest at least 1.5 times the lowest', () => {
    // Loads 10..13.5 (highest 1.35 × lowest): no fit. 8..12 (1.5 ×): fitted.
    const narrow = Array.from({ length: 12 }, (_, i) => second(i, 10 + 0.3 * i, before(1 + i)));
    expect(queueingBeforeServer(narrow)).toEqual([]);
    const enough = Array.from({ length: 12 }, (_, i) => second(i, 8 + (4 * i) / 11, before(1 + i)));
    expect(queueingBeforeServer(enough)).toHaveLength(1);
    // Three distinct loads: no fit.
    const three = Array.from({ length: 12 }, (_, i) => second(i, 2 + 4 * (i % 3), before(1 + 4 * (i % 3))));
    expect(queueingBeforeServer(three)).toEqual([]);
  });

  it('needs a growing, well-fitted hinge that grows by at least 2 ms and at least its base', () => {
    expect(queueingBeforeServer(loadRamp(before, (u) => 10 - 0.3 * u))).toEqual([]); // shrinking
    // Growth of exactly max(2, base): 2 ms over a base of 1 ms, and 3 ms over a base of 3 ms.
    const grows = (base: number, growth: number) => queueingBeforeServer(loadRamp(before, (u) => base + (growth / 14) * Math.max(0, u - 10)));
    expect(grows(1, 2)).toHaveLength(1);
    expect(grows(1, 1.9)).toEqual([]);
    expect(grows(3, 3)).toHaveLength(1);
    expect(grows(3, 2.9)).toEqual([]);
    // Noise around the hinge: r² under 0.6.
    const noisy = loadRamp(before, (u) => hinge(u) + (u % 4 === 0 ? 6 : -6));
    expect(queueingBeforeServer(noisy)).toEqual([]);
  });
});

describe('client-side saturation', () => {
  const client = (y: number): Partial<PhasesMs> => ({ poolWait: y / 4, sending: (3 * y) / 4 });

  it('reports pool wait + sending growing while the server does not, with the server at both ends', () => {
    const f = only(clientSaturation(loadRamp(client, hinge)));
    expect(f.rule).toBe('client-saturation');
    expect(f.summary).toBe(
      'Client-side saturation: pool wait + sending grow from 1.00 ms to 8.00 ms as load rises to 24 users, while server time changes by 0.00 ms: ' +
        '12% of the gap. The load generator or its host is the bottleneck (CPU, event loop, connection pool), not the service: give it more CPU ' +
        'or processes (--processes), or fewer users per process.',
    );
    expect(f.figures).toEqual({ load: 'users', kneeLoad: 10, clientSideStartMs: 1, clientSideEndMs: 8, peakLoad: 24, serverStartMs: 10, serverEndMs: 10, r2: 1 });
    expect(f.explainedShare).toBe(Math.round(QUEUE_SHARE * 1000) / 1000);
  });

  it('is not the client when the server grows by a quarter of the client growth or more', () => {
    // Client growth 7 ms from 2 to 24 users; server +1.5 ms over that range: still the client.
    const server = (growth: number) => (u: number): Partial<SecondPoint> => ({ serverMeanMs: 10 + (growth * (u - 2)) / 22 });
    const f = only(clientSaturation(loadRamp(client, hinge, server(1.5))));
    expect(f.summary).toContain('while server time changes by 1.50 ms:');
    expect(f.figures.serverStartMs).toBe(10);
    expect(f.figures.serverEndMs).toBe(11.5);
    expect(clientSaturation(loadRamp(client, hinge, server(1.8)))).toEqual([]);
    // Seconds without server time are left out of the server's fit; with none, no server figures.
    const blind = only(clientSaturation(loadRamp(client, hinge, () => ({ serverMeanMs: null }))));
    expect(blind.figures.serverStartMs).toBeNull();
    expect(blind.figures.serverEndMs).toBeNull();
  });

  it('needs the same fit quality as queueing', () => {
    expect(clientSaturation(loadRamp(client, (u) => 1 + (1.9 / 14) * Math.max(0, u - 10)))).toEqual([]);
    expect(clientSaturation(loadRamp(client, (u) => 10 - 0.3 * u))).toEqual([]);
    expect(clientSaturation(loadRamp(client, (u) => hinge(u) + (u % 4 === 0 ? 6 : -6)))).toEqual([]);
    expect(clientSaturation(loadRamp(client, hinge).slice(0, 7))).toEqual([]);
  });
});

describe('slow server tail', () => {
  function ep(matched: number, client: [number, number], server: [number, number] | null, gap: [number, number] | null): EndpointFacts {
    return {
      name: '/search',
      matched,
      clientMs: stats(...client),
      serverMs: server === null ? null : stats(...server),
      gapMs: gap === null ? null : stats(...gap),
      phasesMs: null,
      gapByConnection: null,
    };
  }

  it("reports the share of the client's tail that is the server's own", () => {
    const f = only(slowServerTail([ep(50, [20, 100], [10, 70], [10, 30])]));
    expect(f).toEqual({
      rule: 'slow-server-tail',
      endpoint: '/search',
      summary:
        "Slow server tail on /search: client p99 100 ms vs p50 20.0 ms, and the server's own p99 70.0 ms vs p50 10.0 ms explains 75% of that tail " +
        "(gap p99 30.0 ms): look at the server's slowest traces, not at the network.",
      figures: { clientP50Ms: 20, clientP99Ms: 100, serverP50Ms: 10, serverP99Ms: 70, gapP50Ms: 10, gapP99Ms: 30 },
      explainedShare: 0.75,
    });
    // A server tail longer than the client's explains all of it, no more.
    expect(only(slowServerTail([ep(50, [20, 100], [10, 200], [10, 30])])).explainedShare).toBe(1);
  });

  it('needs 50 matched requests, a client p99 at least p50 + max(5 ms, p50), 60% of it from the server and less from the gap', () => {
    const found = (e: EndpointFacts): number => slowServerTail([e]).length;
    expect(found(ep(49, [20, 100], [10, 70], [10, 30]))).toBe(0);
    expect(found(ep(50, [20, 40], [10, 22], [5, 6]))).toBe(1); // tail 20 = p50
    expect(found(ep(50, [20, 39.9], [10, 22], [5, 6]))).toBe(0);
    expect(found(ep(50, [2, 7], [1, 4], [1, 1.5]))).toBe(1); // tail 5 ms over a p50 of 2 ms
    expect(found(ep(50, [2, 6.9], [1, 4], [1, 1.5]))).toBe(0);
    expect(found(ep(50, [20, 100], [10, 58], [10, 30]))).toBe(1); // 48 of 80: 60%
    expect(found(ep(50, [20, 100], [10, 57.9], [10, 30]))).toBe(0);
    expect(found(ep(50, [20, 100], [10, 70], [10, 69.9]))).toBe(1);
    expect(found(ep(50, [20, 100], [10, 70], [10, 70]))).toBe(0); // the gap's tail is as long
    expect(found(ep(50, [20, 100], null, [10, 30]))).toBe(0);
    expect(found(ep(50, [20, 100], [10, 70], null))).toBe(0);
  });
});

describe('propagation break', () => {
  const START = '2026-11-30T10:00:00.000Z';
  const series = (matched: number[], widthS = 1, rootsPer = 10, endpoint = '/cart'): CoverageSeries => ({
    endpoint,
    widthS,
    roots: matched.map(() => rootsPer),
    matched,
  });

  it('finds the moment coverage fell, with coverage before and after and the unmatched requests after it', () => {
    const f = only(propagationBreak([series([10, 10, 10, 10, 0, 0, 0, 0, 0, 0])], START));
    expect(f).toEqual({
      rule: 'propagation-break',
      endpoint: '/cart',
      summary:
        'Propagation break on /cart from 4 s into the run (2026-11-30T10:00:04.000Z): coverage 100% before, 0% after (60 requests without a server span). ' +
        "Something changed then: a deploy without instrumentation, a proxy dropping traceparent, or the server's exporter losing spans.",
      figures: { sinceSecond: 4, since: '2026-11-30T10:00:04.000Z', coverageBefore: 1, coverageAfter: 0, unmatched: 60, unmatchedAfter: 60, resolutionS: 1 },
      explainedShare: 1,
    });
  });

  it('picks the split with the largest drop, in buckets of the series width', () => {
    // Split after 4 buckets: 100% → 8% (drop 0.92); after 5: 90% → 0% (drop 0.9).
    const f = only(propagationBreak([series([10, 10, 10, 10, 5, 0, 0, 0, 0, 0, 5], 2)], START));
    expect(f.figures).toMatchObject({ sinceSecond: 8, since: '2026-11-30T10:00:08.000Z', coverageBefore: 1, coverageAfter: 0.143, unmatched: 60, unmatchedAfter: 60, resolutionS: 2 });
    // The unmatched requests after the split over all unmatched ones.
    const early = only(propagationBreak([series([10, 5, 10, 10, 10, 10, 10, 10, 10, 10, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])], START));
    expect(early.figures.sinceSecond).toBe(11);
    expect(early.explainedShare).toBe(Math.round((100 / 105) * 1000) / 1000);
  });

  it('reports an endpoint that never propagated well, through the whole run', () => {
    const f = only(propagationBreak([series([5, 5, 5])], START));
    expect(f.summary).toBe(
      'Propagation break on /cart: only 50% of its 30 requests reached an instrumented server span, all through the run: ' +
        'the target (or a proxy in front of it) does not continue the trace for this endpoint.',
    );
    expect(f.figures).toEqual({ sinceSecond: 0, since: START, coverageBefore: null, coverageAfter: 0.5, unmatched: 15, unmatchedAfter: 15, resolutionS: 1 });
    expect(f.explainedShare).toBe(1);
    // 90% all through is fine; under 90% is not.
    expect(propagationBreak([series([9, 9, 9, 9, 9, 9])], START)).toEqual([]);
    expect(propagationBreak([{ endpoint: '/x', widthS: 1, roots: [100], matched: [89] }], START)).toHaveLength(1);
  });

  it('needs 20 requests and 5 unmatched ones', () => {
    expect(propagationBreak([{ endpoint: '/x', widthS: 1, roots: [19], matched: [0] }], START)).toEqual([]);
    expect(propagationBreak([{ endpoint: '/x', widthS: 1, roots: [20], matched: [0] }], START)).toHaveLength(1);
    expect(propagationBreak([{ endpoint: '/x', widthS: 1, roots: [40], matched: [36] }], START)).toEqual([]);
    expect(propagationBreak([{ endpoint: '/x', widthS: 1, roots: [40], matched: [35] }], START)).toHaveLength(1);
    // 80% coverage, but only 4 requests without a server span: too few to call it.
    expect(propagationBreak([{ endpoint: '/x', widthS: 1, roots: [20], matched: [16] }], START)).toEqual([]);
    expect(propagationBreak([{ endpoint: '/x', widthS: 1, roots: [20], matched: [15] }], START)).toHaveLength(1);
  });

  it('splits only with 10 requests and 90% coverage before, 10 requests and 3 s after, and coverage at most halved', () => {
    const at = (matched: number[], widthS = 1, rootsPer = 10) => propagationBreak([series(matched, widthS, rootsPer)], START)[0]?.figures.sinceSecond;
    // The sharpest split leaves only 2 s after it: too short; the next best one is taken.
    expect(at([10, 10, 10, 10, 10, 0, 0])).toBe(4);
    expect(at([10, 10, 10, 10, 0], 3)).toBe(12);
    // Buckets of 5 requests: a split needs two of them on each side.
    expect(at([5, 5, 0, 0, 0, 0], 1, 5)).toBe(2);
    expect(at([5, 0, 0, 0, 0, 0], 1, 5)).toBe(0);
    // 90% before is enough; 89% is not.
    expect(at([9, 9, 9, 0, 0, 0, 0])).toBe(3);
    expect(at([8.9, 8.9, 8.9, 0, 0, 0, 0])).toBe(0);
    // After at half the coverage before is a break; above half is not.
    expect(at([10, 10, 10, 5, 5, 5, 5])).toBe(3);
    expect(at([10, 10, 10, 5, 5, 5, 6])).toBe(0);
  });

  it('leaves the date out when the run start is not a date', () => {
    const f = only(propagationBreak([series([10, 10, 10, 10, 0, 0, 0, 0, 0, 0])], 'unknown'));
    expect(f.figures.since).toBeNull();
    expect(f.summary).toMatch(/^Propagation break on \/cart from 4 s into the run: coverage 100% before/);
  });
});

describe('clock trouble', () => {
  function offset(over: Partial<OffsetEstimate> & { residualPairs?: number; residualP50Ms?: number } = {}): OffsetEstimate {
    const { residualPairs = 0, residualP50Ms = 0, ...rest } = over;
    return {
      service: 'shop',
      offsetMs: 3000,
      samples: 100,
      trusted: 10,
      delayMs: 1,
      method: 'phases',
      residual: { pairs: residualPairs, p50Ms: residualP50Ms, maxMs: residualP50Ms * 2 },
      ...rest,
    };
  }
  /** A sample per second whose offset moves by `perS` ms a second, with round-trip slack `delay(second)`. */
  const drifting = (n: number, perS: number, delay: (s: number) => number = () => 1, service = 'shop'): ClockSample[] =>
    Array.from({ length: n }, (_, s) => ({ service, second: s, offsetMs: 3000 + perS * s, delayMs: delay(s) }));

  it('reports pairs that still stick out after the offset correction', () => {
    const f = only(clockTrouble({ clockOffsets: [offset({ residualPairs: 5, residualP50Ms: 1 })] }, []));
    expect(f).toEqual({
      rule: 'clock-trouble',
      summary:
        'Clock trouble with shop: 5 of 100 pairs (5%) still stick out of their client span after the offset correction, by p50 1.00 ms. ' +
        'The before/after-server split for it is unreliable; the gap itself is not affected (each duration is on one clock). Check NTP/chrony on both hosts.',
      figures: { service: 'shop', offsetMs: 3000, residualPairs: 5, residualP50Ms: 1, driftMs: null, driftMsPerMinute: null },
      explainedShare: 0.05,
    });
    expect(clockTrouble({ clockOffsets: [offset({ residualPairs: 4, residualP50Ms: 1 })] }, [])).toEqual([]);
    expect(clockTrouble({ clockOffsets: [offset({ residualPairs: 5, residualP50Ms: 0.99 })] }, [])).toEqual([]);
    expect(clockTrouble({ clockOffsets: [offset({ samples: 0, residualPairs: 5, residualP50Ms: 1 })] }, [])).toEqual([]);
  });

  it('reports an offset that drifts over the run, per run and per minute', () => {
    const f = only(clockTrouble({ clockOffsets: [offset()] }, drifting(20, 0.5)));
    expect(f.summary).toMatch(/^Clock trouble with shop: the offset drifts by 9\.50 ms over the run \(30\.0 ms a minute\)\. The before\/after-server split/);
    expect(f.figures).toMatchObject({ driftMs: 9.5, driftMsPerMinute: 30 });
    expect(f.explainedShare).toBeNull();
    // Over the seconds the service was seen (30 to 49 s), not from the start of the run.
    const late = drifting(20, 0.5).map((c) => ({ ...c, second: c.second + 30 }));
    expect(only(clockTrouble({ clockOffsets: [offset()] }, late)).figures.driftMs).toBe(9.5);
    // Backwards counts as much, and reads with the figures' usual decimals.
    expect(only(clockTrouble({ clockOffsets: [offset()] }, drifting(20, -0.5))).figures.driftMs).toBe(-9.5);
    expect(only(clockTrouble({ clockOffsets: [offset()] }, drifting(20, -1))).summary).toContain('drifts by -19.0 ms over the run (-60.0 ms a minute)');
    expect(only(clockTrouble({ clockOffsets: [offset()] }, drifting(20, -6))).summary).toContain('drifts by -114 ms over the run (-360 ms a minute)');
    // Both at once, in one sentence.
    const both = only(clockTrouble({ clockOffsets: [offset({ residualPairs: 10, residualP50Ms: 2 })] }, drifting(20, 0.5)));
    expect(both.summary).toContain('by p50 2.00 ms; the offset drifts by 9.50 ms over the run (30.0 ms a minute). The before');
    expect(both.explainedShare).toBe(0.1);
  });

  it("needs 10 of the service's seconds, a drift of at least the slack and 1 ms, and a straight line", () => {
    const drift = (samples: ClockSample[]) => clockTrouble({ clockOffsets: [offset()] }, samples).length;
    expect(drift(drifting(10, 0.5))).toBe(1);
    expect(drift(drifting(9, 0.5))).toBe(0);
    // 10 trusted seconds needed: one of 10 with a large slack leaves 9.
    expect(drift(drifting(10, 0.5, (s) => (s === 5 ? 10 : 1)))).toBe(0);
    expect(drift(drifting(11, 0.5, (s) => (s === 5 ? 10 : 1)))).toBe(1);
    expect(drift(drifting(20, 0.5, () => 1, 'other'))).toBe(0);
    // 19 s × (1/19) ms = 1 ms: enough with 1 ms of slack, not with 1.1 ms.
    expect(drift(drifting(20, 1 / 19 + 1e-9))).toBe(1);
    expect(drift(drifting(20, 1 / 19 + 1e-9, () => 1.1))).toBe(0);
    expect(drift(drifting(20, 0.9 / 19))).toBe(0);
    // An offset that jumps about: r² under 0.5.
    expect(drift(drifting(20, 0.5).map((c) => ({ ...c, offsetMs: c.offsetMs + (c.second % 2 === 0 ? 20 : -20) })))).toBe(0);
  });

  it('fits only the seconds with little slack, and only when they span half the run', () => {
    // Slack of 1 ms in the first half, 10 ms in the second: only the first half's samples are
    // trusted (at most 2 × 1 + 0.5 ms), and they span 9 of 19 s: under half, no drift.
    const drift = (samples: ClockSample[]) => clockTrouble({ clockOffsets: [offset()] }, samples)[0]?.figures.driftMs;
    expect(drift(drifting(20, 0.5, (s) => (s < 10 ? 1 : 10)))).toBeUndefined();
    // Trusted seconds spanning exactly half the run (0–10 of 0–20 s) are enough.
    expect(drift(drifting(21, 0.5, (s) => (s <= 10 ? 1 : 10)))).toBe(10);
    // Slack of 2.5 ms is still trusted, 2.6 ms is not.
    expect(drift(drifting(20, 0.5, (s) => (s < 10 ? 1 : 2.5)))).toBe(9.5);
    expect(drift(drifting(20, 0.5, (s) => (s < 10 ? 1 : 2.6)))).toBeUndefined();
    // The untrusted samples sit off the line; fitting them would bend it.
    const skewed = drifting(22, 0.5, (s) => (s % 2 === 0 ? 1 : 10)).map((c) => (c.delayMs > 5 ? { ...c, offsetMs: c.offsetMs + 4 } : c));
    expect(drift(skewed)).toBe(10.5);
  });
});

describe('diagnose', () => {
  const queue = loadRamp(before, hinge);
  const data = (clock: ClockSample[]) => ({ seconds: queue, clock, coverage: [] });

  it('leaves the queueing finding out when the clock drifts (its split is unreliable), not when only pairs stick out', () => {
    const run = (o: Partial<OffsetEstimate>) => ({ start: '2026-11-30T10:00:00.000Z', endpoints: [], clockOffsets: [{ ...offsetOf(), ...o }] });
    const offsetOf = (): OffsetEstimate => ({ service: 'shop', offsetMs: 0, samples: 100, trusted: 10, delayMs: 1, method: 'phases', residual: { pairs: 0, p50Ms: 0, maxMs: 0 } });
    expect(diagnose(run({}), data([])).map((f) => f.rule)).toEqual(['queueing-before-server']);
    const drift = Array.from({ length: 12 }, (_, s) => ({ service: 'shop', second: s, offsetMs: s, delayMs: 1 }));
    expect(diagnose(run({}), data(drift)).map((f) => f.rule)).toEqual(['clock-trouble']);
    const residual = { residual: { pairs: 50, p50Ms: 5, maxMs: 9 } };
    expect(diagnose(run(residual), data([])).map((f) => f.rule)).toEqual(['queueing-before-server', 'clock-trouble']);
  });
});
