// Manual HTTP instrumentation for the demo services: a SERVER span per request, continued from the
// caller's W3C `traceparent`, and a CLIENT span per outgoing call with the header injected.
//
// Manual rather than @opentelemetry/instrumentation-http: auto-instrumentation patches modules at
// load time, which under ESM and tsx needs loader hooks that break easily. What a service owes the
// load test is simple — continue the trace, time the request — and this does exactly that.
import http from 'node:http';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();
const MAX_BODY_BYTES = 64 * 1024;

export interface RequestInfo {
  params: string[];
  body: unknown;
  headers: http.IncomingHttpHeaders;
  /** Context holding this request's SERVER span: the parent for child spans and downstream calls. */
  context: Context;
  span: Span;
}

export interface Reply {
  status: number;
  json: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: string;
  /** The low-cardinality route template, used for the span name and `http.route`. */
  route: string;
  pattern: RegExp;
  handle(request: RequestInfo): Promise<Reply>;
}

/** A node:http request listener that routes and wraps every request in a SERVER span. */
export function tracedListener(tracer: Tracer, routes: Route[]): http.RequestListener {
  return (req, res) => {
    // The server span starts when node has parsed the request head: this is the moment the
    // service "sees" the request. Everything before it (connecting, queueing) is the load test's gap.
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    let params: string[] = [];
    const route = routes.find((r) => {
      if (r.method !== method) return false;
      const m = r.pattern.exec(url.pathname);
      if (m === null) return false;
      params = m.slice(1);
      return true;
    });
    const span = tracer.startSpan(
      route ? `${method} ${route.route}` : method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': method,
          'url.path': url.pathname,
          'url.scheme': 'http',
          ...(route ? { 'http.route': route.route } : {}),
          'server.port': req.socket.localPort ?? 0,
          'network.peer.address': req.socket.remoteAddress ?? '',
        },
      },
      parent,
    );
    const context = trace.setSpan(parent, span);
    let ended = false;
    res.on('close', () => {
      // A client that hung up before the response: still end the span, marked as such.
      if (!ended) {
        ended = true;
        span.setAttribute('error.type', 'client_aborted');
        span.end();
      }
    });
    void (async () => {
      let reply: Reply;
      try {
        const body = await readJson(req);
        reply = route
          ? await route.handle({ params, body, headers: req.headers, context, span })
          : { status: 404, json: { error: `no route for ${method} ${url.pathname}` } };
      } catch (error) {
        const bad = error instanceof BadRequest;
        if (!bad) {
          span.recordException(error as Error);
          span.setAttribute('error.type', (error as Error).name || 'Error');
        }
        reply = { status: bad ? 400 : 500, json: { error: (error as Error).message } };
      }
      const payload = JSON.stringify(reply.json);
      res.writeHead(reply.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        ...reply.headers,
      });
      res.end(payload);
      // End the span when the response is handed to the socket, as instrumentation-http does
      // (it wraps res.end): the 'finish' event can fire after the client already has the whole
      // response, which would make the server span outlast its client parent.
      if (!ended) {
        ended = true;
        span.setAttribute('http.response.status_code', reply.status);
        if (reply.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
    })();
  };
}

class BadRequest extends Error {}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest('request body is not valid JSON');
  }
}

/** Run `work` inside a child span of `parent` (a simulated database query, say). */
export async function inSpan<T>(
  tracer: Tracer,
  parent: Context,
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean> },
  work: () => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  try {
    return await work();
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}

/** One keep-alive agent per process: the shop talks to its inventory over pooled connections. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * Call another service over HTTP inside a CLIENT span, injecting `traceparent` so the downstream
 * SERVER span becomes its child. Resolves with the status and parsed JSON body.
 */
export function callService(
  tracer: Tracer,
  parent: Context,
  target: URL,
  method: string,
  routeName: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const span = tracer.startSpan(
    `${method} ${routeName}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'url.full': target.href,
        'server.address': target.hostname,
        'server.port': Number(target.port),
      },
    },
    parent,
  );
  const headers: Record<string, string> = { accept: 'application/json' };
  propagator.inject(trace.setSpan(parent, span), headers, defaultTextMapSetter);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status, json });
      });
      res.on('error', fail);
    });
    function fail(error: Error): void {
      span.recordException(error);
      span.setAttribute('error.type', (error as NodeJS.ErrnoException).code ?? error.name);
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      reject(error);
    }
    req.on('error', fail);
    req.end(payload);
  });
}
