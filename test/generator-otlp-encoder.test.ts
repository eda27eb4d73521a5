// firstspan's OTLP/protobuf span encoder against the OpenTelemetry SDK's serializer: the same
// ReadableSpans (the generator's own request spans, and SDK-made spans with parents, events,
// links and trace state) encoded by both must decode to the same request, with the receiver's
// decoder and with protobufjs. Then the exporter built on it, end to end: a real `firstspan run
// --otel` into a real receiver stores every span, with either encoder, and the same attributes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, SpanKind, SpanStatusCode, trace, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Problems } from '../cli/args.ts';
import { OtlpTraceEncoder, RequestSpanBuffer } from '../generator/otlp-trace-encoder.ts';
import { encodedSpansSerializer } from '../generator/otlp-trace-exporter.ts';
import { resolveTelemetryConfig } from '../generator/telemetry-config.ts';
import { RequestSpan } from '../generator/otlp-request-span.ts';
import type { RequestOutcome } from '../generator/http-session.ts';
import { Attr } from '../model/attributes.ts';
import { decodeTracesProtobuf } from '../receiver/decode-protobuf.ts';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { runCli } from './helpers/cli.ts';
import { spansOfRun, tempDir, writeScript } from './helpers/generator-harness.ts';
import { Oracle } from './helpers/receiver-oracle.ts';

const resource = defaultResource().merge(
  resourceFromAttributes({ 'service.name': 'firstspan', 'service.version': '0.1.0', 'firstspan.run.id': 'run-1', 'deployment.environment': 'tést' }),
);
const scope = { name: 'firstspan', version: '0.1.0' };

function ctx(traceId: string, spanId: string): SpanContext {
  return { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false };
}

function outcome(over: Partial<RequestOutcome>): RequestOutcome {
  return {
    method: 'GET',
    name: '/product/{id}',
    url: 'http://127.0.0.1:8080/product/7',
    serverAddress: '127.0.0.1',
    serverPort: 8080,
    start: 1234.567891,
    end: 1240.123456,
    phases: { blocked: 0.012345, dns: 0, connect: 0.5, tls: 0, sending: 0.0301, waiting: 4.9, receiving: 0.113 },
    reused: true,
    status: 200,
    contentLength: 2,
    ...over,
  };
}

/** The generator's spans: every attribute type and optional attribute it writes. */
function generatorSpans(): ReadableSpan[] {
  return [
    new RequestSpan(ctx('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331'), 'Shopper', 'run-1', outcome({}), resource, scope),
    // A connection-opening request whose phases are whole numbers (encoded as int_value).
    new RequestSpan(ctx('ffffffffffffffffffffffffffffffff', '0000000000000001'), 'Shopper', 'run-1', outcome({ reused: false, phases: { blocked: 1, dns: 2, connect: 3, tls: 0, sending: 0, waiting: 7, receiving: 1 }, start: 0, end: 14 }), resource, scope),
    // A failed request with no response and no connection; a 500; a check that failed.
    new RequestSpan(ctx('1234567890abcdef1234567890abcdef', 'abcdef0123456789'), 'Buyer ✓', 'run-1', outcome({ method: 'POST', name: '/cart/add', reused: undefined, status: 0, errorType: 'ECONNREFUSED', failure: 'connect ECONNREFUSED 127.0.0.1:8080' }), resource, scope),
    new RequestSpan(ctx('fedcba9876543210fedcba9876543210', '1111111111111111'), 'Buyer ✓', 'run-1', outcome({ status: 500, errorType: '500', failure: 'HTTP 500' }), resource, scope),
    new RequestSpan(ctx('00000000000000000000000000000001', '2222222222222222'), 'Shopper', 'run-1', outcome({ status: 200, errorType: 'check_failed', failure: '' }), resource, scope),
    // Non-ASCII, and strings long enough to need two- and three-byte lengths.
    new RequestSpan(ctx('abababababababababababababababab', '3333333333333333'), 'Ünïcode 用户', 'run-1', outcome({ name: '/produkt/{ïd}', url: `http://127.0.0.1:8080/produkt/ü?q=${'x'.repeat(300)}` }), resource, scope),
    new RequestSpan(ctx('cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd', '4444444444444444'), 'Shopper', 'run-1', outcome({ url: `http://127.0.0.1:8080/${'long/'.repeat(5000)}` }), resource, scope),
    // Cut off by the run's stop: error status, error.type run_stopped, firstspan.request.cut_off.
    new RequestSpan(ctx('00000000000000000000000000000002', '5555555555555555'), 'Shopper', 'run-1', outcome({ status: 0, reused: true, errorType: 'run_stopped', failure: 'cut off', cutOff: true }), resource, scope),
  ];
}

/** Spans made by the SDK's own tracer: parents (local and remote), events, links, trace state. */
function sdkSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'other', 'host.cpus': 2, 'ratio': 0.25, 'on': true }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('other-scope', '9.9.9', { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' });
  const remote = trace.setSpanContext(context.active(), {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('vendor=value,other=1'),
  });
  const server = tracer.startSpan('GET /x', { kind: SpanKind.SERVER, attributes: { list: ['a', 'b'], nums: [1, 2.5], flags: [true, false], big: 2 ** 40, neg: -3 } }, remote);
  server.addEvent('exception', { 'exception.message': 'boom', 'exception.type': 'Error' }, [1_700_000_000, 123_456_789]);
  server.addEvent('plain');
  const child = tracer.startSpan(
    'child',
    { kind: SpanKind.INTERNAL, links: [{ context: { traceId: '11111111111111111111111111111111', spanId: '2222222222222222', traceFlags: 0, isRemote: true }, attributes: { why: 'retry' } }] },
    trace.setSpan(context.active(), server),
  );
  child.setStatus({ code: SpanStatusCode.OK });
  child.end([1_700_000_001, 999_999_999]);
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'it failed' });
  server.end();
  return memory.getFinishedSpans();
}

function receiverDecode(bytes: Uint8Array) {
  return decodeTracesProtobuf(Buffer.from(bytes)).request;
}
function oracleDecode(bytes: Uint8Array) {
  const type = Oracle.TraceRequest;
  return type.toObject(type.decode(bytes), { longs: String, bytes: String, defaults: true, oneofs: false });
}
function sdkBytes(spans: ReadableSpan[]): Uint8Array {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  if (bytes === undefined) throw new Error('the SDK serialized nothing');
  return bytes;
}

describe('firstspan OTLP encoder against the SDK serializer', () => {
  it('encodes the generator spans to the same request the SDK does (receiver decoder and protobufjs)', () => {
    const spans = generatorSpans();
    const ours = new OtlpTraceEncoder().encode(spans);
    const theirs = sdkBytes(spans);
    const decoded = receiverDecode(ours);
    expect(decoded).toEqual(receiverDecode(theirs));
    expect(oracleDecode(ours)).toEqual(oracleDecode(theirs));

    // Not just equal to each other: the values the generator meant, exactly.
    const [rs] = decoded.resourceSpans;
    expect(rs?.scopeSpans).toHaveLength(1);
    expect(rs?.resource.attributes['deployment.environment']).toEqual({ stringValue: 'tést' });
    expect(rs?.scopeSpans[0]?.scope).toMatchObject({ name: 'firstspan', version: '0.1.0' });
    const out = rs?.scopeSpans[0]?.spans ?? [];
    expect(out).toHaveLength(spans.length);
    const first = out[0]!;
    expect(Buffer.from(first.traceId).toString('hex')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(Buffer.from(first.spanId).toString('hex')).toBe('b7ad6b7169203331');
    expect(first.parentSpanId).toHaveLength(0);
    expect(first.kind).toBe(3);
    expect(first.flags).toBe(0x101);
    expect(first.name).toBe('GET /product/{id}');
    const startNs = BigInt(Math.floor((performance.timeOrigin + 1234.567891) / 1000)) * 1_000_000_000n;
    expect(first.startTimeUnixNano / 1_000_000_000n).toBe(startNs / 1_000_000_000n);
    expect(first.endTimeUnixNano - first.startTimeUnixNano).toBe(5_555_565n);
    expect(first.attributes[Attr.PHASE_WAITING]).toEqual({ doubleValue: 4.9 });
    expect(first.attributes[Attr.SERVER_PORT]).toEqual({ intValue: '8080' });
    expect(first.attributes[Attr.CONNECTION_REUSED]).toEqual({ boolValue: true });
    expect(first.attributes[Attr.HTTP_STATUS]).toEqual({ intValue: '200' });
    expect(first.status).toEqual({ code: 0, message: '' });
    expect(out[1]?.attributes[Attr.PHASE_CONNECT]).toEqual({ intValue: '3' });
    expect(out[2]?.attributes[Attr.CONNECTION_REUSED]).toBeUndefined();
    expect(out[2]?.attributes[Attr.ERROR_TYPE]).toEqual({ stringValue: 'ECONNREFUSED' });
    expect(out[2]?.status).toEqual({ code: 2, message: 'connect ECONNREFUSED 127.0.0.1:8080' });
    expect(out[2]?.attributes[Attr.USER_CLASS]).toEqual({ stringValue: 'Buyer ✓' });
    expect(out[5]?.name).toBe('GET /produkt/{ïd}');
    expect(out[7]?.attributes[Attr.REQUEST_CUT_OFF]).toEqual({ boolValue: true });
    expect(out[7]?.attributes[Attr.ERROR_TYPE]).toEqual({ stringValue: 'run_stopped' });
    expect(out[7]?.status).toEqual({ code: 2, message: 'cut off' });
    expect(out.filter((s) => s.attributes[Attr.REQUEST_CUT_OFF] !== undefined)).toHaveLength(1);
    expect(out[6]?.attributes[Attr.URL_FULL]).toEqual({ stringValue: `http://127.0.0.1:8080/${'long/'.repeat(5000)}` });
  });

  it('encodes SDK-made spans (parents, remote parents, events, links, trace state, arrays, negative ints) as the SDK does', () => {
    const spans = sdkSpans();
    expect(spans).toHaveLength(2);
    const ours = new OtlpTraceEncoder().encode(spans);
    const theirs = sdkBytes(spans);
    expect(receiverDecode(ours)).toEqual(receiverDecode(theirs));
    expect(oracleDecode(ours)).toEqual(oracleDecode(theirs));
    const server = receiverDecode(ours).resourceSpans[0]?.scopeSpans[0]?.spans.find((s) => s.name === 'GET /x');
    expect(server?.events.map((e) => e.name)).toEqual(['exception', 'plain']);
    expect(server?.events[0]?.timeUnixNano).toBe(1_700_000_000_123_456_789n);
    expect(server?.traceState).toBe('vendor=value,other=1');
    expect(server?.flags).toBe(0x301);
  });

  it('groups a mixed batch by resource and scope, and a large batch (3-byte lengths) decodes whole', () => {
    const mixed = [...generatorSpans(), ...sdkSpans(), ...generatorSpans()];
    const big = Array.from({ length: 40 }, () => generatorSpans()).flat();
    const encoder = new OtlpTraceEncoder();
    for (const batch of [mixed, big]) {
      const ours = encoder.encode(batch);
      expect(receiverDecode(ours)).toEqual(receiverDecode(sdkBytes(batch)));
      expect(decodeTracesProtobuf(Buffer.from(ours)).spans).toBe(batch.length);
    }
    // The encoder reuses its scratch buffer: an earlier result must not change under a later call.
    const first = encoder.encode(mixed);
    const copy = Buffer.from(first);
    encoder.encode(big);
    expect(Buffer.from(first).equals(copy)).toBe(true);
  });

  it('spans encoded one by one as they end (the default export path) make the same request as encoding the batch', () => {
    const spans = Array.from({ length: 30 }, () => generatorSpans()).flat() as RequestSpan[];
    const encoder = new OtlpTraceEncoder();
    const buffer = new RequestSpanBuffer();
    for (const span of spans) buffer.add(span);
    expect(buffer.count).toBe(spans.length);
    const wrapped = encoder.wrap(resource, scope, buffer.take());
    expect(buffer.count).toBe(0);
    expect(Buffer.from(wrapped).equals(Buffer.from(encoder.encode(spans)))).toBe(true);
    expect(receiverDecode(wrapped)).toEqual(receiverDecode(sdkBytes(spans)));
    // Schema URLs on the resource and the scope go after the spans, as the SDK writes them.
    const withSchemas = resourceFromAttributes({ 'service.name': 'firstspan' }, { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' });
    const schemaScope = { name: 'firstspan', version: '0.1.0', schemaUrl: 'https://opentelemetry.io/schemas/1.29.0' };
    const few = [0, 1, 2].map((i) => new RequestSpan(ctx(`${i}af7651916cd43dd8448eb211c80319c`, 'b7ad6b7169203331'), 'Shopper', 'run-1', outcome({}), withSchemas, schemaScope));
    for (const span of few) buffer.add(span);
    const ours = encoder.wrap(withSchemas, schemaScope, buffer.take());
    expect(Buffer.from(ours).equals(Buffer.from(encoder.encode(few)))).toBe(true);
    expect(oracleDecode(ours)).toEqual(oracleDecode(sdkBytes(few)));
  });

  it('keeps the SDK response reader (partial success)', () => {
    const response = Buffer.from([0x0a, 0x06, 0x08, 0x02, 0x12, 0x02, 0x6e, 0x6f]); // rejected 2, "no"
    expect(encodedSpansSerializer().deserializeResponse(response)).toEqual(ProtobufTraceSerializer.deserializeResponse(response));
  });

  it('FIRSTSPAN_OTLP_ENCODER selects the encoder and refuses anything else', () => {
    expect(resolveTelemetryConfig({}, new Problems()).encoder).toBe('firstspan');
    expect(resolveTelemetryConfig({ FIRSTSPAN_OTLP_ENCODER: 'sdk' }, new Problems()).encoder).toBe('sdk');
    const problems = new Problems();
    resolveTelemetryConfig({ FIRSTSPAN_OTLP_ENCODER: 'fast' }, problems);
    expect(problems.list.join('\n')).toContain("FIRSTSPAN_OTLP_ENCODER must be one of firstspan, sdk, got 'fast'");
  });
});

describe('firstspan run --otel through either encoder into a real receiver', () => {
  let receiver: RunningReceiver;
  let target: http.Server;
  let targetUrl: string;
  const tmp = tempDir();
  beforeAll(async () => {
    receiver = await startReceiver({ db: `${tmp.dir}/spans.db`, port: 0 });
    target = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = req.url?.startsWith('/fail') ? 503 : 200;
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => target.close(resolve));
    await receiver.close();
    tmp.remove();
  });

  it('stores every span, with the same attributes whichever encoder sent it', async () => {
    const script = writeScript(
      tmp.dir,
      'mix.ts',
      `import { HttpUser, task } from 'firstspan';
export class Mixed extends HttpUser {
  @task(3) async ok() { await this.client.get('/item/' + Math.floor(Math.random() * 9), { name: '/item/{n}' }); }
  @task async bad() { await this.client.get('/fail'); }
}
`,
    );
    const keys: Record<string, string[]> = {};
    for (const encoder of ['firstspan', 'sdk']) {
      const runId = `enc-${encoder}`;
      const result = await runCli(['run', script, '--host', targetUrl, '-u', '4', '-r', '100', '-i', '400', '--otel', '--run-id', runId, '--json'], {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, FIRSTSPAN_OTLP_ENCODER: encoder, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64' },
        cwd: tmp.dir,
      });
      expect([0, 1], result.stderr).toContain(result.code);
      const summary = JSON.parse(result.stdout) as { total: { count: number; failures: number }; telemetry: Record<string, number> };
      expect(summary.total.count).toBe(400);
      expect(summary.total.failures).toBeGreaterThan(0);
      expect(summary.telemetry).toMatchObject({ spansEnded: 400, spansExported: 400, spansFailed: 0, spansDropped: 0 });
      const spans = spansOfRun(receiver, runId);
      expect(spans).toHaveLength(400);
      expect(new Set(spans.map((s) => s.spanId)).size).toBe(400);
      for (const span of spans) {
        expect(span.kind).toBe(3);
        expect(span.endNs).toBeGreaterThan(span.startNs);
        expect(span.statusCode).toBe(span.attributes[Attr.ERROR_TYPE] ? 2 : 0);
        expect(span.phases.waiting).not.toBeNull();
      }
      keys[encoder] = [...new Set(spans.flatMap((s) => Object.keys(s.attributes)))].sort();
    }
    expect(keys.firstspan).toEqual(keys.sdk);
    expect(keys.firstspan).toEqual(expect.arrayContaining([Attr.URL_FULL, Attr.HTTP_STATUS, Attr.ERROR_TYPE, Attr.CONNECTION_REUSED, Attr.PHASE_RECEIVING, Attr.USER_CLASS]));
  }, 60_000);
});
