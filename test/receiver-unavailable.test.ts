// A receiver whose database cannot be written answers every export as unavailable, over real HTTP
// and a real gRPC client: 503 (gRPC UNAVAILABLE) with a google.rpc.Status naming the reason and
// that the sender should retry, Retry-After over HTTP, and each refusal counted. Made real: the
// database file is replaced by a directory before the writer thread opens its connection.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanStore } from '../model/store.ts';
import { buildGrpcReceiver, listenGrpc, type GrpcListener } from '../receiver/grpc-server.ts';
import { Ingest } from '../receiver/ingest.ts';
import { RefusalLog } from '../receiver/refusals.ts';
import { buildReceiver } from '../receiver/server.ts';
import { oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';
import { decodeWith, Oracle } from './helpers/receiver-oracle.ts';

let dir: string;
let store: SpanStore;
let ingest: Ingest;
let app: FastifyInstance;
let url: string;
let grpcServer: grpc.Server;
let grpcListener: GrpcListener;
const logged: string[] = [];
const refusals = new RefusalLog({ log: (line) => logged.push(line) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-unavailable-'));
  const path = join(dir, 'gone.db');
  store = SpanStore.open(path);
  rmSync(path);
  mkdirSync(path);
  ingest = new Ingest(store);
  app = buildReceiver({ ingest, refusals });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  grpcServer = buildGrpcReceiver({ ingest, maxBodyBytes: 1024 * 1024, refusals });
  grpcListener = await listenGrpc(grpcServer, '127.0.0.1', 0);
});

afterAll(async () => {
  await app.close();
  await grpcListener.close(0);
  await ingest.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** How many refusals of `kind` were counted so far. */
const counted = (kind: string): number => refusals.counts().find((c) => c.kind === kind)?.count ?? 0;

describe('a receiver that cannot write its database', () => {
  it('answers OTLP/HTTP with 503, the reason, and when to retry; counted and logged', async () => {
    const before = counted('HTTP 503 FS_ERR_OTLP_UNAVAILABLE');
    const res = await post(url, '/v1/traces', tracesProtobuf([oracleSpan()]), { ...PROTO, 'content-type': 'application/protobuf' });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    const status = Oracle.Status.toObject(Oracle.Status.decode(res.body)) as { code: number; message: string; details: Array<{ typeUrl: string; value: Uint8Array }> };
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.message).toMatch(/^could not commit to the database: the database writer thread failed: .*cannot open database.*; retry later$/);
    expect((decodeWith(Oracle.ErrorInfo, status.details[0]!.value) as { reason: string }).reason).toBe('FS_ERR_OTLP_UNAVAILABLE');
    expect(counted('HTTP 503 FS_ERR_OTLP_UNAVAILABLE')).toBe(before + 1);
    expect(logged.find((l) => l.includes('with HTTP 503'))).toMatch(/^firstspan receiver: refused a request from 127\.0\.0\.1:\d+ with HTTP 503 FS_ERR_OTLP_UNAVAILABLE: could not commit to the database: /);
  });

  it('answers OTLP/gRPC with UNAVAILABLE and the same reason; counted (by gRPC status)', async () => {
    const before = counted('gRPC UNAVAILABLE');
    const client = new grpc.Client(`127.0.0.1:${grpcListener.port}`, grpc.credentials.createInsecure());
    const identity = (b: Buffer): Buffer => b;
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', identity, identity, tracesProtobuf([oracleSpan()]), new grpc.Metadata(), { deadline: Date.now() + 20_000 }, (e) => {
        client.close();
        resolve(e ?? null);
      });
    });
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(error?.details).toMatch(/^could not commit to the database: the database writer thread failed: .*; retry later$/);
    const raw = error?.metadata.get('grpc-status-details-bin')[0] as Buffer;
    const status = Oracle.Status.toObject(Oracle.Status.decode(raw)) as { details: Array<{ value: Uint8Array }> };
    expect((decodeWith(Oracle.ErrorInfo, status.details[0]!.value) as { reason: string }).reason).toBe('FS_ERR_OTLP_UNAVAILABLE');
    expect(counted('gRPC UNAVAILABLE')).toBe(before + 1);
  });
});

describe('building a receiver', () => {
  it('needs a store or an ingest', () => {
    expect(() => buildReceiver({})).toThrow(new TypeError('buildReceiver needs a store or an ingest'));
  });
});
