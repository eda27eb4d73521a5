// Direct reads and writes of a store file, as an independent oracle for the store's own tests:
// a version 1 file written with version 1's DDL, a schema version this build does not know, rows
// written past the store's own checks, the indexes a file carries. Every read opens a read-only
// connection of its own (readStoreFile) and every write a writable one (writeStoreFile), never the
// store's handle; only failSpanInserts uses the store's own connection, the one way into a
// :memory: store.
import Database from 'better-sqlite3';
import type { SpanStore } from '../../model/store.ts';

/** Run `read` on a read-only connection to the file at `path`, closed afterwards. */
export function readStoreFile<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Run `write` on a writable connection to the file at `path`, closed afterwards. */
function writeStoreFile(path: string, write: (db: Database.Database) => void): void {
  const db = new Database(path);
  try {
    write(db);
  } finally {
    db.close();
  }
}

/** A real version 1 file at `path`: version 1's DDL, filled with the rows of the store at `from`. */
export function writeV1Store(path: string, from: string, v1Ddl: string): void {
  writeStoreFile(path, (db) => {
    db.pragma('journal_mode = WAL');
    db.exec(v1Ddl);
    db.prepare("INSERT INTO firstspan_meta (key, value) VALUES ('schema_version', '1')").run();
    db.prepare('ATTACH DATABASE ? AS src').run(from);
    for (const table of ['resources', 'spans', 'metric_points']) {
      const columns = (db.prepare(`PRAGMA src.table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name).join(', ');
      db.exec(`INSERT INTO main.${table} (${columns}) SELECT ${columns} FROM src.${table} ORDER BY rowid`);
    }
    db.exec('DETACH DATABASE src');
  });
}

/** Record `version` as the file's schema version (firstspan_meta), as a later release would. */
export function writeSchemaVersion(path: string, version: string): void {
  writeStoreFile(path, (db) => db.prepare("UPDATE firstspan_meta SET value = ? WHERE key = 'schema_version'").run(version));
}

/** Mark every span of the file as received at `ms` (epoch ms), as if the receiver had stored them then. */
export function writeArrivalTime(path: string, ms: number): void {
  writeStoreFile(path, (db) => db.prepare('UPDATE spans SET received_at_ms = ?').run(ms));
}

/** A span written straight into the file: only the columns a test sets, the rest empty. */
export interface RawSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer | null;
  service: string;
  runId: string | null;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  /** OTLP/JSON attribute map. */
  attributes: string;
  connectionReused: number | null;
}

/** Write `spans` (named 'x', under one resource, row 1) into the store file at `path`, past the receiver. */
export function writeRawSpans(path: string, spans: RawSpan[]): void {
  writeStoreFile(path, (db) => {
    db.prepare(`INSERT INTO resources (resource_id, fingerprint, service_name, attributes, dropped_attributes_count, schema_url) VALUES (1, 'r', 's', '{}', 0, '')`).run();
    const insert = db.prepare(
      `INSERT INTO spans (trace_id, span_id, parent_span_id, resource_id, service_name, run_id, name, kind, start_ns, end_ns,
        status_code, status_message, trace_state, flags, scope_name, scope_version, scope_schema_url, attributes,
        dropped_attributes_count, dropped_events_count, dropped_links_count, connection_reused, received_at_ms)
       VALUES (?, ?, ?, 1, ?, ?, 'x', ?, ?, ?, 0, '', '', 0, '', '', '', ?, 0, 0, 0, ?, 0)`,
    );
    // One transaction: a test may write a hundred thousand rows.
    db.transaction(() => {
      for (const s of spans) insert.run(s.traceId, s.spanId, s.parentSpanId, s.service, s.runId, s.kind, s.startNs, s.endNs, s.attributes, s.connectionReused);
    })();
  });
}

/** Names of the explicit indexes on the spans table. */
export function spanIndexes(path: string): string[] {
  return readStoreFile(path, (db) =>
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'spans' AND sql IS NOT NULL ORDER BY name").pluck().all() as string[],
  );
}

/** The schema version the file records (firstspan_meta), read on a connection of its own. */
export function storedSchemaVersion(path: string): string | undefined {
  return readStoreFile(path, (db) => db.prepare("SELECT value FROM firstspan_meta WHERE key = 'schema_version'").pluck().get() as string | undefined);
}

/** Whether the file has the analyzer's record table (analyzer/record.ts). */
export function hasRecordTable(path: string): boolean {
  return readStoreFile(path, (db) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'analysis_records'").get() !== undefined);
}

/** The analyzer's records in the file, by kind: `{ run: 2, runs: 1 }`. */
export function recordsByKind(path: string): Record<string, number> {
  return readStoreFile(path, (db) => {
    const rows = db.prepare('SELECT kind, count(*) AS n FROM analysis_records GROUP BY kind').all() as Array<{ kind: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
  });
}

/** The record table as the first build with records made it (no subject column), with one row of `kind`. */
export function writeFirstRecordsTable(path: string, kind: string): void {
  const db = new Database(path);
  db.exec(`CREATE TABLE analysis_records (key TEXT PRIMARY KEY, kind TEXT NOT NULL, format INTEGER NOT NULL, shards TEXT NOT NULL,
    guard_from_ns INTEGER, guard_to_ns INTEGER, value BLOB NOT NULL, recorded_at_ms INTEGER NOT NULL)`);
  db.prepare("INSERT INTO analysis_records VALUES ('k', ?, 2, '[]', NULL, NULL, x'00', 0)").run(kind);
  db.close();
}

/** Take the file's write lock on a connection of its own, as a busy writer would, until the returned release is called (once or more). */
export function holdWriteLock(path: string): () => void {
  const db = new Database(path);
  db.exec('BEGIN IMMEDIATE');
  return () => {
    if (!db.open) return;
    db.exec('ROLLBACK');
    db.close();
  };
}

/**
 * Make every span insert into `store` fail with `message`, as a full disk would, until the returned
 * function is called: a trigger in the schema, so the writer thread's own connection fails too.
 */
export function failSpanInserts(store: SpanStore, message: string): () => void {
  store.db.exec(`CREATE TRIGGER fail_span_inserts BEFORE INSERT ON spans BEGIN SELECT RAISE(ABORT, '${message.replaceAll("'", "''")}'); END`);
  return () => store.db.exec('DROP TRIGGER fail_span_inserts');
}
