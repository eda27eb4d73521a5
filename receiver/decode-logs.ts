// OTLP logs are not stored by firstspan, but SDKs (Locust's OpenTelemetry integration among them)
// export logs by default to the same endpoint. Answering 404/UNIMPLEMENTED makes them print export
// errors on every batch, so the receiver accepts ExportLogsServiceRequest and answers with a
// partial success that rejects every log record and says why (opentelemetry-proto
// specification.md, "Partial Success": the client must not retry it). This file only counts the
// records, checking the message structure on the way; the records themselves are skipped unread.
// Field tags: model/otlp-fields.ts (collector/logs/v1/logs_service.proto, logs/v1/logs.proto).
import { ExportLogsServiceRequestTag, ResourceLogsTag, ScopeLogsTag } from '../model/otlp-fields.ts';
import { DecodeError, ProtobufReader } from '../model/protobuf-wire.ts';

/** Number of LogRecords in an ExportLogsServiceRequest (protobuf). Throws DecodeError when malformed. */
export function countLogRecordsProtobuf(buf: Buffer): number {
  const r = new ProtobufReader(buf);
  let count = 0;
  // ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
  forEachField(r, buf.length, (tag, end) => {
    if (tag !== ExportLogsServiceRequestTag.RESOURCE_LOGS) return false;
    // ResourceLogs { resource = 1; repeated ScopeLogs scope_logs = 2; schema_url = 3; }
    forEachField(r, r.lengthEnd(end), (t2, end2) => {
      if (t2 !== ResourceLogsTag.SCOPE_LOGS) return false;
      // ScopeLogs { scope = 1; repeated LogRecord log_records = 2; schema_url = 3; }
      forEachField(r, r.lengthEnd(end2), (t3, end3) => {
        if (t3 !== ScopeLogsTag.LOG_RECORDS) return false;
        r.pos = r.lengthEnd(end3);
        count += 1;
        return true;
      });
      return true;
    });
    return true;
  });
  return count;
}

/** Visit each field of a message ending at `end`; `read` returns false to have the field skipped. */
function forEachField(r: ProtobufReader, end: number, read: (tag: number, end: number) => boolean): void {
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag >>> 3 === 0) throw new DecodeError('field number 0 is invalid');
    if (!read(tag, end)) r.skip(tag & 7, end);
  }
}

/** Number of logRecords in an OTLP/JSON ExportLogsServiceRequest. Throws DecodeError when malformed. */
export function countLogRecordsJson(text: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DecodeError(`not JSON: ${(error as Error).message}`);
  }
  let count = 0;
  for (const rl of list(parsed, 'resourceLogs', 'resource_logs', 'the request')) {
    for (const sl of list(rl, 'scopeLogs', 'scope_logs', 'resourceLogs[]')) {
      count += list(sl, 'logRecords', 'log_records', 'scopeLogs[]').length;
    }
  }
  return count;
}

function list(holder: unknown, camel: string, snake: string, where: string): unknown[] {
  if (typeof holder !== 'object' || holder === null || Array.isArray(holder)) {
    throw new DecodeError(`${where} must be a JSON object`);
  }
  const value = (holder as Record<string, unknown>)[camel] ?? (holder as Record<string, unknown>)[snake];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new DecodeError(`${camel} must be an array`);
  return value;
}

export const LOGS_NOT_STORED = 'firstspan stores traces and metrics only; log records are not stored';
