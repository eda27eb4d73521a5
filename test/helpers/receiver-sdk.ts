// Helpers for receiver tests: produce spans with the real OpenTelemetry JS SDK (every attribute
// type the SDK can carry, events, links, status, a parent, explicit nanosecond times). What the
// receiver stored is read back by stored-spans.ts.
import { context, SpanKind, SpanStatusCode, trace, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

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
