// The OTLP metric points the services exported, through the store (model/store.ts), for the
// timeline's server-metric charts: one metric by name, per service, inside a run's window on that
// service's clock, each row's time relative to the window's start.
import type { Shard } from '../model/span-reads.ts';

export interface MetricRow {
  service: string;
  resourceId: number;
  /** gauge | sum | histogram | exponential_histogram | summary */
  type: string;
  /** 1 delta, 2 cumulative, 0 unspecified */
  temporality: number;
  monotonic: boolean;
  attributes: string;
  unit: string;
  /** Time after `fromNs`, ms. */
  relMs: number;
  value: number | null;
  count: number | null;
  sum: number | null;
}

/** The points of metric `name` from `service` with fromNs ≤ time ≤ toNs (service's clock), by time. */
export function metricRows(shard: Shard, service: string, name: string, fromNs: bigint, toNs: bigint): MetricRow[] {
  return shard.store.metricPointRows(service, name, fromNs, toNs).map((r) => ({
    service,
    resourceId: r[0],
    type: r[1],
    temporality: r[2],
    monotonic: r[3] === 1,
    attributes: r[4],
    unit: r[5],
    relMs: r[6],
    value: r[7],
    count: r[8],
    sum: r[9],
  }));
}

/** Services that exported metric `name` at all. */
export function metricServices(shard: Shard, name: string): string[] {
  return shard.store.metricServices(name);
}
