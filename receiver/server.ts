// The OTLP/HTTP listener: fastify routes for POST /v1/traces and /v1/metrics (and /v1/logs, answered
// with a partial success that stores nothing: decode-logs.ts), each failure answered
// as opentelemetry-proto docs/specification.md ("OTLP/HTTP Response") says, with a google.rpc.Status
// body in the request's encoding. buildReceiver() never listens (fastify's testing guide);
// start.ts does. Order of checks per request: path (404) → method (405) → bearer token (401) →
// Content-Type (415) → Content-Encoding (415) → declared size (413) → room to read (503) → size
// and room while reading and decompressing (413 / 503) → decoding (400) → room in the write queue
// (429) → commit → 200.
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { SpanStore } from '../model/store.ts';
import { DEFAULT_MAX_BODY_BYTES, Ingest, RETRY_AFTER_SECONDS, type IngestOptions } from './ingest.ts';
import { CONTENT_ENCODINGS } from './decoders/index.ts';
import { BodyError, BodyErrorKind, readBody, supportedEncoding } from './read-body.ts';
import type { RefusalLog } from './refusals.ts';
import {
  CONTENT_TYPES,
  encodeExportResponse,
  encodeStatus,
  GrpcCode,
  ReceiverErrorCodes as R,
  type BodyFormat,
  type ReceiverErrorCode,
  type Signal,
} from './responses.ts';

export interface ReceiverOptions extends IngestOptions {
  /** Where spans go. Either a store (the receiver makes its own Ingest) or a shared Ingest. */
  store?: SpanStore;
  ingest?: Ingest;
  /** Every request must carry `Authorization: Bearer <token>` when set. */
  token?: string;
  /** Largest request body, on the wire and after decompression. Default 64 MiB. */
  maxBodyBytes?: number;
  /** fastify's logger (never logs bodies). Off by default. */
  logger?: boolean;
  /** Counts (and logs) every refused request. */
  refusals?: RefusalLog;
}

export const PATHS: Record<Signal, string> = { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' };
const OTHER_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** The request's body format from its Content-Type (parameters such as charset are fine). */
export function formatOf(contentType: string | undefined): BodyFormat | undefined {
  const mime = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mime === 'application/x-protobuf' || mime === 'application/protobuf') return 'protobuf';
  if (mime === 'application/json') return 'json';
  return undefined;
}

export function buildReceiver(options: ReceiverOptions): FastifyInstance {
  const ingest: Ingest = options.ingest ?? newIngest(options);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const token = options.token === undefined || options.token === '' ? undefined : Buffer.from(`Bearer ${options.token}`);

  const app = Fastify({
    logger: options.logger ?? false,
    exposeHeadRoutes: false,
    // We read and limit bodies ourselves (after decompression); fastify's limit would answer 413
    // with its own JSON shape instead of a google.rpc.Status.
    bodyLimit: Number.MAX_SAFE_INTEGER,
    return503OnClosing: true,
  });

  // Leave every body unread for the handler, whatever its type: it decides 415 vs reading.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  for (const signal of ['traces', 'metrics', 'logs'] as const) {
    app.post(PATHS[signal], (request, reply) => handleExport(signal, request, reply));
    app.route({
      method: [...OTHER_METHODS],
      url: PATHS[signal],
      handler: (request, reply) => {
        void reply.header('allow', 'POST');
        return sendStatus(reply, formatOf(request.headers['content-type']), 405, GrpcCode.UNIMPLEMENTED, `${request.method} is not allowed on ${PATHS[signal]}; use POST`, R.METHOD);
      },
    });
  }

  app.setNotFoundHandler((request, reply) =>
    sendStatus(
      reply,
      formatOf(request.headers['content-type']),
      404,
      GrpcCode.NOT_FOUND,
      `no such path ${request.url.split('?', 1)[0]}; OTLP/HTTP paths are ${PATHS.traces} and ${PATHS.metrics} (and ${PATHS.logs}, not stored)`,
      R.NOT_FOUND,
    ),
  );

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'receiver error');
    return sendStatus(reply, formatOf(request.headers['content-type']), status, status >= 500 ? GrpcCode.INTERNAL : GrpcCode.INVALID_ARGUMENT, error.message, status >= 500 ? R.INTERNAL : R.DECODE);
  });

  app.addHook('onClose', async () => {
    if (options.ingest === undefined) await ingest.close();
  });

  /** Every refusal goes through here: answered as writeStatus does, and counted. */
  function sendStatus(
    reply: FastifyReply,
    format: BodyFormat | undefined,
    status: number,
    code: number,
    message: string,
    reason: ReceiverErrorCode,
  ): FastifyReply {
    options.refusals?.record({ transport: 'HTTP', status: String(status), reason, message, client: clientOf(reply.request.socket) });
    return writeStatus(reply, format, status, code, message, reason);
  }

  async function handleExport(signal: Signal, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const format = formatOf(request.headers['content-type']);
    if (token !== undefined && !authorized(request.headers.authorization, token)) {
      void reply.header('www-authenticate', 'Bearer');
      return sendStatus(reply, format, 401, GrpcCode.UNAUTHENTICATED, 'missing or wrong bearer token: send Authorization: Bearer <token>', R.UNAUTHENTICATED);
    }
    if (format === undefined) {
      return sendStatus(
        reply,
        undefined,
        415,
        GrpcCode.INVALID_ARGUMENT,
        `unsupported Content-Type '${request.headers['content-type'] ?? ''}'; use application/x-protobuf or application/json`,
        R.MEDIA_TYPE,
      );
    }
    const encodingHeader = request.headers['content-encoding'];
    const encoding = supportedEncoding(Array.isArray(encodingHeader) ? encodingHeader.join(',') : encodingHeader);
    if (encoding === undefined) {
      return sendStatus(reply, format, 415, GrpcCode.INVALID_ARGUMENT, `unsupported Content-Encoding '${String(encodingHeader)}'; use one of ${CONTENT_ENCODINGS.join(', ')} or none`, R.MEDIA_TYPE);
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      return sendStatus(reply, format, 413, GrpcCode.INVALID_ARGUMENT, `request body of ${declared} bytes is larger than the limit of ${maxBodyBytes} bytes`, R.TOO_LARGE);
    }
    // Reserve the declared size before reading; chunked and compressed bodies grow the
    // reservation as they decode (read-body.ts), so bytes in flight stay within the budget.
    const budget = { reserved: Number.isFinite(declared) ? declared : 0, grow: (n: number, own: number) => ingest.grow(n, own) };
    if (!ingest.reserve(budget.reserved)) {
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return sendStatus(reply, format, 503, GrpcCode.UNAVAILABLE, 'too many request bytes in flight; retry later', R.BUSY);
    }
    try {
      let body: Buffer;
      try {
        body = await readBody(request.raw, encoding, maxBodyBytes, budget);
      } catch (error) {
        if (!(error instanceof BodyError)) throw error;
        if (error.kind === BodyErrorKind.TOO_LARGE) {
          return sendStatus(reply, format, 413, GrpcCode.INVALID_ARGUMENT, error.message, R.TOO_LARGE);
        }
        if (error.kind === BodyErrorKind.BUSY) {
          void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
          return sendStatus(reply, format, 503, GrpcCode.UNAVAILABLE, error.message, R.BUSY);
        }
        return sendStatus(reply, format, 400, GrpcCode.INVALID_ARGUMENT, error.message, R.DECODE);
      }
      const outcome = await ingest.export(signal, format, body);
      switch (outcome.kind) {
        case 'ok':
          return send(reply, format, 200, encodeExportResponse(format, signal, outcome.rejected, outcome.message));
        case 'invalid':
          return sendStatus(reply, format, 400, GrpcCode.INVALID_ARGUMENT, outcome.message, R.DECODE);
        case 'busy':
          void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
          return sendStatus(reply, format, 429, GrpcCode.RESOURCE_EXHAUSTED, outcome.message, R.BUSY);
        case 'unavailable':
          void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
          return sendStatus(reply, format, 503, GrpcCode.UNAVAILABLE, outcome.message, R.UNAVAILABLE);
      }
    } finally {
      ingest.release(budget.reserved);
    }
  }

  return app;
}

function newIngest(options: ReceiverOptions): Ingest {
  if (options.store === undefined) throw new TypeError('buildReceiver needs a store or an ingest');
  return new Ingest(options.store, options);
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false;
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function clientOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  const address = socket.remoteAddress ?? 'unknown';
  return `${address.includes(':') ? `[${address}]` : address}:${socket.remotePort ?? '?'}`;
}

/** A google.rpc.Status body in the request's encoding (JSON when the request's type is unknown). */
function writeStatus(
  reply: FastifyReply,
  format: BodyFormat | undefined,
  status: number,
  code: number,
  message: string,
  reason: ReceiverErrorCode,
): FastifyReply {
  const f = format ?? 'json';
  return send(reply, f, status, encodeStatus(f, code, message, reason));
}

function send(reply: FastifyReply, format: BodyFormat, status: number, body: Buffer | string): FastifyReply {
  // A Buffer, so fastify sends the Content-Type exactly as given (no added charset parameter).
  return reply
    .code(status)
    .header('content-type', CONTENT_TYPES[format])
    .send(typeof body === 'string' ? Buffer.from(body) : body);
}
