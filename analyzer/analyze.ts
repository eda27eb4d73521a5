// The analysis, start to end, over opened shards: find the runs, pair every root with its server
// children (one pass per shard), estimate the clock offsets, split the gaps, count background
// traffic, and build the waterfalls of the traces with the largest gaps. The result is a plain
// Report value; rendering is elsewhere (render-*.ts) and never sits inside the measuring loop.
import { Metric } from '../model/attributes.ts';
import { SpanKind } from '../model/otlp.ts';
import type { OffsetEstimate } from './clock-offset.ts';
import { filterRuns, findRuns, nsToIso, type RunFilter, type RunWindow } from './find-runs.ts';
import type { PhasesMs } from './gap-breakdown.ts';
import { EndpointAccumulator, RunAccumulator, type Oddities } from './pair-spans.ts';
import { MAX_BACKGROUND_NAMES } from './join-pairs.ts';
import { openSlices, type Slice } from './join-threads.ts';
import {
  readRootGroups,
  readServices,
  rootDetail,
  traceSpans,
  userPoints,
  type Shard,
} from './read-spans.ts';
import { Digest, nsToMs, type Stats } from './stats.ts';
import { usersPerSecond, type TimelinePoint } from './timeline.ts';

export const REPORT_SCHEMA_VERSION = 1;


export interface EndpointReport {
  name: string;
  count: number;
  matched: number;
  errors: number;
  clientMs: Stats;
  serverMs: Stats;
  gapMs: Stats;
  phasesMs: PhasesMs;
  propagationCoverage: number;
  errorRate: number;
  /** Roots with more than one server child (retries, redirects), and how many extra children. */
  multipleServerChildren: number;
  extraServerChildren: number;
  /** Roots that opened a new connection (connection_reused = false). */
  newConnections: number;
  /**
   * The gap split by what the request did with its connection: a connection's set-up cost shows
   * as the difference. Roots without the connection attribute (real Locust) are in neither.
   */
  gapByConnection: { opened: ConnectionGap; reused: ConnectionGap };
  /** True while every percentile is computed from the exact values (false once HDR-binned). */
  exactPercentiles: boolean;
}

export interface ConnectionGap {
  /** Matched roots with a gap. */
  count: number;
  gapMs: Stats;
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
  runId: string | null;
  label: string;
  start: string;
  end: string;
  durationS: number;
  rootSpans: number;
  matched: number;
  propagationCoverage: number;
  backgroundServerSpans: number;
  background: BackgroundReport;
  clockOffsets: OffsetEstimate[];
  total: EndpointReport;
  endpoints: EndpointReport[];
  oddities: Oddities;
  timeline: TimelinePoint[];
  slowestTraces: Waterfall[];
}

export interface Report {
  schemaVersion: 1;
  generatedAt: string;
  databases: string[];
  runs: RunReport[];
}

export interface AnalyzeOptions extends RunFilter {
  idleGapNs: bigint;
  topN: number;
  /** Called now and then while pair rows are read, with roots read so far in the run. */
  progress?: (run: string, roots: number, expected: number) => void;
  /** Worker threads for large databases (default 1: none). */
  threads?: number;
  /** Roots in the databases from which the analysis is split across threads (default 100,000). */
  parallelMinRoots?: number;
  /** Join tables all threads may hold at once, bytes (default TABLE_BUDGET_BYTES; tests lower it). */
  tableBudgetBytes?: number;
}

/** The runs in the shards (after filters), without analysing them. */
export function listRuns(shards: Shard[], options: AnalyzeOptions): RunWindow[] {
  const groups = shards.map((s) => readRootGroups(s, options.idleGapNs));
  return filterRuns(findRuns(groups, options.idleGapNs), options);
}

export async function analyze(shards: Shard[], options: AnalyzeOptions): Promise<Report> {
  const all = findRuns(
    shards.map((s) => readRootGroups(s, options.idleGapNs)),
    options.idleGapNs,
  );
  const runs = filterRuns(all, options);
  // Every service with load-test roots is a generator, whether or not its runs are analysed now:
  // its spans are never a server's background traffic.
  const generators = [...new Set(all.map((r) => r.service))];
  // One run at a time: a run's worker threads already use the cores.
  const reports: RunReport[] = [];
  const roots = all.reduce((n, r) => n + r.rootsInShards, 0);
  // One thread unless asked: on the 2-core machine this was measured on, two threads cost a third
  // more CPU and half again the memory for no gain in wall time (docs/benchmarks.md).
  const wanted = Math.max(1, Math.floor(options.threads ?? 1));
  const threads = roots >= (options.parallelMinRoots ?? 100_000) ? wanted : 1;
  const slices = runs.length === 0 ? [] : await openSlices(shards, threads, roots, options.topN, options.tableBudgetBytes);
  try {
    for (const run of runs) reports.push(await analyzeRun(shards, run, generators, slices, options));
  } finally {
    await Promise.all(slices.map((s) => s.close()));
  }
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    generatedAt: new Date().toISOString(),
    databases: shards.map((s) => s.path),
    runs: reports,
  };
}

async function analyzeRun(shards: Shard[], run: RunWindow, generators: string[], slices: Slice[], options: AnalyzeOptions): Promise<RunReport> {
  const acc = new RunAccumulator(options.topN);
  const selector = { service: run.service, runId: run.runId, startNs: run.startNs, lastStartNs: run.endNs, originNs: run.startNs };
  const progress = options.progress;
  const done = new Array<number>(slices.length).fill(0);
  const results = await Promise.all(
    slices.map((slice, k) =>
      slice.pair(selector, progress === undefined ? undefined : (n) => {
        done[k] = n;
        progress(run.label, done.reduce((a, b) => a + b, 0), run.rootsInShards);
      }),
    ),
  );
  for (const r of results) {
    acc.absorb(r.snapshot);
    acc.odd.duplicateRootSpans += r.duplicates;
  }

  const offsets = new Map<string, OffsetEstimate>();
  for (const [service, estimator] of acc.offsets) {
    const estimate = estimator.estimate();
    if (estimate !== undefined) offsets.set(service, estimate);
  }
  const offsetNs = (service: string): number => (offsets.get(service)?.offsetMs ?? 0) * 1e6;

  const endpoints = [...acc.endpoints.values()].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  const total = new EndpointAccumulator('Aggregated');
  for (const ep of endpoints) total.merge(ep);
  const totalReport = endpointReport(total, offsetNs);

  const startMs = Number(run.startNs / 1_000_000n);
  const users = new Map<number, number>();
  for (const shard of shards) {
    const points = userPoints(shard, run.service, run.runId, run.startNs, run.endNs, [Metric.ACTIVE_USERS, Metric.LOCUST_USERS]);
    for (const [second, value] of usersPerSecond(points)) users.set(second, Math.max(value, users.get(second) ?? 0));
  }

  const bg = await background(shards, run, generators, offsets, slices);
  return {
    service: run.service,
    runId: run.runId,
    label: run.label,
    start: nsToIso(run.startNs),
    end: nsToIso(run.endNs),
    durationS: Number(run.endNs - run.startNs) / 1e9,
    rootSpans: total.count,
    matched: total.matched,
    propagationCoverage: totalReport.propagationCoverage,
    backgroundServerSpans: bg.count,
    background: bg,
    clockOffsets: [...offsets.values()].sort((a, b) => a.service.localeCompare(b.service)),
    total: totalReport,
    endpoints: endpoints.map((ep) => endpointReport(ep, offsetNs)),
    oddities: acc.odd,
    timeline: acc.timeline.finish(startMs, users),
    slowestTraces: [...acc.top]
      .sort((a, b) => b.gapNs - a.gapNs)
      .flatMap((c) => {
        const w = waterfall(shards, c.shard, c.rowid, c.endpoint, c.gapNs, offsets);
        return w === undefined ? [] : [w];
      }),
  };
}

function endpointReport(ep: EndpointAccumulator, offsetNs: (service: string) => number): EndpointReport {
  return {
    name: ep.name,
    count: ep.count,
    matched: ep.matched,
    errors: ep.errors,
    clientMs: ep.client.stats(),
    serverMs: ep.server.stats(),
    gapMs: ep.gap.stats(),
    phasesMs: ep.breakdown.finish(offsetNs),
    propagationCoverage: ep.count === 0 ? 0 : ep.matched / ep.count,
    errorRate: ep.count === 0 ? 0 : ep.errors / ep.count,
    multipleServerChildren: ep.multipleChildren,
    extraServerChildren: ep.extraChildren,
    newConnections: ep.newConnections,
    gapByConnection: {
      opened: { count: ep.gapOpened.count, gapMs: ep.gapOpened.stats() },
      reused: { count: ep.gapReused.count, gapMs: ep.gapReused.stats() },
    },
    exactPercentiles: ep.client.exactPercentiles && ep.server.exactPercentiles && ep.gap.exactPercentiles,
  };
}

/**
 * Server spans in the run's window (shifted onto each server's clock by its offset) that belong to
 * no load-test trace. Services that are generators themselves are not servers here.
 */
async function background(
  shards: Shard[],
  run: RunWindow,
  generators: string[],
  offsets: Map<string, OffsetEstimate>,
  slices: Slice[],
): Promise<BackgroundReport> {
  const services = new Set<string>();
  for (const shard of shards) for (const s of readServices(shard)) if (!generators.includes(s)) services.add(s);
  const windows = [...services].map((service) => {
    const shift = BigInt(Math.round((offsets.get(service)?.offsetMs ?? 0) * 1e6));
    return { service, fromNs: run.startNs + shift, toNs: run.endNs + shift };
  });
  const digest = new Digest();
  const perService = new Map<string, number>();
  const names = new Map<string, number>();
  for (const part of await Promise.all(slices.map((s) => s.background(windows)))) {
    digest.merge(part.digest);
    for (const [service, n] of part.perService) perService.set(service, (perService.get(service) ?? 0) + n);
    for (const [name, n] of part.names) if (names.size < MAX_BACKGROUND_NAMES || names.has(name)) names.set(name, (names.get(name) ?? 0) + n);
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

/** How far outside its root (after clock offsets) a span of a slow trace is still looked for. */
const WATERFALL_MARGIN_NS = 10_000_000_000n;

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
  // A trace normally lands whole in one shard; read the others too in case it did not. Its spans
  // lie within the root's time on the generator's clock, shifted by their hosts' offsets: read that
  // window widened by the largest offset and a margin (the store has no index by trace id).
  let widest = 0;
  for (const o of offsets.values()) widest = Math.max(widest, Math.abs(o.offsetMs));
  const margin = BigInt(Math.ceil(widest * 1e6)) + WATERFALL_MARGIN_NS;
  const from = root.startNs - margin;
  const to = (root.endNs > root.startNs ? root.endNs : root.startNs) + margin;
  const byId = new Map<string, ReturnType<typeof traceSpans>[number]>();
  for (const s of [shard, ...shards.filter((x) => x !== shard)]) {
    for (const span of traceSpans(s, root.traceId, root.startNs, from, to)) if (!byId.has(span.spanId)) byId.set(span.spanId, span);
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
  if (residual === 0) return `${outside} server spans lie outside their client span on the raw clocks; the offsets account for all of them`;
  return `${outside} server spans lie outside their client span on the raw clocks; the offsets account for ${outside - residual}; ${residual} still do once corrected (timing noise in the span timestamps, which no offset removes)`;
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
