// The analysis, start to end, over opened shards: find the runs, pair every root with its server
// children (one pass per shard), estimate the clock offsets, split the gaps, count background
// traffic, and build the waterfalls of the traces with the largest gaps. The result is a plain
// Report value; rendering is elsewhere (render-*.ts) and never sits inside the measuring loop.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Metric } from '../model/attributes.ts';
import { SpanKind } from '../model/otlp.ts';
import type { OffsetEstimate } from './clock-offset.ts';
import { diagnose, type Finding } from './findings.ts';
import { CUT_OFF_TAIL_NS, cutOffRoots } from './cut-off.ts';
import {
  filterRuns,
  findRuns,
  loadTestGroups,
  nsToIso,
  recognizeGenerators,
  type GeneratorKind,
  type OtherClientTraffic,
  type RunFilter,
  type RunWindow,
} from './find-runs.ts';
import type { OffsetForSplit, PhasesMs } from './gap-breakdown.ts';
import { EndpointAccumulator, RunAccumulator, type Oddities, type RunSnapshot } from './pair-spans.ts';
import type { TailPhases } from './tail-breakdown.ts';
import type { PairJob } from './pair-worker.ts';
import type { Reservoir } from './reservoir.ts';
import { collectServerMetrics, type MetricSeries } from './server-metrics.ts';
import {
  backgroundRows,
  countDuplicateRoots,
  countRoots,
  cutOffCandidates,
  lastArrivalMs,
  feedPairs,
  rootStartAt,
  readResources,
  readResourceServices,
  readRootGroups,
  readServices,
  rootDetail,
  traceSpans,
  userPoints,
  type Shard,
  failureMessages,
  type RunSelector,
} from './read-spans.ts';
import { Digest, nsToMs, type Stats } from './stats.ts';
import { usersPerSecond, type EndpointTimePoint, type TimelinePoint } from './timeline.ts';
import { summarySentences } from './sentences.ts';
import { serverDataWarnings, stillReceivingWarning, type Warning } from './warnings.ts';

export const REPORT_SCHEMA_VERSION = 1;

export interface EndpointReport {
  name: string;
  count: number;
  matched: number;
  errors: number;
  clientMs: Stats;
  /** null when no root of the endpoint has a matched server span: no data, never 0. */
  serverMs: Stats | null;
  /** null when no pair has a gap (no matched server span, or none shorter than its client span). */
  gapMs: Stats | null;
  /** Where the gap went; null with no pair to split. */
  phasesMs: PhasesMs | null;
  /** Where the gap of the slowest 10% and 1% of the requests (by gap) went: each part's mean over them. */
  tailPhasesMs: TailPhases;
  propagationCoverage: number;
  errorRate: number;
  /** Roots with more than one server child (retries, redirects), and how many extra children. */
  multipleServerChildren: number;
  extraServerChildren: number;
  /**
   * Roots that opened a new connection (connection_reused = false); null when no root says
   * (real Locust): unknown, not zero.
   */
  newConnections: number | null;
  /**
   * The gap split by what the request did with its connection: a connection's set-up cost shows
   * as the difference. Roots without the connection attribute (real Locust) are in neither; null
   * when no root has it.
   */
  gapByConnection: { opened: ConnectionGap; reused: ConnectionGap } | null;
  /** Client p50/p95 per second (buckets of several seconds in long runs), for the report. */
  clientOverTime: EndpointTimePoint[];
  /** True while every percentile is computed from the exact values (false once HDR-binned). */
  exactPercentiles: boolean;
  /** Requests cut off by the end of the run (no response measured): in none of the figures above. */
  cutOff: number;
}

export interface ConnectionGap {
  /** Matched roots with a gap. */
  count: number;
  /** null when count is 0. */
  gapMs: Stats | null;
}

export interface WaterfallSpan {
  spanId: string;
  parentSpanId: string | null;
  service: string;
  name: string;
  kind: 'server' | 'client' | 'internal' | 'producer' | 'consumer' | 'unspecified';
  /** Start after the root's start on the generator's clock (offset-corrected), ms. */
  startMs: number;
  durationMs: number;
  depth: number;
  error: boolean;
  /** For the report's span-detail panel: status message, attributes and events as display text. */
  statusMessage?: string;
  attributes?: Record<string, string>;
  events?: Array<{ name: string; atMs: number | null; attributes: Record<string, string> }>;
  /** Offset applied to this span's times (its service's estimate, else its parent's). */
  offsetMs: number;
}

export interface Waterfall {
  traceId: string;
  endpoint: string;
  rootName: string;
  gapMs: number;
  clientMs: number;
  serverMs: number;
  /** Phase segments of the root, in order, ms after its start; empty without phase attributes. */
  phases: Array<{ name: string; startMs: number; durationMs: number }>;
  spans: WaterfallSpan[];
}

export interface BackgroundReport {
  count: number;
  services: Array<{ service: string; count: number }>;
  serverMs: Stats;
  topNames: Array<{ name: string; count: number }>;
}

export interface RunReport {
  service: string;
  /** How the service was recognised as a load generator: its own spans, Locust's resource, or --service. */
  generator: GeneratorKind;
  runId: string | null;
  label: string;
  start: string;
  end: string;
  durationS: number;
  /** Load-test requests in the figures (requests cut off by the end of the run excluded). */
  rootSpans: number;
  matched: number;
  /** Requests cut off by the end of the run (cut-off.ts): counted apart, in no figure. */
  cutOff: number;
  propagationCoverage: number;
  backgroundServerSpans: number;
  background: BackgroundReport;
  clockOffsets: OffsetEstimate[];
  total: EndpointReport;
  endpoints: EndpointReport[];
  oddities: Oddities;
  /** What the figures cannot show, in words: no server data, still receiving (warnings.ts). */
  warnings: Warning[];
  /** Where the time went, in a few generated sentences (sentences.ts). */
  summary: string[];
  timeline: TimelinePoint[];
  slowestTraces: Waterfall[];
  /** Failed requests by endpoint and message (status message, else HTTP status), most first. */
  failures: Array<{ endpoint: string; message: string; count: number }>;
  /** Why the gap is what it is (findings.ts), after the figures they rest on. */
  findings: Finding[];
  /** The services' metrics named by --metric, per second on the run's timeline (server-metrics.ts). */
  serverMetrics: MetricSeries[];
}

export interface Report {
  schemaVersion: 1;
  generatedAt: string;
  databases: string[];
  runs: RunReport[];
  /** Trace-root CLIENT spans of services that are no load generator (not runs), per service. */
  otherClientTraffic: OtherClientTraffic[];
}

export interface AnalyzeOptions extends RunFilter {
  idleGapNs: bigint;
  topN: number;
  /** Called now and then while pair rows are read, with roots read so far in the run. */
  progress?: (run: string, roots: number, expected: number) => void;
  /** Worker threads for large runs (default: the machine's cores, at most 4; 1 = none). */
  threads?: number;
  /** Roots in a shard's part of a run from which it is split across threads (default 100,000). */
  parallelMinRoots?: number;
  /**
   * A run whose last span arrived less than this long ago (ms) may still be receiving spans and
   * is reported so (default 3000; 0: never, e.g. when the receiver is known to have stopped).
   */
  settleMs?: number;
  /** The time to compare arrivals with (default: now). */
  nowMs?: number;
  /** Metric names (as the services export them) to put per second on the run's timeline. */
  metrics?: string[];
  /** Called with each run's report and the state a baseline comparison needs (compare.ts). */
  onRunData?: (data: { report: RunReport; endpoints: Map<string, EndpointAccumulator>; samples: Map<string, Reservoir>; offsetNs: (service: string) => number }) => void;
}

/** Server clocks may be off the generator's by this much: spans this far outside a run's window may be its own. */
const ARRIVAL_WINDOW_NS = 60_000_000_000n;
export const DEFAULT_SETTLE_MS = 3000;

interface FoundRuns {
  all: RunWindow[];
  generators: Map<string, GeneratorKind>;
  other: OtherClientTraffic[];
}

/** Every load-test run in the shards (before filters), and the other client traffic. */
function foundRuns(shards: Shard[], options: AnalyzeOptions): FoundRuns {
  const generators = recognizeGenerators(shards.flatMap(readResources), options.service);
  const { groups, other } = loadTestGroups(
    shards.map((s) => readRootGroups(s, options.idleGapNs)),
    generators,
  );
  return { all: findRuns(groups, options.idleGapNs), generators, other };
}

export async function analyze(shards: Shard[], options: AnalyzeOptions): Promise<Report> {
  const { all, generators: kinds, other } = foundRuns(shards, options);
  const runs = filterRuns(all, options);
  // Every service with load-test roots is a generator, whether or not its runs are analysed now:
  // its spans are never a server's background traffic.
  const generators = [...new Set(all.map((r) => r.service))];
  // One run at a time: a run's worker threads already use the cores.
  const reports: RunReport[] = [];
  for (const run of runs) reports.push(await analyzeRun(shards, run, kinds.get(run.service) ?? 'firstspan', generators, options));
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    generatedAt: new Date().toISOString(),
    databases: shards.map((s) => s.path),
    runs: reports,
    otherClientTraffic: other,
  };
}

async function analyzeRun(
  shards: Shard[],
  run: RunWindow,
  generator: GeneratorKind,
  generators: string[],
  options: AnalyzeOptions,
): Promise<RunReport> {
  const acc = new RunAccumulator(options.topN);
  const selector = { service: run.service, runId: run.runId, startNs: run.startNs, lastStartNs: run.endNs, originNs: run.startNs };
  const threads = Math.max(1, Math.floor(options.threads ?? Math.min(4, availableParallelism())));
  const progress = options.progress;
  let readElsewhere = 0;
  // Cut-off roots are counted apart, so the failures table leaves them out too.
  const cutOffByShard = new Map<number, ReadonlySet<number>>();
  for (const shard of shards) {
    acc.odd.duplicateRootSpans += countDuplicateRoots(shard, selector);
    const cutOff = cutOffRoots(cutOffCandidates(shard, selector, run.endNs - CUT_OFF_TAIL_NS), generator);
    cutOffByShard.set(shard.index, cutOff);
    const roots = threads > 1 ? countRoots(shard, selector) : 0;
    if (threads > 1 && roots >= (options.parallelMinRoots ?? 100_000)) {
      // Split the shard's part of the run into equal slices of roots by start time (the root
      // index gives the boundaries), pair each in a worker thread, merge the states.
      const bounds: bigint[] = [selector.startNs];
      for (let k = 1; k < threads; k++) bounds.push(rootStartAt(shard, selector, Math.floor((roots * k) / threads)));
      const slices: Array<typeof selector> = [];
      for (let k = 0; k < threads; k++) {
        const from = bounds[k] as bigint;
        const to = k + 1 < threads ? (bounds[k + 1] as bigint) - 1n : selector.lastStartNs;
        if (to >= from) slices.push({ ...selector, startNs: from, lastStartNs: to });
      }
      const done = new Array<number>(slices.length).fill(0);
      const snapshots = await Promise.all(
        slices.map((slice, k) =>
          runPairWorker({ paths: shards.map((s) => s.path), shardIndex: shard.index, selector: slice, topN: options.topN, cutOff: [...cutOff] }, (n) => {
            done[k] = n;
            progress?.(run.label, readElsewhere + done.reduce((a, b) => a + b, 0), run.rootsInShards);
          }),
        ),
      );
      for (const snap of snapshots) acc.absorb(snap);
      readElsewhere += roots;
      continue;
    }
    const services = readResourceServices(shard);
    acc.startShard(services, shard.index, progress ? (n) => progress(run.label, readElsewhere + n, run.rootsInShards) : undefined, cutOff);
    feedPairs(shard, selector, acc.row);
    acc.endShard();
    readElsewhere = acc.rootSpans;
  }

  const offsets = new Map<string, OffsetEstimate>();
  for (const [service, estimator] of acc.offsets) {
    const estimate = estimator.estimate();
    if (estimate !== undefined) offsets.set(service, estimate);
  }
  const offsetNs = (service: string): number => (offsets.get(service)?.offsetMs ?? 0) * 1e6;
  const offsetOf = (service: string): OffsetForSplit | undefined => {
    const o = offsets.get(service);
    // The estimate is off by at most half the largest round-trip slack among its trusted pairs.
    return o === undefined ? undefined : { offsetNs: o.offsetMs * 1e6, errorNs: (o.delayMs * 1e6) / 2 };
  };

  const endpoints = [...acc.endpoints.values()].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  const total = new EndpointAccumulator('Aggregated');
  for (const ep of endpoints) total.merge(ep);
  const lastSecond = Math.max(0, Math.floor(Number(run.endNs - run.startNs) / 1e9));
  const totalReport = endpointReport(total, offsetOf, lastSecond);

  const startMs = Number(run.startNs / 1_000_000n);
  const users = new Map<number, number>();
  for (const shard of shards) {
    const points = userPoints(shard, run.service, run.runId, run.startNs, run.endNs, [Metric.ACTIVE_USERS, Metric.LOCUST_USERS]);
    for (const [second, value] of usersPerSecond(points)) users.set(second, Math.max(value, users.get(second) ?? 0));
  }

  const bg = background(shards, run, generators, offsets);
  let lastArrival: number | null = null;
  for (const shard of shards) {
    const at = lastArrivalMs(shard, run.startNs - ARRIVAL_WINDOW_NS, run.endNs + ARRIVAL_WINDOW_NS);
    if (at !== null && (lastArrival === null || at > lastArrival)) lastArrival = at;
  }
  const sinceArrivalMs = lastArrival === null ? Infinity : (options.nowMs ?? Date.now()) - lastArrival;
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  // An endpoint whose every request was cut off has no request to report; its cut-offs stay in the total.
  const endpointReports = endpoints.filter((ep) => ep.count > 0).map((ep) => endpointReport(ep, offsetOf, lastSecond));
  const report: RunReport = {
    service: run.service,
    generator,
    runId: run.runId,
    label: run.label,
    start: nsToIso(run.startNs),
    end: nsToIso(run.endNs),
    durationS: Number(run.endNs - run.startNs) / 1e9,
    rootSpans: total.count,
    matched: total.matched,
    cutOff: total.cutOff,
    propagationCoverage: totalReport.propagationCoverage,
    backgroundServerSpans: bg.count,
    background: bg,
    clockOffsets: [...offsets.values()].sort((a, b) => a.service.localeCompare(b.service)),
    total: totalReport,
    endpoints: endpointReports,
    oddities: acc.odd,
    warnings: [
      ...(sinceArrivalMs < settleMs ? [stillReceivingWarning(Math.max(0, sinceArrivalMs) / 1000)] : []),
      ...serverDataWarnings(totalReport, endpointReports),
    ],
    timeline: acc.timeline.finish(startMs, users),
    slowestTraces: diverseTop(acc.top, options.topN)
      .flatMap((c) => {
        const w = waterfall(shards, c.shard, c.rowid, c.endpoint, c.gapNs, offsets);
        return w === undefined ? [] : [w];
      }),
    failures: total.errors === 0 ? [] : runFailures(shards, selector, cutOffByShard),
    summary: [],
    findings: [],
    serverMetrics: collectServerMetrics(shards, options.metrics ?? [], run.startNs, run.endNs, offsetNs),
  };
  report.summary = summarySentences(report);
  // The diagnosis reads the finished figures and the per-second series of the same pass.
  report.findings = diagnose(report, acc.diag.finish(offsetOf, users));
  options.onRunData?.({ report, endpoints: acc.endpoints, samples: acc.diag.samples, offsetNs });
  return report;
}

/** The failure messages of every shard, summed, most frequent first (at most 100); cut-off roots left out. */
function runFailures(shards: Shard[], selector: RunSelector, cutOffByShard: ReadonlyMap<number, ReadonlySet<number>>): RunReport['failures'] {
  const sums = new Map<string, { endpoint: string; message: string; count: number }>();
  for (const shard of shards) {
    for (const f of failureMessages(shard, selector, cutOffByShard.get(shard.index))) {
      const key = `${f.endpoint}\u0000${f.message}`;
      const mine = sums.get(key);
      if (mine === undefined) sums.set(key, { ...f });
      else mine.count += f.count;
    }
  }
  return [...sums.values()].sort((a, b) => b.count - a.count || a.endpoint.localeCompare(b.endpoint)).slice(0, 100);
}

// Worker threads run TypeScript through tsx, registered in the thread before the worker module
// loads. Both are resolved here, from this file, so it works from any working directory.
const require = createRequire(import.meta.url);
const WORKER_BOOT = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx)
  .then((api) => { (api.register ?? api.default.register)(); return import(workerData.entry); });
`;

function runPairWorker(job: PairJob, onProgress: (roots: number) => void): Promise<RunSnapshot> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_BOOT, {
      eval: true,
      workerData: {
        job,
        // The ESM build of tsx's API (require.resolve finds the CommonJS one, which cannot register here).
        tsx: pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href,
        entry: new URL('./pair-worker.ts', import.meta.url).href,
      },
    });
    let result: RunSnapshot | undefined;
    worker.on('message', (m: { progress?: number } | RunSnapshot) => {
      if ('progress' in m && typeof m.progress === 'number') onProgress(m.progress);
      else result = m as RunSnapshot;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`pairing worker exited with code ${code} before sending its result`));
    });
  });
}

/**
 * The `n` traces to draw: the largest gaps fill half of the slots (rounded up); the rest go to
 * the endpoints in turns, each endpoint's worst remaining trace at a time (the endpoint whose
 * remaining worst is largest first), so one slow endpoint cannot fill the report while the very
 * worst traces are always there. Largest gap first.
 */
export function diverseTop<T extends { gapNs: number; endpoint: string }>(candidates: T[], n: number): T[] {
  const sorted = [...candidates].sort((a, b) => b.gapNs - a.gapNs);
  const out = sorted.slice(0, Math.ceil(n / 2));
  const byEndpoint = new Map<string, T[]>();
  for (const c of sorted.slice(out.length)) {
    let list = byEndpoint.get(c.endpoint);
    if (list === undefined) byEndpoint.set(c.endpoint, (list = []));
    list.push(c);
  }
  const lists = [...byEndpoint.values()];
  for (let round = 0; out.length < n && lists.some((l) => l.length > round); round++) {
    for (const l of lists) {
      const c = l[round];
      if (c !== undefined && out.length < n) out.push(c);
    }
  }
  return out.sort((a, b) => b.gapNs - a.gapNs);
}

function endpointReport(ep: EndpointAccumulator, offsetOf: (service: string) => OffsetForSplit | undefined, lastSecond: number): EndpointReport {
  return {
    name: ep.name,
    count: ep.count,
    matched: ep.matched,
    errors: ep.errors,
    clientMs: ep.client.stats(),
    serverMs: ep.server.statsOrNull(),
    gapMs: ep.gap.statsOrNull(),
    phasesMs: ep.breakdown.finish(offsetOf),
    tailPhasesMs: ep.tail.finish(offsetOf),
    propagationCoverage: ep.count === 0 ? 0 : ep.matched / ep.count,
    errorRate: ep.count === 0 ? 0 : ep.errors / ep.count,
    multipleServerChildren: ep.multipleChildren,
    extraServerChildren: ep.extraChildren,
    newConnections: ep.connectionKnown === 0 ? null : ep.newConnections,
    gapByConnection:
      ep.connectionKnown === 0
        ? null
        : {
            opened: { count: ep.gapOpened.count, gapMs: ep.gapOpened.statsOrNull() },
            reused: { count: ep.gapReused.count, gapMs: ep.gapReused.statsOrNull() },
          },
    exactPercentiles: ep.client.exactPercentiles && ep.server.exactPercentiles && ep.gap.exactPercentiles,
    clientOverTime: ep.overTime.finish(lastSecond),
    cutOff: ep.cutOff,
  };
}

/**
 * Server spans in the run's window (shifted onto each server's clock by its offset) that belong to
 * no load-test trace. Services that are generators themselves are not servers here.
 */
function background(shards: Shard[], run: RunWindow, generators: string[], offsets: Map<string, OffsetEstimate>): BackgroundReport {
  const digest = new Digest();
  const perService = new Map<string, number>();
  const names = new Map<string, number>();
  const services = new Set<string>();
  for (const shard of shards) for (const s of readServices(shard)) if (!generators.includes(s)) services.add(s);
  for (const service of services) {
    const shift = BigInt(Math.round((offsets.get(service)?.offsetMs ?? 0) * 1e6));
    for (const shard of shards) {
      for (const [durationNs, name] of backgroundRows(shard, service, run.startNs + shift, run.endNs + shift)) {
        perService.set(service, (perService.get(service) ?? 0) + 1);
        if (durationNs >= 0) digest.record(durationNs);
        if (names.size < 1000 || names.has(name)) names.set(name, (names.get(name) ?? 0) + 1);
      }
    }
  }
  let count = 0;
  for (const n of perService.values()) count += n;
  return {
    count,
    services: [...perService].map(([service, n]) => ({ service, count: n })).sort((a, b) => b.count - a.count),
    serverMs: digest.stats(),
    topNames: [...names]
      .map(([name, n]) => ({ name, count: n }))
      .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name))
      .slice(0, 10),
  };
}

const KIND_NAMES: Record<number, WaterfallSpan['kind']> = {
  [SpanKind.UNSPECIFIED]: 'unspecified',
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

function waterfall(
  shards: Shard[],
  shardIndex: number,
  rowid: number,
  endpoint: string,
  gapNs: number,
  offsets: Map<string, OffsetEstimate>,
): Waterfall | undefined {
  const shard = shards[shardIndex];
  if (shard === undefined) return undefined;
  const root = rootDetail(shard, rowid);
  if (root === undefined) return undefined;
  // A trace normally lands whole in one shard; read the others too in case it did not.
  const byId = new Map<string, ReturnType<typeof traceSpans>[number]>();
  for (const s of [shard, ...shards.filter((x) => x !== shard)]) {
    for (const span of traceSpans(s, root.traceId, root.startNs)) if (!byId.has(span.spanId)) byId.set(span.spanId, span);
  }
  const spans = [...byId.values()];
  const children = new Map<string | null, typeof spans>();
  for (const s of spans) {
    const key = s.parentSpanId !== null && byId.has(s.parentSpanId) ? s.parentSpanId : null;
    let list = children.get(key);
    if (list === undefined) children.set(key, (list = []));
    list.push(s);
  }
  const out: WaterfallSpan[] = [];
  // Depth-first from the root so the waterfall reads top-down; each span is moved onto the
  // generator's clock with its service's offset, or its parent's when its service has none.
  const visit = (parent: string | null, depth: number, inherited: number): void => {
    const list = (children.get(parent) ?? []).sort((a, b) => a.relStartNs - b.relStartNs);
    for (const s of list) {
      const own = s.service === root.service ? 0 : offsets.get(s.service)?.offsetMs;
      const offsetMs = own ?? inherited;
      out.push({
        spanId: s.spanId,
        parentSpanId: s.parentSpanId,
        service: s.service,
        name: s.name,
        kind: KIND_NAMES[s.kind] ?? 'unspecified',
        startMs: nsToMs(s.relStartNs) - offsetMs,
        durationMs: nsToMs(s.durationNs),
        depth,
        error: s.statusCode === 2,
        offsetMs,
        statusMessage: s.statusMessage,
        attributes: displayAttributes(parseJson(s.attributesJson)),
        events: displayEvents(parseJson(s.eventsJson), root.startNs + BigInt(s.relStartNs)),
      });
      visit(s.spanId, depth + 1, offsetMs);
    }
  };
  visit(null, 0, 0);
  const rootSpan = out.find((s) => s.spanId === root.spanId);
  const serverMs = out.filter((s) => s.parentSpanId === root.spanId && s.kind === 'server').reduce((a, s) => a + s.durationMs, 0);
  const phases: Waterfall['phases'] = [];
  if (root.phases !== null) {
    let at = 0;
    for (const [name, value] of Object.entries(root.phases)) {
      phases.push({ name, startMs: at, durationMs: value });
      at += value;
    }
  }
  return {
    traceId: root.traceId.toString('hex'),
    endpoint,
    rootName: root.name,
    gapMs: nsToMs(gapNs),
    clientMs: rootSpan?.durationMs ?? 0,
    serverMs,
    phases,
    spans: out,
  };
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** An OTLP/JSON AnyValue (as the store keeps it) as the text a person reads. */
function displayValue(v: unknown): string {
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of ['stringValue', 'intValue', 'doubleValue', 'boolValue', 'bytesValue'] as const) if (k in o) return String(o[k]);
    if ('arrayValue' in o) return `[${(((o.arrayValue as { values?: unknown[] } | null)?.values) ?? []).map(displayValue).join(', ')}]`;
    if ('kvlistValue' in o) return JSON.stringify(displayAttributes(Object.fromEntries((((o.kvlistValue as { values?: Array<{ key: string; value: unknown }> } | null)?.values) ?? []).map((kv) => [kv.key, kv.value]))));
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function displayAttributes(json: unknown): Record<string, string> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return {};
  return Object.fromEntries(Object.entries(json as Record<string, unknown>).map(([k, v]) => [k, displayValue(v)]));
}

function displayEvents(json: unknown, spanStartNs: bigint): NonNullable<WaterfallSpan['events']> {
  if (!Array.isArray(json)) return [];
  return json.map((e: { name?: unknown; timeUnixNano?: unknown; attributes?: unknown }) => {
    let atMs: number | null = null;
    try {
      if (typeof e.timeUnixNano === 'string' || typeof e.timeUnixNano === 'number') atMs = Number(BigInt(e.timeUnixNano) - spanStartNs) / 1e6;
    } catch {
      atMs = null;
    }
    return { name: String(e.name ?? ''), atMs, attributes: displayAttributes(e.attributes ?? null) };
  });
}

/**
 * A server span outside its client span on the raw clocks is what a clock offset between the two
 * hosts looks like, not broken data: it is reported beside the offset estimate instead.
 */
/**
 * What the clock offsets explain of the server spans lying outside their client span on the raw
 * clocks: the rest (residual) still stick out once corrected — timestamp noise, not offset.
 */
export function offsetNote(run: RunReport): string | undefined {
  const outside = run.oddities.serverOutsideClientSpan;
  if (outside === 0 || run.clockOffsets.length === 0) return undefined;
  const residual = run.clockOffsets.reduce((n, o) => n + o.residual.pairs, 0);
  const what = `${outside} server spans lie outside their client span on the raw clocks: what a clock offset between the hosts looks like, and the gap, which needs no offset, is not affected`;
  if (residual === 0) return `${what}; with the estimated offsets removed, every one lies inside`;
  // The residual is counted against the corrected clocks, so it can exceed `outside` (pairs
  // inside on the raw clocks may stick out once corrected): report both, never their difference.
  return `${what}; with the estimated offsets removed, ${residual} pairs still stick out a little: noise in the span timestamps (a span ended late by a busy event loop), which no offset removes; only the before/after split of those pairs may be off, by at most the amounts shown`;
}

/** One service's residual: how far its corrected server spans still stick out, or undefined if none do. */
export function residualNote(o: OffsetEstimate): string | undefined {
  const r = o.residual;
  if (r.pairs === 0) return undefined;
  return `${r.pairs} of ${o.samples} corrected server spans still stick out of their client span, by p50 ${r.p50Ms.toFixed(3)} ms, max ${r.maxMs.toFixed(3)} ms`;
}

export function explainedByOffset(run: RunReport, oddity: string): boolean {
  return oddity === 'serverOutsideClientSpan' && run.clockOffsets.length > 0;
}
