// Real HTTP requests to a running receiver (undici), and builders of OTLP requests through the
// protobufjs oracle, for the receiver's error-path, fuzz and metrics tests.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { encodeWith, Oracle } from './receiver-oracle.ts';

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });

export async function post(
  baseUrl: string,
  path: string,
  body: Buffer | string | Readable,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<HttpResult> {
  const res = await request(`${baseUrl}${path}`, {
    method: method as 'POST',
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
    headers,
    dispatcher: agent,
  });
  const buf = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body: buf };
}

export const PROTO = { 'content-type': 'application/x-protobuf' };
export const JSON_TYPE = { 'content-type': 'application/json' };

let counter = 0;

/** A fresh random valid span in protobufjs-object form (camelCase, ids as Buffers, times as strings). */
export function oracleSpan(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  return {
    traceId: randomBytes(16),
    spanId: randomBytes(8),
    name: `span-${counter}`,
    kind: 2,
    startTimeUnixNano: '1764000000123456789',
    endTimeUnixNano: '1764000000223456789',
    attributes: [{ key: 'http.request.method', value: { stringValue: 'GET' } }],
    ...overrides,
  };
}

/** An ExportTraceServiceRequest (protobuf bytes) with the given spans under one resource. */
export function tracesProtobuf(spans: Record<string, unknown>[], service = 'oracle-svc'): Buffer {
  return encodeWith(Oracle.TraceRequest, {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 'oracle' }, spans }],
      },
    ],
  });
}
