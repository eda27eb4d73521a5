// A real HTTP target for tests: node:http on port 0, instrumented with the real OpenTelemetry SDK
// (W3C trace-context extraction, one SERVER span per request, OTLP export), with knobs to make a
// request slow, hang, reset its connection, or fail. Knobs come in the query string, so a script
// or a test picks the behaviour per request: ?delay=MS&status=CODE&hang=1&reset=1&bytes=N&untraced=1.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';

export interface TargetOptions {
  /** OTLP/HTTP traces URL (…/v1/traces); no export without it. */
  otlpTracesUrl?: string;
  /** Headers on the target's own OTLP exports (a receiver started with a token wants one). */
  otlpHeaders?: Record<string, string>;
  serviceName?: string;
}

export interface SeenRequest {
  method: string;
  path: string;
  /** The client's port: equal ports mean the same connection. */
  remotePort: number;
  traceparent: string | undefined;
}

export interface TargetService {
  url: string;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  readonly requests: SeenRequest[];
  /** Flush spans to the receiver and stop. */
  close(): Promise<void>;
}

export async function startTargetService(options: TargetOptions = {}): Promise<TargetService> {
  const propagator = new W3CTraceContextPropagator();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'target-service' }),
    spanProcessors:
      options.otlpTracesUrl === undefined
        ? []
        : [new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpTracesUrl, headers: options.otlpHeaders }), { scheduledDelayMillis: 200, maxQueueSize: 100_000, maxExportBatchSize: 1000 })],
  });
  const tracer = provider.getTracer('target-service');
  const sockets = new Set<Socket>();
  const requests: SeenRequest[] = [];
  let connections = 0;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://target');
    const q = url.searchParams;
    const extracted = propagator.extract(ROOT_CONTEXT, req.headers, {
      get: (carrier, key) => {
        const v = carrier[key];
        return Array.isArray(v) ? v[0] : v;
      },
      keys: (carrier) => Object.keys(carrier),
    });
    requests.push({ method: req.method ?? 'GET', path: url.pathname, remotePort: req.socket.remotePort ?? 0, traceparent: req.headers.traceparent as string | undefined });
    // ?untraced=1: a service that does not continue the trace (its span starts a trace of its own).
    const parent = q.get('untraced') === '1' ? ROOT_CONTEXT : extracted;
    const span = tracer.startSpan(`${req.method} ${url.pathname}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': url.pathname } }, parent);
    // Read the whole request body before answering, as a real service does.
    req.resume();
    req.on('end', () => {
      if (q.get('reset') === '1') {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'reset' });
        span.end();
        req.socket.resetAndDestroy();
        return;
      }
      if (q.get('hang') === '1') return; // never answers; the span never ends
      const status = Number(q.get('status') ?? 200);
      const bytes = Number(q.get('bytes') ?? 0);
      const respond = (): void => {
        const body = bytes > 0 ? 'x'.repeat(bytes) : JSON.stringify({ ok: status < 400, path: url.pathname });
        res.writeHead(status, { 'content-type': bytes > 0 ? 'text/plain' : 'application/json' });
        res.end(body, () => {
          span.setAttribute('http.response.status_code', status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        });
      };
      const delay = Number(q.get('delay') ?? 0);
      if (delay > 0) setTimeout(respond, delay);
      else respond();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await provider.forceFlush();
      await provider.shutdown();
    },
  };
}
