// Helpers for receiver tests: produce spans with the real OpenTelemetry JS SDK (every attribute
// type the SDK can carry, events, links, status, a parent, explicit nanosecond times), and read
// back what the receiver stored, with 64-bit integers exact.
import { context, SpanKind, SpanStatusCode, trace, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import Database from 'better-sqlite3';

export function hrToNanos(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/**
 * Send a small trace through `exporter`: a CLIENT root and a SERVER child with every SDK attribute
 * type, an event, a link and an error status. Returns the SDK's own view of the spans (the oracle).
 */
export async function sendSdkTrace(exporter: SpanExporter, serviceName: string): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName, 'firstspan.run.id': `run-${serviceName}` }),
    spanProcessors: [new SimpleSpanProcessor(exporter), new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('receiver-test', '1.2.3');
  // Explicit times with non-zero nanoseconds: a lossy double conversion would round them.
  const base = 1_764_000_000;
  const root = tracer.startSpan(
    'GET /product/{id}',
    {
      kind: SpanKind.CLIENT,
      startTime: [base, 123_456_789],
      attributes: {
        'str': 'héllo ✓',
        'bool': true,
        'int': 42,
        'neg.int': -7,
        'big.int': 2 ** 60, // > 2^53: must arrive as the exact int64 1152921504606846976
        'double': 3.25,
        'str.array': ['a', 'b'],
        'int.array': [1, 2, 3],
        'bool.array': [true, false],
        'double.array': [0.5, 1.5],
      },
    },
  );
  root.addEvent('retry', { attempt: 2 }, [base, 223_456_789]);
  const rootCtx = trace.setSpan(context.active(), root);
  const child = tracer.startSpan(
    'GET /product/7',
    {
      kind: SpanKind.SERVER,
      startTime: [base, 200_000_001],
      links: [{ context: root.spanContext(), attributes: { 'link.kind': 'follows' } }],
    },
    rootCtx,
  );
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream timeout' });
  child.end([base, 900_000_999]);
  root.end([base + 1, 5]);
  await provider.forceFlush();
  // InMemorySpanExporter forgets its spans on shutdown: take them first.
  const spans = [...memory.getFinishedSpans()];
  await provider.shutdown();
  return spans;
}

export interface StoredSpan {
  trace_id: Buffer;
  span_id: Buffer;
  parent_span_id: Buffer | null;
  service_name: string;
  run_id: string | null;
  name: string;
  kind: number;
  start_ns: bigint;
  end_ns: bigint;
  status_code: number;
  status_message: string;
  flags: number;
  scope_name: string;
  scope_version: string;
  attributes: string;
  events: string | null;
  links: string | null;
}

/** Every stored span, with start_ns/end_ns as exact bigint. */
export function readStoredSpans(dbPath: string): StoredSpan[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db.prepare('SELECT * FROM spans ORDER BY start_ns').safeIntegers(true).all() as Record<string, unknown>[];
    // Only the timestamps need 64 bits; small integer columns back to number for easy comparison.
    return rows.map((r) => ({
      ...r,
      kind: Number(r.kind),
      status_code: Number(r.status_code),
      flags: Number(r.flags),
    })) as unknown as StoredSpan[];
  } finally {
    db.close();
  }
}

export function countRows(dbPath: string, table = 'spans'): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}
