// The tail of the span table, for a live view of a store that a running receiver is writing.
// Read-only, and by rowid only: the store is append-only, so rows past the last one read are the
// new spans, and no index keyed by trace id is needed (or assumed) — the reader joins in memory.
import { SpanStore } from './store.ts';
import type Database from 'better-sqlite3';

export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;

export interface TailSpan {
  rowid: number;
  /** Hex, upper case (SQLite's hex()). */
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  kind: number;
  serviceName: string;
  runId: string | null;
  name: string;
  requestName: string | null;
  httpMethod: string | null;
  /** end − start, exact (computed by SQLite on the 64-bit integers). */
  durationNs: number;
  /** 1 reused, 0 opened a connection, null when the span does not say. */
  connectionReused: number | null;
}

export class SpanTail {
  readonly #store: SpanStore;
  readonly #after: Database.Statement<[number, number], TailSpan>;
  readonly #last: Database.Statement<[], number | null>;

  private constructor(store: SpanStore) {
    this.#store = store;
    // Only what a live view needs: CLIENT and SERVER spans.
    this.#after = store.db.prepare(`SELECT rowid, hex(trace_id) AS traceId, hex(span_id) AS spanId,
        CASE WHEN parent_span_id IS NULL THEN NULL ELSE hex(parent_span_id) END AS parentSpanId,
        kind, service_name AS serviceName, run_id AS runId, name, request_name AS requestName,
        http_method AS httpMethod, end_ns - start_ns AS durationNs, connection_reused AS connectionReused
      FROM spans WHERE rowid > ? AND kind IN (${SPAN_KIND_SERVER}, ${SPAN_KIND_CLIENT}) ORDER BY rowid LIMIT ?`);
    this.#last = store.db.prepare('SELECT max(rowid) FROM spans').pluck() as Database.Statement<[], number | null>;
  }

  /** Open a receiver's database read-only (FS_ERR_STORE_OPEN when missing or not a firstspan store). */
  static open(path: string): SpanTail {
    return new SpanTail(SpanStore.open(path, { readonly: true }));
  }

  /** The rowid of the newest span now (0 for an empty table): where a live view starts. */
  lastRowid(): number {
    return this.#last.get() ?? 0;
  }

  /** Up to `limit` spans stored after `rowid`, oldest first. */
  after(rowid: number, limit: number): TailSpan[] {
    return this.#after.all(rowid, limit);
  }

  close(): void {
    this.#store.close();
  }
}
