// OTLP/protobuf encoding of finished spans (ExportTraceServiceRequest), written for the
// generator's load: thousands of spans a second that share one resource, one scope and one set of
// attribute keys. It plugs into the OpenTelemetry SDK's own exporter in place of the SDK's
// serializer (see otlp-trace-exporter.ts); transport, retries, headers and timeouts stay the SDK's.
//
// What makes it cheaper than the SDK's general serializer, for the same bytes on the wire once
// decoded:
// - one pass: each message is written straight into a reused scratch buffer with a one-byte length
//   slot that is widened (by moving the message's bytes) only when the message turns out longer
//   than 127 bytes, instead of a sizing pass followed by a writing pass;
// - the resource and the scope are encoded once per object and copied into every batch;
// - each attribute key is encoded once (tag, length and UTF-8 bytes) and copied thereafter;
// - ASCII strings, hex ids and nanosecond times are written byte by byte, without allocating.
//
// Field numbers are those of opentelemetry-proto: collector/trace/v1/trace_service.proto,
// trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto.
// Zero-valued scalar fields (dropped counts) are left out, as proto3 allows: they decode as 0.
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type AttributeValue, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Attr } from '../model/attributes.ts';
import { RequestSpan } from './otlp-request-span.ts';

/** Wire types. */
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

function tag(field: number, wire: number): number {
  return (field << 3) | wire;
}

// Tags used per span; every field number here is < 16, so each tag is one byte, except
// Span.flags (16), which takes two.
const T_REQUEST_RESOURCE_SPANS = tag(1, LEN);
const T_RESOURCE_SPANS_RESOURCE = tag(1, LEN);
const T_RESOURCE_SPANS_SCOPE_SPANS = tag(2, LEN);
const T_RESOURCE_SPANS_SCHEMA_URL = tag(3, LEN);
const T_SCOPE_SPANS_SCOPE = tag(1, LEN);
const T_SCOPE_SPANS_SPAN = tag(2, LEN);
const T_SCOPE_SPANS_SCHEMA_URL = tag(3, LEN);
const T_SPAN_TRACE_ID = tag(1, LEN);
const T_SPAN_SPAN_ID = tag(2, LEN);
const T_SPAN_TRACE_STATE = tag(3, LEN);
const T_SPAN_PARENT_SPAN_ID = tag(4, LEN);
const T_SPAN_NAME = tag(5, LEN);
const T_SPAN_KIND = tag(6, VARINT);
const T_SPAN_START = tag(7, FIXED64);
const T_SPAN_END = tag(8, FIXED64);
const SPAN_ATTRIBUTES = 9;
const T_SPAN_DROPPED_ATTRIBUTES = tag(10, VARINT);
const T_SPAN_EVENT = tag(11, LEN);
const T_SPAN_DROPPED_EVENTS = tag(12, VARINT);
const T_SPAN_LINK = tag(13, LEN);
const T_SPAN_DROPPED_LINKS = tag(14, VARINT);
const T_SPAN_STATUS = tag(15, LEN);
const T_SPAN_FLAGS = tag(16, FIXED32);
const T_STATUS_MESSAGE = tag(2, LEN);
const T_STATUS_CODE = tag(3, VARINT);
const T_EVENT_TIME = tag(1, FIXED64);
const T_EVENT_NAME = tag(2, LEN);
const EVENT_ATTRIBUTES = 3;
const T_EVENT_DROPPED_ATTRIBUTES = tag(4, VARINT);
const T_LINK_TRACE_ID = tag(1, LEN);
const T_LINK_SPAN_ID = tag(2, LEN);
const T_LINK_TRACE_STATE = tag(3, LEN);
const LINK_ATTRIBUTES = 4;
const T_LINK_DROPPED_ATTRIBUTES = tag(5, VARINT);
const T_LINK_FLAGS = tag(6, FIXED32);
const T_SCOPE_NAME = tag(1, LEN);
const T_SCOPE_VERSION = tag(2, LEN);
const SCOPE_ATTRIBUTES = 3;
const T_SCOPE_DROPPED_ATTRIBUTES = tag(4, VARINT);
const RESOURCE_ATTRIBUTES = 1;
const T_KEY_VALUE_KEY = tag(1, LEN);
const T_KEY_VALUE_VALUE = tag(2, LEN);
const T_ANY_STRING = tag(1, LEN);
const T_ANY_BOOL = tag(2, VARINT);
const T_ANY_INT = tag(3, VARINT);
const T_ANY_DOUBLE = tag(4, FIXED64);
const T_ANY_ARRAY = tag(5, LEN);
const T_ANY_BYTES = tag(7, LEN);
const T_ARRAY_VALUE = tag(1, LEN);

/**
 * Span.flags: the W3C trace flags in the low byte, plus "whether the parent is remote is known"
 * (0x100) and "the parent is remote" (0x200), as trace.proto's SpanFlags defines them. A root span
 * knows its parent is not remote (it has none), so 0x100 is set for every span.
 */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/** API SpanKind (INTERNAL = 0 …) → OTLP SpanKind (UNSPECIFIED = 0, INTERNAL = 1 …). */
const KIND_OFFSET = 1;
const CLIENT_KIND = SpanKind.CLIENT + KIND_OFFSET;

const INT64_MIN = -(2 ** 63);
const INT64_LIMIT = 2 ** 63;

/** Hex digit → value; 255 for anything that is not one. */
const HEX = new Uint8Array(128).fill(255);
for (let i = 0; i < 10; i += 1) HEX[48 + i] = i;
for (let i = 0; i < 6; i += 1) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/**
 * Bytes every write sequence between two `ensure` calls stays under: a caller ensures this much
 * room before a group of fixed-size writes (tags, varints, fixed64s), and every variable-length
 * write (strings, byte arrays) ensures its own length plus this much, so fixed-size writes need no
 * bounds check of their own.
 */
const ROOM = 64;

/**
 * A growable byte buffer with nested length-delimited messages. `open()` leaves a one-byte length
 * slot; `close()` fills it in, first moving the message right when its length needs more bytes.
 */
class Writer {
  buf = Buffer.allocUnsafe(64 * 1024);
  view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  pos = 0;

  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** Copies `src`; leaves ROOM after it. */
  bytes(src: Uint8Array): void {
    const n = src.length;
    this.ensure(n + ROOM);
    const buf = this.buf;
    let at = this.pos;
    // A loop beats TypedArray#set for the few dozen bytes of a key.
    if (n < 48) for (let i = 0; i < n; i += 1) buf[at++] = src[i] as number;
    else {
      buf.set(src, at);
      at += n;
    }
    this.pos = at;
  }

  /** An unsigned varint below 2^53. */
  varint(n: number): void {
    const buf = this.buf;
    while (n >= 0x80) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[this.pos++] = n;
  }

  /** int64 as protobuf writes it: negative numbers in ten bytes of two's complement. */
  int64(n: number): void {
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) return this.varint(n);
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  fixed32(n: number): void {
    this.view.setUint32(this.pos, n >>> 0, true);
    this.pos += 4;
  }

  double(n: number): void {
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
  }

  /**
   * HrTime [seconds, nanoseconds] as fixed64 nanoseconds since the epoch, exact: seconds × 1e9
   * passes 2^53, so the product is built in 16-bit and 32-bit pieces that each stay exact.
   */
  hrTime(t: HrTime): void {
    this.time(t[0], t[1]);
  }

  time(seconds: number, nanos: number): void {
    const secondsHigh = Math.floor(seconds / 0x10000);
    const secondsLow = seconds - secondsHigh * 0x10000;
    const upper = secondsHigh * 1e9; // × 2^16
    const upperHigh = Math.floor(upper / 0x10000); // × 2^32
    const rest = (upper - upperHigh * 0x10000) * 0x10000 + secondsLow * 1e9 + nanos;
    const carry = Math.floor(rest / 0x100000000);
    this.view.setUint32(this.pos, rest - carry * 0x100000000, true);
    this.view.setUint32(this.pos + 4, upperHigh + carry, true);
    this.pos += 8;
  }

  /**
   * A length-prefixed UTF-8 string; ASCII is copied char by char, anything else by Buffer.write.
   * Leaves ROOM after it.
   */
  string(s: string): void {
    const n = s.length;
    if (n < 0x4000) {
      const slot = n < 0x80 ? 1 : 2;
      this.ensure(slot + n + ROOM);
      const buf = this.buf;
      const start = this.pos;
      let at = start + slot;
      let i = 0;
      for (; i < n; i += 1) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at++] = c;
      }
      if (i === n) {
        if (slot === 1) buf[start] = n;
        else {
          buf[start] = (n & 0x7f) | 0x80;
          buf[start + 1] = n >>> 7;
        }
        this.pos = at;
        return;
      }
    }
    const length = Buffer.byteLength(s, 'utf8');
    this.ensure(10 + length + ROOM);
    this.varint(length);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** `${a} ${b}` as a length-prefixed string, without building it first when both are ASCII. */
  string2(a: string, b: string): void {
    const n = a.length + 1 + b.length;
    if (n < 0x80) {
      this.ensure(1 + n + ROOM);
      const buf = this.buf;
      const start = this.pos;
      let at = start + 1;
      let ascii = true;
      for (let i = 0; i < a.length; i += 1) {
        const c = a.charCodeAt(i);
        ascii &&= c < 0x80;
        buf[at++] = c;
      }
      buf[at++] = 0x20;
      for (let i = 0; i < b.length; i += 1) {
        const c = b.charCodeAt(i);
        ascii &&= c < 0x80;
        buf[at++] = c;
      }
      if (ascii) {
        buf[start] = n;
        this.pos = at;
        return;
      }
    }
    this.string(`${a} ${b}`);
  }

  /** 16 or 8 bytes from a W3C hex id, length-prefixed. */
  hexId(hex: string): void {
    const n = hex.length >>> 1;
    if (2 * n !== hex.length) throw new Error(`not a hex id: '${hex}'`);
    this.ensure(1 + n + ROOM);
    const buf = this.buf;
    buf[this.pos++] = n;
    for (let i = 0; i < n; i += 1) {
      const hi = HEX[hex.charCodeAt(2 * i)] ?? 255;
      const lo = HEX[hex.charCodeAt(2 * i + 1)] ?? 255;
      if ((hi | lo) === 255) throw new Error(`not a hex id: '${hex}'`);
      buf[this.pos++] = (hi << 4) | lo;
    }
  }

  /** Starts a length-delimited message; returns where its length goes. */
  open(): number {
    return this.pos++;
  }

  /** Ends the message started at `slot`, widening its length when it is 128 bytes or more. */
  close(slot: number): void {
    const length = this.pos - slot - 1;
    if (length < 0x80) {
      this.buf[slot] = length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.ensure(extra + ROOM);
    this.buf.copyWithin(slot + 1 + extra, slot + 1, this.pos);
    this.pos += extra;
    let at = slot;
    let n = length;
    while (n >= 0x80) {
      this.buf[at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[at] = n;
  }
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size += 1;
  }
  return size;
}

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

const T_SPAN_ATTRIBUTE = tag(SPAN_ATTRIBUTES, LEN);

function spanKey(name: string): SpanKey {
  const utf8 = Buffer.from(name, 'utf8');
  // Short keys only (every firstspan key is): one-byte lengths throughout.
  if (utf8.length + 14 >= 0x80) throw new Error(`attribute key too long for a precomputed prefix: ${name}`);
  const key = Buffer.concat([Buffer.of(T_KEY_VALUE_KEY, utf8.length), utf8]);
  // KeyValue = key field + value field (tag, length, AnyValue = tag + payload).
  const prefix = (valueTag: number, payload: number): Uint8Array =>
    Buffer.concat([Buffer.of(T_SPAN_ATTRIBUTE, key.length + 2 + 1 + payload), key, Buffer.of(T_KEY_VALUE_VALUE, 1 + payload, valueTag)]);
  return { key, doublePrefix: prefix(T_ANY_DOUBLE, 8), boolPrefix: prefix(T_ANY_BOOL, 1) };
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
 * buffer is reused, and every call returns a fresh copy the transport may hold on to (it retries).
 */
export class OtlpTraceEncoder {
  readonly #w = new Writer();
  /** `KeyValue.key` field (tag, length, UTF-8) per attribute key. */
  readonly #keys = new Map<string, Uint8Array>();
  /** `ResourceSpans.resource` field per resource object. */
  readonly #resources = new WeakMap<object, Uint8Array>();
  /** `ScopeSpans.scope` field per scope object. */
  readonly #scopes = new WeakMap<object, Uint8Array>();

  encode(spans: readonly ReadableSpan[]): Uint8Array {
    const w = this.#w;
    w.pos = 0;
    for (const [resource, scopes] of group(spans)) {
      w.ensure(ROOM);
      w.byte(T_REQUEST_RESOURCE_SPANS);
      const resourceSpans = w.open();
      w.bytes(this.#resource(resource));
      for (const scopeSpans of scopes.values()) {
        const scope = (scopeSpans[0] as ReadableSpan).instrumentationScope;
        w.ensure(ROOM);
        w.byte(T_RESOURCE_SPANS_SCOPE_SPANS);
        const scopeSlot = w.open();
        w.bytes(this.#scope(scope));
        for (const span of scopeSpans) {
          w.ensure(ROOM);
          w.byte(T_SCOPE_SPANS_SPAN);
          const spanSlot = w.open();
          this.#span(span);
          w.close(spanSlot);
        }
        if (scope.schemaUrl) {
          w.byte(T_SCOPE_SPANS_SCHEMA_URL);
          w.string(scope.schemaUrl);
        }
        w.close(scopeSlot);
      }
      if (resource.schemaUrl) {
        w.byte(T_RESOURCE_SPANS_SCHEMA_URL);
        w.string(resource.schemaUrl);
      }
      w.close(resourceSpans);
    }
    // A fresh copy (the transport keeps it for retries), not zero-filled first as Buffer.from
    // would: every byte is overwritten.
    const out = Buffer.allocUnsafe(w.pos);
    out.set(w.buf.subarray(0, w.pos));
    return out;
  }

  #span(span: ReadableSpan): void {
    if (span instanceof RequestSpan) return writeRequestSpan(this.#w, span);
    const w = this.#w;
    const context: SpanContext = span.spanContext();
    w.byte(T_SPAN_TRACE_ID);
    w.hexId(context.traceId);
    w.byte(T_SPAN_SPAN_ID);
    w.hexId(context.spanId);
    const traceState = context.traceState?.serialize();
    if (traceState) {
      w.byte(T_SPAN_TRACE_STATE);
      w.string(traceState);
    }
    const parent = span.parentSpanContext;
    if (parent?.spanId) {
      w.byte(T_SPAN_PARENT_SPAN_ID);
      w.hexId(parent.spanId);
    }
    w.byte(T_SPAN_NAME);
    w.string(span.name);
    w.byte(T_SPAN_KIND);
    w.varint(span.kind + KIND_OFFSET);
    w.byte(T_SPAN_START);
    w.hrTime(span.startTime);
    w.byte(T_SPAN_END);
    w.hrTime(span.endTime);
    this.#attributes(span.attributes, SPAN_ATTRIBUTES);
    if (span.droppedAttributesCount > 0) {
      w.byte(T_SPAN_DROPPED_ATTRIBUTES);
      w.varint(span.droppedAttributesCount);
    }
    for (const event of span.events) {
      w.ensure(ROOM);
      w.byte(T_SPAN_EVENT);
      const slot = w.open();
      w.byte(T_EVENT_TIME);
      w.hrTime(event.time);
      w.byte(T_EVENT_NAME);
      w.string(event.name);
      if (event.attributes) this.#attributes(event.attributes, EVENT_ATTRIBUTES);
      if (event.droppedAttributesCount) {
        w.byte(T_EVENT_DROPPED_ATTRIBUTES);
        w.varint(event.droppedAttributesCount);
      }
      w.close(slot);
    }
    if (span.droppedEventsCount > 0) {
      w.byte(T_SPAN_DROPPED_EVENTS);
      w.varint(span.droppedEventsCount);
    }
    for (const link of span.links) {
      w.ensure(ROOM);
      w.byte(T_SPAN_LINK);
      const slot = w.open();
      w.byte(T_LINK_TRACE_ID);
      w.hexId(link.context.traceId);
      w.byte(T_LINK_SPAN_ID);
      w.hexId(link.context.spanId);
      const linkState = link.context.traceState?.serialize();
      if (linkState) {
        w.byte(T_LINK_TRACE_STATE);
        w.string(linkState);
      }
      if (link.attributes) this.#attributes(link.attributes, LINK_ATTRIBUTES);
      if (link.droppedAttributesCount) {
        w.byte(T_LINK_DROPPED_ATTRIBUTES);
        w.varint(link.droppedAttributesCount);
      }
      w.byte(T_LINK_FLAGS);
      w.fixed32(flags(link.context.traceFlags, link.context.isRemote));
      w.close(slot);
    }
    if (span.droppedLinksCount > 0) {
      w.byte(T_SPAN_DROPPED_LINKS);
      w.varint(span.droppedLinksCount);
    }
    w.ensure(ROOM);
    w.byte(T_SPAN_STATUS);
    const status = w.open();
    if (span.status.message) {
      w.byte(T_STATUS_MESSAGE);
      w.string(span.status.message);
    }
    w.byte(T_STATUS_CODE);
    w.varint(span.status.code);
    w.close(status);
    // Field 16: a two-byte tag.
    w.buf[w.pos++] = T_SPAN_FLAGS | 0x80;
    w.buf[w.pos++] = T_SPAN_FLAGS >>> 7;
    w.fixed32(flags(context.traceFlags, parent?.isRemote));
  }

  /**
   * An ExportTraceServiceRequest of one resource and one scope around Span messages already
   * encoded as ScopeSpans.spans fields (RequestSpanBuffer's bytes): the same bytes `encode` gives
   * for those spans, with one copy of the spans' bytes and no pass over them.
   */
  wrap(resource: ReadableSpan['resource'], scope: InstrumentationScope, spans: Uint8Array): Uint8Array {
    const resourceField = this.#resource(resource);
    const scopeField = this.#scope(scope);
    const scopeSchema = scope.schemaUrl ? stringField(T_SCOPE_SPANS_SCHEMA_URL, scope.schemaUrl) : EMPTY;
    const resourceSchema = resource.schemaUrl ? stringField(T_RESOURCE_SPANS_SCHEMA_URL, resource.schemaUrl) : EMPTY;
    const scopeSpans = scopeField.length + spans.length + scopeSchema.length;
    const resourceSpans = resourceField.length + 1 + varintSize(scopeSpans) + scopeSpans + resourceSchema.length;
    const out = Buffer.allocUnsafe(1 + varintSize(resourceSpans) + resourceSpans);
    let at = 0;
    out[at++] = T_REQUEST_RESOURCE_SPANS;
    at = putVarint(out, at, resourceSpans);
    out.set(resourceField, at);
    at += resourceField.length;
    out[at++] = T_RESOURCE_SPANS_SCOPE_SPANS;
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

  /** Repeated KeyValue under `field`. Keys whose value is null or undefined are left out. */
  #attributes(attributes: Attributes, field: number): void {
    const w = this.#w;
    const kvTag = tag(field, LEN);
    for (const key in attributes) {
      const value = attributes[key];
      if (value === undefined || value === null) continue;
      w.ensure(ROOM);
      w.byte(kvTag);
      const kv = w.open();
      w.bytes(this.#key(key));
      w.byte(T_KEY_VALUE_VALUE);
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
      let n = bytes.length;
      let at = 0;
      while (n >= 0x80) {
        length[at++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
      length[at] = n;
      encoded = Buffer.concat([Buffer.of(T_KEY_VALUE_KEY), length, bytes]);
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
        w.byte(T_ANY_STRING);
        w.string(value);
        return;
      case 'number':
        if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_LIMIT) {
          w.byte(T_ANY_INT);
          w.int64(value);
        } else {
          w.byte(T_ANY_DOUBLE);
          w.double(value);
        }
        return;
      case 'boolean':
        w.byte(T_ANY_BOOL);
        w.byte(value ? 1 : 0);
        return;
      default:
        if (value instanceof Uint8Array) {
          w.byte(T_ANY_BYTES);
          w.varint(value.length);
          w.bytes(value);
        } else if (Array.isArray(value)) {
          w.byte(T_ANY_ARRAY);
          const array = w.open();
          for (const item of value as Array<string | number | boolean | null | undefined>) {
            w.ensure(ROOM);
            w.byte(T_ARRAY_VALUE);
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
      encoded = this.#aside(() => {
        const w = this.#w;
        w.ensure(ROOM);
        w.byte(T_RESOURCE_SPANS_RESOURCE);
        const slot = w.open();
        this.#attributes(resource.attributes, RESOURCE_ATTRIBUTES);
        w.close(slot);
      });
      // A resource still waiting for asynchronous attributes is encoded again next time.
      if (resource.asyncAttributesPending !== true) this.#resources.set(resource, encoded);
    }
    return encoded;
  }

  #scope(scope: InstrumentationScope & { attributes?: Attributes; droppedAttributesCount?: number }): Uint8Array {
    let encoded = this.#scopes.get(scope);
    if (encoded === undefined) {
      encoded = this.#aside(() => {
        const w = this.#w;
        w.ensure(ROOM);
        w.byte(T_SCOPE_SPANS_SCOPE);
        const slot = w.open();
        w.byte(T_SCOPE_NAME);
        w.string(scope.name);
        if (scope.version) {
          w.byte(T_SCOPE_VERSION);
          w.string(scope.version);
        }
        if (scope.attributes) this.#attributes(scope.attributes, SCOPE_ATTRIBUTES);
        if (scope.droppedAttributesCount) {
          w.byte(T_SCOPE_DROPPED_ATTRIBUTES);
          w.varint(scope.droppedAttributesCount);
        }
        w.close(slot);
      });
      this.#scopes.set(scope, encoded);
    }
    return encoded;
  }

  /** Runs `write` at the end of the scratch buffer and takes its bytes back out. */
  #aside(write: () => void): Uint8Array {
    const w = this.#w;
    const start = w.pos;
    write();
    const bytes = Buffer.from(w.buf.subarray(start, w.pos));
    w.pos = start;
    return bytes;
  }
}

/**
 * The generator's request span, from its fields: the same fields and attributes (in the same
 * order) that its ReadableSpan getters give the SDK's serializer, without building them.
 */
function writeRequestSpan(w: Writer, span: RequestSpan): void {
  w.ensure(ROOM);
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
  w.ensure(ROOM);
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
  w.buf[w.pos++] = T_SPAN_FLAGS | 0x80;
  w.buf[w.pos++] = T_SPAN_FLAGS >>> 7;
  w.fixed32(flags(TraceFlags.SAMPLED, undefined));
}

/**
 * Starts a span attribute, KeyValue { key, value: AnyValue { <anyTag> … } }, whose payload the
 * caller writes next; returns the KeyValue's length slot for `endAttribute`.
 */
function startAttribute(w: Writer, key: SpanKey, anyTag: number): number {
  w.ensure(ROOM);
  w.byte(T_SPAN_ATTRIBUTE);
  const kv = w.open();
  w.bytes(key.key);
  w.byte(T_KEY_VALUE_VALUE);
  w.open();
  w.byte(anyTag);
  return kv;
}

function endAttribute(w: Writer, key: SpanKey, kv: number): void {
  // The AnyValue's one-byte length slot follows the KeyValue's slot, its key and the value tag.
  w.close(kv + 1 + key.key.length + 1);
  w.close(kv);
}

function stringAttribute(w: Writer, key: SpanKey, value: string): void {
  const kv = startAttribute(w, key, T_ANY_STRING);
  w.string(value);
  endAttribute(w, key, kv);
}

/** int_value for an integer in int64 range, double_value otherwise (the SDK's rule). */
function numberAttribute(w: Writer, key: SpanKey, value: number): void {
  if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_LIMIT) {
    const kv = startAttribute(w, key, T_ANY_INT);
    w.int64(value);
    endAttribute(w, key, kv);
  } else {
    w.bytes(key.doublePrefix);
    w.double(value);
  }
}

function boolAttribute(w: Writer, key: SpanKey, value: boolean): void {
  w.bytes(key.boolPrefix);
  w.byte(value ? 1 : 0);
}

const EMPTY = new Uint8Array(0);

function putVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[at++] = n;
  return at;
}

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
  readonly #w = new Writer();
  #count = 0;

  get count(): number {
    return this.#count;
  }

  add(span: RequestSpan): void {
    const w = this.#w;
    w.ensure(ROOM);
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

function flags(traceFlags: number, parentIsRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (parentIsRemote ? IS_REMOTE : 0);
}

/** Spans by resource, then by scope (object identity, as the SDK's serializer groups them). */
function group(spans: readonly ReadableSpan[]): Map<ReadableSpan['resource'], Map<InstrumentationScope, ReadableSpan[]>> {
  const out = new Map<ReadableSpan['resource'], Map<InstrumentationScope, ReadableSpan[]>>();
  const first = spans[0];
  if (first === undefined) return out;
  // The generator's batches: one resource, one scope, so no per-span map work.
  if (spans.every((span) => span.resource === first.resource && span.instrumentationScope === first.instrumentationScope)) {
    return out.set(first.resource, new Map([[first.instrumentationScope, spans as ReadableSpan[]]]));
  }
  for (const span of spans) {
    let scopes = out.get(span.resource);
    if (scopes === undefined) out.set(span.resource, (scopes = new Map()));
    let list = scopes.get(span.instrumentationScope);
    if (list === undefined) scopes.set(span.instrumentationScope, (list = []));
    list.push(span);
  }
  return out;
}
