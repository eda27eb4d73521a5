// The span store: one SQLite file in WAL mode that owns its schema. The receiver writes it, the
// analyzer reads it. Statements are prepared once, every batch is one transaction, parameters are
// always bound, and nanosecond timestamps go in as bigint so they are stored exactly.
//
// Append-only since schema version 2: spans are written in arrival order with no index keyed by
// trace or span id (docs/receiver.md says why). OTLP clients re-send on network faults
// (opentelemetry-proto docs/specification.md, "Duplicate Data"): a span re-sent while its ids are
// still in the store's bounded memory of recent ids (recent-ids.ts) is counted and not stored
// again; an older re-delivery is stored and counted once by the analyzer, which dedupes by
// (trace_id, span_id) when it builds its indexes.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Attr } from './attributes.ts';
import { ErrorCodes, FirstspanError } from './errors.ts';
import { attrString, type MetricsRequest, type TracesRequest } from './otlp.ts';
import { RecentIds } from './recent-ids.ts';
import { textOf } from './utf8-text.ts';
import { ID_STRIDE, N, NUMBERS, resourceKey, S, spanRows, STRINGS, type ResourceKey, type SpanRows } from './span-rows.ts';

export const SCHEMA_VERSION = 2;
/** Versions this build reads: version 1 as it is, or migrated when opened for writing. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

const META_TABLE = `
CREATE TABLE IF NOT EXISTS firstspan_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);`;

const RESOURCES_TABLE = `
CREATE TABLE IF NOT EXISTS resources (
  resource_id   INTEGER PRIMARY KEY,
  -- canonical JSON of attributes, dropped count and schema URL: one row per distinct resource
  fingerprint   TEXT NOT NULL UNIQUE,
  service_name  TEXT NOT NULL,
  run_id        TEXT,
  attributes    TEXT NOT NULL,
  dropped_attributes_count INTEGER NOT NULL,
  schema_url    TEXT NOT NULL
);`;

// The only span indexes kept while spans arrive: they lead with service or time, so consecutive
// inserts land on the same right-most pages, not random ones (docs/benchmarks.md has their cost), and they
// carry the ids the analyzer joins on, so its passes read them alone, in order, never the rows:
// load-test roots (trace-root CLIENT spans) by service, run and start (finds the runs; the roots'
// ids); SERVER spans by service and start with their trace, parent and span ids (the analyzer's
// hash join and background traffic); every span by start (a trace's spans for the waterfalls).
const WRITE_PATH_INDEXES = `
CREATE INDEX IF NOT EXISTS roots_by_run ON spans (service_name, run_id, start_ns, end_ns, parent_span_id, kind, trace_id, span_id) WHERE parent_span_id IS NULL AND kind = 3;
CREATE INDEX IF NOT EXISTS servers_by_time ON spans (service_name, start_ns, end_ns, trace_id, parent_span_id, span_id, resource_id, kind) WHERE kind = 2;
CREATE INDEX IF NOT EXISTS spans_by_time ON spans (start_ns, trace_id);`;

/**
 * The analyzer's record of its passes (model/analysis-records.ts, docs/analyzer.md#the-record):
 * created by the analyzer on its first write, not by the receiver. It is a cache, not span data:
 * a file without it (or whose records are stale) analyses the same, so it needs no schema version
 * of its own, and older builds read a file that has it.
 */
export const RECORDS_TABLE = `
CREATE TABLE IF NOT EXISTS analysis_records (
  key           TEXT PRIMARY KEY,  -- hash of everything that determines the value (analyzer/record.ts)
  kind          TEXT NOT NULL,     -- 'runs' (run finding of one shard) or 'run' (one run's join)
  subject       TEXT NOT NULL,     -- hash of what it is about (a shard, a run): a new value replaces the
                                   --   subject's others (a run that grew has a new key, not a new subject)
  format        INTEGER NOT NULL,  -- the analyzer's record format: other formats are dropped on write
  shards        TEXT NOT NULL,     -- JSON [{storeId, rowid}]: each shard's identity and watermark
  guard_from_ns INTEGER,           -- a span stored after the watermark starting in [from, to] makes it
  guard_to_ns   INTEGER,           --   stale; both NULL: any new load-test root does
  value         BLOB NOT NULL,     -- the analyzer's state, serialized
  recorded_at_ms INTEGER NOT NULL
);`;

/** firstspan_meta key of the store's identity: random, written once (records name the shards they read). */
export const STORE_ID_KEY = 'store_id';

/** Version 1's indexes: the id-keyed ones version 2 removes, and the write-path ones it replaces. */
const V1_INDEXES = [
  'spans_by_id',
  'spans_by_service_time',
  'spans_roots',
  'spans_root_traces',
  'spans_server_children',
  'spans_servers_by_time',
];

// Version 2: append-only. No index keyed by trace or span id is maintained while spans arrive
// (random keys made every insert touch a random page: docs/receiver.md). The analyzer's columns
// come first, so a scan of them decodes the front of each row only and never follows the
// overflow pages of large attribute JSON.
const SCHEMA = `${META_TABLE}${RESOURCES_TABLE}
CREATE TABLE IF NOT EXISTS spans (
  trace_id        BLOB NOT NULL,
  span_id         BLOB NOT NULL,
  parent_span_id  BLOB,             -- NULL for a root span
  kind            INTEGER NOT NULL,
  service_name    TEXT NOT NULL,
  run_id          TEXT,             -- span attribute firstspan.run.id, else the resource's
  resource_id     INTEGER NOT NULL REFERENCES resources(resource_id),
  start_ns        INTEGER NOT NULL,
  end_ns          INTEGER NOT NULL,
  status_code     INTEGER NOT NULL,
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
  name            TEXT NOT NULL,
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
  received_at_ms  INTEGER NOT NULL
);
${WRITE_PATH_INDEXES}
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

const SPAN_COLUMNS = `trace_id, span_id, parent_span_id, resource_id, service_name, run_id, name, kind, start_ns, end_ns,
  status_code, status_message, trace_state, flags, scope_name, scope_version, scope_attributes,
  scope_schema_url, attributes, events, links, dropped_attributes_count, dropped_events_count,
  dropped_links_count, request_name, http_method, http_status, phase_blocked_ms, phase_dns_ms,
  phase_connect_ms, phase_tls_ms, phase_sending_ms, phase_waiting_ms, phase_receiving_ms,
  connection_reused, received_at_ms`;
const SPAN_PARAMS = 36;
/** Rows per multi-row INSERT: 16 took 0.6 µs CPU a row less than one row per statement; more, no less. */
const ROWS_PER_INSERT = 16;
/** The nullable numeric columns, in SPAN_COLUMNS order from http_status to connection_reused. */
const NULLABLE_NUMBERS = [
  N.HTTP_STATUS,
  N.PHASE_BLOCKED,
  N.PHASE_DNS,
  N.PHASE_CONNECT,
  N.PHASE_TLS,
  N.PHASE_SENDING,
  N.PHASE_WAITING,
  N.PHASE_RECEIVING,
  N.CONNECTION_REUSED,
] as const;

function spanValues(rows: number): string {
  const row = `(${new Array(SPAN_PARAMS).fill('?').join(',')})`;
  return new Array(rows).fill(row).join(',');
}

function nullable(v: number): number | null {
  return v === v ? v : null; // NaN stands for NULL
}

export interface InsertResult {
  /** Spans (or data points) newly stored. */
  stored: number;
  /** Spans written moments ago (same trace id and span id), not stored again. */
  duplicates: number;
}

/** A metric point as metricPointRows returns it (see there for the columns). */
export type MetricPointRow = [number, string, number, number, string, string, number, number | null, number | null, number | null];

/** One request to write: its spans as rows (span-rows.ts), or its metric data points. */
export interface WriteJob {
  spans?: SpanRows;
  metrics?: MetricsRequest;
}

export interface OpenOptions {
  /** Open an existing database for reading only; fail if it does not exist. */
  readonly?: boolean;
  /** A writer's page cache, KiB (default WRITER_CACHE_KIB). */
  cacheKiB?: number;
}

export class SpanStore {
  readonly db: Database.Database;
  readonly path: string;
  /** The schema version the file had before this open migrated it (undefined: no migration). */
  readonly migratedFrom: number | undefined;
  private readonly insertSpan: Database.Statement;
  /** ROWS_PER_INSERT rows in one statement: one call into SQLite instead of many (docs/benchmarks.md). */
  private readonly insertSpans: Database.Statement;
  /** The parameters of insertSpans, refilled for each use. */
  private readonly spanArgs = new Array<unknown>(ROWS_PER_INSERT * SPAN_PARAMS);
  private readonly insertPoint: Database.Statement;
  private readonly findResource: Database.Statement;
  private readonly insertResource: Database.Statement;
  private readonly resourceIds = new Map<string, number>();
  /** Made on the first write: a connection that only reads (the receiver's own, for tests) needs none. */
  private recentIds: RecentIds | undefined;
  private readonly writeJobs: (jobs: WriteJob[], receivedAtMs: number) => InsertResult[];

  private constructor(db: Database.Database, path: string, migratedFrom: number | undefined) {
    this.db = db;
    this.path = path;
    this.migratedFrom = migratedFrom;
    this.insertSpan = db.prepare(`INSERT INTO spans (${SPAN_COLUMNS}) VALUES ${spanValues(1)}`);
    this.insertSpans = db.prepare(`INSERT INTO spans (${SPAN_COLUMNS}) VALUES ${spanValues(ROWS_PER_INSERT)}`);
    this.insertPoint = db.prepare(`INSERT INTO metric_points (
      resource_id, service_name, run_id, scope_name, metric_name, description, unit, type, temporality,
      is_monotonic, attributes, start_ns, time_ns, value, count, sum, min, max, bucket_counts,
      explicit_bounds, received_at_ms
    ) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`);
    this.findResource = db.prepare('SELECT resource_id FROM resources WHERE fingerprint = ?').pluck();
    this.insertResource = db.prepare(`INSERT INTO resources
      (fingerprint, service_name, run_id, attributes, dropped_attributes_count, schema_url)
      VALUES (?,?,?,?,?,?)`);
    const inTransaction = db.transaction((jobs: WriteJob[], receivedAtMs: number) =>
      jobs.map((job) => {
        const t = job.spans === undefined ? undefined : this.writeSpansInTransaction(job.spans, receivedAtMs);
        const m = job.metrics === undefined ? undefined : this.writeMetricsInTransaction(job.metrics, receivedAtMs);
        return {
          stored: (t?.stored ?? 0) + (m?.stored ?? 0),
          duplicates: (t?.duplicates ?? 0) + (m?.duplicates ?? 0),
        };
      }),
    );
    this.writeJobs = (jobs, receivedAtMs) => {
      try {
        return inTransaction(jobs, receivedAtMs);
      } catch (error) {
        // Rolled back: the ids remembered during the transaction were not stored after all, and a
        // retry must store them. Forgetting all is the simple safe choice (failures are rare).
        this.recentIds?.clear();
        // So were the resource rows it inserted: ids cached for them would name rows that do not
        // exist, and every later span of those resources would fail its foreign key.
        this.resourceIds.clear();
        throw error;
      }
    };
  }

  /**
   * Open (and for writers, create or migrate) a store. Fails with FS_ERR_STORE_OPEN when the file
   * is missing (read-only), is not SQLite, or carries a schema version this build does not know.
   * Read-only, a version 1 store is read as it is (its queries are the same).
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
    let migratedFrom: number | undefined;
    try {
      if (!options.readonly) applyWriterPragmas(db, options.cacheKiB);
      db.pragma('busy_timeout = 5000');
      const version = readSchemaVersion(db);
      if (version === undefined) {
        if (options.readonly) {
          throw new FirstspanError(ErrorCodes.STORE_OPEN, `${path} is not a firstspan database (no firstspan_meta table)`);
        }
        db.exec(SCHEMA);
        writeSchemaVersion(db);
        db.prepare('INSERT OR IGNORE INTO firstspan_meta (key, value) VALUES (?, ?)').run(STORE_ID_KEY, randomBytes(16).toString('hex'));
      } else if (!READABLE_VERSIONS.includes(version)) {
        throw new FirstspanError(
          ErrorCodes.STORE_OPEN,
          `${path} has schema version ${version}; this firstspan reads versions ${READABLE_VERSIONS.join(' and ')}. ` +
            'Use the firstspan release that wrote it, or write a new database.',
        );
      } else if (!options.readonly && version !== SCHEMA_VERSION) {
        migratedFrom = version;
        migrate(db);
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
    return new SpanStore(db, path, migratedFrom);
  }

  /** Store every span of a decoded request in one transaction. */
  insertTraces(request: TracesRequest, receivedAtMs = Date.now()): InsertResult {
    return this.writeBatch([{ spans: spanRows(request) }], receivedAtMs)[0]!;
  }

  /** Store every data point of a decoded metrics request in one transaction. */
  insertMetrics(request: MetricsRequest, receivedAtMs = Date.now()): InsertResult {
    return this.writeBatch([{ metrics: request }], receivedAtMs)[0]!;
  }

  /**
   * Store several requests in one transaction (the receiver's group commit): one fsync-free WAL
   * commit for many requests. Returns one result per job, in order. All or nothing.
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

  private writeSpansInTransaction(rows: SpanRows, receivedAtMs: number): InsertResult {
    let stored = 0;
    let duplicates = 0;
    const resources = rows.resources.map((r) => this.resourceRow(r));
    const { ids, numbers: nums, times, lengths } = rows;
    const text = textOf(rows.text);
    const recent = (this.recentIds ??= new RecentIds());
    const strings = new Array<string | null>(STRINGS);
    const args = this.spanArgs;
    let pending = 0; // rows in args, not yet inserted
    let pos = 0;
    for (let i = 0; i < rows.count; i++) {
      // Cut this span's strings first: the text is consumed in order, stored or not.
      for (let k = 0; k < STRINGS; k++) {
        const len = lengths[i * STRINGS + k]!;
        if (len < 0) strings[k] = null;
        else {
          strings[k] = text.slice(pos, pos + len);
          pos += len;
        }
      }
      const at = i * ID_STRIDE;
      if (recent.seen(ids, at)) {
        duplicates += 1;
        continue;
      }
      const o = i * NUMBERS;
      const resource = resources[nums[o + N.RESOURCE]!]!;
      // In SPAN_COLUMNS order; NaN stands for NULL in the numbers (nullable).
      let a = pending * SPAN_PARAMS;
      args[a++] = ids.subarray(at, at + 16);
      args[a++] = ids.subarray(at + 16, at + 24);
      args[a++] = nums[o + N.HAS_PARENT] === 1 ? ids.subarray(at + 24, at + 32) : null;
      args[a++] = resource.id;
      args[a++] = resource.serviceName;
      args[a++] = strings[S.RUN_ID];
      args[a++] = strings[S.NAME];
      args[a++] = nums[o + N.KIND];
      args[a++] = times[i * 2];
      args[a++] = times[i * 2 + 1];
      args[a++] = nums[o + N.STATUS_CODE];
      args[a++] = strings[S.STATUS_MESSAGE];
      args[a++] = strings[S.TRACE_STATE];
      args[a++] = nums[o + N.FLAGS];
      args[a++] = strings[S.SCOPE_NAME];
      args[a++] = strings[S.SCOPE_VERSION];
      args[a++] = strings[S.SCOPE_ATTRIBUTES];
      args[a++] = strings[S.SCOPE_SCHEMA_URL];
      args[a++] = strings[S.ATTRIBUTES];
      args[a++] = strings[S.EVENTS];
      args[a++] = strings[S.LINKS];
      args[a++] = nums[o + N.DROPPED_ATTRIBUTES];
      args[a++] = nums[o + N.DROPPED_EVENTS];
      args[a++] = nums[o + N.DROPPED_LINKS];
      args[a++] = strings[S.REQUEST_NAME];
      args[a++] = strings[S.HTTP_METHOD];
      for (const k of NULLABLE_NUMBERS) args[a++] = nullable(nums[o + k]!);
      args[a++] = receivedAtMs;
      stored += 1;
      if (++pending === ROWS_PER_INSERT) {
        this.insertSpans.run(args);
        pending = 0;
      }
    }
    for (let r = 0; r < pending; r++) this.insertSpan.run(args.slice(r * SPAN_PARAMS, (r + 1) * SPAN_PARAMS));
    args.fill(null); // hold no slice of this request's text until the next one
    return { stored, duplicates };
  }

  private writeMetricsInTransaction(request: MetricsRequest, receivedAtMs: number): InsertResult {
    let stored = 0;
    for (const rm of request.resourceMetrics) {
      const resource = this.resourceRow(resourceKey(rm.resource.attributes, rm.resource.droppedAttributesCount, rm.schemaUrl));
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

  private resourceRow(key: ResourceKey): { id: number; serviceName: string; runId: string | null } {
    let id = this.resourceIds.get(key.fingerprint);
    if (id === undefined) {
      const existing = this.findResource.get(key.fingerprint) as number | bigint | undefined;
      id =
        existing !== undefined
          ? Number(existing)
          : Number(
              this.insertResource.run(
                key.fingerprint,
                key.serviceName,
                key.runId,
                key.attributesJson,
                key.droppedAttributesCount,
                key.schemaUrl,
              ).lastInsertRowid,
            );
      this.resourceIds.set(key.fingerprint, id);
    }
    return { id, serviceName: key.serviceName, runId: key.runId };
  }
}

/**
 * The settings every writer uses (the receiver, and the benchmark's raw reference so its ceiling
 * is measured under the same conditions). None of them weakens durability: a COMMIT still reaches
 * the WAL before it returns.
 */
export function applyWriterPragmas(db: Database.Database, cacheKiB = WRITER_CACHE_KIB): void {
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: a committed transaction survives a crash of this process (kill -9);
  // only an OS crash or power loss may roll back the last commits.
  db.pragma('synchronous = NORMAL');
  // Appends touch the right-most pages of the table and of the two time-leading indexes, but
  // with SQLite's default 2 MiB cache even those are evicted and re-read between commits while
  // the analyzer's index builds (same connection settings) want room to sort. Pages are only
  // allocated as used, so a small database costs little.
  db.pragma(`cache_size = -${cacheKiB}`);
  // Checkpoint (copy WAL pages back into the database file, with an fsync) less often: each
  // checkpoint then writes each hot page once for many commits instead of once per ~4 MiB of WAL.
  db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
  db.pragma('temp_store = MEMORY');
}

/** Writer page cache, in KiB (pragma cache_size takes a negative value for KiB). */
export const WRITER_CACHE_KIB = 32 * 1024;
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

function writeSchemaVersion(db: Database.Database): void {
  db.prepare('INSERT OR REPLACE INTO firstspan_meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
}

/**
 * A writer's open of a version 1 store: drop its id-keyed indexes (their upkeep is what version 2
 * removes) and build version 2's write-path indexes. The rows and columns are the same, so this is
 * one sort per index, however many spans the file holds.
 */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    for (const name of V1_INDEXES) db.exec(`DROP INDEX IF EXISTS ${name}`);
    db.exec(WRITE_PATH_INDEXES);
    writeSchemaVersion(db);
  })();
}
