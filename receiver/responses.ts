// Response bodies, in the encoding of the request (opentelemetry-proto specification.md: "The
// server MUST use the same Content-Type in the response as it received in the request"):
// - success: Export{Trace,Metrics,Logs}ServiceResponse, partial_success set only when something
//   was rejected;
// - failure: google.rpc.Status { code, message, details: [ErrorInfo] }.
// Protobuf is written with model/protobuf-wire.ts and the tags of model/otlp-fields.ts.

import { ERRORS, type OtlpErrorCode } from '../model/errors.ts';
import { AnyTag, ErrorInfoTag, ExportPartialSuccessTag, ExportServiceResponseTag, RpcStatusTag } from '../model/otlp-fields.ts';
import { ProtobufWriter } from '../model/protobuf-wire.ts';

export type BodyFormat = 'protobuf' | 'json';

const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';
const ERROR_DOMAIN = 'firstspan';

export const CONTENT_TYPES: Record<BodyFormat, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** Logs are accepted and refused by partial success (decode-logs.ts): never stored. */
export type Signal = 'traces' | 'metrics' | 'logs';

/** The protobuf ExportServiceResponse body; the three signals share the same wire shape. */
export function encodeExportResponseProtobuf(rejected: number, message: string): Buffer {
  if (rejected === 0 && message === '') return Buffer.alloc(0);
  const w = new ProtobufWriter(256);
  w.tag(ExportServiceResponseTag.PARTIAL_SUCCESS);
  const partial = w.open();
  if (rejected > 0) {
    w.tag(ExportPartialSuccessTag.REJECTED);
    w.varint(rejected);
  }
  if (message) {
    w.tag(ExportPartialSuccessTag.ERROR_MESSAGE);
    w.string(message);
  }
  w.close(partial);
  return w.copy();
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
    return JSON.stringify({ code, message, details: [{ '@type': ERROR_INFO_TYPE, reason, domain: ERROR_DOMAIN }] });
  }
  const w = new ProtobufWriter(256);
  w.tag(RpcStatusTag.CODE);
  w.varint(code);
  w.tag(RpcStatusTag.MESSAGE);
  w.string(message);
  // details: one google.protobuf.Any holding the ErrorInfo.
  w.tag(RpcStatusTag.DETAILS);
  const any = w.open();
  w.tag(AnyTag.TYPE_URL);
  w.string(ERROR_INFO_TYPE);
  w.tag(AnyTag.VALUE);
  const info = w.open();
  w.tag(ErrorInfoTag.REASON);
  w.string(reason);
  w.tag(ErrorInfoTag.DOMAIN);
  w.string(ERROR_DOMAIN);
  w.close(info);
  w.close(any);
  return w.copy();
}
