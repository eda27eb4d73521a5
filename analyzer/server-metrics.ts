// Server metrics per second of a run, for the timeline (--metric NAME): the points each service
// exported, moved onto the generator's clock by that service's offset, reduced to one value a
// second. A series is a stream of points per resource (process) and attribute set:
//  - gauges and non-monotonic sums: the value (utilization, memory, queue length);
//  - monotonic sums (counters): the rate per second between successive points;
//  - histograms: the mean of the interval (Δsum / Δcount).
// Each second shows the streams' latest values combined — summed over attribute sets and
// processes (CPU utilization by mode adds up to the total; two processes' memory to theirs), and
// for histogram means averaged. Points are not invented between reports: a second without a report
// carries the last values forward only until the next report.
import { metricRows, metricServices, type MetricRow } from './read-metrics.ts';
import type { Shard } from '../model/span-reads.ts';

export interface MetricSeries {
  name: string;
  service: string;
  unit: string;
  /** 'value' (gauge, up-down sum), 'rate' (counter per second), 'mean' (histogram). */
  kind: 'value' | 'rate' | 'mean';
  points: Array<{ second: number; value: number }>;
}

export function perSecond(name: string, service: string, rows: MetricRow[]): MetricSeries | undefined {
  const first = rows.find((r) => r.type === 'gauge' || r.type === 'sum' || r.type === 'histogram');
  if (first === undefined) return undefined;
  const kind: MetricSeries['kind'] = first.type === 'histogram' ? 'mean' : first.type === 'sum' && first.monotonic ? 'rate' : 'value';
  const previous = new Map<string, MetricRow>();
  const latest = new Map<string, number>();
  const bySecond = new Map<number, number>();
  for (const r of rows) {
    if (r.relMs < 0) continue;
    // A point without its numbers says nothing, and is no stream's previous point either.
    if (kind === 'mean' ? r.sum === null || r.count === null : r.value === null) continue;
    const key = `${r.resourceId}\u0000${r.attributes}`;
    const prev = previous.get(key);
    previous.set(key, r);
    let v: number | undefined;
    if (kind === 'value') v = r.value as number;
    else if (kind === 'rate') {
      if (r.value === null) continue;
      if (r.temporality === 1) {
        if (prev !== undefined && r.relMs > prev.relMs) v = (r.value / (r.relMs - prev.relMs)) * 1000;
      } else if (prev !== undefined && prev.value !== null && r.relMs > prev.relMs && r.value >= prev.value) {
        v = ((r.value - prev.value) / (r.relMs - prev.relMs)) * 1000;
      }
    } else if (r.sum !== null && r.count !== null) {
      if (r.temporality === 1) v = r.count > 0 ? r.sum / r.count : undefined;
      else if (prev !== undefined && prev.sum !== null && prev.count !== null && r.count > prev.count) v = (r.sum - prev.sum) / (r.count - prev.count);
    }
    if (v === undefined || !Number.isFinite(v)) continue;
    latest.set(key, v);
    let total = 0;
    for (const x of latest.values()) total += x;
    bySecond.set(Math.floor(r.relMs / 1000), kind === 'mean' ? total / latest.size : total);
  }
  return {
    name,
    service,
    unit: first.unit,
    kind,
    points: [...bySecond].sort((a, b) => a[0] - b[0]).map(([second, value]) => ({ second, value })),
  };
}

/**
 * The named metrics of every service that exported them, in the run's window [startNs, endNs]
 * (generator's clock), each service's points shifted by its clock offset (ns, server − generator).
 */
export function collectServerMetrics(
  shards: Shard[],
  names: string[],
  startNs: bigint,
  endNs: bigint,
  offsetNs: (service: string) => number,
): MetricSeries[] {
  const out: MetricSeries[] = [];
  for (const name of names) {
    const services = [...new Set(shards.flatMap((s) => metricServices(s, name)))].sort();
    for (const service of services) {
      const shift = BigInt(Math.round(offsetNs(service)));
      const rows = shards.flatMap((s) => metricRows(s, service, name, startNs + shift, endNs + shift)).sort((a, b) => a.relMs - b.relMs);
      const series = perSecond(name, service, rows);
      if (series !== undefined && series.points.length > 0) out.push(series);
    }
  }
  return out;
}
