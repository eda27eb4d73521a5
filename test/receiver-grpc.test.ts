// The OTLP/gRPC listener over real sockets with a real grpc-js client: success, partial success,
// metrics, compression, and each failure mapped to the gRPC code the OTLP spec names.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { metricsOracleRequest } from './helpers/receiver-fixtures.ts';
import { oracleSpan, tracesProtobuf } from './helpers/receiver-http.ts';
import { decodeWith, encodeWith, Oracle } from './helpers/receiver-oracle.ts';
import { metricPointsOfService } from './helpers/stored-metrics.ts';
import { spanCountNamed } from './helpers/stored-spans.ts';

const TRACE = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const METRICS = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
const identity = (b: Buffer): Buffer => b;

let dir: string;
let receiver: RunningReceiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-grpc-'));
  receiver = await startReceiver({ db: join(dir, 'g.db'), port: 0, grpcPort: 0, maxBodyBytes: 64 * 1024 });
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

interface CallResult {
  error: grpc.ServiceError | null;
  response?: Buffer;
}

function call(address: string, path: string, body: Buffer, metadata = new grpc.Metadata(), options: grpc.ChannelOptions = {}): Promise<CallResult> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), options);
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, body, metadata, { deadline: Date.now() + 20_000 }, (error, response) => {
      client.close();
      resolve({ error: error ?? null, response });
    });
  });
}

/** The google.rpc.Status of a failed call, from its grpc-status-details-bin trailer, decoded by protobufjs. */
function statusDetails(error: grpc.ServiceError | null): { code?: number; message?: string; reason?: string; domain?: string } {
  const raw = error?.metadata.get('grpc-status-details-bin')[0];
  expect(raw, 'the failure carries a google.rpc.Status trailer').toBeInstanceOf(Buffer);
  const s = Oracle.Status.toObject(Oracle.Status.decode(raw as Buffer)) as { code?: number; message?: string; details?: { typeUrl: string; value: Uint8Array }[] };
  expect(s.details?.[0]?.typeUrl).toBe('type.googleapis.com/google.rpc.ErrorInfo');
  const info = decodeWith(Oracle.ErrorInfo, s.details![0]!.value) as { reason: string; domain: string };
  return { code: s.code, message: s.message, reason: info.reason, domain: info.domain };
}

const spanRows = (rx: RunningReceiver, name: string): number => spanCountNamed(rx.store.path, name);

describe('OTLP/gRPC', () => {
  it('stores spans from TraceService/Export and answers an empty response', async () => {
    const result = await call(receiver.grpcUrl!, TRACE, tracesProtobuf([oracleSpan({ name: 'grpc-ok' })]));
    expect(result.error).toBeNull();
    expect(decodeWith(Oracle.TraceResponse, result.response!)).toEqual({});
    expect(spanRows(receiver, 'grpc-ok')).toBe(1);
  });

  it('decodes gzip-compressed messages', async () => {
    const result = await call(receiver.grpcUrl!, TRACE, tracesProtobuf([oracleSpan({ name: 'grpc-gzip' })]), undefined, {
      'grpc.default_compression_algorithm': 2, // gzip
    });
    expect(result.error).toBeNull();
    expect(spanRows(receiver, 'grpc-gzip')).toBe(1);
  });

  it('reports invalid spans through partial success', async () => {
    const body = tracesProtobuf([oracleSpan({ name: 'grpc-good' }), oracleSpan({ spanId: Buffer.alloc(3, 1) })]);
    const result = await call(receiver.grpcUrl!, TRACE, body);
    expect(result.error).toBeNull();
    const response = decodeWith(Oracle.TraceResponse, result.response!) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(response.partialSuccess.rejectedSpans).toBe('1');
    expect(response.partialSuccess.errorMessage).toMatch(/span id must be 8 bytes, got 3/);
    expect(spanRows(receiver, 'grpc-good')).toBe(1);
  });

  it('stores metrics from MetricsService/Export', async () => {
    const result = await call(receiver.grpcUrl!, METRICS, encodeWith(Oracle.MetricsRequest, metricsOracleRequest()));
    expect(result.error).toBeNull();
    expect(metricPointsOfService(receiver.store.path, 'metrics-svc')).toHaveLength(5);
  });

  it('INVALID_ARGUMENT for an undecodable message', async () => {
    const result = await call(receiver.grpcUrl!, TRACE, Buffer.from([0x0a, 0x7f, 0x01]));
    expect(result.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(statusDetails(result.error)).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, reason: 'FS_ERR_OTLP_DECODE', domain: 'firstspan' });
    expect(result.error?.details).toMatch(/cannot decode the OTLP protobuf traces request/);
  });

  it('RESOURCE_EXHAUSTED for a message over the size limit', async () => {
    const big = tracesProtobuf(Array.from({ length: 400 }, () => oracleSpan({ name: 'y'.repeat(200) })));
    expect(big.length).toBeGreaterThan(64 * 1024);
    const result = await call(receiver.grpcUrl!, TRACE, big);
    expect(result.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('UNIMPLEMENTED for a service it does not serve (profiles)', async () => {
    const result = await call(receiver.grpcUrl!, '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export', Buffer.alloc(0));
    expect(result.error?.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('UNAUTHENTICATED without the bearer token, logged once with the client; OK with it, not logged', async () => {
    const lines: string[] = [];
    const rx = await startReceiver({ db: join(dir, 'token.db'), port: 0, grpcPort: 0, token: 'tok', logRefusal: (l) => lines.push(l) });
    try {
      const body = tracesProtobuf([oracleSpan({ name: 'grpc-token' })]);
      const none = (await call(rx.grpcUrl!, TRACE, body)).error;
      expect(none?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(none?.details).toBe('missing or wrong bearer token: send metadata authorization: Bearer <token>');
      expect(statusDetails(none)).toMatchObject({ code: grpc.status.UNAUTHENTICATED, reason: 'FS_ERR_OTLP_UNAUTHENTICATED', domain: 'firstspan' });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^firstspan receiver: refused a request from 127\.0\.0\.1:\d+ with gRPC UNAUTHENTICATED: missing or wrong bearer token: send metadata authorization: Bearer <token> \(further gRPC UNAUTHENTICATED refusals are logged at most once every 10 s\)$/);
      const wrong = new grpc.Metadata();
      wrong.set('authorization', 'Bearer nope');
      expect((await call(rx.grpcUrl!, TRACE, body, wrong)).error?.code).toBe(grpc.status.UNAUTHENTICATED);
      const right = new grpc.Metadata();
      right.set('authorization', 'Bearer tok');
      expect((await call(rx.grpcUrl!, TRACE, body, right)).error).toBeNull();
      expect(spanRows(rx, 'grpc-token')).toBe(1);
      // Two refusals counted (the second within the interval, not logged); the success is neither.
      expect(lines).toHaveLength(1);
      expect(rx.refusals.summary()).toBe('2 refused requests (2 × gRPC UNAUTHENTICATED)');
    } finally {
      await rx.close();
    }
  });

  it('UNAVAILABLE when the write queue is full, and the queued request still commits', async () => {
    const rx = await startReceiver({ db: join(dir, 'busy.db'), port: 0, grpcPort: 0, maxPendingItems: 4 });
    try {
      rx.ingest.queue.pause();
      const first = call(rx.grpcUrl!, TRACE, tracesProtobuf(Array.from({ length: 3 }, () => oracleSpan({ name: 'grpc-first' }))));
      while (rx.ingest.queue.stats().pendingItems < 3) await new Promise((r) => setTimeout(r, 5));
      const second = await call(rx.grpcUrl!, TRACE, tracesProtobuf(Array.from({ length: 3 }, () => oracleSpan())));
      expect(second.error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(second.error?.details).toMatch(/write queue is full/);
      // The same code and status as OTLP/HTTP's 429 body (model/errors.ts, one row for busy).
      expect(statusDetails(second.error)).toMatchObject({ code: grpc.status.UNAVAILABLE, reason: 'FS_ERR_OTLP_BUSY' });
      rx.ingest.queue.resume();
      expect((await first).error).toBeNull();
      expect(spanRows(rx, 'grpc-first')).toBe(3);
    } finally {
      rx.ingest.queue.resume();
      await rx.close();
    }
  });

  it('UNAVAILABLE when too many request bytes are in flight', async () => {
    const rx = await startReceiver({ db: join(dir, 'inflight.db'), port: 0, grpcPort: 0, maxInflightBytes: 500 });
    try {
      rx.ingest.queue.pause();
      const body = tracesProtobuf(Array.from({ length: 10 }, () => oracleSpan()));
      expect(body.length).toBeGreaterThan(500);
      const first = call(rx.grpcUrl!, TRACE, body);
      while (rx.ingest.queue.stats().pendingRequests < 1) await new Promise((r) => setTimeout(r, 5));
      const second = await call(rx.grpcUrl!, TRACE, body);
      expect(second.error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(statusDetails(second.error).reason).toBe('FS_ERR_OTLP_BUSY');
      rx.ingest.queue.resume();
      expect((await first).error).toBeNull();
    } finally {
      rx.ingest.queue.resume();
      await rx.close();
    }
  });
});
