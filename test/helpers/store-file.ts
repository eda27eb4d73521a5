// Direct reads and writes of a store file, as an independent oracle for the store's own tests:
// a version 1 file written with version 1's DDL, the indexes a file carries, its span count.
import Database from 'better-sqlite3';

/** A real version 1 file at `path`: version 1's DDL, filled with the rows of the store at `from`. */
export function writeV1Store(path: string, from: string, v1Ddl: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(v1Ddl);
  db.prepare("INSERT INTO firstspan_meta (key, value) VALUES ('schema_version', '1')").run();
  db.prepare('ATTACH DATABASE ? AS src').run(from);
  for (const table of ['resources', 'spans', 'metric_points']) {
    const columns = (db.prepare(`PRAGMA src.table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name).join(', ');
    db.exec(`INSERT INTO main.${table} (${columns}) SELECT ${columns} FROM src.${table} ORDER BY rowid`);
  }
  db.exec('DETACH DATABASE src');
  db.close();
}

/** Names of the explicit indexes on the spans table. */
export function spanIndexes(path: string): string[] {
  const db = new Database(path, { readonly: true });
  const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'spans' AND sql IS NOT NULL ORDER BY name").pluck().all() as string[];
  db.close();
  return names;
}

/** Rows in the spans table. */
export function spanCount(path: string): number {
  const db = new Database(path, { readonly: true });
  const n = db.prepare('SELECT count(*) FROM spans').pluck().get() as number;
  db.close();
  return n;
}

/** The schema version the file records (firstspan_meta), read on a connection of its own. */
export function storedSchemaVersion(path: string): string | undefined {
  const db = new Database(path, { readonly: true });
  const v = db.prepare("SELECT value FROM firstspan_meta WHERE key = 'schema_version'").pluck().get() as string | undefined;
  db.close();
  return v;
}

/** Every column of the span with this span id (integers as bigint, so nanoseconds stay exact). */
export function spanRowById(path: string, spanId: Buffer): Record<string, unknown> | undefined {
  const db = new Database(path, { readonly: true });
  const row = db.prepare('SELECT * FROM spans WHERE span_id = ?').safeIntegers(true).get(spanId) as Record<string, unknown> | undefined;
  db.close();
  return row;
}
