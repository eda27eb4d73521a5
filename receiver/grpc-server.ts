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
//
// Compression: grpc-js decompresses only gzip and deflate and answers UNIMPLEMENTED to any other
// grpc-encoding, but the Collector's otlp exporter sends `grpc-encoding: zstd` or `snappy` (framed)
// when configured so, without negotiating (go.opentelemetry.io/collector/config/configgrpc: it
// registers those compressors with grpc-go and calls grpc.UseCompressor). receiverInterceptor
// below therefore tells grpc-js to pass such messages through untouched; they are decoded here with
// the same bounded decoders as OTLP/HTTP (decoders/index.ts).
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ERRORS, errorMessage, type OtlpErrorCode } from '../model/errors.ts';
import { decodeWhole, DecodedTooLarge } from './decoders/index.ts';
import type { Ingest } from './ingest.ts';
import type { RefusalLog } from './refusals.ts';
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
  /** Counts (and logs) every call answered with an error by the handlers below. */
  refusals?: RefusalLog;
}

/** grpc-encodings grpc-js decodes itself; every other one is taken over by receiverInterceptor. */
const GRPC_JS_ENCODINGS = new Set(['identity', 'gzip', 'deflate']);
/** Metadata key that carries a taken-over encoding from the interceptor to the handler. */
const OWN_ENCODING_KEY = 'firstspan-grpc-encoding';
const SUPPORTED = 'gzip, deflate, zstd, snappy or identity';

class UnsupportedEncoding extends Error {}

/**
 * The one interceptor on every call, for two jobs grpc-js leaves to the application.
 *
 * Decompression: grpc-js keeps the call's grpc-encoding in the base call's `incomingEncoding`
 * field, read from the headers before any message arrives (@grpc/grpc-js
 * src/server-interceptors.ts). For any encoding but identity, gzip and deflate this sets it to
 * identity, so grpc-js hands the message over as it is, and tells the handler the real encoding
 * through metadata (any client-sent value of that key is dropped first); the handler decodes zstd
 * and snappy and refuses the rest with UNIMPLEMENTED, counted like every refusal.
 * If a grpc-js release renames the field this does nothing, and zstd/snappy get grpc-js's own
 * UNIMPLEMENTED answer again (test/receiver-codecs.test.ts and the Collector test catch that).
 *
 * Refusals: every error status a handler sends is counted and logged (refusals.ts).
 */
function receiverInterceptor(refusals: RefusalLog | undefined): grpc.ServerInterceptor {
  return (_method, call) => {
    const base = call as unknown as { incomingEncoding?: unknown };
    const encoding = typeof base.incomingEncoding === 'string' ? base.incomingEncoding.toLowerCase() : '';
    const own = encoding !== '' && !GRPC_JS_ENCODINGS.has(encoding) ? encoding : undefined;
    if (own !== undefined) base.incomingEncoding = 'identity';
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, pass) => {
              metadata.remove(OWN_ENCODING_KEY);
              if (own !== undefined) metadata.set(OWN_ENCODING_KEY, own);
              pass(metadata);
            })
            .build(),
        );
      },
      // Every status the handlers send passes here; grpc-js's own refusal of a message over
      // grpc.max_receive_message_length does not and is not counted.
      sendStatus(status, next) {
        if (status.code !== grpc.status.OK) {
          refusals?.record({ transport: 'gRPC', status: grpc.status[status.code] ?? String(status.code), message: status.details, client: call.getPeer() });
        }
        next(status);
      },
    });
  };
}

/** The message as the client meant it: decompressed here when receiverInterceptor passed it on. */
async function messageOf(call: grpc.ServerUnaryCall<Buffer, Buffer>, limit: number): Promise<Buffer> {
  const own = call.metadata.get(OWN_ENCODING_KEY)[0];
  const body = call.request;
  if (own === undefined) return body;
  // The interceptor cannot see a message's compressed flag, but an uncompressed OTLP Export request
  // is empty or starts with field 1 (byte 0x0a), which no zstd frame (0x28, or 0x5_ when
  // skippable) or snappy stream (0xff) does: such a message was sent uncompressed.
  if (body.length === 0 || body[0] === 0x0a) return body;
  if (own === 'zstd' || own === 'snappy') return decodeWhole(own, body, limit);
  throw new UnsupportedEncoding(`grpc-encoding '${String(own)}' is not supported; use ${SUPPORTED}`);
}

export function buildGrpcReceiver(options: GrpcReceiverOptions): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxBodyBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
    interceptors: [receiverInterceptor(options.refusals)],
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
      messageOf(call, options.maxBodyBytes).then(
        (body) => exportMessage(signal, body, callback),
        (error: unknown) =>
          callback(
            error instanceof DecodedTooLarge
              ? failure('FS_ERR_OTLP_TOO_LARGE', error.message)
              : error instanceof UnsupportedEncoding
                ? // The gRPC compression spec answers an unknown grpc-encoding with UNIMPLEMENTED.
                  { code: grpc.status.UNIMPLEMENTED, details: error.message }
                : failure('FS_ERR_OTLP_DECODE', `cannot decompress message: ${(error as Error).message}`),
          ),
      );
    };
    server.addService(definition(signal), { Export: handler });
  }

  function exportMessage(signal: Signal, body: Buffer, callback: grpc.sendUnaryData<Buffer>): void {
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
  }
  return server;
}

export interface GrpcListener {
  port: number;
  close(graceMs?: number): Promise<void>;
}

/**
 * Listen on HOST:PORT (0 picks a free port) with a plain net.Server and hand each connection to
 * grpc-js (Server.createConnectionInjector). Node reports a taken port as an ordinary EADDRINUSE
 * error, where grpc-js's own bindAsync would also print its "No address added" line to stderr.
 */
export function listenGrpc(server: grpc.Server, host: string, port: number): Promise<GrpcListener> {
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = net.createServer((socket) => injector.injectConnection(socket));
  return new Promise((resolve, reject) => {
    listener.once('error', (error) => {
      injector.destroy();
      reject(error);
    });
    listener.listen({ host, port }, () => {
      const address = listener.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : port,
        close: (graceMs) => closeGrpc(server, listener, graceMs),
      });
    });
  });
}

/** Stop accepting connections and calls, and wait for in-flight ones (bounded: then force). */
function closeGrpc(server: grpc.Server, listener: net.Server, graceMs = 10_000): Promise<void> {
  listener.close();
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
