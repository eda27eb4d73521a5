// Findings: why the gap is what it is, stated only where the data supports it. One pure function
// per rule, each reading the run's report and the per-second / per-endpoint series of
// diagnosis-data.ts, each returning zero or more findings with the figures behind them and the
// share of the gap (or of what the rule is about) they explain. docs/analyzer.md lists the rules,
// their conditions and what explainedShare means for each.
import type { OffsetEstimate } from './clock-offset.ts';
import type { ClockSample, CoverageSeries, DiagnosisData, SecondPoint } from './diagnosis-data.ts';
import { hingeFit, lineFit, type FitPoint, type HingeFit } from './fit.ts';
import type { PhasesMs } from './gap-breakdown.ts';
import type { Stats } from './stats.ts';

export const FINDING_RULES = [
  'connection-churn',
  'queueing-before-server',
  'client-saturation',
  'slow-server-tail',
  'propagation-break',
  'clock-trouble',
] as const;
export type FindingRule = (typeof FINDING_RULES)[number];

export interface Finding {
  rule: FindingRule;
  /** The endpoint it is about; absent for the run as a whole. */
  endpoint?: string;
  summary: string;
  figures: Record<string, number | string | null>;
  /** 0..1: the share of the gap (or, per rule, of the tail / the missing spans) it explains; null where no share applies. */
  explainedShare: number | null;
}

/** What the rules read of an endpoint (an EndpointReport of analyze.ts has it all). */
export interface EndpointFacts {
  name: string;
  matched: number;
  clientMs: Stats;
  serverMs: Stats | null;
  gapMs: Stats | null;
  phasesMs: PhasesMs | null;
  gapByConnection: { opened: { count: number; gapMs: Stats | null }; reused: { count: number; gapMs: Stats | null } } | null;
}

/** What the rules read of a run (a RunReport has it all). */
export interface RunFacts {
  start: string;
  endpoints: EndpointFacts[];
  clockOffsets: OffsetEstimate[];
}

const r1 = (v: number): number => Math.round(v * 10) / 10;
const r3 = (v: number): number => Math.round(v * 1000) / 1000;
const pct = (v: number): string => `${(v * 100).toFixed(0)}%`;
const ms = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

export function diagnose(run: RunFacts, data: DiagnosisData): Finding[] {
  const clock = clockTrouble(run, data.clock);
  // A drifting offset makes the before-server part grow or shrink over the run by itself: no
  // queueing finding is drawn from a split the clock finding already calls unreliable.
  const drifting = clock.some((f) => f.figures.driftMs !== null);
  return [
    ...connectionChurn(run.endpoints),
    ...(drifting ? [] : queueingBeforeServer(data.seconds)),
    ...clientSaturation(data.seconds),
    ...slowServerTail(run.endpoints),
    ...propagationBreak(data.coverage, run.start),
    ...clock,
  ];
}

/**
 * Connection churn: a good share of an endpoint's requests opened a connection, and those carry
 * a clearly larger gap than the ones that reused one. explainedShare: the opened requests' extra
 * gap over the endpoint's whole gap.
 */
export function connectionChurn(endpoints: EndpointFacts[]): Finding[] {
  const out: Finding[] = [];
  for (const ep of endpoints) {
    if (ep.gapByConnection === null || ep.phasesMs === null) continue;
    const { opened, reused } = ep.gapByConnection;
    const openedMean = opened.gapMs?.mean ?? 0;
    const reusedMean = reused.gapMs?.mean ?? 0;
    const total = opened.count + reused.count;
    if (total < 10 || opened.count < 3) continue;
    const share = opened.count / total;
    if (share < 0.05) continue;
    const setupPerOpened = (ep.phasesMs.connectionSetup * ep.phasesMs.pairs) / opened.count;
    // With enough reused requests the difference of the two groups is the measure; without (no
    // connection is ever reused) the measured set-up time of the opened ones is.
    const extra = reused.count >= 5 ? openedMean - reusedMean : setupPerOpened;
    const gapSum = opened.count * openedMean + reused.count * reusedMean;
    if (!(extra >= 1) || gapSum <= 0) continue;
    const explained = clamp01((opened.count * extra) / gapSum);
    if (explained < 0.1) continue;
    out.push({
      rule: 'connection-churn',
      endpoint: ep.name,
      summary:
        `${pct(share)} of ${ep.name} requests opened a new connection and carried ${ms(extra)} ms more gap each: ` +
        `${pct(explained)} of the endpoint's gap. ` +
        // Where the cost shows says where it arises: in the DNS/connect/TLS phases, or after the
        // request was sent (a proxy or server that holds a new connection before answering).
        (setupPerOpened >= 0.5 * extra
          ? `The connection phases (DNS, connect, TLS) take ${ms(setupPerOpened)} ms of it. `
          : `The connection phases take only ${ms(setupPerOpened)} ms of it; the rest comes before the first byte, as when a proxy or the server holds each new connection before answering. `) +
        'Reuse connections: HTTP keep-alive, a larger client pool, a longer idle timeout on the server or proxy.',
      figures: {
        openedShare: r3(share),
        opened: opened.count,
        reused: reused.count,
        openedGapMeanMs: r3(openedMean),
        reusedGapMeanMs: reused.count === 0 ? null : r3(reusedMean),
        extraGapMs: r3(extra),
        connectionSetupMs: r3(setupPerOpened),
      },
      explainedShare: r3(explained),
    });
  }
  return out;
}

interface LoadSeries {
  metric: 'users' | 'in-flight requests';
  points: SecondPoint[];
  load: (p: SecondPoint) => number;
}

/**
 * Seconds whose gap split is mostly measured (not the equal-split estimate), with enough pairs to
 * average, and the load to fit against: the generator's active users when it reports them, else
 * the mean requests in flight. Undefined when the load does not vary enough to fit anything.
 */
function loadSeries(seconds: SecondPoint[]): LoadSeries | undefined {
  const points = seconds.filter((p) => p.parts !== null && p.pairs >= 3 && p.parts.estimatedShare <= 0.5);
  if (points.length < 8) return undefined;
  const withUsers = points.filter((p) => p.users !== null && p.users > 0);
  const series: LoadSeries =
    withUsers.length >= 0.8 * points.length
      ? { metric: 'users', points: withUsers, load: (p) => p.users as number }
      : { metric: 'in-flight requests', points, load: (p) => p.inFlight };
  const loads = series.points.map(series.load);
  const lo = Math.min(...loads);
  const hi = Math.max(...loads);
  if (new Set(loads).size < 4 || !(hi >= 1.5 * lo) || hi - lo <= 0) return undefined;
  return series;
}

function fitOf(s: LoadSeries, y: (p: SecondPoint) => number): { fit: HingeFit; points: FitPoint[] } | undefined {
  const points = s.points.map((p) => ({ x: s.load(p), y: y(p), w: p.pairs }));
  const fit = hingeFit(points);
  return fit === undefined ? undefined : { fit, points };
}

/** Σ w·max(0, y − base) over Σ w·gap: the share of the gap the growth above the base accounts for. */
function shareAbove(s: LoadSeries, y: (p: SecondPoint) => number, base: number): number {
  let above = 0;
  let gap = 0;
  for (const p of s.points) {
    above += p.pairs * Math.max(0, y(p) - base);
    gap += p.pairs * (p.parts?.gap ?? 0);
  }
  return gap > 0 ? clamp01(above / gap) : 0;
}

const growthOf = (f: HingeFit): number => f.slope * (f.xMax - f.knee);

/**
 * Queueing before the server: the time between the request leaving the client and the server
 * span starting grows with load — fitted per second against users (or requests in flight) as a
 * hinge, so the load where it bends is the knee. explainedShare: the growth above the flat part
 * over the gap.
 */
export function queueingBeforeServer(seconds: SecondPoint[]): Finding[] {
  const s = loadSeries(seconds);
  if (s === undefined) return [];
  const before = (p: SecondPoint): number => p.parts?.beforeServer ?? 0;
  const f = fitOf(s, before);
  if (f === undefined) return [];
  const { fit } = f;
  const growth = growthOf(fit);
  if (!(fit.slope > 0) || fit.r2 < 0.6 || growth < Math.max(2, fit.base)) return [];
  const explained = shareAbove(s, before, fit.base);
  const knee = fit.knee > fit.xMin ? fit.knee : null;
  const unit = s.metric === 'users' ? 'user' : 'request in flight';
  return [
    {
      rule: 'queueing-before-server',
      summary:
        `Queueing before the server: the time from request sent to server span start grows with load, ` +
        `from ${ms(fit.base)} ms to ${ms(fit.base + growth)} ms at ${r1(fit.xMax)} ${s.metric}` +
        `${knee === null ? ' (from the lowest load on)' : `, bending at about ${r1(knee)} ${s.metric}`}, ` +
        `+${ms(fit.slope)} ms per ${unit}: ${pct(explained)} of the gap. Requests wait in front of the ` +
        "server's span (accept backlog, proxy or load-balancer queue, worker pool): add capacity or cap concurrency.",
      figures: {
        load: s.metric,
        kneeLoad: knee === null ? null : r3(knee),
        slopeMsPerLoad: r3(fit.slope),
        baseMs: r3(fit.base),
        peakMs: r3(fit.base + growth),
        peakLoad: r3(fit.xMax),
        r2: r3(fit.r2),
      },
      explainedShare: r3(explained),
    },
  ];
}

/**
 * Client-side saturation: pool wait and sending time (spent in the generator before the request
 * is on the wire) grow with load while the server's time does not — the generator or its host is
 * the bottleneck, not the service. explainedShare: their growth over the gap.
 */
export function clientSaturation(seconds: SecondPoint[]): Finding[] {
  const s = loadSeries(seconds);
  if (s === undefined) return [];
  const client = (p: SecondPoint): number => (p.parts?.poolWait ?? 0) + (p.parts?.sending ?? 0);
  const f = fitOf(s, client);
  if (f === undefined) return [];
  const { fit } = f;
  const growth = growthOf(fit);
  if (!(fit.slope > 0) || fit.r2 < 0.6 || growth < Math.max(2, fit.base)) return [];
  const server = lineFit(s.points.filter((p) => p.serverMeanMs !== null).map((p) => ({ x: s.load(p), y: p.serverMeanMs as number, w: p.pairs })));
  const serverGrowth = server === undefined ? 0 : server.slope * (fit.xMax - fit.xMin);
  if (serverGrowth >= 0.25 * growth) return [];
  const explained = shareAbove(s, client, fit.base);
  const serverAt = (x: number): number | null => (server === undefined ? null : r3(server.intercept + server.slope * x));
  return [
    {
      rule: 'client-saturation',
      summary:
        `Client-side saturation: pool wait + sending grow from ${ms(fit.base)} ms to ${ms(fit.base + growth)} ms ` +
        `as load rises to ${r1(fit.xMax)} ${s.metric}, while server time changes by ${ms(serverGrowth)} ms: ` +
        `${pct(explained)} of the gap. The load generator or its host is the bottleneck (CPU, event loop, ` +
        'connection pool), not the service: give it more CPU or processes (--processes), or fewer users per process.',
      figures: {
        load: s.metric,
        kneeLoad: fit.knee > fit.xMin ? r3(fit.knee) : null,
        clientSideStartMs: r3(fit.base),
        clientSideEndMs: r3(fit.base + growth),
        peakLoad: r3(fit.xMax),
        serverStartMs: serverAt(fit.xMin),
        serverEndMs: serverAt(fit.xMax),
        r2: r3(fit.r2),
      },
      explainedShare: r3(explained),
    },
  ];
}

/**
 * Slow server tail: an endpoint's client time has a long tail (p99 far above p50) and the
 * server's own tail accounts for most of it, not the gap. explainedShare: the server's p99−p50
 * over the client's p99−p50.
 */
export function slowServerTail(endpoints: EndpointFacts[]): Finding[] {
  const out: Finding[] = [];
  for (const ep of endpoints) {
    if (ep.matched < 50) continue;
    const c = ep.clientMs;
    const s = ep.serverMs;
    const g = ep.gapMs;
    if (s === null || g === null) continue;
    const clientTail = c.p99 - c.p50;
    // A tail, not a spread: p99 at least twice p50, and by 5 ms or more.
    if (clientTail < Math.max(5, c.p50)) continue;
    const serverTail = s.p99 - s.p50;
    const share = clamp01(serverTail / clientTail);
    if (share < 0.6 || g.p99 - g.p50 >= serverTail) continue;
    out.push({
      rule: 'slow-server-tail',
      endpoint: ep.name,
      summary:
        `Slow server tail on ${ep.name}: client p99 ${ms(c.p99)} ms vs p50 ${ms(c.p50)} ms, and the server's own ` +
        `p99 ${ms(s.p99)} ms vs p50 ${ms(s.p50)} ms explains ${pct(share)} of that tail (gap p99 ${ms(g.p99)} ms): ` +
        "look at the server's slowest traces, not at the network.",
      figures: {
        clientP50Ms: r3(c.p50),
        clientP99Ms: r3(c.p99),
        serverP50Ms: r3(s.p50),
        serverP99Ms: r3(s.p99),
        gapP50Ms: r3(g.p50),
        gapP99Ms: r3(g.p99),
      },
      explainedShare: r3(share),
    });
  }
  return out;
}

/**
 * Propagation break: an endpoint's roots stop getting server children from some moment on (the
 * best split of its coverage over time into a well-covered before and a poorly covered after), or
 * never get them for most requests. explainedShare: the share of its unmatched roots after the break.
 */
export function propagationBreak(coverage: CoverageSeries[], runStart: string): Finding[] {
  const out: Finding[] = [];
  const startMs = Date.parse(runStart);
  for (const c of coverage) {
    const roots = c.roots.reduce((a, b) => a + b, 0);
    const matched = c.matched.reduce((a, b) => a + b, 0);
    const unmatched = roots - matched;
    if (roots < 20 || unmatched < 5) continue;
    let best: { k: number; before: number; after: number; drop: number; unmatchedAfter: number } | undefined;
    let rb = 0;
    let mb = 0;
    for (let k = 1; k < c.roots.length; k++) {
      rb += c.roots[k - 1] as number;
      mb += c.matched[k - 1] as number;
      const ra = roots - rb;
      const ma = matched - mb;
      if (rb < 10 || ra < 10 || (c.roots.length - k) * c.widthS < 3) continue;
      const before = mb / rb;
      const after = ma / ra;
      if (before < 0.9 || after > 0.5 * before) continue;
      if (best === undefined || before - after > best.drop) best = { k, before, after, drop: before - after, unmatchedAfter: ra - ma };
    }
    const cover = matched / roots;
    if (best === undefined && cover >= 0.9) continue;
    const sinceS = best === undefined ? 0 : best.k * c.widthS;
    const since = Number.isNaN(startMs) ? null : new Date(startMs + sinceS * 1000).toISOString();
    const explained = best === undefined ? 1 : best.unmatchedAfter / unmatched;
    out.push({
      rule: 'propagation-break',
      endpoint: c.endpoint,
      summary:
        best === undefined
          ? `Propagation break on ${c.endpoint}: only ${pct(cover)} of its ${roots} requests reached an instrumented server span, ` +
            'all through the run: the target (or a proxy in front of it) does not continue the trace for this endpoint.'
          : `Propagation break on ${c.endpoint} from ${sinceS} s into the run${since === null ? '' : ` (${since})`}: coverage ` +
            `${pct(best.before)} before, ${pct(best.after)} after (${best.unmatchedAfter} requests without a server span). ` +
            'Something changed then: a deploy without instrumentation, a proxy dropping traceparent, or the server\'s exporter losing spans.',
      figures: {
        sinceSecond: sinceS,
        since,
        coverageBefore: best === undefined ? null : r3(best.before),
        coverageAfter: best === undefined ? r3(cover) : r3(best.after),
        unmatched,
        unmatchedAfter: best === undefined ? unmatched : best.unmatchedAfter,
        resolutionS: c.widthS,
      },
      explainedShare: r3(explained),
    });
  }
  return out;
}

/**
 * Clock trouble, per server service: many pairs still stick out of their client span after the
 * offset correction (the residual), or the offset itself drifts over the run (fitted over the
 * seconds whose best sample has little slack, so a queue that skews the samples is not taken for
 * a drift). explainedShare: the share of pairs in the residual, null for a drift alone.
 */
export function clockTrouble(run: Pick<RunFacts, 'clockOffsets'>, clock: ClockSample[]): Finding[] {
  const out: Finding[] = [];
  for (const o of run.clockOffsets) {
    const residualShare = o.samples === 0 ? 0 : o.residual.pairs / o.samples;
    const residual = residualShare >= 0.05 && o.residual.p50Ms >= 1;
    const samples = clock.filter((c) => c.service === o.service);
    let drift: { ms: number; perMin: number; r2: number } | undefined;
    if (samples.length >= 10) {
      const least = Math.min(...samples.map((c) => c.delayMs));
      const trusted = samples.filter((c) => c.delayMs <= 2 * least + 0.5);
      const first = Math.min(...samples.map((c) => c.second));
      const last = Math.max(...samples.map((c) => c.second));
      const tFirst = Math.min(...trusted.map((c) => c.second));
      const tLast = Math.max(...trusted.map((c) => c.second));
      if (trusted.length >= 10 && tLast - tFirst >= 0.5 * (last - first)) {
        const fit = lineFit(trusted.map((c) => ({ x: c.second, y: c.offsetMs, w: 1 })));
        const slack = Math.max(...trusted.map((c) => c.delayMs));
        if (fit !== undefined) {
          const total = fit.slope * (last - first);
          if (Math.abs(total) >= Math.max(1, slack) && fit.r2 >= 0.5) drift = { ms: total, perMin: fit.slope * 60, r2: fit.r2 };
        }
      }
    }
    if (!residual && drift === undefined) continue;
    const parts: string[] = [];
    if (residual) {
      parts.push(`${o.residual.pairs} of ${o.samples} pairs (${pct(residualShare)}) still stick out of their client span after the offset correction, by p50 ${ms(o.residual.p50Ms)} ms`);
    }
    if (drift !== undefined) parts.push(`the offset drifts by ${ms(drift.ms)} ms over the run (${ms(drift.perMin)} ms a minute)`);
    out.push({
      rule: 'clock-trouble',
      summary:
        `Clock trouble with ${o.service}: ${parts.join('; ')}. The before/after-server split for it is unreliable; ` +
        'the gap itself is not affected (each duration is on one clock). Check NTP/chrony on both hosts.',
      figures: {
        service: o.service,
        offsetMs: o.offsetMs,
        residualPairs: o.residual.pairs,
        residualP50Ms: o.residual.p50Ms,
        driftMs: drift === undefined ? null : r3(drift.ms),
        driftMsPerMinute: drift === undefined ? null : r3(drift.perMin),
      },
      explainedShare: residual ? r3(residualShare) : null,
    });
  }
  return out;
}
