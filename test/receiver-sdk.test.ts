// Spans sent by the OpenTelemetry JS SDK's own exporters (OTLP/HTTP protobuf, OTLP/HTTP JSON,
// OTLP/gRPC) arrive in SQLite exactly as the SDK recorded them: ids, parent, nanosecond times,
// attributes of every type the SDK carries, events, links, status and flags.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttributeValue, Attributes as SdkAttributes } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { hrToNanos, sendSdkTrace } from './helpers/receiver-sdk.ts';
import { readStoredSpans } from './helpers/stored-spans.ts';

let dir: string;
let dbPath: string;
let receiver: RunningReceiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-sdk-'));
  dbPath = join(dir, 'spans.db');
  receiver = await startReceiver({ db: dbPath, port: 0, grpcPort: 0 });
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * What the SDK's attribute should look like as an OTLP/JSON AnyValue. An integer above 2^53 is
 * exact on the protobuf wire (2^60 → 1152921504606846976), but the SDK's JSON exporter writes the
 * JS number's shortest text (1152921504606847000): the receiver must keep exactly the digits that
 * were sent — a pass through a double would turn them back into ...976.
 */
function expectedAnyValue(v: AttributeValue | undefined, json: boolean): unknown {
  if (Array.isArray(v)) return { arrayValue: { values: v.map((x) => expectedAnyValue(x as AttributeValue, json)) } };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return { doubleValue: v };
    return { intValue: json ? JSON.stringify(v) : BigInt(v).toString() };
  }
  return {};
}

function expectedAttributes(attrs: SdkAttributes, json: boolean): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, expectedAnyValue(v, json)]));
}

function checkRoundTrip(sdkSpans: ReadableSpan[], service: string, json = false): void {
  const rows = readStoredSpans(dbPath).filter((r) => r.service_name === service);
  expect(rows).toHaveLength(sdkSpans.length);
  for (const s of sdkSpans) {
    const ctx = s.spanContext();
    const row = rows.find((r) => r.span_id.toString('hex') === ctx.spanId);
    expect(row, `span ${s.name} stored`).toBeDefined();
    if (row === undefined) continue;
    expect(row.trace_id.toString('hex')).toBe(ctx.traceId);
    expect(row.parent_span_id?.toString('hex') ?? null).toBe(s.parentSpanContext?.spanId ?? null);
    expect(row.name).toBe(s.name);
    expect(row.kind).toBe(s.kind + 1); // the API's SpanKind starts at INTERNAL = 0, OTLP's at UNSPECIFIED = 0
    expect(row.start_ns).toBe(hrToNanos(s.startTime));
    expect(row.end_ns).toBe(hrToNanos(s.endTime));
    expect(row.status_code).toBe(s.status.code);
    expect(row.status_message).toBe(s.status.message ?? '');
    expect(row.flags & 0xff).toBe(ctx.traceFlags);
    expect(row.flags & 0x100).toBe(0x100); // the exporter says whether the parent was remote
    expect(row.scope_name).toBe('receiver-test');
    expect(row.scope_version).toBe('1.2.3');
    expect(row.run_id).toBe(`run-${service}`);
    expect(JSON.parse(row.attributes)).toEqual(expectedAttributes(s.attributes, json));
    const events = s.events.map((e) => ({
      timeUnixNano: hrToNanos(e.time).toString(),
      name: e.name,
      attributes: expectedAttributes(e.attributes ?? {}, json),
      droppedAttributesCount: 0,
    }));
    expect(row.events === null ? [] : JSON.parse(row.events)).toEqual(events);
    const links = s.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      traceState: '',
      attributes: expectedAttributes(l.attributes ?? {}, json),
      droppedAttributesCount: 0,
      flags: expect.any(Number),
    }));
    expect(row.links === null ? [] : JSON.parse(row.links)).toEqual(links);
  }
}

const exporters: [string, () => SpanExporter][] = [
  ['http/protobuf', () => new ProtoTraceExporter({ url: `${receiver.url}/v1/traces` })],
  ['http/json', () => new JsonTraceExporter({ url: `${receiver.url}/v1/traces` })],
  ['http/protobuf gzip', () => new ProtoTraceExporter({ url: `${receiver.url}/v1/traces`, compression: 'gzip' as never })],
  ['http/json gzip', () => new JsonTraceExporter({ url: `${receiver.url}/v1/traces`, compression: 'gzip' as never })],
  ['grpc', () => new GrpcTraceExporter({ url: `http://${receiver.grpcUrl}` })],
];

describe('spans from the OpenTelemetry JS SDK exporters', () => {
  for (const [name, make] of exporters) {
    it(`round-trip exactly over ${name}`, async () => {
      const service = `svc-${name.replace(/\W+/g, '-')}`;
      const sdkSpans = await sendSdkTrace(make(), service);
      expect(sdkSpans).toHaveLength(2);
      checkRoundTrip(sdkSpans, service, name.includes('json'));
      if (name.includes('json')) {
        const row = readStoredSpans(dbPath).find((r) => r.service_name === service && r.parent_span_id === null);
        expect(JSON.parse(row!.attributes)['big.int']).toEqual({ intValue: '1152921504606847000' });
      }
    });
  }

  it('stores a re-sent span once', async () => {
    const exporter = new ProtoTraceExporter({ url: `${receiver.url}/v1/traces` });
    const sdkSpans = await sendSdkTrace(exporter, 'svc-resend');
    // Export the very same spans again, as a client retrying after a lost response would.
    const again = new ProtoTraceExporter({ url: `${receiver.url}/v1/traces` });
    await new Promise<void>((resolve, reject) =>
      again.export(sdkSpans, (r) => (r.error ? reject(r.error) : resolve())),
    );
    await again.shutdown();
    checkRoundTrip(sdkSpans, 'svc-resend');
  });
});
