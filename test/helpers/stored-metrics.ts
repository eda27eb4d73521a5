// The metric data points a store file holds, read on a connection of its own (store-file.ts), as an
// oracle for what the receiver stored from OTLP metrics.
import { readStoreFile } from './store-file.ts';

/** A metric_points row: nanosecond times as exact bigint, the small integers as numbers. */
export interface StoredPoint {
  service_name: string;
  run_id: string | null;
  metric_name: string;
  type: string;
  temporality: number;
  is_monotonic: number;
  value: number | null;
  count: number | null;
  sum: number | null;
  min: number | null;
  max: number | null;
  bucket_counts: string | null;
  explicit_bounds: string | null;
  /** OTLP/JSON attribute map. */
  attributes: string;
  start_ns: bigint;
  time_ns: bigint;
}

function points(path: string, where: 'service_name = ?' | 'run_id IS ?', value: string | null): StoredPoint[] {
  const rows = readStoreFile(
    path,
    (db) => db.prepare(`SELECT * FROM metric_points WHERE ${where} ORDER BY metric_name, time_ns`).safeIntegers(true).all(value) as Record<string, unknown>[],
  );
  return rows.map((r) => ({
    ...r,
    temporality: Number(r.temporality),
    is_monotonic: Number(r.is_monotonic),
    count: r.count === null ? null : Number(r.count),
  })) as unknown as StoredPoint[];
}

/** Every point `service` exported, by metric name, then oldest first. */
export function metricPointsOfService(path: string, service: string): StoredPoint[] {
  return points(path, 'service_name = ?', service);
}

/** Every point of run `runId` (null: the points no run claims), by metric name, then oldest first. */
export function metricPointsOfRun(path: string, runId: string | null): StoredPoint[] {
  return points(path, 'run_id IS ?', runId);
}

/** Rows in the metric_points table. */
export function metricPointCount(path: string): number {
  return readStoreFile(path, (db) => db.prepare('SELECT count(*) FROM metric_points').pluck().get() as number);
}
