// Reading the receiver's SQLite store: every query the analyzer runs, prepared once per shard.
// Durations and offsets are computed in SQL as integer differences of the exact nanosecond columns
// (`end_ns - start_ns`), so no absolute timestamp ever passes through a double. Rows come back as
// arrays (`raw()`), and no JSON is parsed on the hot path: the store's hot columns carry the
// phases, request name, method and status.
//
// Several shard files analyse as one: each shard is read by its own connection, and the other
// shards are ATTACHed so a root span stored twice (in two shards) is counted once, and a server
// span whose load-test root sits in another shard is not mistaken for background traffic.
import type Database from 'better-sqlite3';
import { SpanStore } from '../model/store.ts';
import { SpanKind } from '../model/otlp.ts';

export interface Shard {
  index: number;
  path: string;
  store: SpanStore;
  db: Database.Database;
  /** Schema names of the other shards attached to this connection. */
  others: string[];
}

/** Open every shard read-only (FS_ERR_STORE_OPEN on a missing file, non-database, unknown schema). */
export function openShards(paths: string[]): Shard[] {
  const shards: Shard[] = [];
  try {
    for (const [index, path] of paths.entries()) {
      const store = SpanStore.open(path, { readonly: true });
      shards.push({ index, path, store, db: store.db, others: [] });
    }
    if (shards.length > 1) {
      for (const shard of shards) {
        for (const other of shards) {
          if (other === shard) continue;
          const name = `shard${other.index}`;
          shard.db.prepare('ATTACH DATABASE ? AS ' + name).run(other.path);
          shard.others.push(name);
        }
      }
    }
  } catch (error) {
    closeShards(shards);
    throw error;
  }
  return shards;
}

export function closeShards(shards: Shard[]): void {
  for (const s of shards) s.store.close();
}

const ROOT = `parent_span_id IS NULL AND kind = ${SpanKind.CLIENT}`;

export interface RootGroup {
  service: string;
  runId: string | null;
  count: number;
  startNs: bigint;
  endNs: bigint;
}

/**
 * Load-test roots by generator service and run id, with their time span. Roots without a run id
 * (real Locust) come back split by idle gaps longer than `idleGapNs`: a window function finds
 * where a root starts more than the gap after every earlier root has ended.
 */
export function readRootGroups(shard: Shard, idleGapNs: bigint): RootGroup[] {
  // One pass over the root index: every (service, run id) group, the run-less ones included.
  const all = shard.db
    .prepare(
      `SELECT service_name, run_id, count(*), min(start_ns), max(end_ns) FROM spans
       WHERE ${ROOT} GROUP BY service_name, run_id`,
    )
    .raw()
    .safeIntegers();
  const groups: RootGroup[] = [];
  const servicesWithout: string[] = [];
  for (const row of all.all() as Array<[string, string | null, bigint, bigint, bigint]>) {
    if (row[1] === null) servicesWithout.push(row[0]);
    else groups.push({ service: row[0], runId: row[1], count: Number(row[2]), startNs: row[3], endNs: row[4] });
  }
  const segments = shard.db
    .prepare(
      `WITH r AS (
         SELECT start_ns, end_ns,
           CASE WHEN start_ns - max(end_ns) OVER (ORDER BY start_ns ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > ?
                THEN 1 ELSE 0 END AS brk
         FROM spans WHERE ${ROOT} AND service_name = ? AND run_id IS NULL),
       s AS (SELECT start_ns, end_ns, sum(brk) OVER (ORDER BY start_ns ROWS UNBOUNDED PRECEDING) AS seg FROM r)
       SELECT count(*), min(start_ns), max(end_ns) FROM s GROUP BY seg ORDER BY seg`,
    )
    .raw()
    .safeIntegers();
  for (const service of servicesWithout) {
    for (const row of segments.all(idleGapNs, service) as Array<[bigint, bigint, bigint]>) {
      groups.push({ service, runId: null, count: Number(row[0]), startNs: row[1], endNs: row[2] });
    }
  }
  return groups;
}

/** Column positions of a pair row (see pairRows). */
export const P = {
  ROOT: 0,
  /** request_name, else the span name without its `{METHOD} ` prefix (computed in SQL). */
  ENDPOINT: 1,
  /** bit 0: status ERROR; bits 1-2: connection_reused (0 new, 1 reused, 2 unknown). */
  FLAGS: 2,
  CLIENT_NS: 3,
  /** Root start, whole seconds after the run's start (timeline bucket). */
  SECOND: 4,
  /** Request sent, ms after the root's start (blocked+dns+connect+tls+sending); NULL without phases. */
  SENT_MS: 5,
  WAITING_MS: 6,
  BLOCKED_MS: 7,
  SETUP_MS: 8,
  RECEIVING_MS: 9,
  /** resources.resource_id of the server child, NULL when the root has none. */
  SERVER_RESOURCE: 10,
  SERVER_REL_START_NS: 11,
  SERVER_NS: 12,
} as const;

export type PairRow = [
  number, string, number, number, number,
  number | null, number | null, number | null, number | null, number | null,
  number | null, number | null, number | null,
];

export interface RunSelector {
  service: string;
  runId: string | null;
  startNs: bigint;
  /** The last root start of the run (roots are selected by start time). */
  lastStartNs: bigint;
  /** The run's start: second 0 of the timeline (a slice of a run keeps its run's origin). */
  originNs: bigint;
}

/** A root's endpoint: request_name, else the span name without its `{METHOD} ` prefix. */
const ENDPOINT_SQL = `coalesce(r.request_name, CASE WHEN r.http_method IS NOT NULL
           AND substr(r.name, 1, length(r.http_method) + 1) = r.http_method || ' '
           THEN substr(r.name, length(r.http_method) + 2) ELSE r.name END)`;

const PAIR_COLUMNS = `r.rowid,
         ${ENDPOINT_SQL},
         (r.status_code = 2) | (coalesce(r.connection_reused, 2) << 1),
         r.end_ns - r.start_ns, (r.start_ns - @origin) / 1000000000,
         r.phase_blocked_ms + coalesce(r.phase_dns_ms, 0) + coalesce(r.phase_connect_ms, 0)
           + coalesce(r.phase_tls_ms, 0) + coalesce(r.phase_sending_ms, 0),
         r.phase_waiting_ms, r.phase_blocked_ms,
         coalesce(r.phase_dns_ms, 0) + coalesce(r.phase_connect_ms, 0) + coalesce(r.phase_tls_ms, 0),
         r.phase_receiving_ms,
         s.resource_id, s.start_ns - r.start_ns, s.end_ns - s.start_ns`;

/**
 * Every root of a run with its SERVER children from other services, one row per child (a root
 * without a child comes once, child columns NULL). Rows of one root are adjacent: the root is the
 * outer loop of the join. A root also stored in an earlier shard is skipped here (counted apart).
 */
export function pairRows(shard: Shard, run: RunSelector): IterableIterator<PairRow> {
  return pairStatement(shard, PAIR_COLUMNS).raw().iterate(selectorParams(run)) as IterableIterator<PairRow>;
}

export type PairSink = (...row: PairRow) => null;

const sinks = new WeakMap<Database.Database, { sink: PairSink }>();

/**
 * The same rows fed to `sink` by SQLite itself through an application-defined function: no row
 * object is built for JavaScript, which makes reading about twice as fast as iterating rows.
 * Returns the number of rows.
 */
export function feedPairs(shard: Shard, run: RunSelector, sink: PairSink): number {
  let holder = sinks.get(shard.db);
  if (holder === undefined) {
    const h = { sink };
    holder = h;
    sinks.set(shard.db, h);
    shard.db.function('firstspan_pair', { deterministic: false }, (a: number, b: string, c: number, d: number, e: number, f: number | null, g: number | null, h2: number | null, i: number | null, j: number | null, k: number | null, l: number | null, m: number | null) =>
      h.sink(a, b, c, d, e, f, g, h2, i, j, k, l, m),
    );
  }
  holder.sink = sink;
  return pairStatement(shard, `sum(firstspan_pair(${PAIR_COLUMNS}) IS NULL)`).pluck().get(selectorParams(run)) as number;
}

function selectorParams(run: RunSelector, withOrigin = true): Record<string, unknown> {
  const params: Record<string, unknown> = { start: run.startNs, service: run.service, runId: run.runId, last: run.lastStartNs };
  if (withOrigin) params.origin = run.originNs;
  return params;
}

function pairStatement(shard: Shard, columns: string): Database.Statement {
  const dedupe = shard.others
    .filter((name) => Number(name.slice(5)) < shard.index)
    .map((name) => `AND NOT EXISTS (SELECT 1 FROM ${name}.spans d WHERE d.trace_id = r.trace_id AND d.span_id = r.span_id)`)
    .join(' ');
  const stmt = shard.db
    .prepare(
      `SELECT ${columns}
       FROM spans r
       LEFT JOIN spans s ON s.trace_id = r.trace_id AND s.parent_span_id = r.span_id
         AND s.kind = ${SpanKind.SERVER} AND s.service_name <> r.service_name
       WHERE r.${ROOT.replace(' AND kind', ' AND r.kind')} AND r.service_name = @service AND r.run_id IS @runId
         AND r.start_ns >= @start AND r.start_ns <= @last ${dedupe}`,
    );
  return stmt;
}

/**
 * The run's failed roots (status ERROR) by endpoint and message: the status message, else the
 * HTTP status. Reads each root's row, so the caller asks only for runs that have failures.
 * `exclude`: rowids left out (the cut-off roots, counted apart; a handful at most).
 */
export function failureMessages(
  shard: Shard,
  run: RunSelector,
  exclude: ReadonlySet<number> = new Set(),
  limit = 100,
): Array<{ endpoint: string; message: string; count: number }> {
  const notExcluded = exclude.size === 0 ? '' : `AND r.rowid NOT IN (${[...exclude].map((id) => Math.trunc(id)).join(',')})`;
  const rows = shard.db
    .prepare(
      `SELECT ${ENDPOINT_SQL},
              CASE WHEN r.status_message <> '' THEN r.status_message WHEN r.http_status IS NOT NULL THEN 'HTTP ' || r.http_status ELSE 'status ERROR' END,
              count(*)
       FROM spans r WHERE r.${ROOT.replace(' AND kind', ' AND r.kind')} AND r.service_name = @service AND r.run_id IS @runId
         AND r.start_ns >= @start AND r.start_ns <= @last AND r.status_code = 2 ${notExcluded}
       GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT @limit`,
    )
    .raw()
    .all({ ...selectorParams(run, false), limit }) as Array<[string, string, number]>;
  return rows.map(([endpoint, message, count]) => ({ endpoint, message, count }));
}

/**
 * Roots of the run ending at or after `tailFromNs` that got no response or failed: the candidates
 * for a request the run's end cut off. Per candidate: rowid, whether it has no HTTP status, and
 * whether firstspan marked it `firstspan.request.cut_off`. The end-time bound keeps this to the
 * run's last moments (an index range on the roots), so the JSON is read for a handful of rows.
 */
export function cutOffCandidates(shard: Shard, run: RunSelector, tailFromNs: bigint): Array<[number, number, number | null]> {
  return shard.db
    .prepare(
      `SELECT r.rowid, r.http_status IS NULL, json_extract(r.attributes, '$."firstspan.request.cut_off".boolValue')
       FROM spans r WHERE r.${ROOT.replace(' AND kind', ' AND r.kind')} AND r.service_name = @service AND r.run_id IS @runId
         AND r.start_ns >= @start AND r.start_ns <= @last AND r.end_ns >= @tail AND (r.http_status IS NULL OR r.status_code = 2)`,
    )
    .raw()
    .all({ ...selectorParams(run, false), tail: tailFromNs }) as Array<[number, number, number | null]>;
}

/**
 * When the last span starting in [fromNs, toNs] arrived (received_at_ms), looking only at the
 * most recently stored rows: a run still receiving spans has them among the newest, and the
 * store is append-only, so this needs no index and reads a bounded number of rows. null when
 * none of those rows is in the window (the run's spans all came earlier).
 */
export function lastArrivalMs(shard: Shard, fromNs: bigint, toNs: bigint, recentRows = 10_000): number | null {
  return shard.db
    .prepare(
      `SELECT max(received_at_ms) FROM (SELECT received_at_ms, start_ns FROM spans ORDER BY rowid DESC LIMIT @recent)
       WHERE start_ns >= @from AND start_ns <= @to`,
    )
    .pluck()
    .get({ recent: recentRows, from: fromNs, to: toNs }) as number | null;
}

/** Roots of the run in this shard (index-only). */
export function countRoots(shard: Shard, run: RunSelector): number {
  return shard.db
    .prepare(
      `SELECT count(*) FROM spans r WHERE r.${ROOT.replace(' AND kind', ' AND r.kind')} AND r.service_name = @service
       AND r.run_id IS @runId AND r.start_ns >= @start AND r.start_ns <= @last`,
    )
    .pluck()
    .get(selectorParams(run, false)) as number;
}

/** The start of the run's n-th root (0-based) in start order: a slice boundary for threads. */
export function rootStartAt(shard: Shard, run: RunSelector, n: number): bigint {
  const v = shard.db
    .prepare(
      `SELECT r.start_ns FROM spans r WHERE r.${ROOT.replace(' AND kind', ' AND r.kind')} AND r.service_name = @service
       AND r.run_id IS @runId AND r.start_ns >= @start AND r.start_ns <= @last ORDER BY r.start_ns LIMIT 1 OFFSET @n`,
    )
    .pluck()
    .safeIntegers()
    .get({ ...selectorParams(run, false), n }) as bigint | undefined;
  return v ?? run.lastStartNs;
}

/** Roots of the run that an earlier shard also holds (the same span delivered to two shards). */
export function countDuplicateRoots(shard: Shard, run: RunSelector): number {
  const earlier = shard.others.filter((name) => Number(name.slice(5)) < shard.index);
  if (earlier.length === 0) return 0;
  const exists = earlier
    .map((name) => `EXISTS (SELECT 1 FROM ${name}.spans d WHERE d.trace_id = r.trace_id AND d.span_id = r.span_id)`)
    .join(' OR ');
  return shard.db
    .prepare(
      `SELECT count(*) FROM spans r WHERE r.${ROOT.replace(' AND kind', ' AND r.kind')} AND r.service_name = ? AND r.run_id IS ?
       AND r.start_ns >= ? AND r.start_ns <= ? AND (${exists})`,
    )
    .pluck()
    .get(run.service, run.runId, run.startNs, run.lastStartNs) as number;
}

/** Every service that sent spans, from the small resources table. */
export function readServices(shard: Shard): string[] {
  return shard.db.prepare('SELECT DISTINCT service_name FROM resources ORDER BY service_name').pluck().all() as string[];
}

export interface ResourceRow {
  service: string;
  runId: string | null;
  /** Attribute keys of the resource (their values are not needed to recognise a generator). */
  keys: string[];
}

/** Every distinct resource (a small table: one row per process and run), with its attribute keys. */
export function readResources(shard: Shard): ResourceRow[] {
  const rows = shard.db.prepare('SELECT service_name, run_id, attributes FROM resources').raw().all() as Array<[string, string | null, string]>;
  return rows.map(([service, runId, attributes]) => {
    let keys: string[] = [];
    try {
      const parsed = JSON.parse(attributes) as unknown;
      if (typeof parsed === 'object' && parsed !== null) keys = Object.keys(parsed);
    } catch {
      // A resource whose attributes do not parse names no generator; its service is still known.
    }
    return { service, runId, keys };
  });
}

/** resource_id → service name. */
export function readResourceServices(shard: Shard): Map<number, string> {
  const rows = shard.db.prepare('SELECT resource_id, service_name FROM resources').raw().all() as Array<[number, string]>;
  return new Map(rows);
}

/**
 * SERVER spans of `service` starting inside [fromNs, toNs] (that service's clock) whose trace does
 * not start at a load-test root, in this shard or another: background traffic. Returns their
 * durations in ns and names.
 */
export function backgroundRows(shard: Shard, service: string, fromNs: bigint, toNs: bigint): IterableIterator<[number, string]> {
  // A trace-root CLIENT span is a load-test root by definition (its service is a generator), so
  // the probe needs no service list and can use the store's partial index of root trace ids.
  const probe = (schema: string): string =>
    `NOT EXISTS (SELECT 1 FROM ${schema}spans r WHERE r.trace_id = s.trace_id AND r.parent_span_id IS NULL
       AND r.kind = ${SpanKind.CLIENT})`;
  const probes = ['', ...shard.others.map((n) => `${n}.`)].map(probe).join(' AND ');
  return shard.db
    .prepare(
      `SELECT s.end_ns - s.start_ns, s.name FROM spans s
       WHERE s.service_name = ? AND s.start_ns >= ? AND s.start_ns <= ? AND s.kind = ${SpanKind.SERVER}
         AND ${probes}`,
    )
    .raw()
    .iterate(service, fromNs, toNs) as IterableIterator<[number, string]>;
}

export interface TraceSpanRow {
  spanId: string;
  parentSpanId: string | null;
  service: string;
  name: string;
  kind: number;
  /** Start relative to the root's start, ns, raw (each span on its own host's clock). */
  relStartNs: number;
  durationNs: number;
  statusCode: number;
  /** For the report's span-detail panel: the status message and the stored JSON (see model/store.ts). */
  statusMessage: string;
  attributesJson: string;
  eventsJson: string | null;
}

export interface RootDetail {
  traceId: Buffer;
  spanId: string;
  startNs: bigint;
  name: string;
  service: string;
  /** Connection phases in order, ms; null when the span has none. */
  phases: { blocked: number; dns: number; connect: number; tls: number; sending: number; waiting: number; receiving: number } | null;
  connectionReused: boolean | null;
}

/** A root (by rowid) with its phases, for the waterfall of the traces with the largest gaps. */
export function rootDetail(shard: Shard, rowid: number): RootDetail | undefined {
  const row = shard.db
    .prepare(
      `SELECT trace_id, hex(span_id), start_ns, name, service_name, phase_blocked_ms, phase_dns_ms, phase_connect_ms,
         phase_tls_ms, phase_sending_ms, phase_waiting_ms, phase_receiving_ms, connection_reused
       FROM spans WHERE rowid = ?`,
    )
    .safeIntegers()
    .raw()
    .get(rowid) as
    | [Buffer, string, bigint, string, string, ...Array<number | null>]
    | undefined;
  if (row === undefined) return undefined;
  const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
  const hasPhases = row[5] !== null && row[10] !== null;
  return {
    traceId: row[0],
    spanId: row[1],
    startNs: row[2],
    name: row[3],
    service: row[4],
    phases: hasPhases
      ? {
          blocked: num(row[5]),
          dns: num(row[6]),
          connect: num(row[7]),
          tls: num(row[8]),
          sending: num(row[9]),
          waiting: num(row[10]),
          receiving: num(row[11]),
        }
      : null,
    connectionReused: row[12] === null || row[12] === undefined ? null : Number(row[12]) === 1,
  };
}

/** Every span of a trace (capped), times relative to `rootStartNs`. */
export function traceSpans(shard: Shard, traceId: Buffer, rootStartNs: bigint, limit = 200): TraceSpanRow[] {
  const rows = shard.db
    .prepare(
      `SELECT hex(span_id), hex(parent_span_id), service_name, name, kind, start_ns - @root, end_ns - start_ns, status_code,
              status_message, attributes, events
       FROM spans WHERE trace_id = @trace ORDER BY start_ns LIMIT @limit`,
    )
    .raw()
    .all({ root: rootStartNs, trace: traceId, limit }) as Array<[string, string | null, string, string, number, number, number, number, string, string, string | null]>;
  return rows.map((r) => ({
    spanId: r[0],
    parentSpanId: r[1] === '' ? null : r[1],
    service: r[2],
    name: r[3],
    kind: r[4],
    relStartNs: r[5],
    durationNs: r[6],
    statusCode: r[7],
    statusMessage: r[8],
    attributesJson: r[9],
    eventsJson: r[10],
  }));
}

export interface UserPoint {
  resourceId: number;
  /** The point's own attributes (JSON): one series per user class within a process. */
  series: string;
  relMs: number;
  value: number;
}

/** Active-users gauge points of a generator service in the window (ours or Locust's metric name). */
export function userPoints(shard: Shard, service: string, runId: string | null, fromNs: bigint, toNs: bigint, names: string[]): UserPoint[] {
  const rows = shard.db
    .prepare(
      `SELECT resource_id, attributes, (time_ns - @from) / 1000000, value FROM metric_points
       WHERE service_name = @service AND metric_name IN (${names.map((_, i) => `@m${i}`).join(',')})
         AND (run_id IS @runId OR @runId IS NULL) AND time_ns >= @from AND time_ns <= @to AND value IS NOT NULL
       ORDER BY time_ns`,
    )
    .raw()
    .all({ from: fromNs, service, runId, to: toNs, ...Object.fromEntries(names.map((n, i) => [`m${i}`, n])) }) as Array<[number, string, number, number]>;
  return rows.map((r) => ({ resourceId: r[0], series: r[1], relMs: r[2], value: r[3] }));
}
