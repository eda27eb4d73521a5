// CI gates on a run's change against its baseline: `--assert 'gap.p99 < +10%'`. A threshold whose
// value carries an explicit sign is a change threshold (docs/analyzer.md):
//   change := metric [ '{' endpoint '}' ] op ( '+' | '-' ) value ( '%' | ms | s | us )
//   metric := (client | server | gap) '.' (p50 | p90 | p99 | max | mean) | phase '.' PART
// It is breached only when the change crosses the limit AND the comparison's test calls the
// change significant: a change within noise passes, and its line says so.
import { TOTAL_NAME, type Comparison, type MetricChange } from './compare.ts';
import { PART_NAMES } from './gap-breakdown.ts';
import { holds, type Threshold } from './thresholds.ts';

export interface ChangeThreshold {
  source: string;
  metric: string;
  endpoint: string | null;
  op: Threshold['op'];
  /** Percent of the baseline ('pct') or milliseconds ('ms'). */
  unit: 'pct' | 'ms';
  value: number;
}

const GRAMMAR = /^\s*([a-zA-Z0-9_.]+)\s*(?:\{(.+)\})?\s*(<=|>=|<|>)\s*([+-]\d+(?:\.\d+)?)\s*(%|ms|s|us)?\s*$/;
const METRIC = /^(?:(client|server|gap)\.(p50|p90|p99|max|mean)|phase\.(\w+))$/;

/** A signed value after the operator marks a change threshold. */
export function isChangeThreshold(source: string): boolean {
  return /(<=|>=|<|>)\s*[+-]\d/.test(source);
}

/** Parse one change threshold; a string is an error message saying what to fix. */
export function parseChangeThreshold(source: string): ChangeThreshold | string {
  const m = GRAMMAR.exec(source);
  if (m === null) {
    return `--assert '${source}' is not a change threshold: write METRIC[{ENDPOINT}] OP +VALUE% (or ms), e.g. 'gap.p99<+10%' or 'phase.beforeServer<+5ms'`;
  }
  const [, metric = '', endpoint, op = '<', raw = '0', unit] = m;
  const mm = METRIC.exec(metric);
  if (mm === null) return `--assert '${source}': a change threshold needs a duration metric: client|server|gap.p50|p90|p99|max|mean or phase.NAME`;
  if (mm[3] !== undefined && !(PART_NAMES as string[]).includes(mm[3])) {
    return `--assert '${source}': unknown phase '${mm[3]}'; use one of ${PART_NAMES.join(', ')}`;
  }
  if (unit === undefined) return `--assert '${source}': give the change a unit: % of the baseline, or ms, s, us`;
  let value = Number(raw);
  if (unit === 's') value *= 1000;
  else if (unit === 'us') value /= 1000;
  return { source: source.trim(), metric, endpoint: endpoint ?? null, op: op as Threshold['op'], unit: unit === '%' ? 'pct' : 'ms', value };
}

export interface ChangeResult {
  threshold: ChangeThreshold;
  endpoint: string;
  change: MetricChange | null;
  /** The change in the threshold's unit; null without one (no such endpoint, or a 0 baseline for %). */
  actual: number | null;
  ok: boolean;
}

export function evaluateChangeThresholds(thresholds: ChangeThreshold[], c: Comparison): ChangeResult[] {
  const results: ChangeResult[] = [];
  for (const t of thresholds) {
    const targets =
      t.endpoint === null
        ? c.endpoints.filter((e) => e.name === TOTAL_NAME)
        : t.endpoint === '*'
          ? c.endpoints.filter((e) => e.name !== TOTAL_NAME && e.onlyIn === null)
          : c.endpoints.filter((e) => e.name === t.endpoint && e.onlyIn === null);
    if (targets.length === 0) {
      results.push({ threshold: t, endpoint: t.endpoint ?? TOTAL_NAME, change: null, actual: null, ok: false });
      continue;
    }
    for (const ep of targets) {
      const change = ep.changes.find((x) => x.metric === t.metric) ?? null;
      const actual = change === null ? null : t.unit === 'pct' ? change.changePct : change.changeMs;
      // A gate on nothing must not pass; a crossing within noise does.
      const ok = actual === null ? false : holds(actual, t.op, t.value) || !(change as MetricChange).significant;
      results.push({ threshold: t, endpoint: ep.name, change, actual, ok });
    }
  }
  return results;
}

function signed(v: number, unit: ChangeThreshold['unit']): string {
  const text = `${v >= 0 ? '+' : ''}${Number(v.toFixed(3))}`;
  return unit === 'pct' ? `${text}%` : `${text}ms`;
}

export function formatChangeResults(results: ChangeResult[], c: Comparison): string {
  return results
    .map((r) => {
      const where = r.threshold.endpoint === null ? '' : ` [${r.endpoint}]`;
      let what: string;
      if (r.change === null) what = 'no such endpoint in both runs';
      else if (r.actual === null) what = 'the baseline is 0, no relative change';
      else {
        const pv = r.change.pValue;
        const p = pv === null ? 'untested' : pv < 1e-4 ? 'p<1e-4' : `p=${pv.toPrecision(2)}`;
        const round = (v: number): number => Number(v.toFixed(3));
        what = `${signed(r.actual, r.threshold.unit)} (${round(r.change.baselineMs)} → ${round(r.change.runMs)} ms, ${r.change.significant ? `significant, ${p}` : `within noise, ${p}`})`;
      }
      return `${r.ok ? '✓' : '✗'} ${r.threshold.source}${where} — run ${c.run.label} vs baseline ${c.baseline.label}: ${what}\n`;
    })
    .join('');
}
