// What a store file holds of spans, read on a connection of its own (store-file.ts): an oracle for
// the receiver's writes that never goes through the store's handle or the analyzer's reads.
// Counts, rows by name or id, and the load-test roots' connection phases and gaps.
import { readStoreFile } from './store-file.ts';

/** A spans row as stored: ids as bytes, times as exact bigint nanoseconds. */
export interface StoredSpanRow {
  trace_id: Buffer;
  span_id: Buffer;
  parent_span_id: Buffer | null;
  service_name: string;
  run_id: string | null;
  name: string;
  kind: number;
  start_ns: bigint;
  end_ns: bigint;
  status_code: number;
  status_message: string;
  flags: number;
  scope_name: string;
  scope_version: string;
  attributes: string;
  events: string | null;
  links: string | null;
}

/** Every stored span, oldest start first, with start_ns/end_ns as exact bigint. */
export function readStoredSpans(path: string): StoredSpanRow[] {
  const rows = readStoreFile(path, (db) => db.prepare('SELECT * FROM spans ORDER BY start_ns').safeIntegers(true).all() as Record<string, unknown>[]);
  // Only the timestamps need 64 bits; small integer columns back to number for easy comparison.
  return rows.map((r) => ({
    ...r,
    kind: Number(r.kind),
    status_code: Number(r.status_code),
    flags: Number(r.flags),
  })) as unknown as StoredSpanRow[];
}

/** Every column of the span with this span id (integers as bigint, so nanoseconds stay exact). */
export function spanRowById(path: string, spanId: Buffer): Record<string, unknown> | undefined {
  return readStoreFile(path, (db) => db.prepare('SELECT * FROM spans WHERE span_id = ?').safeIntegers(true).get(spanId) as Record<string, unknown> | undefined);
}

/** Rows in the spans table. */
export function spanCount(path: string): number {
  return readStoreFile(path, (db) => db.prepare('SELECT count(*) FROM spans').pluck().get() as number);
}

/** Rows in the resources table: one per distinct resource the store has seen. */
export function resourceCount(path: string): number {
  return readStoreFile(path, (db) => db.prepare('SELECT count(*) FROM resources').pluck().get() as number);
}

/** Stored spans named `name`. */
export function spanCountNamed(path: string, name: string): number {
  return readStoreFile(path, (db) => db.prepare('SELECT count(*) FROM spans WHERE name = ?').pluck().get(name) as number);
}

/** Stored spans per service name. */
export function spanCountsByService(path: string): Map<string, number> {
  const rows = readStoreFile(path, (db) => db.prepare('SELECT service_name AS s, count(*) AS n FROM spans GROUP BY service_name').all() as { s: string; n: number }[]);
  return new Map(rows.map((r) => [r.s, r.n]));
}

/** Stored spans per trace, keyed by the trace id in upper-case hex. */
export function spanCountsByTrace(path: string): Map<string, number> {
  const rows = readStoreFile(path, (db) => db.prepare('SELECT hex(trace_id) AS t, count(*) AS n FROM spans GROUP BY trace_id').all() as { t: string; n: number }[]);
  return new Map(rows.map((r) => [r.t, r.n]));
}

/** The span ids of `spanIds` that no stored span carries. */
export function missingSpanIds(path: string, spanIds: Buffer[]): Buffer[] {
  return readStoreFile(path, (db) => {
    const has = db.prepare('SELECT 1 FROM spans WHERE span_id = ?').pluck();
    return spanIds.filter((id) => has.get(id) === undefined);
  });
}

/** The JSON a span named `name` was stored with: its attributes, its events, and its resource's attributes. */
export function spanJsonNamed(path: string, name: string): { attributes: string; events: string | null; resourceAttributes: string } | undefined {
  return readStoreFile(
    path,
    (db) =>
      db
        .prepare('SELECT s.attributes AS attributes, s.events AS events, r.attributes AS resourceAttributes FROM spans s JOIN resources r USING (resource_id) WHERE s.name = ?')
        .get(name) as { attributes: string; events: string | null; resourceAttributes: string } | undefined,
  );
}

/** Distinct resources the spans of run `runId` came from. */
export function resourceCountOfRun(path: string, runId: string): number {
  return readStoreFile(path, (db) => db.prepare('SELECT count(DISTINCT resource_id) FROM spans WHERE run_id = ?').pluck().get(runId) as number);
}

/** The resource attributes (OTLP/JSON map) of one span of run `runId`. */
export function resourceAttributesOfRun(path: string, runId: string): string | undefined {
  return readStoreFile(
    path,
    (db) => db.prepare('SELECT r.attributes FROM spans s JOIN resources r USING (resource_id) WHERE s.run_id = ? LIMIT 1').pluck().get(runId) as string | undefined,
  );
}

/** A load-test root's connection phases, in ms (a root is a CLIENT span without a parent). */
export interface RootPhases {
  reused: number;
  connect: number;
  tls: number;
  waiting: number;
}

/** The connection phases of every load-test root span. */
export function rootPhases(path: string): RootPhases[] {
  return readStoreFile(
    path,
    (db) =>
      db
        .prepare('SELECT connection_reused AS reused, phase_connect_ms AS connect, phase_tls_ms AS tls, phase_waiting_ms AS waiting FROM spans WHERE kind = 3 AND parent_span_id IS NULL')
        .all() as RootPhases[],
  );
}

/**
 * The gap, in ms, of every load-test root that opened a connection and has a SERVER child: its
 * duration minus the child's, joined here by trace and parent id independently of the analyzer.
 */
export function connectionOpeningGapsMs(path: string): number[] {
  return readStoreFile(path, (db) =>
    db
      .prepare(
        `SELECT ((r.end_ns - r.start_ns) - (s.end_ns - s.start_ns)) / 1e6
           FROM spans r JOIN spans s ON s.trace_id = r.trace_id AND s.parent_span_id = r.span_id AND s.kind = 2
          WHERE r.parent_span_id IS NULL AND r.kind = 3 AND r.connection_reused = 0`,
      )
      .pluck()
      .all() as number[],
  );
}
