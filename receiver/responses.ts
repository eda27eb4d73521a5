// Response bodies, in the encoding of the request (opentelemetry-proto specification.md: "The
// server MUST use the same Content-Type in the response as it received in the request").
// - success: Export{Trace,Metrics}ServiceResponse, partial_success set only when something was
//   rejected (field 1: { rejected_spans|rejected_data_points|rejected_log_records = 1 (int64),
//   error_message = 2 })
// - failure: google.rpc.Status { code = 1 (int32), message = 2 (string) }

import { ERRORS, type OtlpErrorCode } from '../model/errors.ts';

export type BodyFormat = 'protobuf' | 'json';

const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';

export const CONTENT_TYPES: Record<BodyFormat, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** Logs are accepted and refused by partial success (decode-logs.ts): never stored. */
export type Signal = 'traces' | 'metrics' | 'logs';

/** The protobuf ExportServiceResponse body; both signals share the same wire shape. */
export function encodeExportResponseProtobuf(rejected: number, message: string): Buffer {
  if (rejected === 0 && message === '') return Buffer.alloc(0);
  const inner = concat([rejected > 0 ? [tag(1, 0), ...varint(rejected)] : [], message ? lenField(2, Buffer.from(message)) : []]);
  return Buffer.from(concat([lenField(1, inner)]));
}

export function encodeExportResponseJson(signal: Signal, rejected: number, message: string): string {
  if (rejected === 0 && message === '') return '{}';
  const key = signal === 'traces' ? 'rejectedSpans' : signal === 'metrics' ? 'rejectedDataPoints' : 'rejectedLogRecords';
  // int64 in OTLP JSON is a decimal string.
  return JSON.stringify({ partialSuccess: { [key]: String(rejected), errorMessage: message } });
}

export function encodeExportResponse(format: BodyFormat, signal: Signal, rejected: number, message: string): Buffer | string {
  return format === 'json' ? encodeExportResponseJson(signal, rejected, message) : encodeExportResponseProtobuf(rejected, message);
}

/**
 * A failure's google.rpc.Status: the gRPC status registered for `reason` (model/errors.ts), the
 * message, and `reason` itself in Status.details as a google.rpc.ErrorInfo { reason, domain:
 * "firstspan" } so clients and tests can match on it (docs/errors.md). The OTLP/HTTP listener sends
 * it as the body, the gRPC listener in the grpc-status-details-bin trailer.
 */
export function encodeStatus(format: BodyFormat, reason: OtlpErrorCode, message: string): Buffer | string {
  const code = ERRORS[reason].grpc;
  if (format === 'json') {
    return JSON.stringify({ code, message, details: [{ '@type': ERROR_INFO_TYPE, reason, domain: 'firstspan' }] });
  }
  // ErrorInfo { reason = 1; domain = 2 } packed in google.protobuf.Any { type_url = 1; value = 2 }.
  const errorInfo = Uint8Array.from([...lenField(1, Buffer.from(reason)), ...lenField(2, Buffer.from('firstspan'))]);
  const any = Uint8Array.from([...lenField(1, Buffer.from(ERROR_INFO_TYPE)), ...lenField(2, errorInfo)]);
  return Buffer.from(
    concat([[tag(1, 0), ...varint(code)], lenField(2, Buffer.from(message)), lenField(3, any)]),
  );
}

function tag(field: number, wire: number): number {
  return (field << 3) | wire;
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function lenField(field: number, bytes: Uint8Array): number[] {
  return [tag(field, 2), ...varint(bytes.length), ...bytes];
}

function concat(parts: number[][]): Uint8Array {
  return Uint8Array.from(parts.flat());
}
