// Decoded spans turned into the store's rows, ready to bind: the part of writing that needs no
// database, so it runs on the thread that decodes while the writer thread only binds and steps.
// The shape is built to cross threads cheaply: ids, numbers, timestamps and string lengths in
// typed arrays whose buffers are transferred (no copy), and every string column of every span
// concatenated into one string (one memcpy in the structured clone). Posting an array of per-span
// values instead cost as much as building the rows (measured: docs/benchmarks.md).
import { Attr, Resource as ResourceAttr } from './attributes.ts';
import { attrBool, attrNumber, attrString, type Attributes, type TracesRequest } from './otlp.ts';

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
  /** Every string column of every span, concatenated; `lengths` cuts it (UTF-16 code units). */
  text: string;
  lengths: Int32Array;
  resources: ResourceKey[];
}

/** The buffers to transfer when posting rows to another thread. */
export function transferables(rows: SpanRows): ArrayBuffer[] {
  return [rows.ids.buffer, rows.numbers.buffer, rows.times.buffer, rows.lengths.buffer] as ArrayBuffer[];
}

/** Every span of a decoded request as rows (ids, timestamps and attribute JSON exactly as stored). */
export function spanRows(request: TracesRequest): SpanRows {
  let count = 0;
  for (const rs of request.resourceSpans) for (const ss of rs.scopeSpans) count += ss.spans.length;
  const ids = new Uint8Array(count * ID_STRIDE);
  const numbers = new Float64Array(count * NUMBERS);
  const times = new BigInt64Array(count * 2);
  const lengths = new Int32Array(count * STRINGS);
  const parts: string[] = [];
  const resources: ResourceKey[] = [];
  let n = 0;
  const str = (column: number, value: string | null | undefined): void => {
    if (value === null || value === undefined) lengths[n * STRINGS + column] = -1;
    else {
      lengths[n * STRINGS + column] = value.length;
      parts.push(value);
    }
  };
  const num = (column: number, value: number | null | undefined): void => {
    numbers[n * NUMBERS + column] = value ?? NaN;
  };
  for (const rs of request.resourceSpans) {
    const resource = resourceKey(rs.resource.attributes, rs.resource.droppedAttributesCount, rs.schemaUrl);
    const resourceIndex = resources.push(resource) - 1;
    for (const ss of rs.scopeSpans) {
      const scopeAttributes = isEmpty(ss.scope.attributes) ? null : JSON.stringify(ss.scope.attributes);
      for (const span of ss.spans) {
        const at = n * ID_STRIDE;
        ids.set(span.traceId, at);
        ids.set(span.spanId, at + 16);
        const hasParent = span.parentSpanId.length !== 0;
        if (hasParent) ids.set(span.parentSpanId, at + 24);
        times[n * 2] = span.startTimeUnixNano;
        times[n * 2 + 1] = span.endTimeUnixNano;
        const a = span.attributes;
        const reused = attrBool(a, Attr.CONNECTION_REUSED);
        // In S order: `parts` is concatenated in the order the strings are pushed.
        str(S.RUN_ID, attrString(a, Attr.RUN_ID) ?? resource.runId);
        str(S.NAME, span.name);
        str(S.STATUS_MESSAGE, span.status.message);
        str(S.TRACE_STATE, span.traceState);
        str(S.SCOPE_NAME, ss.scope.name);
        str(S.SCOPE_VERSION, ss.scope.version);
        str(S.SCOPE_ATTRIBUTES, scopeAttributes);
        str(S.SCOPE_SCHEMA_URL, ss.schemaUrl);
        str(S.ATTRIBUTES, JSON.stringify(a));
        str(S.EVENTS, span.events.length === 0 ? null : JSON.stringify(span.events, bigintReplacer));
        str(S.LINKS, span.links.length === 0 ? null : JSON.stringify(span.links, linkReplacer));
        str(S.REQUEST_NAME, attrString(a, Attr.REQUEST_NAME));
        str(S.HTTP_METHOD, attrString(a, Attr.HTTP_METHOD) ?? attrString(a, Attr.HTTP_METHOD_OLD));
        num(N.RESOURCE, resourceIndex);
        num(N.HAS_PARENT, hasParent ? 1 : 0);
        num(N.KIND, span.kind);
        num(N.STATUS_CODE, span.status.code);
        num(N.FLAGS, span.flags);
        num(N.DROPPED_ATTRIBUTES, span.droppedAttributesCount);
        num(N.DROPPED_EVENTS, span.droppedEventsCount);
        num(N.DROPPED_LINKS, span.droppedLinksCount);
        num(N.HTTP_STATUS, attrNumber(a, Attr.HTTP_STATUS) ?? attrNumber(a, Attr.HTTP_STATUS_OLD));
        num(N.PHASE_BLOCKED, attrNumber(a, Attr.PHASE_BLOCKED));
        num(N.PHASE_DNS, attrNumber(a, Attr.PHASE_DNS));
        num(N.PHASE_CONNECT, attrNumber(a, Attr.PHASE_CONNECT));
        num(N.PHASE_TLS, attrNumber(a, Attr.PHASE_TLS));
        num(N.PHASE_SENDING, attrNumber(a, Attr.PHASE_SENDING));
        num(N.PHASE_WAITING, attrNumber(a, Attr.PHASE_WAITING));
        num(N.PHASE_RECEIVING, attrNumber(a, Attr.PHASE_RECEIVING));
        num(N.CONNECTION_REUSED, reused === undefined ? null : reused ? 1 : 0);
        n += 1;
      }
    }
  }
  return { count, ids, numbers, times, text: parts.join(''), lengths, resources };
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
