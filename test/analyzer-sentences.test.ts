// The report in words (analyzer/sentences.ts) from hand-built figures, in process: which endpoint
// the summary names and why, each figure in its unit, the cause it gives (a new connection's cost,
// else the largest part of the gap, with its basis, and the slowest requests' own cause), the
// propagation sentence, and one line per kind of odd data present.
import { describe, expect, it } from 'vitest';
import type { PhasesMs } from '../analyzer/gap-breakdown.ts';
import type { Oddities } from '../analyzer/pair-spans.ts';
import { odditySentences, PART_LABELS, summarySentences } from '../analyzer/sentences.ts';
import type { Stats } from '../analyzer/stats.ts';
import { gapSplit } from './helpers/gap-split.ts';

const stats = (mean: number, p99: number): Stats => ({ p50: mean, p90: p99, p95: p99, p99, max: p99, mean });

type Endpoint = Parameters<typeof summarySentences>[0]['endpoints'][number];

function endpoint(name: string, gap: Stats | null, over: Partial<Endpoint> = {}): Endpoint {
  return { name, matched: 10, gapMs: gap, phasesMs: null, tailPhasesMs: { slowest10: null, slowest1: null }, gapByConnection: null, ...over };
}

const run = (endpoints: Endpoint[], rootSpans = 100, matched = 90) => ({ rootSpans, matched, propagationCoverage: matched / rootSpans, endpoints });

describe('summary sentences', () => {
  it('without any matched request: that the hidden latency cannot be measured, and propagation', () => {
    expect(summarySentences(run([], 12, 0))).toEqual([
      'No server span matched any of the 12 requests: the hidden latency cannot be measured (see the warning). Propagation 0% (0 of 12 requests matched a server span).',
    ]);
    expect(summarySentences(run([], 1, 0))[0]).toMatch(/^No server span matched any of the 1 request: .* \(0 of 1 request matched a server span\)\.$/);
  });

  it('only propagation when no endpoint has a gap', () => {
    expect(summarySentences(run([endpoint('/a', null)], 3, 2))).toEqual(['Propagation 66.7% (2 of 3 requests matched a server span).']);
  });

  it('names the endpoint with the largest mean gap, with its share of all hidden latency', () => {
    // /many: 100 requests at 5 ms (500 ms in all); /few: 10 at 30 ms (300 ms): /few matters most per request.
    const many = endpoint('/many', stats(5, 9), { matched: 100 });
    const few = endpoint('/few', stats(30, 80), { matched: 10 });
    const [first, ...rest] = summarySentences(run([many, few, endpoint('/none', null)]));
    expect(first).toBe("/few is where the gap matters most: a mean of 30.0 ms per request (p99 80.0 ms) over 10 requests, 37.5% of the run's 800 ms of hidden latency.");
    expect(rest).toEqual(['Propagation 90% (90 of 100 requests matched a server span).']);
    // Equal means: the first endpoint listed.
    expect(summarySentences(run([endpoint('/one', stats(7, 9)), endpoint('/two', stats(7, 9))]))[0]).toMatch(/^\/one is where/);
    // The pairs split count, where there is one, is the endpoint's request count for the gap.
    const split = endpoint('/few', stats(30, 80), { matched: 10, phasesMs: gapSplit({ pairs: 4, unexplained: 30 }) });
    expect(summarySentences(run([many, split]))[0]).toBe(
      "/few is where the gap matters most: a mean of 30.0 ms per request (p99 80.0 ms) over 4 requests, 19.4% of the run's 620 ms of hidden latency.",
    );
    // A single endpoint whose gaps add up to nothing still has all of it.
    expect(summarySentences(run([endpoint('/zero', stats(0, 0), { matched: 1 })]))[0]).toBe(
      "/zero is where the gap matters most: a mean of 0.00 ms per request (p99 0.00 ms) over 1 request, 100% of the run's 0.00 ms of hidden latency.",
    );
  });

  it('gives durations in ms with 0–2 decimals, and in seconds from 1,000 ms', () => {
    const first = (mean: number, p99: number): string => summarySentences(run([endpoint('/a', stats(mean, p99), { matched: 1 })]))[0] ?? '';
    expect(first(9.999, 10)).toContain('a mean of 10.00 ms per request (p99 10.0 ms)');
    expect(first(99.9, 100)).toContain('a mean of 99.9 ms per request (p99 100 ms)');
    expect(first(999, 1000)).toContain('a mean of 999 ms per request (p99 1.0 s)');
    expect(first(9999, 10_000)).toContain('a mean of 10.0 s per request (p99 10 s)');
  });

  it("blames new connections when the opened requests' extra gap is larger than the reused ones' gap", () => {
    const split = (openedMean: number, reusedMean: number, opened = 5, reused = 35) => ({
      opened: { count: opened, gapMs: stats(openedMean, openedMean) },
      reused: { count: reused, gapMs: stats(reusedMean, reusedMean) },
    });
    const cause = { phasesMs: gapSplit({ beforeServer: 3, pairs: 40 }) };
    const sentences = (s: Endpoint['gapByConnection']) => summarySentences(run([endpoint('/login', stats(8, 30), { ...cause, gapByConnection: s })]));
    expect(sentences(split(30, 5))[1]).toBe(
      'The 5 requests that opened a connection waited 25.0 ms more than the 35 that reused one (gap 30.0 ms against 5.00 ms): the cost of a new connection.',
    );
    expect(sentences(split(30, 5, 1, 1))[1]).toMatch(/^The 1 request that opened a connection waited 25\.0 ms more than the 1 that reused one/);
    // Twice the reused gap is not enough: the largest part is the cause then.
    expect(sentences(split(10, 5))[1]).toMatch(/^Its main cause is the time before the server span started/);
    // Either side empty or without a gap: no comparison.
    expect(sentences(split(30, 5, 0, 35))[1]).toMatch(/^Its main cause is/);
    expect(sentences(split(30, 5, 5, 0))[1]).toMatch(/^Its main cause is/);
    expect(sentences({ opened: { count: 5, gapMs: null }, reused: split(30, 5).reused })[1]).toMatch(/^Its main cause is/);
    expect(sentences({ opened: split(30, 5).opened, reused: { count: 35, gapMs: null } })[1]).toMatch(/^Its main cause is/);
  });

  it('else gives the largest part of the gap as the cause, with how it was placed', () => {
    const cause = (p: Partial<PhasesMs>): string => summarySentences(run([endpoint('/a', stats(8, 30), { phasesMs: gapSplit(p) })]))[1] ?? '';
    expect(cause({ poolWait: 1, connectionSetup: 2, sending: 0.5, download: 1.5 })).toBe('Its main cause is opening connections (DNS, TCP connect, TLS), 2.00 ms of it.');
    expect(cause({ poolWait: 4, afterServer: 3 })).toBe('Its main cause is waiting for a free connection in the client pool, 4.00 ms of it.');
    expect(cause({ sending: 2 })).toBe('Its main cause is sending the request, 2.00 ms of it.');
    expect(cause({ betweenAttempts: 12 })).toBe('Its main cause is the time between retries or redirects, 12.0 ms of it.');
    expect(cause({ afterServer: 3, beforeServer: 1 })).toBe('Its main cause is the time after the server span ended (the response on its way back), 3.00 ms of it.');
    expect(cause({ download: 3 })).toBe('Its main cause is downloading the response body, 3.00 ms of it.');
    // A tie goes to the part that comes first; nothing at all is unexplained.
    expect(cause({ poolWait: 2, sending: 2 })).toMatch(/^Its main cause is waiting for a free connection/);
    expect(cause({})).toBe('Its main cause is time the client spans do not account for, 0.00 ms of it.');
    expect(cause({ unexplained: 5, download: 4 })).toBe('Its main cause is time the client spans do not account for, 5.00 ms of it.');
    expect(cause({ beforeServer: 6, basis: 'offset', errorBoundMs: 1.5 })).toBe(
      'Its main cause is the time before the server span started (network, proxies, load balancers, queues in front of the server), 6.00 ms of it, placed by the clock offset to ±1.50 ms.',
    );
    expect(cause({ beforeServer: 6, basis: 'offset' })).toMatch(/, placed by the clock offset to ±0\.00 ms\.$/);
    expect(cause({ beforeServer: 6, basis: 'estimated' })).toMatch(
      /6\.00 ms of it \(an equal-split estimate: these spans have no connection phases and no trustworthy clock offset\)\.$/,
    );
    expect(cause({ beforeServer: 6, basis: 'mixed' })).toMatch(/6\.00 ms of it\.$/);
    // No split at all (no phases): no cause sentence, only propagation.
    expect(summarySentences(run([endpoint('/a', stats(8, 30))]))).toHaveLength(2);
  });

  it("adds the slowest 10%'s own cause when it differs from the typical one", () => {
    const sentence = (tail: Partial<PhasesMs> | null): string =>
      summarySentences(
        run([
          endpoint('/a', stats(8, 30), {
            phasesMs: gapSplit({ beforeServer: 5, poolWait: 1 }),
            tailPhasesMs: { slowest10: tail === null ? null : gapSplit(tail), slowest1: null },
          }),
        ]),
      )[1] ?? '';
    expect(sentence({ poolWait: 40, beforeServer: 6, gap: 50, pairs: 3.6 })).toBe(
      'Its main cause is the time before the server span started (network, proxies, load balancers, queues in front of the server), 5.00 ms of it. ' +
        'In its slowest 10% (4 requests, mean gap 50.0 ms) it is pool wait: 40.0 ms.',
    );
    expect(sentence({ poolWait: 40, beforeServer: 6, gap: 50, pairs: 1 })).toContain('In its slowest 10% (1 request, mean gap 50.0 ms)');
    expect(sentence({ poolWait: 4, beforeServer: 36, gap: 50 })).not.toContain('slowest');
    expect(sentence(null)).not.toContain('slowest');
  });
});

describe('part labels', () => {
  it('names every part of the gap', () => {
    expect(PART_LABELS).toEqual({
      poolWait: 'pool wait',
      connectionSetup: 'connection set-up',
      sending: 'sending',
      beforeServer: 'before server',
      betweenAttempts: 'between attempts',
      afterServer: 'after server',
      download: 'download',
      unexplained: 'unexplained',
    });
  });
});

describe('oddity sentences', () => {
  const none: Oddities = {
    clientEndBeforeStart: 0,
    implausibleDuration: 0,
    serverEndBeforeStart: 0,
    serverLongerThanClient: 0,
    serverOutsideClientSpan: 0,
    duplicateRootSpans: 0,
    endpointsFolded: 0,
  };
  const show = () => false;

  it('says nothing without odd data', () => {
    expect(odditySentences({ oddities: none, total: { multipleServerChildren: 0, extraServerChildren: 0 } }, show)).toEqual([]);
  });

  it('gives one line per kind present, in a fixed order, with its count, the retried requests first', () => {
    const lines = odditySentences(
      { oddities: { ...none, duplicateRootSpans: 2, clientEndBeforeStart: 1, serverOutsideClientSpan: 7 }, total: { multipleServerChildren: 3, extraServerChildren: 4 } },
      show,
    );
    expect(lines.map((l) => [l.name, l.count])).toEqual([
      ['multipleServerChildren', 3],
      ['clientEndBeforeStart', 1],
      ['serverOutsideClientSpan', 7],
      ['duplicateRootSpans', 2],
    ]);
    expect(lines[0]?.text).toBe(
      "requests with several server children (retries, redirects; 4 extra): their server time is the sum of the children, and the time between them is its own part of the gap ('between attempts').",
    );
    expect(lines[1]?.text).toMatch(/^load-test spans that end before they start \(a broken clock or exporter on the generator\): kept out of every duration figure/);
    expect(lines[2]?.text).toMatch(/^server spans that lie outside their client span on the raw clocks: what a clock offset between the hosts looks like\./);
    expect(lines[3]?.text).toMatch(/^load-test spans stored twice \(an exporter retry, or the same span in two shards\): each is counted once/);
  });

  it('has its own words for every kind, and leaves out the kinds the caller shows elsewhere', () => {
    const every = Object.fromEntries(Object.keys(none).map((k) => [k, 1])) as unknown as Oddities;
    const lines = odditySentences({ oddities: every, total: { multipleServerChildren: 0, extraServerChildren: 0 } }, show);
    expect(lines.map((l) => l.name)).toEqual(Object.keys(none));
    expect(new Set(lines.map((l) => l.text)).size).toBe(lines.length);
    expect(lines.find((l) => l.name === 'endpointsFolded')?.text).toMatch(/folded into '\(other endpoints\)': name requests by template/);
    expect(lines.find((l) => l.name === 'implausibleDuration')?.text).toMatch(/^load-test spans that last longer than a day/);
    expect(lines.find((l) => l.name === 'serverEndBeforeStart')?.text).toMatch(/^server spans that end before they start/);
    expect(lines.find((l) => l.name === 'serverLongerThanClient')?.text).toMatch(/^server spans that last longer than their client span/);
    const hidden = odditySentences({ oddities: every, total: { multipleServerChildren: 0, extraServerChildren: 0 } }, (n) => n === 'serverOutsideClientSpan' || n === 'endpointsFolded');
    expect(hidden.map((l) => l.name)).toEqual(['clientEndBeforeStart', 'implausibleDuration', 'serverEndBeforeStart', 'serverLongerThanClient', 'duplicateRootSpans']);
  });
});
