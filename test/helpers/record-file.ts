// Direct looks at a store file for the record's tests (analyzer/record.ts): whether it holds the
// record table, and a writer that keeps the file's write lock, as a busy receiver would for longer.
import Database from 'better-sqlite3';

/** Whether the file has the analyzer's record table. */
export function hasRecordTable(path: string): boolean {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'analysis_records'").get() !== undefined;
  } finally {
    db.close();
  }
}

/** Take the file's write lock on a connection of its own and hold it until the returned release is called. */
export function holdWriteLock(path: string): () => void {
  const db = new Database(path);
  db.exec('BEGIN IMMEDIATE');
  return () => {
    db.exec('ROLLBACK');
    db.close();
  };
}
