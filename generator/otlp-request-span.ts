// The generator's CLIENT span for one request, as the OTel SDK's span processor and exporters see
// it (a ReadableSpan), built in one go when the request completes: every time and attribute is
// known then, so there is nothing to start, mutate or validate first (the SDK's Tracer would check
// each attribute and keep a live span per request).
//
// The span keeps the request's figures as fields rather than an attributes object:
// OtlpTraceEncoder writes the attributes straight from them (the cheap path the generator uses by
// default), and `attributes` builds the object only when someone asks — the SDK's own serializers (FIRSTSPAN_OTLP_ENCODER=sdk,
// http/json). Both write the same attributes; test/generator-otlp-encoder.test.ts compares them.
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext, type SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { Attr } from '../model/attributes.ts';
import type { RequestOutcome } from './http-session.ts';

const UNSET: SpanStatus = { code: SpanStatusCode.UNSET };
const NO_LINKS: [] = [];
const NO_EVENTS: TimedEvent[] = [];

/**
 * The span keeps only numbers and the strings the request already had, in one object: a span
 * waits in the batch queue long enough to survive young-generation collections, and every object
 * it holds is then copied and promoted. The outcome, its phases object, the span context and the
 * HrTime arrays are left to die young; what the SDK's ReadableSpan interface asks for is rebuilt
 * from the fields when asked (the SDK's serializers ask; firstspan's encoder reads the fields).
 * What every span of a run shares (kind, the empty links and events, zero drop counts) lives on
 * the prototype.
 */
export class RequestSpan implements ReadableSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly method: string;
  readonly requestName: string;
  readonly url: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly blocked: number;
  readonly dns: number;
  readonly connect: number;
  readonly tls: number;
  readonly sending: number;
  readonly waiting: number;
  readonly receiving: number;
  readonly reused: boolean | undefined;
  /** 0 when no response arrived. */
  readonly httpStatus: number;
  readonly errorType: string | undefined;
  readonly failure: string | undefined;
  /** The run's stop cut this request off (its errorType says so too). */
  readonly cutOff: boolean;
  /** Start, as epoch seconds and nanoseconds within that second. */
  readonly startSeconds: number;
  readonly startNanos: number;
  /** From the start to exactly `end - start` later: the same marks as the phases. */
  readonly durationNanos: number;
  #attributes: Attributes | undefined;

  constructor(
    context: SpanContext,
    readonly userClass: string,
    readonly runId: string,
    outcome: RequestOutcome,
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
  ) {
    this.traceId = context.traceId;
    this.spanId = context.spanId;
    this.method = outcome.method;
    this.requestName = outcome.name;
    this.url = outcome.url;
    this.serverAddress = outcome.serverAddress;
    this.serverPort = outcome.serverPort;
    const { phases } = outcome;
    this.blocked = phases.blocked;
    this.dns = phases.dns;
    this.connect = phases.connect;
    this.tls = phases.tls;
    this.sending = phases.sending;
    this.waiting = phases.waiting;
    this.receiving = phases.receiving;
    this.reused = outcome.reused;
    this.httpStatus = outcome.status;
    this.errorType = outcome.errorType;
    this.failure = outcome.failure;
    this.cutOff = outcome.cutOff === true;
    const epochMs = performance.timeOrigin + outcome.start;
    this.startSeconds = Math.floor(epochMs / 1000);
    this.startNanos = Math.round((epochMs - this.startSeconds * 1000) * 1e6);
    this.durationNanos = Math.round((outcome.end - outcome.start) * 1e6);
  }

  /** End, as epoch seconds and nanoseconds within that second. */
  get endSeconds(): number {
    return this.startSeconds + Math.floor((this.startNanos + this.durationNanos) / 1e9);
  }
  get endNanos(): number {
    return (this.startNanos + this.durationNanos) % 1e9;
  }

  get name(): string {
    return `${this.method} ${this.requestName}`;
  }
  get startTime(): HrTime {
    return [this.startSeconds, this.startNanos];
  }
  get endTime(): HrTime {
    return [this.endSeconds, this.endNanos];
  }
  get duration(): HrTime {
    return [Math.floor(this.durationNanos / 1e9), this.durationNanos % 1e9];
  }
  get status(): SpanStatus {
    return this.errorType !== undefined ? { code: SpanStatusCode.ERROR, message: this.failure ?? '' } : UNSET;
  }

  /** Every attribute docs/attributes.md lists for a request span; optional ones when they apply. */
  get attributes(): Attributes {
    if (this.#attributes !== undefined) return this.#attributes;
    const attributes: Attributes = {
      [Attr.HTTP_METHOD]: this.method,
      [Attr.URL_FULL]: this.url,
      [Attr.SERVER_ADDRESS]: this.serverAddress,
      [Attr.SERVER_PORT]: this.serverPort,
      [Attr.REQUEST_NAME]: this.requestName,
      [Attr.USER_CLASS]: this.userClass,
      [Attr.RUN_ID]: this.runId,
      [Attr.PHASE_BLOCKED]: this.blocked,
      [Attr.PHASE_DNS]: this.dns,
      [Attr.PHASE_CONNECT]: this.connect,
      [Attr.PHASE_TLS]: this.tls,
      [Attr.PHASE_SENDING]: this.sending,
      [Attr.PHASE_WAITING]: this.waiting,
      [Attr.PHASE_RECEIVING]: this.receiving,
    };
    if (this.reused !== undefined) attributes[Attr.CONNECTION_REUSED] = this.reused;
    if (this.httpStatus > 0) attributes[Attr.HTTP_STATUS] = this.httpStatus;
    if (this.errorType !== undefined) attributes[Attr.ERROR_TYPE] = this.errorType;
    if (this.cutOff) attributes[Attr.REQUEST_CUT_OFF] = true;
    return (this.#attributes = attributes);
  }

  /** Every request span is a sampled root span of its own trace. */
  spanContext(): SpanContext {
    return { traceId: this.traceId, spanId: this.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false };
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
