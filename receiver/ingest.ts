// The receiver's core, shared by the HTTP and gRPC listeners: decode one export request's bytes,
// queue it for the group commit, and say how it went as data (an outcome), never as an exception.
// Both listeners map the same outcomes to their own status codes, so limits, decoding and storage
// cannot drift apart between the two protocols.
import type { SpanStore, WriteJob } from '../model/store.ts';
import { countLogRecordsJson, countLogRecordsProtobuf, LOGS_NOT_STORED } from './decode-logs.ts';
import { decodeMetricsJson, decodeTracesJson } from './decode-json.ts';
import { decodeMetricsProtobuf, decodeTracesProtobuf, type DecodedMetrics, type DecodedTraces } from './decode-protobuf.ts';
import { errorMessage } from '../model/errors.ts';
import { DecodeError } from '../model/protobuf-wire.ts';
import { spanRowsFromProtobuf } from './protobuf-span-rows.ts';
import type { BodyFormat, Signal } from './responses.ts';
import { WriteQueue } from './write-queue.ts';

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Spans and data points decoded but not yet committed; beyond this, requests are pushed back. */
export const DEFAULT_MAX_PENDING_ITEMS = 65_536;
/** Request bytes being read or decoded at once; beyond this, new requests are pushed back. */
export const DEFAULT_MAX_INFLIGHT_BYTES = 256 * 1024 * 1024;
/** Seconds a pushed-back client is asked to wait (Retry-After). */
export const RETRY_AFTER_SECONDS = 1;

export type ExportOutcome =
  | { kind: 'ok'; stored: number; duplicates: number; rejected: number; message: string }
  /** Undecodable or invalid request: 400 / INVALID_ARGUMENT, never retried. */
  | { kind: 'invalid'; message: string }
  /** Write queue full: 429 / UNAVAILABLE with Retry-After, retried by clients. */
  | { kind: 'busy'; message: string }
  /** Shutting down, or the database failed: 503 / UNAVAILABLE, retried by clients. */
  | { kind: 'unavailable'; message: string };

export interface IngestOptions {
  maxPendingItems?: number;
  /** Default: 256 MiB, and at least 4 × maxBodyBytes so one largest request always fits. */
  maxInflightBytes?: number;
  maxBodyBytes?: number;
}

export interface IngestCounters {
  requests: number;
  stored: number;
  duplicates: number;
  rejected: number;
  invalidRequests: number;
  pushedBack: number;
  storeFailures: number;
  /** Log records received and refused (partial success): firstspan does not store logs. */
  logRecordsNotStored: number;
}

export class Ingest {
  readonly store: SpanStore;
  readonly queue: WriteQueue;
  readonly maxInflightBytes: number;
  readonly counters: IngestCounters = {
    requests: 0,
    stored: 0,
    duplicates: 0,
    rejected: 0,
    invalidRequests: 0,
    pushedBack: 0,
    storeFailures: 0,
    logRecordsNotStored: 0,
  };
  private inflightBytes = 0;
  private closing = false;

  constructor(store: SpanStore, options: IngestOptions = {}) {
    this.store = store;
    this.queue = new WriteQueue(store, options.maxPendingItems ?? DEFAULT_MAX_PENDING_ITEMS);
    this.maxInflightBytes =
      options.maxInflightBytes ?? Math.max(DEFAULT_MAX_INFLIGHT_BYTES, 4 * (options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES));
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /**
   * Reserve room for a body of `bytes` (0 when unknown) before reading it. False means "pushed
   * back": too many bytes are already being read or decoded. An idle receiver takes any size.
   */
  reserve(bytes: number): boolean {
    if (this.inflightBytes > 0 && this.inflightBytes + bytes > this.maxInflightBytes) {
      this.counters.pushedBack += 1;
      return false;
    }
    this.inflightBytes += bytes;
    return true;
  }

  /**
   * Take `bytes` more for a body already being read, which holds `own` bytes so far; false when the
   * budget is spent by others (a request alone in flight may always grow, up to the body limit).
   */
  grow(bytes: number, own: number): boolean {
    if (this.inflightBytes > own && this.inflightBytes + bytes > this.maxInflightBytes) {
      this.counters.pushedBack += 1;
      return false;
    }
    this.inflightBytes += bytes;
    return true;
  }

  release(bytes: number): void {
    this.inflightBytes -= bytes;
  }

  /** Decode and commit one export request. Resolves after COMMIT for an 'ok' outcome. */
  async export(signal: Signal, format: BodyFormat, body: Buffer): Promise<ExportOutcome> {
    this.counters.requests += 1;
    if (this.closing) return { kind: 'unavailable', message: errorMessage('FS_ERR_OTLP_UNAVAILABLE', { why: 'the receiver is shutting down' }) };
    if (signal === 'logs') return this.refuseLogs(format, body);
    // Traces in protobuf, the common case, go straight from bytes to rows when nothing about the
    // request needs the full decoder (protobuf-span-rows.ts): the same rows, at a fraction of the cost.
    const rows = signal === 'traces' && format === 'protobuf' ? spanRowsFromProtobuf(body) : undefined;
    if (rows !== undefined) {
      if (rows.count === 0) return { kind: 'ok', stored: 0, duplicates: 0, rejected: 0, message: '' };
      return this.pushedBack('span', rows.count) ?? this.commit({ spans: rows }, rows.count, 0, '');
    }
    let decoded: DecodedTraces | DecodedMetrics;
    try {
      decoded = decode(signal, format, body);
    } catch (error) {
      if (error instanceof DecodeError || error instanceof RangeError) {
        this.counters.invalidRequests += 1;
        const what = format === 'json' ? 'OTLP/JSON' : 'OTLP protobuf';
        return { kind: 'invalid', message: `cannot decode the ${what} ${signal} request: ${error.message}` };
      }
      throw error;
    }
    const items = 'spans' in decoded ? decoded.spans : decoded.points;
    const noun = signal === 'traces' ? 'span' : 'data point';
    const rejected = decoded.rejected.count;
    const message = decoded.rejected.message(noun);
    this.counters.rejected += rejected;
    if (items === 0) return { kind: 'ok', stored: 0, duplicates: 0, rejected, message };
    return this.pushedBack(noun, items) ?? this.commit(WriteQueue.job(decoded.request), items, rejected, message);
  }

  /** The answer when the write queue has no room for `items` more spans or points. */
  private pushedBack(noun: string, items: number): ExportOutcome | undefined {
    if (this.queue.hasRoom(items)) return undefined;
    this.counters.pushedBack += 1;
    return {
      kind: 'busy',
      message: `the write queue is full (${this.queue.maxPendingItems} ${noun}s waiting for commit); retry after ${RETRY_AFTER_SECONDS}s`,
    };
  }

  /** Queue one request's job for the group commit; the outcome once it is committed (or failed). */
  private async commit(job: WriteJob, items: number, rejected: number, message: string): Promise<ExportOutcome> {
    try {
      const result = await this.queue.submit(job, items);
      this.counters.stored += result.stored;
      this.counters.duplicates += result.duplicates;
      return { kind: 'ok', stored: result.stored, duplicates: result.duplicates, rejected, message };
    } catch (error) {
      this.counters.storeFailures += 1;
      return { kind: 'unavailable', message: errorMessage('FS_ERR_OTLP_UNAVAILABLE', { why: `could not commit to the database: ${(error as Error).message}` }) };
    }
  }

  /**
   * Logs are accepted on the wire and refused by content: every record is reported as rejected
   * in a partial success, so exporters stop neither with errors nor with retries.
   */
  private refuseLogs(format: BodyFormat, body: Buffer): ExportOutcome {
    let count: number;
    try {
      count = format === 'protobuf' ? countLogRecordsProtobuf(body) : countLogRecordsJson(jsonText(body));
    } catch (error) {
      if (error instanceof DecodeError || error instanceof RangeError) {
        this.counters.invalidRequests += 1;
        const what = format === 'json' ? 'OTLP/JSON' : 'OTLP protobuf';
        return { kind: 'invalid', message: `cannot decode the ${what} logs request: ${error.message}` };
      }
      throw error;
    }
    this.counters.logRecordsNotStored += count;
    const message = count === 0 ? '' : `${LOGS_NOT_STORED} (${count} rejected)`;
    return { kind: 'ok', stored: 0, duplicates: 0, rejected: count, message };
  }

  /** Refuse new requests, wait until every queued request is committed, stop the writer thread. */
  async close(): Promise<void> {
    this.closing = true;
    await this.queue.close();
  }
}

function decode(signal: Signal, format: BodyFormat, body: Buffer): DecodedTraces | DecodedMetrics {
  if (format === 'protobuf') return signal === 'traces' ? decodeTracesProtobuf(body) : decodeMetricsProtobuf(body);
  const text = jsonText(body);
  return signal === 'traces' ? decodeTracesJson(text) : decodeMetricsJson(text);
}

function jsonText(body: Buffer): string {
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
