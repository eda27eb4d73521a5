// The analysis, start to end, over opened shards: find the runs, pair every root with its server
// children (one pass per shard), estimate the clock offsets, split the gaps, count background
// traffic, and build the waterfalls of the traces with the largest gaps. The result is a plain
// Report value (its types and pure builders: report.ts); rendering is elsewhere (render-*.ts)
// and never sits inside the measuring loop.
import { Metric } from '../model/attributes.ts';
import type { OffsetEstimate } from './clock-offset.ts';
import { diagnose } from './findings.ts';
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
import type { OffsetForSplit } from './gap-breakdown.ts';
import { EndpointAccumulator, RunAccumulator } from './pair-spans.ts';
import { MAX_BACKGROUND_NAMES, SERVER_WINDOW_NS, type PairResult } from './join-pairs.ts';
import { openSlices, type Slice } from './join-threads.ts';
import { AnalysisRecord, pack, unpack, type RecordEvent } from './record.ts';
import type { Reservoir } from './reservoir.ts';
import { collectServerMetrics } from './server-metrics.ts';
import {
  cutOffCandidates,
  lastArrivalMs,
  readResources,
  readRootGroups,
  readServices,
  rootDetail,
  traceSpans,
  userPoints,
  type Shard,
  failureMessages,
  type RootGroup,
  type RunSelector,
} from '../model/span-reads.ts';
import { Digest, nsToMs } from './stats.ts';
import {
  displayAttributes,
  displayEvents,
  KIND_NAMES,
  parseJson,
  REPORT_SCHEMA_VERSION,
  type BackgroundReport,
  type EndpointReport,
  type Report,
  type RunReport,
  type Waterfall,
  type WaterfallSpan,
} from './report.ts';
import { usersPerSecond } from './timeline.ts';
import { summarySentences } from './sentences.ts';
import { serverDataWarnings, stillReceivingWarning } from './warnings.ts';

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
  /**
   * Keep the results of the expensive passes in the first database and reuse them while they are
   * valid (record.ts, docs/analyzer.md#the-record). Off by default; `firstspan analyze` turns it on.
   */
  record?: boolean;
  /** Told what the record did: each part used or computed, and (once) why it could not be written. */
  onRecord?: (event: RecordEvent) => void;
}

/** Server clocks may be off the generator's by this much: spans this far outside a run's window may be its own. */
const ARRIVAL_WINDOW_NS = 60_000_000_000n;
export const DEFAULT_SETTLE_MS = 3000;

interface FoundRuns {
  all: RunWindow[];
  generators: Map<string, GeneratorKind>;
  other: OtherClientTraffic[];
}

/**
 * A record stays valid while no span stored after it starts this close to its run: pairing takes
 * server spans up to SERVER_WINDOW_NS from the run, and background traffic, shifted by offsets of
 * up to as much, asks whether each span's trace starts at a root, which is as far again.
 */
const RECORD_MARGIN_NS = 2n * SERVER_WINDOW_NS + ARRIVAL_WINDOW_NS;

/** Every load-test run in the shards (before filters), and the other client traffic. */
function foundRuns(shards: Shard[], options: AnalyzeOptions, record: AnalysisRecord | undefined): FoundRuns {
  const generators = recognizeGenerators(shards.flatMap(readResources), options.service);
  const rootGroups = (shard: Shard): RootGroup[] => {
    // About the shard alone: one record of its runs, whatever the idle gap.
    const parts = { idleGapNs: options.idleGapNs };
    const recorded = record?.lookup<RootGroup[]>('runs', `runs in ${shard.path}`, [shard.index], null, parts);
    if (recorded !== undefined) return recorded;
    const groups = readRootGroups(shard, options.idleGapNs);
    // Valid until a new load-test root is stored in this shard.
    record?.keep('runs', [shard.index], null, parts, { rootsOnly: true }, groups);
    return groups;
  };
  const { groups, other } = loadTestGroups(shards.map(rootGroups), generators);
  return { all: findRuns(groups, options.idleGapNs), generators, other };
}

export async function analyze(shards: Shard[], options: AnalyzeOptions): Promise<Report> {
  // Opened first: its watermarks come before anything the passes read.
  const record = options.record === true ? AnalysisRecord.open(shards, options.onRecord ?? (() => undefined)) : undefined;
  const { all, generators: kinds, other } = foundRuns(shards, options, record);
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
  // Opened when a run needs its join (not at all when every run comes from the record).
  let opened: Promise<Slice[]> | undefined;
  const slices = (): Promise<Slice[]> => (opened ??= openSlices(shards, threads, roots, options.topN, options.tableBudgetBytes));
  try {
    for (const run of runs) reports.push(await analyzeRun(shards, run, kinds.get(run.service) ?? 'firstspan', generators, slices, record, options));
  } finally {
    if (opened !== undefined) await Promise.all((await opened).map((s) => s.close()));
  }
  record?.flush();
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
  slices: () => Promise<Slice[]>,
  record: AnalysisRecord | undefined,
  options: AnalyzeOptions,
): Promise<RunReport> {
  const acc = new RunAccumulator(options.topN);
  const selector = { service: run.service, runId: run.runId, startNs: run.startNs, lastStartNs: run.endNs, originNs: run.startNs };
  const progress = options.progress;
  // Requests cut off by the end of the run (cut-off.ts), per shard by rowid: the pairing counts
  // them apart (the pair rows carry the root's rowid in P.ROOT) and the failures table leaves them out.
  const cutOffByShard = new Map<number, ReadonlySet<number>>();
  for (const shard of shards) {
    cutOffByShard.set(shard.index, cutOffRoots(cutOffCandidates(shard, selector, run.endNs - CUT_OFF_TAIL_NS), generator));
  }
  const cutOff = shards.map((shard) => [...(cutOffByShard.get(shard.index) ?? [])]);
  // Everything the recorded values depend on besides the spans under the guard (record.ts).
  // A run is itself by its service, id and start; the rest (its end grows while it runs) is in recordParts.
  const recordAbout = { service: run.service, runId: run.runId, startNs: run.startNs };
  const recordParts = { selector, topN: options.topN, cutOff: cutOff.map((c) => [...c].sort((a, b) => a - b)), generators: [...generators].sort() };
  const everyShard = shards.map((s) => s.index);
  const recorded = record?.lookup<RecordedRun>('run', `run ${run.label}`, everyShard, recordAbout, recordParts);
  let results: PairResult[];
  if (recorded !== undefined) {
    results = unpack<PairResult[]>(recorded.pairs);
  } else {
    const open = await slices();
    const done = new Array<number>(open.length).fill(0);
    results = await Promise.all(
      open.map((slice, k) =>
        slice.pair(selector, cutOff, progress === undefined ? undefined : (n) => {
          done[k] = n;
          progress(run.label, done.reduce((a, b) => a + b, 0), run.rootsInShards);
        }),
      ),
    );
  }
  // The join's parts as they came, before absorb adopts (and later merges into) their objects.
  const pairs = record === undefined || recorded !== undefined ? Buffer.alloc(0) : pack(results);
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

  const bg = recorded?.background ?? (await background(shards, run, generators, offsets, await slices()));
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
    failures: total.errors === 0 ? [] : recorded?.failures ?? runFailures(shards, selector, cutOffByShard),
    summary: [],
    findings: [],
    serverMetrics: collectServerMetrics(shards, options.metrics ?? [], run.startNs, run.endNs, offsetNs),
  };
  if (record !== undefined && recorded === undefined) {
    const value: RecordedRun = { pairs, background: bg, failures: report.failures };
    record.keep('run', everyShard, recordAbout, recordParts, { fromNs: run.startNs - RECORD_MARGIN_NS, toNs: run.endNs + RECORD_MARGIN_NS }, value);
  }
  report.summary = summarySentences(report);
  // The diagnosis reads the finished figures and the per-second series of the same pass.
  report.findings = diagnose(report, acc.diag.finish(offsetOf, users));
  options.onRunData?.({ report, endpoints: acc.endpoints, samples: acc.diag.samples, offsetNs });
  return report;
}

/** A run's recorded passes: the join's parts as the slices returned them, background traffic, failures. */
interface RecordedRun {
  /** PairResult[] as the slices returned them, packed (record.ts). */
  pairs: Buffer;
  background: BackgroundReport;
  failures: RunReport['failures'];
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
  // Siblings are ordered by their corrected start: on their hosts' raw clocks a server span 3 s
  // ahead would be drawn after everything its parent did later.
  const visit = (parent: string | null, depth: number, inherited: number): void => {
    const list = (children.get(parent) ?? []).map((s) => {
      const own = s.service === root.service ? 0 : offsets.get(s.service)?.offsetMs;
      const offsetMs = own ?? inherited;
      return { s, offsetMs, startMs: nsToMs(s.relStartNs) - offsetMs };
    });
    list.sort((a, b) => a.startMs - b.startMs);
    for (const { s, offsetMs, startMs } of list) {
      out.push({
        spanId: s.spanId,
        parentSpanId: s.parentSpanId,
        service: s.service,
        name: s.name,
        kind: KIND_NAMES[s.kind] ?? 'unspecified',
        startMs,
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
