// OTLP logs, which SDKs (Locust's OpenTelemetry integration among them) export by default: the
// receiver accepts them on POST /v1/logs and LogsService/Export and answers a partial success that
// rejects every record with a message saying logs are not stored — never a 404/UNIMPLEMENTED that
// makes the exporter print errors, never a row in the database. Requests are encoded by protobufjs
// from .proto text written here, independent of the receiver's own reader.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { JSON_TYPE, post, PROTO } from './helpers/receiver-http.ts';
import { spanCount } from './helpers/stored-spans.ts';

const LOGS_PROTO = `
syntax = "proto3";
message AnyValue { oneof value { string string_value = 1; int64 int_value = 3; } }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message Scope { string name = 1; string version = 2; }
message LogRecord {
  fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; int32 severity_number = 2;
  string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; bytes trace_id = 9; bytes span_id = 10;
}
message ScopeLogs { Scope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message PartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }
message ExportLogsServiceResponse { PartialSuccess partial_success = 1; }
`;
const root = protobuf.parse(LOGS_PROTO, { keepCase: false }).root;
const Request = root.lookupType('ExportLogsServiceRequest');
const Response = root.lookupType('ExportLogsServiceResponse');
const LOGS_GRPC = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

function record(i: number): Record<string, unknown> {
  return {
    timeUnixNano: '1764000000000000123',
    severityNumber: 9,
    severityText: 'INFO',
    body: { stringValue: `GET /product/${i} 200` },
    attributes: [{ key: 'code.lineno', value: { intValue: 42 } }],
    traceId: Buffer.alloc(16, 1),
    spanId: Buffer.alloc(8, 2),
  };
}

/** A request with `perScope` records in each of two scopes, under two resources (4 × perScope). */
function logsRequest(perScope: number): Record<string, unknown> {
  const scope = (name: string) => ({ scope: { name }, logRecords: Array.from({ length: perScope }, (_, i) => record(i)) });
  const resource = (service: string) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeLogs: [scope('locust'), scope('urllib3')],
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  });
  return { resourceLogs: [resource('locust'), resource('shop')] };
}

function encode(message: Record<string, unknown>): Buffer {
  return Buffer.from(Request.encode(Request.fromObject(message)).finish());
}

function partial(body: Buffer): { rejectedLogRecords?: string; errorMessage?: string } {
  const decoded = Response.toObject(Response.decode(body), { longs: String }) as {
    partialSuccess?: { rejectedLogRecords?: string; errorMessage?: string };
  };
  return decoded.partialSuccess ?? {};
}

let dir: string;
let receiver: RunningReceiver;
const db = (): string => join(dir, 'logs.db');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-logs-'));
  receiver = await startReceiver({ db: db(), port: 0, grpcPort: 0 });
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('OTLP logs: accepted, counted, not stored', () => {
  it('POST /v1/logs (protobuf): 200 with rejectedLogRecords = every record and a message saying why', async () => {
    const res = await post(receiver.url, '/v1/logs', encode(logsRequest(3)), PROTO);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    const p = partial(res.body);
    expect(p.rejectedLogRecords).toBe('12');
    expect(p.errorMessage).toMatch(/log records are not stored/);
    expect(spanCount(db())).toBe(0);
    expect(receiver.ingest.counters.logRecordsNotStored).toBeGreaterThanOrEqual(12);
  });

  it('POST /v1/logs (JSON, snake_case too): same partial success in JSON', async () => {
    const json = JSON.stringify({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'a' } }, {}] }, { log_records: [{}] }] }],
      resource_logs: [],
    });
    const res = await post(receiver.url, '/v1/logs', json, JSON_TYPE);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = JSON.parse(res.body.toString()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedLogRecords).toBe('3');
    expect(body.partialSuccess.errorMessage).toMatch(/traces and metrics only/);
  });

  it('an empty logs request gets an empty success', async () => {
    const res = await post(receiver.url, '/v1/logs', Buffer.alloc(0), PROTO);
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
  });

  it('malformed logs are a 400 like any undecodable request', async () => {
    const truncated = encode(logsRequest(2)).subarray(0, 40);
    const res = await post(receiver.url, '/v1/logs', truncated, PROTO);
    expect(res.status).toBe(400);
    const bad = await post(receiver.url, '/v1/logs', '{"resourceLogs": {}}', JSON_TYPE);
    expect(bad.status).toBe(400);
    expect(bad.body.toString()).toMatch(/resourceLogs must be an array/);
  });

  it('GET /v1/logs is 405, like the other paths', async () => {
    const res = await post(receiver.url, '/v1/logs', '', JSON_TYPE, 'GET');
    expect(res.status).toBe(405);
  });

  it('gRPC LogsService/Export: OK with the same partial success', async () => {
    const client = new grpc.Client(receiver.grpcUrl!, grpc.credentials.createInsecure());
    const identity = (b: Buffer): Buffer => b;
    const response = await new Promise<Buffer>((resolve, reject) => {
      client.makeUnaryRequest(LOGS_GRPC, identity, identity, encode(logsRequest(5)), new grpc.Metadata(), { deadline: Date.now() + 20_000 }, (error, r) => {
        client.close();
        if (error) reject(error);
        else resolve(r!);
      });
    });
    const p = partial(response);
    expect(p.rejectedLogRecords).toBe('20');
    expect(p.errorMessage).toMatch(/not stored/);
    expect(spanCount(db())).toBe(0);
  });
});
