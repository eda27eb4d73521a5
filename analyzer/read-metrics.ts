// Reading the OTLP metric points the services exported (the store's metric_points table) for the
// timeline's server-metric charts: one metric by name, per service, inside a run's window on that
// service's clock. The window and the rows' times are exact integer nanoseconds in SQL; each row
// comes back relative to the window's start.
import type { Shard } from './read-spans.ts';

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
  const rows = shard.db
    .prepare(
      `SELECT resource_id, type, temporality, is_monotonic, attributes, unit, (time_ns - @from) / 1000000.0, value, count, sum
       FROM metric_points WHERE service_name = @service AND metric_name = @name AND time_ns >= @from AND time_ns <= @to
       ORDER BY time_ns`,
    )
    .raw()
    .all({ service, name, from: fromNs, to: toNs }) as Array<[number, string, number, number, string, string, number, number | null, number | null, number | null]>;
  return rows.map((r) => ({
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

/** Services that exported metric `name` at all (index-only). */
export function metricServices(shard: Shard, name: string): string[] {
  return shard.db
    .prepare('SELECT DISTINCT service_name FROM metric_points WHERE metric_name = ? ORDER BY service_name')
    .pluck()
    .all(name) as string[];
}
