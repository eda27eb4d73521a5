// CI gates, k6's model: `--assert 'gap.p99<50ms'` thresholds checked against every analysed run,
// a ✓ or ✗ line each, and exit code 99 (ExitCodes.THRESHOLDS_FAILED) when any is breached.
//
// Grammar (docs/analyzer.md):
//   threshold := metric [ '{' endpoint '}' ] op value [unit]
//   metric    := (client | server | gap) '.' (p50 | p90 | p95 | p99 | max | mean)
//              | coverage | errors.rate | errors.count | count | matched | explained
//              | phase '.' (poolWait | connectionSetup | sending | beforeServer | betweenAttempts
//                          | afterServer | download | unexplained)
//   op        := < | <= | > | >= | == | !=
//   unit      := ms | s | us  (durations; default ms)  |  %  (ratios; default a fraction 0..1)
// Without `{endpoint}` the run's total is checked; `{*}` checks every endpoint of the run.
// Ratios take one unit everywhere (here and --min-coverage): 0.99 or 99%; a bare 99 is refused.
// A threshold over a figure with no data behind it (no matched server span) fails, saying why:
// a gate over nothing must never pass.
import type { EndpointReport, RunReport } from './report.ts';
import { PART_NAMES } from './gap-breakdown.ts';

export interface Threshold {
  source: string;
  metric: string;
  endpoint: string | null;
  op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  value: number;
  /** 'ms' for durations, 'ratio' for coverage/rates, 'count' for counts. */
  kind: 'ms' | 'ratio' | 'count';
}

const DURATION_METRICS = /^(client|server|gap)\.(p50|p90|p95|p99|max|mean)$/;
const PHASE_METRIC = /^phase\.(\w+)$/;
const RATIO_METRICS = new Set(['coverage', 'errors.rate', 'explained']);
const COUNT_METRICS = new Set(['errors.count', 'count', 'matched']);

const GRAMMAR = /^\s*([a-zA-Z0-9_.]+)\s*(?:\{(.+)\})?\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*(ms|s|us|%)?\s*$/;

/** Parse one threshold; a string is an error message saying what to fix. */
export function parseThreshold(source: string): Threshold | string {
  const m = GRAMMAR.exec(source);
  if (m === null) {
    return `--assert '${source}' is not a threshold: write METRIC[{ENDPOINT}] OP VALUE[UNIT], e.g. 'gap.p99<50ms' or 'coverage>=0.99'`;
  }
  const [, metric = '', endpoint, op = '<', raw = '0', unit] = m;
  let kind: Threshold['kind'];
  const phase = PHASE_METRIC.exec(metric);
  if (DURATION_METRICS.test(metric)) kind = 'ms';
  else if (phase !== null) {
    if (!(PART_NAMES as string[]).includes(phase[1] as string)) {
      return `--assert '${source}': unknown phase '${phase[1]}'; use one of ${PART_NAMES.join(', ')}`;
    }
    kind = 'ms';
  } else if (RATIO_METRICS.has(metric)) kind = 'ratio';
  else if (COUNT_METRICS.has(metric)) kind = 'count';
  else {
    return `--assert '${source}': unknown metric '${metric}'; use client|server|gap.p50|p90|p95|p99|max|mean, phase.NAME, coverage, errors.rate, errors.count, count, matched or explained`;
  }
  let value = Number(raw);
  if (kind === 'ms') {
    if (unit === '%') return `--assert '${source}': ${metric} is a duration; use ms, s or us`;
    if (unit === 's') value *= 1000;
    else if (unit === 'us') value /= 1000;
  } else if (kind === 'ratio') {
    if (unit === '%') value /= 100;
    else if (unit !== undefined) return `--assert '${source}': ${metric} is a ratio; write 0.99 or 99%`;
    else if (value > 1) return `--assert '${source}': ${metric} is a fraction from 0 to 1; write ${value / 100} or ${raw}%`;
  } else if (unit !== undefined) {
    return `--assert '${source}': ${metric} is a count; give a plain number`;
  }
  return { source: source.trim(), metric, endpoint: endpoint ?? null, op: op as Threshold['op'], value, kind };
}

/**
 * A ratio as --min-coverage takes it: `0.99` or `99%`. A string is an error message saying what
 * to fix (a bare `99` is refused rather than guessed at).
 */
export function parseRatio(flag: string, raw: string): number | string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%)?\s*$/.exec(raw);
  if (m === null) return `${flag} must be a fraction such as 0.99 or a percentage such as 99%, got '${raw}'`;
  const value = Number(m[1]);
  if (m[2] === '%') return value > 100 ? `${flag} must be at most 100%, got '${raw}'` : value / 100;
  if (value > 1) return `${flag} is a fraction from 0 to 1: write ${value / 100} or ${m[1] as string}%, got '${raw}'`;
  return value;
}

/** The figure a metric reads, or null when it has no data behind it (no matched server span). */
export function metricValue(ep: EndpointReport, metric: string): number | null {
  const d = DURATION_METRICS.exec(metric);
  if (d !== null) {
    const stats = d[1] === 'client' ? ep.clientMs : d[1] === 'server' ? ep.serverMs : ep.gapMs;
    return stats === null ? null : stats[d[2] as keyof typeof stats];
  }
  const phase = PHASE_METRIC.exec(metric);
  if (phase !== null) return ep.phasesMs === null ? null : ep.phasesMs[phase[1] as (typeof PART_NAMES)[number]];
  switch (metric) {
    case 'coverage':
      return ep.propagationCoverage;
    case 'errors.rate':
      return ep.errorRate;
    case 'explained':
      return ep.phasesMs === null ? null : ep.phasesMs.explainedShare;
    case 'errors.count':
      return ep.errors;
    case 'count':
      return ep.count;
    default:
      return ep.matched;
  }
}

export function holds(actual: number, op: Threshold['op'], limit: number): boolean {
  switch (op) {
    case '<':
      return actual < limit;
    case '<=':
      return actual <= limit;
    case '>':
      return actual > limit;
    case '>=':
      return actual >= limit;
    case '==':
      return actual === limit;
    default:
      return actual !== limit;
  }
}

export interface ThresholdResult {
  threshold: Threshold;
  run: string;
  endpoint: string;
  /** null when the endpoint is not in the run or the figure has no data (a breach: a gate on nothing must not pass). */
  actual: number | null;
  ok: boolean;
  /** Why a null actual failed. */
  reason?: string;
}

const NO_DATA_REASON = 'no data: no matched server span (is the service instrumented, exporting to this receiver, propagating traceparent?)';

export function evaluateThresholds(thresholds: Threshold[], runs: RunReport[]): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const run of runs) {
    for (const t of thresholds) {
      const targets: EndpointReport[] =
        t.endpoint === null ? [run.total] : t.endpoint === '*' ? run.endpoints : run.endpoints.filter((e) => e.name === t.endpoint);
      if (targets.length === 0) {
        results.push({ threshold: t, run: run.label, endpoint: t.endpoint ?? run.total.name, actual: null, ok: false, reason: 'no such endpoint in the run' });
        continue;
      }
      for (const ep of targets) {
        const actual = metricValue(ep, t.metric);
        if (actual === null) results.push({ threshold: t, run: run.label, endpoint: ep.name, actual, ok: false, reason: NO_DATA_REASON });
        else results.push({ threshold: t, run: run.label, endpoint: ep.name, actual, ok: holds(actual, t.op, t.value) });
      }
    }
  }
  return results;
}

function show(value: number, kind: Threshold['kind']): string {
  if (kind === 'ms') return `${Number(value.toFixed(3))}ms`;
  if (kind === 'ratio') return `${Number((value * 100).toFixed(2))}%`;
  return String(value);
}

/** One ✓/✗ line per result. */
export function formatThresholdResults(results: ThresholdResult[]): string {
  return results
    .map((r) => {
      const where = r.threshold.endpoint === null ? '' : ` [${r.endpoint}]`;
      const actual = r.actual === null ? (r.reason ?? 'no data') : show(r.actual, r.threshold.kind);
      return `${r.ok ? '✓' : '✗'} ${r.threshold.source}${where} — run ${r.run}: ${actual}\n`;
    })
    .join('');
}
