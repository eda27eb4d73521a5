// The analyzer's record of its own passes, kept in the store it analysed (table analysis_records,
// model/store.ts): what the hash join and the run finding produced, keyed by everything that
// determines it, with the largest span rowid of each shard when it was computed (its watermark).
// Spans are only ever appended, so a record stays valid as long as no span written after its
// watermark falls under its guard — a check that reads only the rows after the watermark, by rowid.
// Values are opaque bytes here; the analyzer serializes them (analyzer/record.ts).
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { SpanKind } from './otlp.ts';
import type { Shard } from './span-reads.ts';
import { RECORDS_TABLE, STORE_ID_KEY } from './store.ts';

/** Which new spans make a record stale: any starting in [fromNs, toNs], or (rootsOnly) any load-test root. */
export type RecordGuard = { fromNs: bigint; toNs: bigint } | { rootsOnly: true };

/** One shard a record depends on: its identity and its largest span rowid when the value was computed. */
export interface RecordShard {
  storeId: string;
  rowid: number;
}

export interface StoredRecord {
  shards: RecordShard[];
  guard: RecordGuard;
  value: Buffer;
}

/**
 * A record to write: a value, or (with only its key and shards) a record whose watermarks move
 * forward, still valid at newer rows.
 */
export type RecordWrite =
  | { key: string; shards: RecordShard[] }
  | {
      key: string;
      kind: string;
      /** What the value is about: writing it drops every other record of the same subject. */
      subject: string;
      format: number;
      shards: RecordShard[];
      guard: RecordGuard;
      value: Buffer;
    };

/** The store's identity (firstspan_meta), undefined when it has none yet (written before records existed). */
export function storeId(shard: Shard): string | undefined {
  return shard.db.prepare('SELECT value FROM firstspan_meta WHERE key = ?').pluck().get(STORE_ID_KEY) as string | undefined;
}

/** The largest span rowid (0 when empty): spans are appended, so every later span has a larger one. */
export function spanWatermark(shard: Shard): number {
  return shard.db.prepare('SELECT coalesce(max(rowid), 0) FROM spans').pluck().get() as number;
}

function hasRecordsTable(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'analysis_records'").get() !== undefined;
}

/**
 * Create the table, or recreate it when an older build made it without a column it has now: it is
 * a cache, so its rows are dropped rather than migrated.
 */
function ensureRecordsTable(db: Database.Database): void {
  const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('analysis_records') as string[];
  if (columns.length > 0 && !columns.includes('subject')) db.exec('DROP TABLE analysis_records');
  db.exec(RECORDS_TABLE);
}

/** The record under `key` in this shard's file, undefined when there is none. */
export function readRecord(shard: Shard, key: string): StoredRecord | undefined {
  if (!hasRecordsTable(shard.db)) return undefined;
  const row = shard.db
    .prepare('SELECT shards, guard_from_ns, guard_to_ns, value FROM analysis_records WHERE key = ?')
    .safeIntegers()
    .raw()
    .get(key) as [string, bigint | null, bigint | null, Buffer] | undefined;
  if (row === undefined) return undefined;
  const [shards, from, to, value] = row;
  return {
    shards: JSON.parse(shards) as RecordShard[],
    guard: from === null || to === null ? { rootsOnly: true } : { fromNs: from, toNs: to },
    value,
  };
}

/**
 * Whether a span stored after rowid `after` falls under the guard. Reads the rows after the
 * watermark only (NOT INDEXED: by rowid, never a time index that would cover the whole window).
 */
export function spansSince(shard: Shard, after: number, guard: RecordGuard): boolean {
  const filter =
    'rootsOnly' in guard
      ? `parent_span_id IS NULL AND kind = ${SpanKind.CLIENT}`
      : 'start_ns >= @from AND start_ns <= @to';
  const params = 'rootsOnly' in guard ? { after } : { after, from: guard.fromNs, to: guard.toNs };
  return shard.db.prepare(`SELECT 1 FROM spans NOT INDEXED WHERE rowid > @after AND ${filter} LIMIT 1`).get(params) !== undefined;
}

/**
 * Give the store at `path` an identity if it has none (one short write), and return it. Opens its
 * own connection for writing: the analyzer's shards are read-only. Throws when the file cannot be
 * written (read-only file or open, locked longer than `busyMs`).
 */
export function ensureStoreId(path: string, busyMs: number): string {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${busyMs}`);
    db.prepare('INSERT OR IGNORE INTO firstspan_meta (key, value) VALUES (?, ?)').run(STORE_ID_KEY, randomBytes(16).toString('hex'));
    return db.prepare('SELECT value FROM firstspan_meta WHERE key = ?').pluck().get(STORE_ID_KEY) as string;
  } finally {
    db.close();
  }
}

/**
 * Write records into the store at `path` in one short transaction (the receiver may be writing the
 * same file: the write lock is held for these rows only). Records of another format are dropped, and
 * so is every other record of a written record's subject (the same run before it grew): the table
 * holds one value per subject, not one per analysis ever made. Throws when the file cannot be written.
 */
export function writeRecords(path: string, format: number, records: RecordWrite[], busyMs: number): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${busyMs}`);
    db.transaction(() => {
      ensureRecordsTable(db);
      const put = db.prepare(
        `INSERT OR REPLACE INTO analysis_records (key, kind, subject, format, shards, guard_from_ns, guard_to_ns, value, recorded_at_ms)
         VALUES (@key, @kind, @subject, @format, @shards, @from, @to, @value, @at)`,
      );
      const supersede = db.prepare('DELETE FROM analysis_records WHERE subject = ? AND key <> ?');
      const advance = db.prepare('UPDATE analysis_records SET shards = @shards WHERE key = @key');
      db.prepare('DELETE FROM analysis_records WHERE format <> ?').run(format);
      for (const r of records) {
        const shards = JSON.stringify(r.shards);
        if (!('value' in r)) {
          advance.run({ key: r.key, shards });
          continue;
        }
        const range = 'rootsOnly' in r.guard ? { from: null, to: null } : { from: r.guard.fromNs, to: r.guard.toNs };
        supersede.run(r.subject, r.key);
        put.run({ key: r.key, kind: r.kind, subject: r.subject, format: r.format, shards, ...range, value: r.value, at: Date.now() });
      }
    }).immediate();
  } finally {
    db.close();
  }
}

/** Drop every record of the store at `path` (the benchmark measures a first analysis on a file it analysed before). */
export function forgetRecords(path: string): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.exec('DROP TABLE IF EXISTS analysis_records');
  } finally {
    db.close();
  }
}
