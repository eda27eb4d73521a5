// Decoded spans turned into the store's rows, ready to bind: the part of writing that needs no
// database, so it runs on the thread that decodes while the writer thread only binds and steps.
// The shape is built to cross threads cheaply: ids, numbers, timestamps and string lengths in
// typed arrays whose buffers are transferred (no copy), and every string column of every span
// written one after another as UTF-8 into one more transferred buffer (utf8-text.ts). Posting an
// array of per-span values instead cost as much as building the rows (measured: docs/benchmarks.md).
import { Attr, Resource as ResourceAttr } from './attributes.ts';
import { rowBuffers } from './buffer-pool.ts';
import { Utf8Text } from './utf8-text.ts';
import { attrNumber, attrString, type Attributes, type InstrumentationScope, type Span, type TracesRequest } from './otlp.ts';

/** Bytes of ids a span: trace id (16), span id (8), parent span id (8, zeros for a root). */
export const ID_STRIDE = 32;

/** What identifies a resource row: the store finds or inserts it. */
export interface ResourceKey {
  /** Canonical text of attributes, dropped count and schema URL: one resource row per value. */
  fingerprint: string;
  attributesJson: string;
  droppedAttributesCount: number;
  schemaUrl: string;
  serviceName: string;
  runId: string | null;
}

/** Numeric columns, NUMBERS a span, in this order; NaN stands for NULL (SQLite stores NaN as NULL). */
export const N = {
  RESOURCE: 0, // index into `resources`
  HAS_PARENT: 1, // 1 when the parent id bytes are real
  KIND: 2,
  STATUS_CODE: 3,
  FLAGS: 4,
  DROPPED_ATTRIBUTES: 5,
  DROPPED_EVENTS: 6,
  DROPPED_LINKS: 7,
  HTTP_STATUS: 8,
  PHASE_BLOCKED: 9,
  PHASE_DNS: 10,
  PHASE_CONNECT: 11,
  PHASE_TLS: 12,
  PHASE_SENDING: 13,
  PHASE_WAITING: 14,
  PHASE_RECEIVING: 15,
  CONNECTION_REUSED: 16,
} as const;
export const NUMBERS = 17;

/** String columns, STRINGS a span, in this order (a length of -1 stands for NULL). */
export const S = {
  RUN_ID: 0,
  NAME: 1,
  STATUS_MESSAGE: 2,
  TRACE_STATE: 3,
  SCOPE_NAME: 4,
  SCOPE_VERSION: 5,
  SCOPE_ATTRIBUTES: 6,
  SCOPE_SCHEMA_URL: 7,
  ATTRIBUTES: 8,
  EVENTS: 9,
  LINKS: 10,
  REQUEST_NAME: 11,
  HTTP_METHOD: 12,
} as const;
export const STRINGS = 13;

export interface SpanRows {
  count: number;
  ids: Uint8Array;
  numbers: Float64Array;
  /** Start and end, ns, exact. */
  times: BigInt64Array;
  /**
   * Every string column of every span, one after another, as UTF-8 bytes: decoded once
   * (textOf), `lengths` cuts the text (UTF-16 code units).
   */
  text: Uint8Array;
  lengths: Int32Array;
  resources: ResourceKey[];
}

/** Bytes a span takes in the buffer of fixed-size arrays: numbers, times, lengths, ids. */
const FIXED_BYTES_PER_SPAN = NUMBERS * 8 + 2 * 8 + STRINGS * 4 + ID_STRIDE;

/** The buffers to transfer when posting rows to another thread (and to hand back to rowBuffers after). */
export function transferables(rows: SpanRows): ArrayBuffer[] {
  const buffers = [rows.ids.buffer, rows.numbers.buffer, rows.times.buffer, rows.lengths.buffer, rows.text.buffer] as ArrayBuffer[];
  return [...new Set(buffers)];
}

/**
 * The attribute names copied into columns of their own, in this order: a span's values for them
 * (`HotValues`) come from its attribute map (hotValues) or straight from its protobuf bytes
 * (receiver/attributes-json.ts), so both paths fill the columns the same way.
 */
export const HOT_KEYS = [
  Attr.RUN_ID,
  Attr.REQUEST_NAME,
  Attr.HTTP_METHOD,
  Attr.HTTP_METHOD_OLD,
  Attr.HTTP_STATUS,
  Attr.HTTP_STATUS_OLD,
  Attr.PHASE_BLOCKED,
  Attr.PHASE_DNS,
  Attr.PHASE_CONNECT,
  Attr.PHASE_TLS,
  Attr.PHASE_SENDING,
  Attr.PHASE_WAITING,
  Attr.PHASE_RECEIVING,
  Attr.CONNECTION_REUSED,
] as const;
const H = Object.fromEntries(HOT_KEYS.map((k, i) => [k, i])) as Record<(typeof HOT_KEYS)[number], number>;

/**
 * A span's values of HOT_KEYS, by index, as plain values: a string value as a string, a double or
 * an int64 as a number (as attrNumber reads them), a bool as a boolean; any other type, or no such
 * attribute, as undefined. So typeof tells which of attrString/attrNumber/attrBool would answer.
 */
export type HotValues = Array<string | number | boolean | undefined>;

/**
 * The attribute columns of one span: its attributes' JSON text as stored, in pieces (`length`
 * UTF-16 code units in all: a writer of pieces need not concatenate them), and its hot values.
 */
export interface SpanAttributeColumns {
  pieces: readonly string[];
  length: number;
  hot: HotValues;
}

/** The hot values of an attribute map (see HotValues). */
export function hotValues(attrs: Attributes, out: HotValues = new Array<undefined>(HOT_KEYS.length)): HotValues {
  for (let i = 0; i < HOT_KEYS.length; i++) {
    const v = attrs[HOT_KEYS[i]!];
    out[i] =
      v === undefined
        ? undefined
        : 'stringValue' in v
          ? v.stringValue
          : 'boolValue' in v
            ? v.boolValue
            : 'doubleValue' in v || 'intValue' in v
              ? attrNumber(attrs, HOT_KEYS[i]!)
              : undefined;
  }
  return out;
}

/** What the spans of one scope share. */
export interface ScopeColumns {
  name: string;
  version: string;
  /** JSON of the scope's attributes, null when it has none. */
  attributesJson: string | null;
  schemaUrl: string;
}

/** Every span of a decoded request as rows (ids, timestamps and attribute JSON exactly as stored). */
export function spanRows(request: TracesRequest): SpanRows {
  let count = 0;
  for (const rs of request.resourceSpans) for (const ss of rs.scopeSpans) count += ss.spans.length;
  const rows = new SpanRowsBuilder(count);
  const pieces = [''];
  const columns: SpanAttributeColumns = { pieces, length: 0, hot: new Array<undefined>(HOT_KEYS.length) };
  for (const rs of request.resourceSpans) {
    const resource = rows.resource(resourceKey(rs.resource.attributes, rs.resource.droppedAttributesCount, rs.schemaUrl));
    for (const ss of rs.scopeSpans) {
      const scope = scopeColumns(ss.scope, ss.schemaUrl);
      for (const span of ss.spans) {
        pieces[0] = JSON.stringify(span.attributes);
        columns.length = pieces[0].length;
        hotValues(span.attributes, columns.hot);
        rows.span(span, resource, scope, columns);
      }
    }
  }
  return rows.finish();
}

export function scopeColumns(scope: InstrumentationScope, schemaUrl: string): ScopeColumns {
  return {
    name: scope.name,
    version: scope.version,
    attributesJson: isEmpty(scope.attributes) ? null : JSON.stringify(scope.attributes),
    schemaUrl,
  };
}

/**
 * Fills the typed arrays of SpanRows one span at a time, for exactly `count` spans. The span's own
 * `attributes` map is not read: its columns come in as SpanAttributeColumns.
 */
export class SpanRowsBuilder {
  private readonly count: number;
  private readonly ids: Uint8Array;
  private readonly numbers: Float64Array;
  private readonly times: BigInt64Array;
  private readonly lengths: Int32Array;
  private readonly text: Utf8Text;
  private readonly resources: ResourceKey[] = [];
  private n = 0;

  constructor(count: number) {
    this.count = count;
    // One buffer for the fixed-size arrays (8-byte ones first, for alignment), from the pool.
    const fixed = rowBuffers.take(count * FIXED_BYTES_PER_SPAN);
    let at = 0;
    this.numbers = new Float64Array(fixed, at, count * NUMBERS);
    at += count * NUMBERS * 8;
    this.times = new BigInt64Array(fixed, at, count * 2);
    at += count * 2 * 8;
    this.lengths = new Int32Array(fixed, at, count * STRINGS);
    at += count * STRINGS * 4;
    this.ids = new Uint8Array(fixed, at, count * ID_STRIDE);
    this.text = new Utf8Text(count * 1024);
  }

  /** Add a resource; returns the index its spans pass to span(). */
  resource(key: ResourceKey): number {
    return this.resources.push(key) - 1;
  }

  span(span: Span, resourceIndex: number, scope: ScopeColumns, attributes: SpanAttributeColumns): void {
    const n = this.n;
    if (n >= this.count) throw new Error(`SpanRowsBuilder: more than the ${this.count} spans it was made for`);
    const hot = attributes.hot;
    copy(span.traceId, this.ids, n * ID_STRIDE);
    copy(span.spanId, this.ids, n * ID_STRIDE + 16);
    const hasParent = span.parentSpanId.length !== 0;
    if (hasParent) copy(span.parentSpanId, this.ids, n * ID_STRIDE + 24);
    else this.ids.fill(0, n * ID_STRIDE + 24, n * ID_STRIDE + 32); // pooled memory: no stale bytes
    this.times[n * 2] = span.startTimeUnixNano;
    this.times[n * 2 + 1] = span.endTimeUnixNano;
    const reused = hot[H[Attr.CONNECTION_REUSED]];
    // In S order: the text is cut in the order the strings are written.
    const o = n * STRINGS;
    this.str(o + S.RUN_ID, hotString(hot, H[Attr.RUN_ID]) ?? this.resources[resourceIndex]!.runId);
    this.str(o + S.NAME, span.name);
    this.str(o + S.STATUS_MESSAGE, span.status.message);
    this.str(o + S.TRACE_STATE, span.traceState);
    this.str(o + S.SCOPE_NAME, scope.name);
    this.str(o + S.SCOPE_VERSION, scope.version);
    this.str(o + S.SCOPE_ATTRIBUTES, scope.attributesJson);
    this.str(o + S.SCOPE_SCHEMA_URL, scope.schemaUrl);
    this.lengths[o + S.ATTRIBUTES] = attributes.length;
    for (const piece of attributes.pieces) this.text.write(piece);
    this.str(o + S.EVENTS, span.events.length === 0 ? null : JSON.stringify(span.events, bigintReplacer));
    this.str(o + S.LINKS, span.links.length === 0 ? null : JSON.stringify(span.links, linkReplacer));
    this.str(o + S.REQUEST_NAME, hotString(hot, H[Attr.REQUEST_NAME]));
    this.str(o + S.HTTP_METHOD, hotString(hot, H[Attr.HTTP_METHOD]) ?? hotString(hot, H[Attr.HTTP_METHOD_OLD]));
    const nums = this.numbers;
    const b = n * NUMBERS;
    nums[b + N.RESOURCE] = resourceIndex;
    nums[b + N.HAS_PARENT] = hasParent ? 1 : 0;
    nums[b + N.KIND] = span.kind;
    nums[b + N.STATUS_CODE] = span.status.code;
    nums[b + N.FLAGS] = span.flags;
    nums[b + N.DROPPED_ATTRIBUTES] = span.droppedAttributesCount;
    nums[b + N.DROPPED_EVENTS] = span.droppedEventsCount;
    nums[b + N.DROPPED_LINKS] = span.droppedLinksCount;
    // NaN stands for NULL.
    nums[b + N.HTTP_STATUS] = hotNumber(hot, H[Attr.HTTP_STATUS]) ?? hotNumber(hot, H[Attr.HTTP_STATUS_OLD]) ?? NaN;
    nums[b + N.PHASE_BLOCKED] = hotNumber(hot, H[Attr.PHASE_BLOCKED]) ?? NaN;
    nums[b + N.PHASE_DNS] = hotNumber(hot, H[Attr.PHASE_DNS]) ?? NaN;
    nums[b + N.PHASE_CONNECT] = hotNumber(hot, H[Attr.PHASE_CONNECT]) ?? NaN;
    nums[b + N.PHASE_TLS] = hotNumber(hot, H[Attr.PHASE_TLS]) ?? NaN;
    nums[b + N.PHASE_SENDING] = hotNumber(hot, H[Attr.PHASE_SENDING]) ?? NaN;
    nums[b + N.PHASE_WAITING] = hotNumber(hot, H[Attr.PHASE_WAITING]) ?? NaN;
    nums[b + N.PHASE_RECEIVING] = hotNumber(hot, H[Attr.PHASE_RECEIVING]) ?? NaN;
    nums[b + N.CONNECTION_REUSED] = typeof reused === 'boolean' ? (reused ? 1 : 0) : NaN;
    this.n = n + 1;
  }

  /** A string column at `at` in `lengths` (-1 for NULL), its text appended. */
  private str(at: number, value: string | null | undefined): void {
    if (value === null || value === undefined) this.lengths[at] = -1;
    else {
      this.lengths[at] = value.length;
      this.text.write(value);
    }
  }

  finish(): SpanRows {
    if (this.n !== this.count) throw new Error(`SpanRowsBuilder: ${this.n} spans added, ${this.count} expected`);
    const { count, ids, numbers, times, lengths, resources } = this;
    return { count, ids, numbers, times, text: this.text.bytes(), lengths, resources };
  }
}

export function resourceKey(attributes: Attributes, droppedAttributesCount: number, schemaUrl: string): ResourceKey {
  const attributesJson = JSON.stringify(attributes);
  return {
    fingerprint: `${droppedAttributesCount}|${schemaUrl}|${attributesJson}`,
    attributesJson,
    droppedAttributesCount,
    schemaUrl,
    serviceName: attrString(attributes, ResourceAttr.SERVICE_NAME) ?? 'unknown_service',
    runId: attrString(attributes, ResourceAttr.RUN_ID) ?? null,
  };
}

function hotString(hot: HotValues, i: number): string | undefined {
  const v = hot[i];
  return typeof v === 'string' ? v : undefined;
}

function hotNumber(hot: HotValues, i: number): number | undefined {
  const v = hot[i];
  return typeof v === 'number' ? v : undefined;
}

/** Ids are 8 or 16 bytes: a loop beats TypedArray#set's call at that size. */
function copy(from: Uint8Array, to: Uint8Array, at: number): void {
  for (let i = 0; i < from.length; i++) to[at + i] = from[i]!;
}

function isEmpty(attrs: Attributes): boolean {
  for (const _ in attrs) return false;
  return true;
}

/** Events and links are stored as OTLP/JSON: nanosecond times as decimal strings, ids as hex. */
function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function linkReplacer(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify has already applied Buffer#toJSON to `value`; the raw bytes are on the holder.
  const raw = (this as Record<string, unknown>)[key];
  if ((key === 'traceId' || key === 'spanId') && raw instanceof Uint8Array) {
    return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
  }
  return bigintReplacer(key, value);
}
