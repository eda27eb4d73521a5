// An ExportTraceServiceRequest's protobuf bytes straight to the store's rows (model/span-rows.ts),
// without the decoded model in between: the receiver's fast path for traces. Spans are walked as
// decode-protobuf.ts walks them (its own readSpan, same reader and checks), but their
// attributes go from the wire to their JSON text and hot columns (attributes-json.ts) instead of
// into a map of AnyValue objects that is then stringified.
//
// It returns undefined whenever its rows might differ from spanRows(decodeTracesProtobuf(bytes))
// — malformed input, a span to reject, attributes it cannot write straight — and the caller then
// takes that full path, which gives the error, the partial success or the rows. So the fast path
// changes what a request costs, never what it stores or answers (test/receiver-span-rows.test.ts
// compares the two on random and mutated requests).
import type { Resource } from '../model/otlp.ts';
import {
  resourceKey,
  scopeColumns,
  SpanRowsBuilder,
  type ScopeColumns,
  type SpanAttributeColumns,
  type SpanRows,
} from '../model/span-rows.ts';
import { AttributesJson } from './attributes-json.ts';
import { readResource, readScope, readSpan, skipField } from './decode-protobuf.ts';
import { ExportTraceServiceRequestTag, ResourceSpansTag, ScopeSpansTag } from '../model/otlp-fields.ts';
import { ProtobufReader } from '../model/protobuf-wire.ts';
import { spanProblem } from './span-checks.ts';


/** Rows for every span of the request, or undefined: decode it the full way instead. */
export function spanRowsFromProtobuf(buf: Buffer): SpanRows | undefined {
  try {
    return walk(buf);
  } catch {
    // Malformed input, or attributes not written straight (NotStraight): the full decoder decides.
    return undefined;
  }
}

/** The walk itself; throws where spanRowsFromProtobuf gives up (exported for the tests). */
export function walkSpanRows(buf: Buffer): SpanRows | undefined {
  return walk(buf);
}

/** Per request: the builder, the reused attribute writer and columns. */
interface Walk {
  rows: SpanRowsBuilder;
  attributes: AttributesJson;
  columns: SpanAttributeColumns;
}

const shared = new AttributesJson();

function walk(buf: Buffer): SpanRows | undefined {
  const r = new ProtobufReader(buf);
  const end = buf.length;
  const rows = new SpanRowsBuilder(countSpans(buf));
  const w: Walk = { rows, attributes: shared, columns: { pieces: shared.pieces, length: 0, hot: shared.hot } };
  try {
    while (r.pos < end) {
      const tag = r.uint32(end);
      if (tag === ExportTraceServiceRequestTag.RESOURCE_SPANS) {
        const stop = r.lengthEnd(end);
        if (!resourceSpans(r, stop, w)) return undefined;
      } else skipField(r, tag, end);
    }
  } finally {
    shared.request(); // keep no reference to this body
  }
  return rows.finish();
}

/** Spans in the request (the ScopeSpans.spans fields), to size the rows; nothing else is read. */
function countSpans(buf: Buffer): number {
  const r = new ProtobufReader(buf);
  let count = 0;
  const each = (end: number, field: number, inner: (stop: number) => void): void => {
    while (r.pos < end) {
      const tag = r.uint32(end);
      if (tag === field) {
        const stop = r.lengthEnd(end);
        inner(stop);
        r.pos = stop;
      } else skipField(r, tag, end);
    }
  };
  each(buf.length, ExportTraceServiceRequestTag.RESOURCE_SPANS, (rs) =>
    each(rs, ResourceSpansTag.SCOPE_SPANS, (ss) =>
      each(ss, ScopeSpansTag.SPANS, () => {
        count += 1;
      }),
    ),
  );
  return count;
}

/**
 * ResourceSpans: resource 1, scope_spans 2, schema_url 3. The resource and schema URL may follow
 * the spans on the wire, so they are read first (every occurrence, the last one kept, as
 * readResourceSpans does) and the scope spans second.
 */
function resourceSpans(r: ProtobufReader, end: number, w: Walk): boolean {
  const start = r.pos;
  let resource: Resource = { attributes: {}, droppedAttributesCount: 0 };
  let schemaUrl = '';
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ResourceSpansTag.RESOURCE) resource = readResource(r, r.lengthEnd(end));
    else if (tag === ResourceSpansTag.SCOPE_SPANS) r.pos = r.lengthEnd(end);
    else if (tag === ResourceSpansTag.SCHEMA_URL) schemaUrl = r.string(end);
    else skipField(r, tag, end);
  }
  const index = w.rows.resource(resourceKey(resource.attributes, resource.droppedAttributesCount, schemaUrl));
  r.pos = start;
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ResourceSpansTag.SCOPE_SPANS) {
      const stop = r.lengthEnd(end);
      if (!scopeSpans(r, stop, index, w)) return false;
    } else r.skip(tag & 7, end); // read above
  }
  return true;
}

/** ScopeSpans: scope 1, spans 2, schema_url 3; scope and schema URL first, as above. */
function scopeSpans(r: ProtobufReader, end: number, resource: number, w: Walk): boolean {
  const start = r.pos;
  let scope = { name: '', version: '', attributes: {}, droppedAttributesCount: 0 };
  let schemaUrl = '';
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ScopeSpansTag.SCOPE) scope = readScope(r, r.lengthEnd(end));
    else if (tag === ScopeSpansTag.SPANS) r.pos = r.lengthEnd(end);
    else if (tag === ScopeSpansTag.SCHEMA_URL) schemaUrl = r.string(end);
    else skipField(r, tag, end);
  }
  const columns = scopeColumns(scope, schemaUrl);
  r.pos = start;
  while (r.pos < end) {
    const tag = r.uint32(end);
    if (tag === ScopeSpansTag.SPANS) {
      if (!span(r, r.lengthEnd(end), resource, columns, w)) return false;
    } else r.skip(tag & 7, end);
  }
  return true;
}

/** One Span, read by readSpan, into the next row; false when the full decoder would reject it. */
function span(r: ProtobufReader, end: number, resource: number, scope: ScopeColumns, w: Walk): boolean {
  w.attributes.begin();
  const s = readSpan(r, end, addAttribute);
  if (spanProblem(s) !== undefined) return false;
  w.attributes.finish();
  w.columns.length = w.attributes.length;
  w.rows.span(s, resource, scope, w.columns);
  return true;
}

function addAttribute(r: ProtobufReader, end: number): void {
  shared.add(r, end);
}
