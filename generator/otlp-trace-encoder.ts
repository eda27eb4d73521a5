// OTLP/protobuf encoding of the generator's request spans (ExportTraceServiceRequest), written for
// its load: thousands of spans a second that share one resource, one scope and one set of
// attribute keys. It plugs into the OpenTelemetry SDK's own exporter in place of the SDK's
// serializer (see otlp-trace-exporter.ts); transport, retries, headers and timeouts stay the SDK's.
// Any other span (events, links, parents: nothing the generator makes) is the SDK serializer's job.
//
// What makes it cheaper than the SDK's general serializer, for the same bytes on the wire once
// decoded:
// - one pass through model/protobuf-wire.ts's ProtobufWriter (a one-byte length slot per message,
//   widened only when needed), with the field tags of model/otlp-fields.ts;
// - each span is written from RequestSpan's fields, never through the ReadableSpan getters;
// - the resource and the scope are encoded once per object and copied into every batch;
// - each attribute key is encoded once (tag, length and UTF-8 bytes) and copied thereafter.
//
// Zero-valued scalar fields (dropped counts) are left out, as proto3 allows: they decode as 0.
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type AttributeValue } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Attr } from '../model/attributes.ts';
import {
  AnyValueTag,
  ExportTraceServiceRequestTag,
  InstrumentationScopeTag,
  KeyValueTag,
  ResourceSpansTag,
  ResourceTag,
  ScopeSpansTag,
  SpanTag,
  StatusTag,
  ValuesTag,
} from '../model/otlp-fields.ts';
import { ProtobufWriter, putVarint, varintSize } from '../model/protobuf-wire.ts';
import { RequestSpan } from './otlp-request-span.ts';

/**
 * Span.flags: the W3C trace flags in the low byte, plus "whether the parent is remote is known"
 * (0x100), as trace.proto's SpanFlags defines it. A root span knows its parent is not remote (it
 * has none), so 0x100 is set, and "the parent is remote" (0x200) never is.
 */
const HAS_IS_REMOTE = 0x100;
const REQUEST_SPAN_FLAGS = (TraceFlags.SAMPLED & 0xff) | HAS_IS_REMOTE;

/** API SpanKind (INTERNAL = 0 …) → OTLP SpanKind (UNSPECIFIED = 0, INTERNAL = 1 …). */
const CLIENT_KIND = SpanKind.CLIENT + 1;

const INT64_MIN = -(2 ** 63);
const INT64_LIMIT = 2 ** 63;

/**
 * A span attribute key, encoded once: the KeyValue.key field, and the whole KeyValue up to the
 * value's last bytes for fixed-size values (a double's 8 bytes, a bool's 1), so such an attribute
 * costs one copy and one write.
 */
interface SpanKey {
  key: Uint8Array;
  doublePrefix: Uint8Array;
  boolPrefix: Uint8Array;
}

function spanKey(name: string): SpanKey {
  const utf8 = Buffer.from(name, 'utf8');
  // Short keys only (every firstspan key is): one-byte lengths throughout.
  if (utf8.length + 14 >= 0x80) throw new Error(`attribute key too long for a precomputed prefix: ${name}`);
  const key = Buffer.concat([Buffer.of(KeyValueTag.KEY, utf8.length), utf8]);
  // KeyValue = key field + value field (tag, length, AnyValue = tag + payload).
  const prefix = (valueTag: number, payload: number): Uint8Array =>
    Buffer.concat([Buffer.of(SpanTag.ATTRIBUTES, key.length + 2 + 1 + payload), key, Buffer.of(KeyValueTag.VALUE, 1 + payload, valueTag)]);
  return { key, doublePrefix: prefix(AnyValueTag.DOUBLE_VALUE, 8), boolPrefix: prefix(AnyValueTag.BOOL_VALUE, 1) };
}

const K_HTTP_METHOD = spanKey(Attr.HTTP_METHOD);
const K_URL_FULL = spanKey(Attr.URL_FULL);
const K_SERVER_ADDRESS = spanKey(Attr.SERVER_ADDRESS);
const K_SERVER_PORT = spanKey(Attr.SERVER_PORT);
const K_REQUEST_NAME = spanKey(Attr.REQUEST_NAME);
const K_USER_CLASS = spanKey(Attr.USER_CLASS);
const K_RUN_ID = spanKey(Attr.RUN_ID);
const K_PHASE_BLOCKED = spanKey(Attr.PHASE_BLOCKED);
const K_PHASE_DNS = spanKey(Attr.PHASE_DNS);
const K_PHASE_CONNECT = spanKey(Attr.PHASE_CONNECT);
const K_PHASE_TLS = spanKey(Attr.PHASE_TLS);
const K_PHASE_SENDING = spanKey(Attr.PHASE_SENDING);
const K_PHASE_WAITING = spanKey(Attr.PHASE_WAITING);
const K_PHASE_RECEIVING = spanKey(Attr.PHASE_RECEIVING);
const K_CONNECTION_REUSED = spanKey(Attr.CONNECTION_REUSED);
const K_HTTP_STATUS = spanKey(Attr.HTTP_STATUS);
const K_ERROR_TYPE = spanKey(Attr.ERROR_TYPE);
const K_REQUEST_CUT_OFF = spanKey(Attr.REQUEST_CUT_OFF);

/**
 * Encodes ReadableSpans as one ExportTraceServiceRequest. One instance per exporter: its scratch
 * buffers are reused, and every call returns a fresh copy the transport may hold on to (it retries).
 */
export class OtlpTraceEncoder {
  readonly #w = new ProtobufWriter(4 * 1024);
  readonly #spans = new RequestSpanBuffer();
  /** `KeyValue.key` field (tag, length, UTF-8) per attribute key. */
  readonly #keys = new Map<string, Uint8Array>();
  /** `ResourceSpans.resource` field per resource object. */
  readonly #resources = new WeakMap<object, Uint8Array>();
  /** `ScopeSpans.scope` field per scope object. */
  readonly #scopes = new WeakMap<object, Uint8Array>();

  /**
   * The generator's batches (request spans of one resource and one scope) by the fast path; any
   * other batch whole by the SDK's own serializer, which is what it would have used.
   */
  encode(spans: readonly ReadableSpan[]): Uint8Array {
    const first = spans[0];
    if (
      first instanceof RequestSpan &&
      spans.every((span) => span instanceof RequestSpan && span.resource === first.resource && span.instrumentationScope === first.instrumentationScope)
    ) {
      for (const span of spans as readonly RequestSpan[]) this.#spans.add(span);
      return this.wrap(first.resource, first.instrumentationScope, this.#spans.take());
    }
    const bytes = ProtobufTraceSerializer.serializeRequest(spans as ReadableSpan[]);
    if (bytes === undefined) throw new Error('the OpenTelemetry SDK serialized no request');
    return bytes;
  }

  /**
   * An ExportTraceServiceRequest of one resource and one scope around Span messages already
   * encoded as ScopeSpans.spans fields (RequestSpanBuffer's bytes), with one copy of the spans'
   * bytes and no pass over them.
   */
  wrap(resource: ReadableSpan['resource'], scope: InstrumentationScope, spans: Uint8Array): Uint8Array {
    const resourceField = this.#resource(resource);
    const scopeField = this.#scope(scope);
    const scopeSchema = scope.schemaUrl ? stringField(ScopeSpansTag.SCHEMA_URL, scope.schemaUrl) : EMPTY;
    const resourceSchema = resource.schemaUrl ? stringField(ResourceSpansTag.SCHEMA_URL, resource.schemaUrl) : EMPTY;
    const scopeSpans = scopeField.length + spans.length + scopeSchema.length;
    const resourceSpans = resourceField.length + 1 + varintSize(scopeSpans) + scopeSpans + resourceSchema.length;
    const out = Buffer.allocUnsafe(1 + varintSize(resourceSpans) + resourceSpans);
    let at = 0;
    out[at++] = ExportTraceServiceRequestTag.RESOURCE_SPANS;
    at = putVarint(out, at, resourceSpans);
    out.set(resourceField, at);
    at += resourceField.length;
    out[at++] = ResourceSpansTag.SCOPE_SPANS;
    at = putVarint(out, at, scopeSpans);
    out.set(scopeField, at);
    at += scopeField.length;
    out.set(spans, at);
    at += spans.length;
    out.set(scopeSchema, at);
    at += scopeSchema.length;
    out.set(resourceSchema, at);
    return out;
  }

  /** Repeated KeyValue under `kvTag`. Keys whose value is null or undefined are left out. */
  #attributes(attributes: Attributes, kvTag: number): void {
    const w = this.#w;
    for (const key in attributes) {
      const value = attributes[key];
      if (value === undefined || value === null) continue;
      w.ensure();
      w.tag(kvTag);
      const kv = w.open();
      w.bytes(this.#key(key));
      w.tag(KeyValueTag.VALUE);
      const any = w.open();
      this.#value(value);
      w.close(any);
      w.close(kv);
    }
  }

  #key(key: string): Uint8Array {
    let encoded = this.#keys.get(key);
    if (encoded === undefined) {
      const bytes = Buffer.from(key, 'utf8');
      const length = Buffer.alloc(varintSize(bytes.length));
      putVarint(length, 0, bytes.length);
      encoded = Buffer.concat([Buffer.of(KeyValueTag.KEY), length, bytes]);
      this.#keys.set(key, encoded);
    }
    return encoded;
  }

  /**
   * AnyValue: strings, booleans, numbers (an integer in int64 range as int_value, anything else as
   * double_value, which is how the OTel SDK decides), byte arrays, and arrays of those.
   */
  #value(value: AttributeValue | Uint8Array | null | undefined): void {
    const w = this.#w;
    switch (typeof value) {
      case 'string':
        w.tag(AnyValueTag.STRING_VALUE);
        w.string(value);
        return;
      case 'number':
        if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_LIMIT) {
          w.tag(AnyValueTag.INT_VALUE);
          w.int64(value);
        } else {
          w.tag(AnyValueTag.DOUBLE_VALUE);
          w.double(value);
        }
        return;
      case 'boolean':
        w.tag(AnyValueTag.BOOL_VALUE);
        w.byte(value ? 1 : 0);
        return;
      default:
        if (value instanceof Uint8Array) {
          w.tag(AnyValueTag.BYTES_VALUE);
          w.varint(value.length);
          w.bytes(value);
        } else if (Array.isArray(value)) {
          w.tag(AnyValueTag.ARRAY_VALUE);
          const array = w.open();
          for (const item of value as Array<string | number | boolean | null | undefined>) {
            w.ensure();
            w.tag(ValuesTag.VALUES);
            const slot = w.open();
            if (item !== null && item !== undefined) this.#value(item);
            w.close(slot);
          }
          w.close(array);
        }
      // Anything else has no AnyValue form: the value is left empty.
    }
  }

  #resource(resource: ReadableSpan['resource']): Uint8Array {
    let encoded = this.#resources.get(resource);
    if (encoded === undefined) {
      encoded = this.#field(ResourceSpansTag.RESOURCE, () => this.#attributes(resource.attributes, ResourceTag.ATTRIBUTES));
      // A resource still waiting for asynchronous attributes is encoded again next time.
      if (resource.asyncAttributesPending !== true) this.#resources.set(resource, encoded);
    }
    return encoded;
  }

  #scope(scope: InstrumentationScope & { attributes?: Attributes; droppedAttributesCount?: number }): Uint8Array {
    let encoded = this.#scopes.get(scope);
    if (encoded === undefined) {
      encoded = this.#field(ScopeSpansTag.SCOPE, () => {
        const w = this.#w;
        w.tag(InstrumentationScopeTag.NAME);
        w.string(scope.name);
        if (scope.version) {
          w.tag(InstrumentationScopeTag.VERSION);
          w.string(scope.version);
        }
        if (scope.attributes) this.#attributes(scope.attributes, InstrumentationScopeTag.ATTRIBUTES);
        if (scope.droppedAttributesCount) {
          w.tag(InstrumentationScopeTag.DROPPED_ATTRIBUTES_COUNT);
          w.varint(scope.droppedAttributesCount);
        }
      });
      this.#scopes.set(scope, encoded);
    }
    return encoded;
  }

  /** One length-delimited field, its message written by `write`, as bytes of its own. */
  #field(fieldTag: number, write: () => void): Uint8Array {
    const w = this.#w;
    w.pos = 0;
    w.ensure();
    w.tag(fieldTag);
    const slot = w.open();
    write();
    w.close(slot);
    return w.copy();
  }
}

/**
 * The tags the per-span path writes, read once from model/otlp-fields.ts into module constants:
 * reading them as properties of the imported objects on every write cost the span path a few per
 * cent in a same-run comparison. Every one but Span.flags (field 16) is one byte.
 */
const T_SPAN_TRACE_ID = SpanTag.TRACE_ID;
const T_SPAN_SPAN_ID = SpanTag.SPAN_ID;
const T_SPAN_NAME = SpanTag.NAME;
const T_SPAN_KIND = SpanTag.KIND;
const T_SPAN_START = SpanTag.START_TIME_UNIX_NANO;
const T_SPAN_END = SpanTag.END_TIME_UNIX_NANO;
const T_SPAN_ATTRIBUTE = SpanTag.ATTRIBUTES;
const T_SPAN_STATUS = SpanTag.STATUS;
const T_SPAN_FLAGS = SpanTag.FLAGS;
const T_STATUS_MESSAGE = StatusTag.MESSAGE;
const T_STATUS_CODE = StatusTag.CODE;
const T_KEY_VALUE_VALUE = KeyValueTag.VALUE;
const T_SCOPE_SPANS_SPAN = ScopeSpansTag.SPANS;
const T_ANY_STRING = AnyValueTag.STRING_VALUE;
const T_ANY_INT = AnyValueTag.INT_VALUE;

/**
 * The generator's request span, from its fields: the same fields and attributes (in the same
 * order) that its ReadableSpan getters give the SDK's serializer, without building them.
 * Its one-byte tags (about 30 a span) are written with `byte`: `tag`'s test for longer tags cost
 * a few per cent of the encoder.
 */
function writeRequestSpan(w: ProtobufWriter, span: RequestSpan): void {
  w.ensure();
  w.byte(T_SPAN_TRACE_ID);
  w.hexId(span.traceId);
  w.byte(T_SPAN_SPAN_ID);
  w.hexId(span.spanId);
  w.byte(T_SPAN_NAME);
  w.string2(span.method, span.requestName);
  w.byte(T_SPAN_KIND);
  w.byte(CLIENT_KIND);
  w.byte(T_SPAN_START);
  w.time(span.startSeconds, span.startNanos);
  w.byte(T_SPAN_END);
  w.time(span.endSeconds, span.endNanos);
  stringAttribute(w, K_HTTP_METHOD, span.method);
  stringAttribute(w, K_URL_FULL, span.url);
  stringAttribute(w, K_SERVER_ADDRESS, span.serverAddress);
  numberAttribute(w, K_SERVER_PORT, span.serverPort);
  stringAttribute(w, K_REQUEST_NAME, span.requestName);
  stringAttribute(w, K_USER_CLASS, span.userClass);
  stringAttribute(w, K_RUN_ID, span.runId);
  numberAttribute(w, K_PHASE_BLOCKED, span.blocked);
  numberAttribute(w, K_PHASE_DNS, span.dns);
  numberAttribute(w, K_PHASE_CONNECT, span.connect);
  numberAttribute(w, K_PHASE_TLS, span.tls);
  numberAttribute(w, K_PHASE_SENDING, span.sending);
  numberAttribute(w, K_PHASE_WAITING, span.waiting);
  numberAttribute(w, K_PHASE_RECEIVING, span.receiving);
  if (span.reused !== undefined) boolAttribute(w, K_CONNECTION_REUSED, span.reused);
  if (span.httpStatus > 0) numberAttribute(w, K_HTTP_STATUS, span.httpStatus);
  w.ensure();
  if (span.errorType !== undefined) {
    stringAttribute(w, K_ERROR_TYPE, span.errorType);
    if (span.cutOff) boolAttribute(w, K_REQUEST_CUT_OFF, true);
    w.byte(T_SPAN_STATUS);
    const status = w.open();
    if (span.failure) {
      w.byte(T_STATUS_MESSAGE);
      w.string(span.failure);
    }
    w.byte(T_STATUS_CODE);
    w.byte(SpanStatusCode.ERROR);
    w.close(status);
  } else {
    // Status { code: UNSET }: the code field written as the SDK writes it.
    w.byte(T_SPAN_STATUS);
    w.byte(2);
    w.byte(T_STATUS_CODE);
    w.byte(SpanStatusCode.UNSET);
  }
  w.tag(T_SPAN_FLAGS);
  w.fixed32(REQUEST_SPAN_FLAGS);
}

/**
 * Starts a span attribute, KeyValue { key, value: AnyValue { <anyTag> … } }, whose payload the
 * caller writes next; returns the KeyValue's length slot for `endAttribute`.
 */
function startAttribute(w: ProtobufWriter, key: SpanKey, anyTag: number): number {
  w.ensure();
  w.byte(T_SPAN_ATTRIBUTE);
  const kv = w.open();
  w.bytes(key.key);
  w.byte(T_KEY_VALUE_VALUE);
  w.open();
  w.byte(anyTag);
  return kv;
}

function endAttribute(w: ProtobufWriter, key: SpanKey, kv: number): void {
  // The AnyValue's one-byte length slot follows the KeyValue's slot, its key and the value tag.
  w.close(kv + 1 + key.key.length + 1);
  w.close(kv);
}

function stringAttribute(w: ProtobufWriter, key: SpanKey, value: string): void {
  const kv = startAttribute(w, key, T_ANY_STRING);
  w.string(value);
  endAttribute(w, key, kv);
}

/** int_value for an integer in int64 range, double_value otherwise (the SDK's rule). */
function numberAttribute(w: ProtobufWriter, key: SpanKey, value: number): void {
  if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_LIMIT) {
    const kv = startAttribute(w, key, T_ANY_INT);
    w.int64(value);
    endAttribute(w, key, kv);
  } else {
    w.bytes(key.doublePrefix);
    w.double(value);
  }
}

function boolAttribute(w: ProtobufWriter, key: SpanKey, value: boolean): void {
  w.bytes(key.boolPrefix);
  w.byte(value ? 1 : 0);
}

const EMPTY = new Uint8Array(0);

/** A length-delimited string field on its own (tag, length, UTF-8). */
function stringField(fieldTag: number, value: string): Uint8Array {
  const utf8 = Buffer.from(value, 'utf8');
  const out = Buffer.allocUnsafe(1 + varintSize(utf8.length) + utf8.length);
  out[0] = fieldTag;
  out.set(utf8, putVarint(out, 1, utf8.length));
  return out;
}

/**
 * The generator's request spans encoded one by one as they end, each as a ScopeSpans.spans field
 * (tag, length, Span), into one growing buffer: a batch held as bytes rather than as span objects,
 * so nothing of a request outlives it on the heap while its batch fills and waits for export.
 * `OtlpTraceEncoder.wrap` puts the resource and scope around the bytes.
 */
export class RequestSpanBuffer {
  readonly #w = new ProtobufWriter();
  #count = 0;

  get count(): number {
    return this.#count;
  }

  add(span: RequestSpan): void {
    const w = this.#w;
    w.ensure();
    w.byte(T_SCOPE_SPANS_SPAN);
    const slot = w.open();
    writeRequestSpan(w, span);
    w.close(slot);
    this.#count += 1;
  }

  /** The spans' bytes so far (a view, valid until the next `add`), then empties the buffer. */
  take(): Uint8Array {
    const bytes = this.#w.buf.subarray(0, this.#w.pos);
    this.#w.pos = 0;
    this.#count = 0;
    return bytes;
  }
}
