// Reading the receiver's SQLite store: every query the analyzer (analyzer/) runs, kept in model/
// beside the schema it depends on. Durations and offsets are computed in SQL as integer
// differences of the exact nanosecond columns (`end_ns - start_ns`), so no absolute timestamp
// ever passes through a double. No JSON is parsed on the hot path: the
// store's hot columns carry the phases, request name, method and status.
//
// The store keeps no index keyed by trace or span id (docs/receiver.md): every pass here reads a
// service- or time-leading index in order, and the rows go to JavaScript through
// application-defined SQL functions (no row object is built), where the analyzer joins them in
// typed-array hash tables (analyzer/id-tables.ts). Several shard files analyse as one: the tables
// span them all, so a span stored twice (in one shard or two) counts once, and a root and its
// server child pair up whichever shards hold them. The demo's few reads are at the end.
import type Database from 'better-sqlite3';
import { Attr } from './attributes.ts';
import { SpanKind } from './otlp.ts';
import { SpanStore } from './store.ts';

export interface Shard {
  index: number;
  path: string;
  store: SpanStore;
  db: Database.Database;
}

/** Open every shard read-only (FS_ERR_STORE_OPEN on a missing file, non-database, unknown schema). */
export function openShards(paths: string[]): Shard[] {
  const shards: Shard[] = [];
  try {
    for (const [index, path] of paths.entries()) {
      const store = SpanStore.open(path, { readonly: true });
      // Room to sort and to cache the index pages a pass reads (pages are allocated as used).
      store.db.pragma('cache_size = -16384');
      shards.push({ index, path, store, db: store.db });
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

/** The root's part of a pair row: P.ROOT (the root's rowid) to P.RECEIVING_MS. */
const ROOT_COLUMNS = `r.rowid,
         ${ENDPOINT_SQL},
         (r.status_code = 2) | (coalesce(r.connection_reused, 2) << 1),
         r.end_ns - r.start_ns, (r.start_ns - @origin) / 1000000000,
         r.phase_blocked_ms + coalesce(r.phase_dns_ms, 0) + coalesce(r.phase_connect_ms, 0)
           + coalesce(r.phase_tls_ms, 0) + coalesce(r.phase_sending_ms, 0),
         r.phase_waiting_ms, r.phase_blocked_ms,
         coalesce(r.phase_dns_ms, 0) + coalesce(r.phase_connect_ms, 0) + coalesce(r.phase_tls_ms, 0),
         r.phase_receiving_ms`;

/**
 * A function SQLite calls once per row of a pass, forwarding to whichever sink is current:
 * registered once per connection (a connection's functions cannot be removed), re-aimed per pass.
 */
function sinkFunction<A extends unknown[]>(db: Database.Database, name: string): { sink: (...args: A) => unknown } {
  const key = `${name}`;
  let perDb = holders.get(db);
  if (perDb === undefined) holders.set(db, (perDb = new Map()));
  let holder = perDb.get(key) as { sink: (...args: A) => unknown } | undefined;
  if (holder === undefined) {
    const h: { sink: (...args: A) => unknown } = { sink: () => null };
    holder = h;
    perDb.set(key, h);
    db.function(name, { deterministic: false, varargs: true }, (...args: unknown[]) => h.sink(...(args as A)));
  }
  return holder;
}
const holders = new WeakMap<Database.Database, Map<string, unknown>>();

/**
 * A root row for the join: the root's pair-row columns, then its trace id and span id as one hex
 * string (ids pass as hex: a Buffer per value cost most of a row's time in JavaScript, a string a
 * tenth of it), then its start (ns after `base`).
 */
export type RootSink = (
  root: number, endpoint: string, flags: number, clientNs: number, second: number,
  sentMs: number | null, waitingMs: number | null, blockedMs: number | null, setupMs: number | null, receivingMs: number | null,
  ids: string, relStartNs: number,
) => void;

/** Every root of a run in this shard, in start order (the roots index, then each row). Returns the count. */
/**
 * A slice of the trace-id space, [lo, hi) compared as blobs: the analysis is split across threads
 * by trace id, so each thread holds the tables of its own traces only. `ALL_TRACES` is the whole.
 */
export interface TraceRange {
  lo: Buffer;
  hi: Buffer;
}
export const ALL_TRACES: TraceRange = { lo: Buffer.alloc(0), hi: Buffer.alloc(17, 0xff) };

/** The k-th of n equal slices of the trace-id space, by first byte. */
export function traceRange(k: number, n: number): TraceRange {
  const lo = Math.floor((256 * k) / n);
  const hi = Math.floor((256 * (k + 1)) / n);
  return { lo: k === 0 ? ALL_TRACES.lo : Buffer.from([lo]), hi: hi >= 256 ? ALL_TRACES.hi : Buffer.from([hi]) };
}

export function feedRunRoots(shard: Shard, run: RunSelector, baseNs: bigint, range: TraceRange, sink: RootSink): number {
  const holder = sinkFunction<Parameters<RootSink>>(shard.db, 'firstspan_root');
  holder.sink = (...args) => {
    sink(...args);
    return null;
  };
  return shard.db
    .prepare(
      `SELECT sum(firstspan_root(${ROOT_COLUMNS}, hex(r.trace_id || r.span_id), r.start_ns - @base) IS NULL)
       FROM spans r
       WHERE r.${ROOT.replace(' AND kind', ' AND r.kind')} AND r.service_name = @service AND r.run_id IS @runId
         AND r.start_ns >= @start AND r.start_ns <= @last AND r.trace_id >= @lo AND r.trace_id < @hi`,
    )
    .pluck()
    .get({ ...selectorParams(run), base: baseNs, lo: range.lo, hi: range.hi }) as number | null ?? 0;
}

/** Trace id and span id (one hex string) of every load-test root in the shard, every run (index-only). */
export function feedAllRootIds(shard: Shard, range: TraceRange, sink: (ids: string) => void): number {
  const holder = sinkFunction<[string]>(shard.db, 'firstspan_root_id');
  holder.sink = (ids) => {
    sink(ids);
    return null;
  };
  return (shard.db.prepare(`SELECT sum(firstspan_root_id(hex(trace_id || span_id)) IS NULL) FROM spans WHERE ${ROOT} AND trace_id >= ? AND trace_id < ?`).pluck().get(range.lo, range.hi) as number | null) ?? 0;
}

/** How many load-test root rows the shard holds in the range, every run (an index-only count). */
export function countRoots(shard: Shard, range: TraceRange): number {
  return shard.db.prepare(`SELECT count(*) FROM spans WHERE ${ROOT} AND trace_id >= ? AND trace_id < ?`).pluck().get(range.lo, range.hi) as number;
}

/** A server span: trace id, parent span id and span id as one hex string; resource; start after `base`; duration. */
export type ServerSink = (ids: string, resourceId: number, relStartNs: number, durationNs: number) => void;

/**
 * SERVER spans with a parent, of every service, starting inside [fromNs, toNs] (their own clock),
 * from the service-and-time index alone; start as ns after `baseNs`. Returns the count.
 */
export function feedServerSpans(shard: Shard, fromNs: bigint, toNs: bigint, baseNs: bigint, range: TraceRange, sink: ServerSink): number {
  const holder = sinkFunction<Parameters<ServerSink>>(shard.db, 'firstspan_server');
  holder.sink = (...args) => {
    sink(...args);
    return null;
  };
  const stmt = shard.db
    .prepare(
      `SELECT sum(firstspan_server(hex(trace_id || parent_span_id || span_id), resource_id, start_ns - @base, end_ns - start_ns) IS NULL)
       FROM spans WHERE kind = ${SpanKind.SERVER} AND service_name = @service AND start_ns >= @from AND start_ns <= @to
         AND parent_span_id IS NOT NULL AND trace_id >= @lo AND trace_id < @hi`,
    )
    .pluck();
  let n = 0;
  for (const service of readServices(shard)) {
    n += (stmt.get({ service, from: fromNs, to: toNs, base: baseNs, lo: range.lo, hi: range.hi }) as number | null) ?? 0;
  }
  return n;
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

/** How many spans feedServerSpans would feed (index-only count), to size the table once. */
export function countServerSpans(shard: Shard, fromNs: bigint, toNs: bigint, range: TraceRange): number {
  const stmt = shard.db
    .prepare(
      `SELECT count(*) FROM spans WHERE kind = ${SpanKind.SERVER} AND service_name = @service AND start_ns >= @from AND start_ns <= @to
         AND parent_span_id IS NOT NULL AND trace_id >= @lo AND trace_id < @hi`,
    )
    .pluck();
  let n = 0;
  for (const service of readServices(shard)) n += stmt.get({ service, from: fromNs, to: toNs, lo: range.lo, hi: range.hi }) as number;
  return n;
}

function selectorParams(run: RunSelector, withOrigin = true): Record<string, unknown> {
  const params: Record<string, unknown> = { start: run.startNs, service: run.service, runId: run.runId, last: run.lastStartNs };
  if (withOrigin) params.origin = run.originNs;
  return params;
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
 * not start at a load-test root (`isLoadTest` says, by trace id): background traffic. Reads the
 * service-and-time index; only background spans are read from their rows (for the name).
 * Returns their durations in ns, names and ids (trace id then span id, one buffer).
 */
export function backgroundRows(
  shard: Shard,
  service: string,
  fromNs: bigint,
  toNs: bigint,
  range: TraceRange,
  isLoadTest: (traceId: string) => boolean,
): Array<[number, string, string]> {
  const holder = sinkFunction<[string]>(shard.db, 'firstspan_is_background');
  holder.sink = (traceId) => (isLoadTest(traceId) ? 0 : 1);
  return shard.db
    .prepare(
      `SELECT s.end_ns - s.start_ns, s.name, hex(s.trace_id || s.span_id) FROM spans s WHERE s.rowid IN (
         SELECT rowid FROM spans WHERE kind = ${SpanKind.SERVER} AND service_name = ? AND start_ns >= ? AND start_ns <= ?
           AND trace_id >= ? AND trace_id < ? AND firstspan_is_background(hex(trace_id)))`,
    )
    .raw()
    .all(service, fromNs, toNs, range.lo, range.hi) as Array<[number, string, string]>;
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
  endNs: bigint;
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
         phase_tls_ms, phase_sending_ms, phase_waiting_ms, phase_receiving_ms, connection_reused, end_ns
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
    endNs: row[13] as unknown as bigint,
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

/**
 * Every span of a trace starting inside [fromNs, toNs] (capped), times relative to `rootStartNs`:
 * the store has no index by trace id, so the spans-by-time index narrows the search to the window.
 */
export function traceSpans(shard: Shard, traceId: Buffer, rootStartNs: bigint, fromNs: bigint, toNs: bigint, limit = 200): TraceSpanRow[] {
  const rows = shard.db
    .prepare(
      `SELECT hex(span_id), hex(parent_span_id), service_name, name, kind, start_ns - @root, end_ns - start_ns, status_code,
              status_message, attributes, events
       FROM spans WHERE trace_id = @trace AND start_ns >= @from AND start_ns <= @to ORDER BY start_ns LIMIT @limit`,
    )
    .raw()
    .all({ root: rootStartNs, trace: traceId, from: fromNs, to: toNs, limit }) as Array<[string, string | null, string, string, number, number, number, number, string, string, string | null]>;
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

/** The newest stored span's rowid (0 when empty). rowid only grows, so this counts without a scan. */
export function lastSpanRowid(store: SpanStore): number {
  return store.db.prepare('SELECT coalesce(max(rowid), 0) FROM spans').pluck().get() as number;
}

/** Spans stored after `rowid`, per service (the demo's closing line). */
export function spansPerServiceSince(store: SpanStore, rowid: number): Array<{ service: string; spans: number }> {
  return store.db
    .prepare('SELECT service_name AS service, count(*) AS spans FROM spans WHERE rowid > ? GROUP BY service_name ORDER BY service_name')
    .all(rowid) as Array<{ service: string; spans: number }>;
}

/** Requests a run's stop cut off measured no response: their gap means nothing. */
const NOT_CUT_OFF = `coalesce(json_extract(r.attributes, '$."${Attr.REQUEST_CUT_OFF}".boolValue'), 0) = 0`;

export interface RunGapRow {
  /** connection_reused: 0 opened a connection, 1 reused one, null unknown. */
  reused: number | null;
  /** Root start, ms since the epoch (as a double: for ordering and windows, not durations). */
  atMs: number;
  /** Client span duration − its server child's, ns. */
  gapNs: number;
}

/**
 * The load-test roots of run `runId` with their SERVER child's gap, in start order, and how many
 * roots have no server child. Cut-off requests are left out. For small runs (the demo's): the join
 * on trace and span id has no index to use in the append-only store, so SQLite builds one.
 */
export function runGapRows(store: SpanStore, runId: string): { rows: RunGapRow[]; unmatched: number } {
  const root = `r.parent_span_id IS NULL AND r.kind = ${SpanKind.CLIENT} AND r.run_id = ? AND ${NOT_CUT_OFF}`;
  const rows = store.db
    .prepare(
      `SELECT r.connection_reused AS reused, r.start_ns / 1e6 AS atMs, (r.end_ns - r.start_ns) - (s.end_ns - s.start_ns) AS gapNs
         FROM spans r
         JOIN spans s ON s.trace_id = r.trace_id AND s.parent_span_id = r.span_id AND s.kind = ${SpanKind.SERVER}
        WHERE ${root}
        ORDER BY r.start_ns`,
    )
    .all(runId) as RunGapRow[];
  const roots = store.db.prepare(`SELECT count(*) FROM spans r WHERE ${root}`).pluck().get(runId) as number;
  const matched = store.db
    .prepare(
      `SELECT count(*) FROM spans r WHERE ${root}
          AND EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = r.trace_id AND s.parent_span_id = r.span_id AND s.kind = ${SpanKind.SERVER})`,
    )
    .pluck()
    .get(runId) as number;
  return { rows, unmatched: roots - matched };
}
