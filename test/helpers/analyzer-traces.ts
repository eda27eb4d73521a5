// Synthetic traces of known durations for the analyzer's tests and benchmark: a load-test root
// CLIENT span with its connection phases, the SERVER child on a host whose clock is `offsetMs`
// away, downstream children, background server spans. Everything goes into the store through
// SpanStore.insertTraces as decoded OTLP, exactly as the receiver would write it.
import { Attr, Metric, Resource } from '../../model/attributes.ts';
import {
  SpanKind,
  StatusCode,
  type AnyValue,
  type Attributes,
  type MetricsRequest,
  type Span,
  type TracesRequest,
} from '../../model/otlp.ts';

/** 2025-10-09T09:46:40Z: a round epoch so report times are easy to read. */
export const BASE_NS = 1_760_003_200_000_000_000n;

export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}

export interface Phases {
  blocked: number;
  dns: number;
  connect: number;
  tls: number;
  sending: number;
  waiting: number;
  receiving: number;
}

export interface RootOptions {
  service?: string;
  /** Put on the resource; null for Locust-style data without one. */
  runId?: string | null;
  method?: string;
  /** Request name (`/product/{id}`); null leaves the attribute out, as real Locust does. */
  requestName?: string | null;
  /** Span name; default `{method} {requestName}`. */
  name?: string;
  /** Start, ms after BASE_NS, on the generator's clock. */
  startMs: number;
  /** Connection phases; they tile the span. Omit for a span without phase attributes. */
  phases?: Phases;
  /** Duration when there are no phases. */
  durationMs?: number;
  error?: boolean;
  /** The response status; null leaves it out (no response, as in a request cut off mid-flight). */
  httpStatus?: number | null;
  /** More span attributes (e.g. firstspan.request.cut_off). */
  attributes?: Attributes;
  /** Use Locust's old semantic-convention attribute names. */
  oldSemconv?: boolean;
  connectionReused?: boolean;
}

export interface ServerOptions {
  service?: string;
  name?: string;
  /** Time between request sent (t1) and server start, on the client's clock. */
  beforeMs: number;
  durationMs: number;
  /** Server clock minus client clock. */
  offsetMs?: number;
  /** Explicit start (ms after BASE_NS on the server's clock), overriding beforeMs. */
  startMs?: number;
}

export interface SpanHandle {
  traceId: Uint8Array;
  spanId: Uint8Array;
  service: string;
  runId: string | null;
  startMs: number;
  endMs: number;
  /** The request-sent time t1 on the client's clock (roots only). */
  sentMs: number;
}

interface Pending {
  service: string;
  runId: string | null;
  span: Span;
}

function str(value: string): AnyValue {
  return { stringValue: value };
}
function dbl(value: number): AnyValue {
  return { doubleValue: value };
}

export function sumPhases(p: Phases): number {
  return p.blocked + p.dns + p.connect + p.tls + p.sending + p.waiting + p.receiving;
}

/** The resource real Locust's --otel sets up (docs/locust.md), which tells the analyzer it is a load generator. */
export const LOCUST_RESOURCE: Attributes = {
  'service.version': { stringValue: '2.47.0' },
  'service.instance.id': { stringValue: '3f0c6c2e-5f1b-4a4e-9d55-0e6f1f6b8a11' },
  filename: { stringValue: 'locustfile.py' },
  profile: { stringValue: '' },
  'telemetry.sdk.language': { stringValue: 'python' },
};

export class TraceBuilder {
  private readonly pending: Pending[] = [];
  private readonly resources = new Map<string, Attributes>();
  private nextId: number;

  /** Extra resource attributes for every span of `service` (e.g. LOCUST_RESOURCE). */
  resource(service: string, attributes: Attributes): this {
    this.resources.set(service, attributes);
    return this;
  }

  constructor(seed = 1) {
    this.nextId = seed * 1_000_000_000;
  }

  private id(bytes: number): Uint8Array {
    const out = new Uint8Array(bytes);
    let n = this.nextId++;
    for (let i = bytes - 1; i >= 0 && n > 0; i--) {
      out[i] = n & 0xff;
      n = Math.floor(n / 256);
    }
    out[0] = 0xab; // never an all-zero (invalid) id
    return out;
  }

  private push(service: string, runId: string | null, span: Span): void {
    this.pending.push({ service, runId, span });
  }

  /** A load-test root: a trace-root CLIENT span. */
  root(o: RootOptions): SpanHandle {
    const service = o.service ?? 'firstspan';
    const runId = o.runId === undefined ? 'run-1' : o.runId;
    const method = o.method ?? 'GET';
    const requestName = o.requestName === undefined ? '/product/{id}' : o.requestName;
    const duration = o.phases !== undefined ? sumPhases(o.phases) : (o.durationMs ?? 100);
    const attributes: Attributes = { ...o.attributes };
    const status = o.httpStatus === null ? undefined : { intValue: String(o.httpStatus ?? (o.error ? 500 : 200)) };
    if (o.oldSemconv) {
      attributes[Attr.HTTP_METHOD_OLD] = str(method);
      if (status !== undefined) attributes[Attr.HTTP_STATUS_OLD] = status;
      attributes[Attr.URL_OLD] = str(`http://shop.test${requestName ?? '/'}`);
    } else {
      attributes[Attr.HTTP_METHOD] = str(method);
      if (status !== undefined) attributes[Attr.HTTP_STATUS] = status;
    }
    if (requestName !== null) attributes[Attr.REQUEST_NAME] = str(requestName);
    let sent = o.startMs;
    if (o.phases !== undefined) {
      const p = o.phases;
      attributes[Attr.PHASE_BLOCKED] = dbl(p.blocked);
      attributes[Attr.PHASE_DNS] = dbl(p.dns);
      attributes[Attr.PHASE_CONNECT] = dbl(p.connect);
      attributes[Attr.PHASE_TLS] = dbl(p.tls);
      attributes[Attr.PHASE_SENDING] = dbl(p.sending);
      attributes[Attr.PHASE_WAITING] = dbl(p.waiting);
      attributes[Attr.PHASE_RECEIVING] = dbl(p.receiving);
      attributes[Attr.CONNECTION_REUSED] = { boolValue: o.connectionReused ?? p.connect === 0 };
      sent = o.startMs + p.blocked + p.dns + p.connect + p.tls + p.sending;
    }
    const traceId = this.id(16);
    const spanId = this.id(8);
    this.push(service, runId, {
      traceId,
      spanId,
      parentSpanId: new Uint8Array(0),
      traceState: '',
      name: o.name ?? `${method} ${requestName ?? '/'}`,
      kind: SpanKind.CLIENT,
      startTimeUnixNano: BASE_NS + msToNs(o.startMs),
      endTimeUnixNano: BASE_NS + msToNs(o.startMs + duration),
      attributes,
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: o.error ? StatusCode.ERROR : StatusCode.UNSET, message: '' },
      flags: 0x300,
    });
    return { traceId, spanId, service, runId, startMs: o.startMs, endMs: o.startMs + duration, sentMs: sent };
  }

  /** The SERVER child of `parent` on a host whose clock is `offsetMs` ahead of the client's. */
  server(parent: SpanHandle, o: ServerOptions): SpanHandle {
    const service = o.service ?? 'shop';
    const start = o.startMs ?? parent.sentMs + o.beforeMs + (o.offsetMs ?? 0);
    return this.span(parent, { service, name: o.name ?? 'GET /product/:id', kind: SpanKind.SERVER, startMs: start, durationMs: o.durationMs });
  }

  /** Any child span (downstream calls, database queries); times on its own host's clock. */
  span(
    parent: SpanHandle | null,
    o: { service: string; name: string; kind: number; startMs: number; durationMs: number; runId?: string | null; traceId?: Uint8Array },
  ): SpanHandle {
    const traceId = parent?.traceId ?? o.traceId ?? this.id(16);
    const spanId = this.id(8);
    const runId = o.runId === undefined ? null : o.runId;
    this.push(o.service, runId, {
      traceId,
      spanId,
      parentSpanId: parent?.spanId ?? new Uint8Array(0),
      traceState: '',
      name: o.name,
      kind: o.kind,
      startTimeUnixNano: BASE_NS + msToNs(o.startMs),
      endTimeUnixNano: BASE_NS + msToNs(o.startMs + o.durationMs),
      attributes: { [Attr.HTTP_METHOD]: str('GET') },
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: StatusCode.UNSET, message: '' },
      flags: 0x100,
    });
    return { traceId, spanId, service: o.service, runId, startMs: o.startMs, endMs: o.startMs + o.durationMs, sentMs: o.startMs };
  }

  /** A server span of a request that no load test sent (health checks, real users). */
  background(o: { service?: string; startMs: number; durationMs: number; name?: string }): SpanHandle {
    return this.span(null, {
      service: o.service ?? 'shop',
      name: o.name ?? 'GET /health',
      kind: SpanKind.SERVER,
      startMs: o.startMs,
      durationMs: o.durationMs,
    });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Everything built so far as one request (one ResourceSpans per service and run id); then empty. */
  take(): TracesRequest {
    const groups = new Map<string, Pending[]>();
    for (const p of this.pending) {
      const key = `${p.service}\u0000${p.runId ?? ''}`;
      let list = groups.get(key);
      if (list === undefined) groups.set(key, (list = []));
      list.push(p);
    }
    this.pending.length = 0;
    return {
      resourceSpans: [...groups.values()].map((list) => {
        const first = list[0] as Pending;
        const attributes: Attributes = { ...this.resources.get(first.service), [Resource.SERVICE_NAME]: str(first.service) };
        if (first.runId !== null) attributes[Resource.RUN_ID] = str(first.runId);
        return {
          resource: { attributes, droppedAttributesCount: 0 },
          schemaUrl: '',
          scopeSpans: [
            {
              scope: { name: 'synthetic', version: '1', attributes: {}, droppedAttributesCount: 0 },
              schemaUrl: '',
              spans: list.map((p) => p.span),
            },
          ],
        };
      }),
    };
  }
}

/** Active-users gauge points, one per second, as the generator exports them. */
export function usersMetric(o: {
  service?: string;
  runId?: string | null;
  metricName?: string;
  /** service.instance.id: each process of a run reports its own users. */
  instance?: string;
  /** Point attributes, e.g. the user class (`user_class` for Locust). */
  points: Array<{ atMs: number; users: number; attributes?: Attributes }>;
}): MetricsRequest {
  const attributes: Attributes = { [Resource.SERVICE_NAME]: str(o.service ?? 'firstspan') };
  if (o.instance !== undefined) attributes['service.instance.id'] = str(o.instance);
  const runId = o.runId === undefined ? 'run-1' : o.runId;
  if (runId !== null) attributes[Resource.RUN_ID] = str(runId);
  return {
    resourceMetrics: [
      {
        resource: { attributes, droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeMetrics: [
          {
            scope: { name: 'synthetic', version: '1', attributes: {}, droppedAttributesCount: 0 },
            schemaUrl: '',
            points: o.points.map((p) => ({
              metricName: o.metricName ?? Metric.ACTIVE_USERS,
              description: '',
              unit: '{user}',
              type: 'gauge' as const,
              temporality: 0,
              isMonotonic: false,
              attributes: p.attributes ?? {},
              startTimeUnixNano: BASE_NS,
              timeUnixNano: BASE_NS + msToNs(p.atMs),
              value: p.users,
              count: null,
              sum: null,
              min: null,
              max: null,
              bucketCounts: null,
              explicitBounds: null,
            })),
          },
        ],
      },
    ],
  };
}
