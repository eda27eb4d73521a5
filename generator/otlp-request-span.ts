// The generator's CLIENT span for one request, as the OTel SDK's span processor and exporters see
// it (a ReadableSpan), built in one go when the request completes: every time and attribute is
// known then, so there is nothing to start, mutate or validate first (the SDK's Tracer would check
// each attribute and keep a live span per request).
//
// The span keeps the request's outcome rather than an attributes object: OtlpTraceEncoder writes
// the attributes straight from it (the cheap path the generator uses by default), and `attributes`
// builds the object only when someone asks — the SDK's own serializers (FIRSTSPAN_OTLP_ENCODER=sdk,
// http/json). Both write the same attributes; test/generator-otlp-encoder.test.ts compares them.
import { SpanKind, SpanStatusCode, type Attributes, type HrTime, type SpanContext, type SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { Attr } from '../model/attributes.ts';
import type { RequestOutcome } from './http-session.ts';

const UNSET: SpanStatus = { code: SpanStatusCode.UNSET };
const NO_LINKS: [] = [];
const NO_EVENTS: TimedEvent[] = [];

/** Milliseconds since the epoch (fractional) → OTel HrTime. */
function hrTime(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}
function addNanos([s, ns]: HrTime, nanos: number): HrTime {
  const total = ns + nanos;
  return [s + Math.floor(total / 1e9), total % 1e9];
}

/**
 * What every span of a run shares (kind, the empty links and events, zero drop counts) lives on
 * the prototype. The outcome is the request's own, finished object: nothing changes it after the
 * request's handle gets it.
 */
export class RequestSpan implements ReadableSpan {
  readonly name: string;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  readonly status: SpanStatus;
  #attributes: Attributes | undefined;

  constructor(
    readonly context: SpanContext,
    readonly userClass: string,
    readonly runId: string,
    readonly outcome: RequestOutcome,
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
  ) {
    this.name = `${outcome.method} ${outcome.name}`;
    // From the request's start to exactly `end - start` later: the same marks as the phases.
    this.startTime = hrTime(performance.timeOrigin + outcome.start);
    const nanos = Math.round((outcome.end - outcome.start) * 1e6);
    this.endTime = addNanos(this.startTime, nanos);
    this.duration = [Math.floor(nanos / 1e9), nanos % 1e9];
    this.status = outcome.errorType !== undefined ? { code: SpanStatusCode.ERROR, message: outcome.failure ?? '' } : UNSET;
  }

  /** Every attribute docs/attributes.md lists for a request span; optional ones when they apply. */
  get attributes(): Attributes {
    if (this.#attributes !== undefined) return this.#attributes;
    const { outcome } = this;
    const { phases } = outcome;
    const attributes: Attributes = {
      [Attr.HTTP_METHOD]: outcome.method,
      [Attr.URL_FULL]: outcome.url,
      [Attr.SERVER_ADDRESS]: outcome.serverAddress,
      [Attr.SERVER_PORT]: outcome.serverPort,
      [Attr.REQUEST_NAME]: outcome.name,
      [Attr.USER_CLASS]: this.userClass,
      [Attr.RUN_ID]: this.runId,
      [Attr.PHASE_BLOCKED]: phases.blocked,
      [Attr.PHASE_DNS]: phases.dns,
      [Attr.PHASE_CONNECT]: phases.connect,
      [Attr.PHASE_TLS]: phases.tls,
      [Attr.PHASE_SENDING]: phases.sending,
      [Attr.PHASE_WAITING]: phases.waiting,
      [Attr.PHASE_RECEIVING]: phases.receiving,
    };
    if (outcome.reused !== undefined) attributes[Attr.CONNECTION_REUSED] = outcome.reused;
    if (outcome.status > 0) attributes[Attr.HTTP_STATUS] = outcome.status;
    if (outcome.errorType !== undefined) attributes[Attr.ERROR_TYPE] = outcome.errorType;
    return (this.#attributes = attributes);
  }

  spanContext(): SpanContext {
    return this.context;
  }
  get kind(): SpanKind {
    return SpanKind.CLIENT;
  }
  get parentSpanContext(): undefined {
    return undefined;
  }
  get links(): [] {
    return NO_LINKS;
  }
  get events(): TimedEvent[] {
    return NO_EVENTS;
  }
  get ended(): boolean {
    return true;
  }
  get droppedAttributesCount(): number {
    return 0;
  }
  get droppedEventsCount(): number {
    return 0;
  }
  get droppedLinksCount(): number {
    return 0;
  }
}
