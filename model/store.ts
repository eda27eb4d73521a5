// The span store: one SQLite file in WAL mode that owns its schema. The receiver writes it, the
// analyzer reads it. Statements are prepared once, every batch is one transaction, parameters are
// always bound, and nanosecond timestamps go in as bigint so they are stored exactly.
//
// Idempotent by (trace_id, span_id): OTLP clients re-send on network faults, so a duplicate span
// is counted and ignored, never stored twice (opentelemetry-proto docs/specification.md,
// "Duplicate Data").
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { Attr, Resource as ResourceAttr } from './attributes.ts';
import { ErrorCodes, FirstspanError } from './errors.ts';
import {
  attrBool,
  attrNumber,
  attrString,
  type Attributes,
  type MetricsRequest,
  type TracesRequest,
} from './otlp.ts';

export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS firstspan_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS resources (
  resource_id   INTEGER PRIMARY KEY,
  -- canonical JSON of attributes, dropped count and schema URL: one row per distinct resource
  fingerprint   TEXT NOT NULL UNIQUE,
  service_name  TEXT NOT NULL,
  run_id        TEXT,
  attributes    TEXT NOT NULL,
  dropped_attributes_count INTEGER NOT NULL,
  schema_url    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spans (
  trace_id        BLOB NOT NULL,
  span_id         BLOB NOT NULL,
  parent_span_id  BLOB,             -- NULL for a root span
  resource_id     INTEGER NOT NULL REFERENCES resources(resource_id),
  service_name    TEXT NOT NULL,
  run_id          TEXT,             -- span attribute firstspan.run.id, else the resource's
  name            TEXT NOT NULL,
  kind            INTEGER NOT NULL,
  start_ns        INTEGER NOT NULL,
  end_ns          INTEGER NOT NULL,
  status_code     INTEGER NOT NULL,
  status_message  TEXT NOT NULL,
  trace_state     TEXT NOT NULL,
  flags           INTEGER NOT NULL,
  scope_name      TEXT NOT NULL,
  scope_version   TEXT NOT NULL,
  scope_attributes TEXT,            -- NULL when the scope has none
  scope_schema_url TEXT NOT NULL,
  attributes      TEXT NOT NULL,    -- JSON map key -> OTLP/JSON AnyValue (lossless)
  events          TEXT,             -- JSON array, NULL when none
  links           TEXT,             -- JSON array, NULL when none
  dropped_attributes_count INTEGER NOT NULL,
  dropped_events_count     INTEGER NOT NULL,
  dropped_links_count      INTEGER NOT NULL,
  -- Hot columns copied from well-known attributes so the analyzer never parses JSON per span.
  request_name    TEXT,
  http_method     TEXT,
  http_status     INTEGER,
  phase_blocked_ms   REAL,
  phase_dns_ms       REAL,
  phase_connect_ms   REAL,
  phase_tls_ms       REAL,
  phase_sending_ms   REAL,
  phase_waiting_ms   REAL,
  phase_receiving_ms REAL,
  connection_reused  INTEGER,
  received_at_ms  INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS spans_by_id ON spans (trace_id, span_id);
CREATE INDEX IF NOT EXISTS spans_by_service_time ON spans (service_name, start_ns);
-- The analyzer's paths, partial so each span pays for at most one of them. Load-test roots
-- (trace-root CLIENT spans) by service, run and time; the trace ids of those roots (is this server
-- span's trace a load test's?); SERVER spans by trace and parent, covering what pairing reads.
-- SERVER spans by service and time, for the background-traffic scan (index-only until a span
-- turns out to be background). parent_span_id and kind are repeated as columns so SQLite sees
-- these partial indexes as covering.
CREATE INDEX IF NOT EXISTS spans_roots ON spans (service_name, run_id, start_ns, end_ns, parent_span_id, kind) WHERE parent_span_id IS NULL AND kind = 3;
CREATE INDEX IF NOT EXISTS spans_root_traces ON spans (trace_id, parent_span_id, kind) WHERE parent_span_id IS NULL AND kind = 3;
CREATE INDEX IF NOT EXISTS spans_server_children ON spans (trace_id, parent_span_id, service_name, resource_id, start_ns, end_ns) WHERE kind = 2;
CREATE INDEX IF NOT EXISTS spans_servers_by_time ON spans (service_name, start_ns, end_ns, trace_id, kind) WHERE kind = 2;
CREATE TABLE IF NOT EXISTS metric_points (
  resource_id   INTEGER NOT NULL REFERENCES resources(resource_id),
  service_name  TEXT NOT NULL,
  run_id        TEXT,
  scope_name    TEXT NOT NULL,
  metric_name   TEXT NOT NULL,
  description   TEXT NOT NULL,
  unit          TEXT NOT NULL,
  type          TEXT NOT NULL,     -- gauge | sum | histogram | exponential_histogram | summary
  temporality   INTEGER NOT NULL,  -- 1 delta, 2 cumulative, 0 unspecified
  is_monotonic  INTEGER NOT NULL,
  attributes    TEXT NOT NULL,
  start_ns      INTEGER NOT NULL,
  time_ns       INTEGER NOT NULL,
  value         REAL,
  count         INTEGER,
  sum           REAL,
  min           REAL,
  max           REAL,
  bucket_counts TEXT,
  explicit_bounds TEXT,
  received_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_points_by_service_time ON metric_points (service_name, metric_name, time_ns);
`;

export interface InsertResult {
  /** Spans (or data points) newly stored. */
  stored: number;
  /** Spans already in the store (same trace id and span id), ignored. */
  duplicates: number;
}

/** A metric point as metricPointRows returns it (see there for the columns). */
export type MetricPointRow = [number, string, number, number, string, string, number, number | null, number | null, number | null];

/** One decoded request to write: traces or metrics. */
export interface WriteJob {
  traces?: TracesRequest;
  metrics?: MetricsRequest;
}

export interface OpenOptions {
  /** Open an existing database for reading only; fail if it does not exist. */
  readonly?: boolean;
}

export class SpanStore {
  readonly db: Database.Database;
  readonly path: string;
  private readonly insertSpan: Database.Statement;
  private readonly insertPoint: Database.Statement;
  private readonly findResource: Database.Statement;
  private readonly insertResource: Database.Statement;
  private readonly resourceIds = new Map<string, number>();
  private readonly writeTraces: (request: TracesRequest, receivedAtMs: number) => InsertResult;
  private readonly writeMetrics: (request: MetricsRequest, receivedAtMs: number) => InsertResult;
  private readonly writeJobs: (jobs: WriteJob[], receivedAtMs: number) => InsertResult[];

  private constructor(db: Database.Database, path: string) {
    this.db = db;
    this.path = path;
    this.insertSpan = db.prepare(`INSERT OR IGNORE INTO spans (
      trace_id, span_id, parent_span_id, resource_id, service_name, run_id, name, kind, start_ns, end_ns,
      status_code, status_message, trace_state, flags, scope_name, scope_version, scope_attributes,
      scope_schema_url, attributes, events, links, dropped_attributes_count, dropped_events_count,
      dropped_links_count, request_name, http_method, http_status, phase_blocked_ms, phase_dns_ms,
      phase_connect_ms, phase_tls_ms, phase_sending_ms, phase_waiting_ms, phase_receiving_ms,
      connection_reused, received_at_ms
    ) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`);
    this.insertPoint = db.prepare(`INSERT INTO metric_points (
      resource_id, service_name, run_id, scope_name, metric_name, description, unit, type, temporality,
      is_monotonic, attributes, start_ns, time_ns, value, count, sum, min, max, bucket_counts,
      explicit_bounds, received_at_ms
    ) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`);
    this.findResource = db.prepare('SELECT resource_id FROM resources WHERE fingerprint = ?').pluck();
    this.insertResource = db.prepare(`INSERT INTO resources
      (fingerprint, service_name, run_id, attributes, dropped_attributes_count, schema_url)
      VALUES (?,?,?,?,?,?)`);
    this.writeTraces = db.transaction((request: TracesRequest, receivedAtMs: number) =>
      this.writeTracesInTransaction(request, receivedAtMs),
    );
    this.writeMetrics = db.transaction((request: MetricsRequest, receivedAtMs: number) =>
      this.writeMetricsInTransaction(request, receivedAtMs),
    );
    this.writeJobs = db.transaction((jobs: WriteJob[], receivedAtMs: number) =>
      jobs.map((job) => {
        const t = job.traces === undefined ? undefined : this.writeTracesInTransaction(job.traces, receivedAtMs);
        const m = job.metrics === undefined ? undefined : this.writeMetricsInTransaction(job.metrics, receivedAtMs);
        return {
          stored: (t?.stored ?? 0) + (m?.stored ?? 0),
          duplicates: (t?.duplicates ?? 0) + (m?.duplicates ?? 0),
        };
      }),
    );
  }

  /**
   * Open (and for writers, create) a store. Fails with FS_ERR_STORE_OPEN when the file is missing
   * (read-only), is not SQLite, or carries a schema version this build does not know.
   */
  static open(path: string, options: OpenOptions = {}): SpanStore {
    if (options.readonly && path !== ':memory:' && !existsSync(path)) {
      throw new FirstspanError(ErrorCodes.STORE_OPEN, `database ${path} does not exist`);
    }
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (cause) {
      throw new FirstspanError(ErrorCodes.STORE_OPEN, `cannot open database ${path}: ${(cause as Error).message}`, {
        cause,
      });
    }
    try {
      if (!options.readonly) applyWriterPragmas(db);
      db.pragma('busy_timeout = 5000');
      const version = readSchemaVersion(db);
      if (version === undefined) {
        if (options.readonly) {
          throw new FirstspanError(ErrorCodes.STORE_OPEN, `${path} is not a firstspan database (no firstspan_meta table)`);
        }
        db.exec(SCHEMA);
        db.prepare('INSERT OR REPLACE INTO firstspan_meta (key, value) VALUES (?, ?)').run(
          'schema_version',
          String(SCHEMA_VERSION),
        );
      } else if (version !== SCHEMA_VERSION) {
        throw new FirstspanError(
          ErrorCodes.STORE_OPEN,
          `${path} has schema version ${version}; this firstspan reads version ${SCHEMA_VERSION}. ` +
            'Use the firstspan release that wrote it, or write a new database.',
        );
      }
    } catch (cause) {
      db.close();
      if (cause instanceof FirstspanError) throw cause;
      throw new FirstspanError(
        ErrorCodes.STORE_OPEN,
        `${path} is not a usable SQLite database: ${(cause as Error).message}`,
        { cause },
      );
    }
    return new SpanStore(db, path);
  }

  /** Store every span of a decoded request in one transaction. */
  insertTraces(request: TracesRequest, receivedAtMs = Date.now()): InsertResult {
    return this.writeTraces(request, receivedAtMs);
  }

  /** Store every data point of a decoded metrics request in one transaction. */
  insertMetrics(request: MetricsRequest, receivedAtMs = Date.now()): InsertResult {
    return this.writeMetrics(request, receivedAtMs);
  }

  /**
   * Store several decoded requests in one transaction (the receiver's group commit): one fsync-free
   * WAL commit for many requests. Returns one result per job, in order. All or nothing.
   */
  writeBatch(jobs: WriteJob[], receivedAtMs = Date.now()): InsertResult[] {
    return this.writeJobs(jobs, receivedAtMs);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // Reading metric points (the analyzer's server-metric charts, analyzer/read-metrics.ts).

  /**
   * The points of metric `name` from `service` with fromNs ≤ time ≤ toNs, oldest first, as rows:
   * resource id, type, temporality, monotonic (0/1), attributes JSON, unit, time after fromNs in ms
   * (exact integer difference, then a double), value, count, sum.
   */
  metricPointRows(service: string, name: string, fromNs: bigint, toNs: bigint): MetricPointRow[] {
    return this.db
      .prepare(
        `SELECT resource_id, type, temporality, is_monotonic, attributes, unit, (time_ns - @from) / 1000000.0, value, count, sum
         FROM metric_points WHERE service_name = @service AND metric_name = @name AND time_ns >= @from AND time_ns <= @to
         ORDER BY time_ns`,
      )
      .raw()
      .all({ service, name, from: fromNs, to: toNs }) as MetricPointRow[];
  }

  /** Services that exported metric `name`. */
  metricServices(name: string): string[] {
    return this.db.prepare('SELECT DISTINCT service_name FROM metric_points WHERE metric_name = ? ORDER BY service_name').pluck().all(name) as string[];
  }

  private writeTracesInTransaction(request: TracesRequest, receivedAtMs: number): InsertResult {
    let stored = 0;
    let duplicates = 0;
    for (const rs of request.resourceSpans) {
      const resource = this.resourceRow(rs.resource.attributes, rs.resource.droppedAttributesCount, rs.schemaUrl);
      for (const ss of rs.scopeSpans) {
        const scopeAttributes = isEmpty(ss.scope.attributes) ? null : JSON.stringify(ss.scope.attributes);
        for (const span of ss.spans) {
          const a = span.attributes;
          const reused = attrBool(a, Attr.CONNECTION_REUSED);
          const info = this.insertSpan.run(
            span.traceId,
            span.spanId,
            span.parentSpanId.length === 0 ? null : span.parentSpanId,
            resource.id,
            resource.serviceName,
            attrString(a, Attr.RUN_ID) ?? resource.runId,
            span.name,
            span.kind,
            span.startTimeUnixNano,
            span.endTimeUnixNano,
            span.status.code,
            span.status.message,
            span.traceState,
            span.flags,
            ss.scope.name,
            ss.scope.version,
            scopeAttributes,
            ss.schemaUrl,
            JSON.stringify(a),
            span.events.length === 0 ? null : JSON.stringify(span.events, bigintReplacer),
            span.links.length === 0 ? null : JSON.stringify(span.links, linkReplacer),
            span.droppedAttributesCount,
            span.droppedEventsCount,
            span.droppedLinksCount,
            attrString(a, Attr.REQUEST_NAME) ?? null,
            attrString(a, Attr.HTTP_METHOD) ?? attrString(a, Attr.HTTP_METHOD_OLD) ?? null,
            attrNumber(a, Attr.HTTP_STATUS) ?? attrNumber(a, Attr.HTTP_STATUS_OLD) ?? null,
            attrNumber(a, Attr.PHASE_BLOCKED) ?? null,
            attrNumber(a, Attr.PHASE_DNS) ?? null,
            attrNumber(a, Attr.PHASE_CONNECT) ?? null,
            attrNumber(a, Attr.PHASE_TLS) ?? null,
            attrNumber(a, Attr.PHASE_SENDING) ?? null,
            attrNumber(a, Attr.PHASE_WAITING) ?? null,
            attrNumber(a, Attr.PHASE_RECEIVING) ?? null,
            reused === undefined ? null : reused ? 1 : 0,
            receivedAtMs,
          );
          if (info.changes === 1) stored += 1;
          else duplicates += 1;
        }
      }
    }
    return { stored, duplicates };
  }

  private writeMetricsInTransaction(request: MetricsRequest, receivedAtMs: number): InsertResult {
    let stored = 0;
    for (const rm of request.resourceMetrics) {
      const resource = this.resourceRow(rm.resource.attributes, rm.resource.droppedAttributesCount, rm.schemaUrl);
      for (const sm of rm.scopeMetrics) {
        for (const p of sm.points) {
          this.insertPoint.run(
            resource.id,
            resource.serviceName,
            attrString(p.attributes, Attr.RUN_ID) ?? resource.runId,
            sm.scope.name,
            p.metricName,
            p.description,
            p.unit,
            p.type,
            p.temporality,
            p.isMonotonic ? 1 : 0,
            JSON.stringify(p.attributes),
            p.startTimeUnixNano,
            p.timeUnixNano,
            p.value,
            p.count,
            p.sum,
            p.min,
            p.max,
            p.bucketCounts === null ? null : JSON.stringify(p.bucketCounts),
            p.explicitBounds === null ? null : JSON.stringify(p.explicitBounds),
            receivedAtMs,
          );
          stored += 1;
        }
      }
    }
    return { stored, duplicates: 0 };
  }

  private resourceRow(
    attributes: Attributes,
    droppedAttributesCount: number,
    schemaUrl: string,
  ): { id: number; serviceName: string; runId: string | null } {
    const attributesJson = JSON.stringify(attributes);
    const fingerprint = `${droppedAttributesCount}|${schemaUrl}|${attributesJson}`;
    const serviceName = attrString(attributes, ResourceAttr.SERVICE_NAME) ?? 'unknown_service';
    const runId = attrString(attributes, ResourceAttr.RUN_ID) ?? null;
    let id = this.resourceIds.get(fingerprint);
    if (id === undefined) {
      const existing = this.findResource.get(fingerprint) as number | bigint | undefined;
      id =
        existing !== undefined
          ? Number(existing)
          : Number(
              this.insertResource.run(fingerprint, serviceName, runId, attributesJson, droppedAttributesCount, schemaUrl)
                .lastInsertRowid,
            );
      this.resourceIds.set(fingerprint, id);
    }
    return { id, serviceName, runId };
  }
}

/**
 * The settings every writer uses (the receiver, and the benchmark's raw reference so its ceiling
 * is measured under the same conditions). None of them weakens durability: a COMMIT still reaches
 * the WAL before it returns.
 */
export function applyWriterPragmas(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: a committed transaction survives a crash of this process (kill -9);
  // only an OS crash or power loss may roll back the last commits.
  db.pragma('synchronous = NORMAL');
  // The (trace_id, span_id) index is keyed by random ids, so every insert touches a random leaf
  // page. With SQLite's default 2 MiB cache those pages are evicted and re-read between commits;
  // a cache that holds the hot index pages turns commits into mostly sequential WAL appends.
  // Pages are only allocated as used, so a small database costs little.
  db.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
  // Checkpoint (copy WAL pages back into the database file, with an fsync) less often: each
  // checkpoint then writes each hot page once for many commits instead of once per ~4 MiB of WAL.
  db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
  db.pragma('temp_store = MEMORY');
}

/** Writer page cache, in KiB (pragma cache_size takes a negative value for KiB). */
export const WRITER_CACHE_KIB = 128 * 1024;
/** WAL size, in pages (about 40 MiB), that triggers an automatic checkpoint (SQLite default: 1000). */
export const WRITER_AUTOCHECKPOINT_PAGES = 10_000;

function readSchemaVersion(db: Database.Database): number | undefined {
  const table = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'firstspan_meta'")
    .get() as { name: string } | undefined;
  if (table === undefined) return undefined;
  const row = db.prepare("SELECT value FROM firstspan_meta WHERE key = 'schema_version'").get() as
    | { value: string }
    | undefined;
  return row === undefined ? undefined : Number(row.value);
}

function isEmpty(attrs: Attributes): boolean {
  for (const _ in attrs) return false;
  return true;
}

/** Events and links are stored as OTLP/JSON: nanosecond times as decimal strings, ids as hex. */
function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function linkReplacer(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify has already applied Buffer#toJSON to `value`; the raw bytes are on the holder.
  const raw = (this as Record<string, unknown>)[key];
  if ((key === 'traceId' || key === 'spanId') && raw instanceof Uint8Array) {
    return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
  }
  return bigintReplacer(key, value);
}
