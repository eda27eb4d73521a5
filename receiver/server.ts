// The OTLP/HTTP listener: fastify routes for POST /v1/traces and /v1/metrics (and /v1/logs, answered
// with a partial success that stores nothing: decode-logs.ts), each failure answered
// as opentelemetry-proto docs/specification.md ("OTLP/HTTP Response") says, with a google.rpc.Status
// body in the request's encoding. buildReceiver() never listens (fastify's testing guide);
// start.ts does. Order of checks per request: path (404) → method (405) → bearer token (401) →
// Content-Type (415) → Content-Encoding (415) → declared size (413) → room to read (429) → size
// and room while reading and decompressing (413 / 429) → decoding (400) → room in the write queue
// (429) → commit → 200. Each failure's status comes from its row in model/errors.ts.
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ERRORS, errorMessage, type OtlpErrorCode } from '../model/errors.ts';
import type { SpanStore } from '../model/store.ts';
import { DEFAULT_MAX_BODY_BYTES, Ingest, RETRY_AFTER_SECONDS, type IngestOptions } from './ingest.ts';
import { CONTENT_ENCODINGS } from './decoders/index.ts';
import { BodyError, readBody, supportedEncoding } from './read-body.ts';
import type { RefusalLog } from './refusals.ts';
import { CONTENT_TYPES, encodeExportResponse, encodeStatus, type BodyFormat, type Signal } from './responses.ts';

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
    // Errors fastify meets before routing (a path that is not valid percent-encoding, a parameter
    // too long): answered like every other refusal, not with fastify's own JSON shape.
    frameworkErrors: (error, request, reply) => answerError(error, request, reply),
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
        return refuse(reply, formatOf(request.headers['content-type']), 'FS_ERR_OTLP_METHOD', errorMessage('FS_ERR_OTLP_METHOD', { method: request.method, path: PATHS[signal] }));
      },
    });
  }

  app.setNotFoundHandler((request, reply) => notFound(request, reply));
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => answerError(error, request, reply));

  function notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    return refuse(
      reply,
      formatOf(request.headers['content-type']),
      'FS_ERR_OTLP_NOT_FOUND',
      errorMessage('FS_ERR_OTLP_NOT_FOUND', {
        path: request.url.split('?', 1)[0]!,
        paths: `${PATHS.traces} and ${PATHS.metrics} (and ${PATHS.logs}, not stored)`,
      }),
    );
  }

  function answerError(error: Error & { statusCode?: number; code?: string }, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    // Not a path this receiver has, whatever its encoding: the same answer as any unknown path.
    if (error.code === 'FST_ERR_BAD_URL') return notFound(request, reply);
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'receiver error');
    return refuse(reply, formatOf(request.headers['content-type']), status >= 500 ? 'FS_ERR_OTLP_INTERNAL' : 'FS_ERR_OTLP_DECODE', error.message);
  }

  app.addHook('onClose', async () => {
    if (options.ingest === undefined) await ingest.close();
  });

  /** Every refusal goes through here: answered from its registry row, and counted (and logged). */
  function refuse(reply: FastifyReply, format: BodyFormat | undefined, code: OtlpErrorCode, message: string): FastifyReply {
    options.refusals?.record({ transport: 'HTTP', status: String(ERRORS[code].http), reason: code, message, client: clientOf(reply.request.socket) });
    return sendError(reply, format, code, message);
  }

  async function handleExport(signal: Signal, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const format = formatOf(request.headers['content-type']);
    if (token !== undefined && !authorized(request.headers.authorization, token)) {
      void reply.header('www-authenticate', 'Bearer');
      return refuse(reply, format, 'FS_ERR_OTLP_UNAUTHENTICATED', errorMessage('FS_ERR_OTLP_UNAUTHENTICATED', { header: 'Authorization' }));
    }
    if (format === undefined) {
      return refuse(
        reply,
        undefined,
        'FS_ERR_OTLP_MEDIA_TYPE',
        errorMessage('FS_ERR_OTLP_MEDIA_TYPE', {
          header: 'Content-Type',
          value: request.headers['content-type'] ?? '',
          supported: 'application/x-protobuf or application/json',
        }),
      );
    }
    const encodingHeader = request.headers['content-encoding'];
    const encoding = supportedEncoding(Array.isArray(encodingHeader) ? encodingHeader.join(',') : encodingHeader);
    if (encoding === undefined) {
      return refuse(
        reply,
        format,
        'FS_ERR_OTLP_MEDIA_TYPE',
        errorMessage('FS_ERR_OTLP_MEDIA_TYPE', { header: 'Content-Encoding', value: String(encodingHeader), supported: `one of ${CONTENT_ENCODINGS.join(', ')} or none` }),
      );
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      return refuse(reply, format, 'FS_ERR_OTLP_TOO_LARGE', errorMessage('FS_ERR_OTLP_TOO_LARGE', { size: declared, limit: maxBodyBytes }));
    }
    // Reserve the declared size before reading; chunked and compressed bodies grow the
    // reservation as they decode (read-body.ts), so bytes in flight stay within the budget.
    const budget = { reserved: Number.isFinite(declared) ? declared : 0, grow: (n: number, own: number) => ingest.grow(n, own) };
    if (!ingest.reserve(budget.reserved)) {
      return refuse(reply, format, 'FS_ERR_OTLP_BUSY', errorMessage('FS_ERR_OTLP_BUSY', { what: 'too many request bytes in flight' }));
    }
    try {
      let body: Buffer;
      try {
        body = await readBody(request.raw, encoding, maxBodyBytes, budget);
      } catch (error) {
        if (!(error instanceof BodyError)) throw error;
        return refuse(reply, format, error.code, error.message);
      }
      const outcome = await ingest.export(signal, format, body);
      switch (outcome.kind) {
        case 'ok':
          return send(reply, format, 200, encodeExportResponse(format, signal, outcome.rejected, outcome.message));
        case 'invalid':
          return refuse(reply, format, 'FS_ERR_OTLP_DECODE', outcome.message);
        case 'busy':
          return refuse(reply, format, 'FS_ERR_OTLP_BUSY', outcome.message);
        case 'unavailable':
          return refuse(reply, format, 'FS_ERR_OTLP_UNAVAILABLE', outcome.message);
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

/** Answers a client may retry: with Retry-After (opentelemetry-proto docs/specification.md, OTLP/HTTP Throttling). */
const RETRYABLE: ReadonlySet<OtlpErrorCode> = new Set(['FS_ERR_OTLP_BUSY', 'FS_ERR_OTLP_UNAVAILABLE']);

/**
 * The registered HTTP status of `code` with a google.rpc.Status body in the request's encoding
 * (JSON when the request's type is unknown).
 */
function sendError(reply: FastifyReply, format: BodyFormat | undefined, code: OtlpErrorCode, message: string): FastifyReply {
  const f = format ?? 'json';
  if (RETRYABLE.has(code)) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  return send(reply, f, ERRORS[code].http, encodeStatus(f, code, message));
}

function send(reply: FastifyReply, format: BodyFormat, status: number, body: Buffer | string): FastifyReply {
  // A Buffer, so fastify sends the Content-Type exactly as given (no added charset parameter).
  return reply
    .code(status)
    .header('content-type', CONTENT_TYPES[format])
    .send(typeof body === 'string' ? Buffer.from(body) : body);
}
