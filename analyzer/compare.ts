// A run against its baseline: per endpoint (and the run's total) the change of the client,
// server and gap percentiles and means and of each gap part, each with a significance test
// (significance.ts) so that noise between two runs is not reported as a regression. The figures
// are the exact ones of both reports; the tests read the digests (percentiles) and the request
// samples (means and parts) the pairing pass kept.
import type { EndpointReport, Report, RunReport } from './report.ts';
import { PART_NAMES, type GapParts } from './gap-breakdown.ts';
import { EndpointAccumulator } from './pair-spans.ts';
import { Reservoir, type SampleField } from './reservoir.ts';
import { holm, mannWhitney, quantileSe, quantileTest, type TestResult } from './significance.ts';
import type { Digest } from './stats.ts';

/** Family-wise error rate of one comparison (Holm-corrected over all its tests). */
export const COMPARISON_ALPHA = 0.01;
export const TOTAL_NAME = 'Aggregated';

/** What a run's analysis keeps for a comparison (analyze.ts hands it out through onRunData). */
export interface RunData {
  report: RunReport;
  endpoints: Map<string, EndpointAccumulator>;
  samples: Map<string, Reservoir>;
  offsetNs: (service: string) => number;
}

export interface MetricChange {
  /** Threshold metric name: client.p99, gap.mean, phase.beforeServer, … */
  metric: string;
  baselineMs: number;
  runMs: number;
  changeMs: number;
  /** Change in percent of the baseline; null when the baseline is 0. */
  changePct: number | null;
  /** 'quantile' (percentiles, full digests), 'mann-whitney' (means and parts, samples), null (max: one value, no test). */
  test: 'quantile' | 'mann-whitney' | null;
  pValue: number | null;
  /** Beyond noise at the comparison's family-wise alpha (Holm). */
  significant: boolean;
}

export interface EndpointComparison {
  name: string;
  /** Present in only one of the runs: its changes are empty. */
  onlyIn: 'run' | 'baseline' | null;
  baselineCount: number;
  runCount: number;
  changes: MetricChange[];
}

export interface RunRef {
  label: string;
  service: string;
  start: string;
  databases: string[];
}

export interface Comparison {
  run: RunRef;
  baseline: RunRef;
  alpha: number;
  endpoints: EndpointComparison[];
}

/** A report with --baseline: the run's report and, at the top level, its comparison. */
export type ComparedReport = Report & { comparison?: Comparison };

const STATS = ['p50', 'p90', 'p99', 'max', 'mean'] as const;
const LATENCIES = ['client', 'server', 'gap'] as const;

function digestOf(acc: EndpointAccumulator, m: (typeof LATENCIES)[number]): Digest {
  return m === 'client' ? acc.client : m === 'server' ? acc.server : acc.gap;
}

function statsOf(ep: EndpointReport, m: (typeof LATENCIES)[number]): EndpointReport['serverMs'] {
  return m === 'client' ? ep.clientMs : m === 'server' ? ep.serverMs : ep.gapMs;
}

/** Percentile test: the difference of the two percentiles against their order-statistic standard errors. */
function percentileTest(base: Digest, run: Digest, p: number): TestResult {
  const se = (d: Digest): number => quantileSe(d.count, p / 100, (rank) => d.percentileNs(((rank - 0.5) / d.count) * 100));
  return quantileTest(base.percentileNs(p), se(base), run.percentileNs(p), se(run));
}

interface Side {
  report: EndpointReport;
  acc: EndpointAccumulator;
  sample: Reservoir;
  offsetNs: (service: string) => number;
}

function changesOf(base: Side, run: Side): Array<Omit<MetricChange, 'significant'>> {
  const out: Array<Omit<MetricChange, 'significant'>> = [];
  const change = (metric: string, b: number, r: number, test: MetricChange['test'], t: TestResult | null): void => {
    out.push({
      metric,
      baselineMs: b,
      runMs: r,
      changeMs: Math.round((r - b) * 1e6) / 1e6,
      changePct: b > 0 ? Math.round(((r - b) / b) * 1e5) / 1e3 : null,
      test,
      pValue: t === null ? null : t.p,
    });
  };
  const column = (side: Side, field: SampleField): Float64Array => side.sample.column(field, side.offsetNs);
  for (const m of LATENCIES) {
    const b = statsOf(base.report, m);
    const r = statsOf(run.report, m);
    // No data on a side (no matched server span): nothing to compare.
    if (b === null || r === null) continue;
    for (const s of STATS) {
      if (s === 'max') change(`${m}.max`, b.max, r.max, null, null);
      else if (s === 'mean') change(`${m}.mean`, b.mean, r.mean, 'mann-whitney', mannWhitney(column(base, m), column(run, m)));
      else change(`${m}.${s}`, b[s], r[s], 'quantile', percentileTest(digestOf(base.acc, m), digestOf(run.acc, m), Number(s.slice(1))));
    }
  }
  const bp = base.report.phasesMs;
  const rp = run.report.phasesMs;
  for (const part of PART_NAMES) {
    if (bp === null || rp === null) break;
    const key: keyof GapParts = part;
    change(`phase.${part}`, bp[key], rp[key], 'mann-whitney', mannWhitney(column(base, part), column(run, part)));
  }
  return out;
}

function totalOf(data: RunData): { acc: EndpointAccumulator; sample: Reservoir } {
  const acc = new EndpointAccumulator(TOTAL_NAME);
  for (const ep of data.endpoints.values()) acc.merge(ep);
  const sample = new Reservoir();
  for (const r of data.samples.values()) sample.merge(r);
  return { acc, sample };
}

function ref(d: RunData, databases: string[]): RunRef {
  return { label: d.report.label, service: d.report.service, start: d.report.start, databases };
}

export function compareRuns(run: RunData, runDbs: string[], baseline: RunData, baselineDbs: string[]): Comparison {
  const pending: Array<{ ep: EndpointComparison; changes: Array<Omit<MetricChange, 'significant'>> }> = [];
  const baseByName = new Map(baseline.report.endpoints.map((e) => [e.name, e]));
  const side = (data: RunData, report: EndpointReport): Side => ({
    report,
    acc: data.endpoints.get(report.name) ?? new EndpointAccumulator(report.name),
    sample: data.samples.get(report.name) ?? new Reservoir(),
    offsetNs: data.offsetNs,
  });
  for (const r of run.report.endpoints) {
    const b = baseByName.get(r.name);
    const ep: EndpointComparison = { name: r.name, onlyIn: b === undefined ? 'run' : null, baselineCount: b?.count ?? 0, runCount: r.count, changes: [] };
    pending.push({ ep, changes: b === undefined ? [] : changesOf(side(baseline, b), side(run, r)) });
    baseByName.delete(r.name);
  }
  for (const b of baseByName.values()) {
    pending.push({ ep: { name: b.name, onlyIn: 'baseline', baselineCount: b.count, runCount: 0, changes: [] }, changes: [] });
  }
  const bt = totalOf(baseline);
  const rt = totalOf(run);
  pending.push({
    ep: { name: TOTAL_NAME, onlyIn: null, baselineCount: baseline.report.total.count, runCount: run.report.total.count, changes: [] },
    changes: changesOf(
      { report: baseline.report.total, acc: bt.acc, sample: bt.sample, offsetNs: baseline.offsetNs },
      { report: run.report.total, acc: rt.acc, sample: rt.sample, offsetNs: run.offsetNs },
    ),
  });
  // One family: every test of the comparison, so more endpoints do not mean more false alarms.
  const tested = pending.flatMap((p) => p.changes.filter((c) => c.pValue !== null));
  const verdict = holm(tested.map((c) => c.pValue as number), COMPARISON_ALPHA);
  const significant = new Set(tested.filter((_, i) => verdict[i] === true));
  for (const p of pending) p.ep.changes = p.changes.map((c) => ({ ...c, significant: significant.has(c) }));
  return {
    run: ref(run, runDbs),
    baseline: ref(baseline, baselineDbs),
    alpha: COMPARISON_ALPHA,
    endpoints: pending.map((p) => p.ep),
  };
}

/** The significant changes, endpoint by endpoint, for the summary lines. */
export function significantChanges(c: Comparison): Array<{ endpoint: string; change: MetricChange }> {
  return c.endpoints.flatMap((ep) => ep.changes.filter((x) => x.significant).map((change) => ({ endpoint: ep.name, change })));
}
