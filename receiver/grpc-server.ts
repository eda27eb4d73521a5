// The OTLP/gRPC listener (default port 4317): TraceService/Export and MetricsService/Export (and
// LogsService/Export, answered with a partial success: logs are not stored),
// served with @grpc/grpc-js through identity (de)serializers, so the request bytes go to the same
// hand-written decoder, limits, write queue and store as OTLP/HTTP. Failures get the gRPC status
// registered for their code in model/errors.ts (the same row the HTTP listener answers from):
// INVALID_ARGUMENT for bad data (not retried), UNAVAILABLE when pushed back or shutting down
// (retried), UNAUTHENTICATED for a missing token; the full google.rpc.Status with its ErrorInfo
// travels in the grpc-status-details-bin trailer (https://grpc.io/docs/guides/error/, richer error
// model). Oversized messages are refused by grpc-js itself (RESOURCE_EXHAUSTED, no ErrorInfo) via
// grpc.max_receive_message_length.
import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ERRORS, errorMessage, type OtlpErrorCode } from '../model/errors.ts';
import type { Ingest } from './ingest.ts';
import { encodeExportResponseProtobuf, encodeStatus, type Signal } from './responses.ts';

export const GRPC_METHODS: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

const identity = (b: Buffer): Buffer => b;

/** A failed call: the registered gRPC status of `code`, its message, and the Status with ErrorInfo. */
function failure(code: OtlpErrorCode, message: string): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set('grpc-status-details-bin', encodeStatus('protobuf', code, message) as Buffer);
  return { code: ERRORS[code].grpc, details: message, metadata };
}

function definition(signal: Signal): grpc.ServiceDefinition {
  return {
    Export: {
      path: GRPC_METHODS[signal],
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}

export interface GrpcReceiverOptions {
  ingest: Ingest;
  token?: string;
  maxBodyBytes: number;
}

export function buildGrpcReceiver(options: GrpcReceiverOptions): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxBodyBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
  });
  const expected = options.token ? Buffer.from(`Bearer ${options.token}`) : undefined;
  for (const signal of ['traces', 'metrics', 'logs'] as const) {
    const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      if (expected !== undefined) {
        const given = call.metadata.get('authorization')[0];
        const bytes = Buffer.from(typeof given === 'string' ? given : '');
        if (bytes.length !== expected.length || !timingSafeEqual(bytes, expected)) {
          callback(failure('FS_ERR_OTLP_UNAUTHENTICATED', errorMessage('FS_ERR_OTLP_UNAUTHENTICATED', { header: 'metadata authorization' })));
          return;
        }
      }
      const body = call.request;
      if (!options.ingest.reserve(body.length)) {
        callback(failure('FS_ERR_OTLP_BUSY', errorMessage('FS_ERR_OTLP_BUSY', { what: 'too many request bytes in flight' })));
        return;
      }
      options.ingest.export(signal, 'protobuf', body).then(
        (outcome) => {
          options.ingest.release(body.length);
          switch (outcome.kind) {
            case 'ok':
              callback(null, encodeExportResponseProtobuf(outcome.rejected, outcome.message));
              return;
            case 'invalid':
              callback(failure('FS_ERR_OTLP_DECODE', outcome.message));
              return;
            case 'busy':
              callback(failure('FS_ERR_OTLP_BUSY', outcome.message));
              return;
            case 'unavailable':
              callback(failure('FS_ERR_OTLP_UNAVAILABLE', outcome.message));
              return;
          }
        },
        (error: unknown) => {
          options.ingest.release(body.length);
          callback(failure('FS_ERR_OTLP_INTERNAL', (error as Error).message));
        },
      );
    };
    server.addService(definition(signal), { Export: handler });
  }
  return server;
}

/** Bind and return the port (0 picks a free one). */
export function listenGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
}

/** Stop accepting calls and wait for in-flight ones (bounded: then force). */
export function closeGrpc(server: grpc.Server, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
