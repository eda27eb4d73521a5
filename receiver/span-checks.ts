// Checks on one decoded span. A span that fails is rejected alone through OTLP partial success
// (rejected_spans + error_message) while the rest of the request is stored: the request itself
// was decodable, only this span's content is unusable (opentelemetry-proto specification.md,
// "Partial Success"). Ids must have the lengths and non-zero values trace.proto demands.
import type { Attributes, AnyValue, MetricPoint, Span } from '../model/otlp.ts';

/** Why a span cannot be stored, or undefined when it can. */
export function spanProblem(span: Span): string | undefined {
  if (span.traceId.length !== 16) return `trace id must be 16 bytes, got ${span.traceId.length}`;
  if (isAllZero(span.traceId)) return 'trace id is all zeroes';
  if (span.spanId.length !== 8) return `span id must be 8 bytes, got ${span.spanId.length}`;
  if (isAllZero(span.spanId)) return 'span id is all zeroes';
  // SQLite integers are signed 64-bit: a fixed64 above 2^63 - 1 (after the year 2262) cannot be
  // stored exactly, so the span is refused rather than the whole request failing to commit.
  if (span.startTimeUnixNano > MAX_STORABLE_NANOS) return `start time ${span.startTimeUnixNano} is after the year 2262`;
  if (span.endTimeUnixNano > MAX_STORABLE_NANOS) return `end time ${span.endTimeUnixNano} is after the year 2262`;
  const parent = span.parentSpanId.length;
  if (parent !== 0 && parent !== 8) return `parent span id must be empty or 8 bytes, got ${parent}`;
  for (const link of span.links) {
    if (link.traceId.length !== 16 || link.spanId.length !== 8) {
      return `link ids must be 16 and 8 bytes, got ${link.traceId.length} and ${link.spanId.length}`;
    }
  }
  return undefined;
}

export const MAX_STORABLE_NANOS = 2n ** 63n - 1n;

/** Why a metric data point cannot be stored, or undefined when it can. */
export function pointProblem(point: MetricPoint): string | undefined {
  if (point.startTimeUnixNano > MAX_STORABLE_NANOS || point.timeUnixNano > MAX_STORABLE_NANOS) {
    return 'time is after the year 2262';
  }
  if (point.count !== null && !Number.isSafeInteger(point.count)) return `count ${point.count} is not exact as a 53-bit integer`;
  return undefined;
}

/** The points that can be stored; the others are counted as rejected data points. */
export function keepStorablePoints(points: MetricPoint[], rejected: Rejections): MetricPoint[] {
  let bad = 0;
  for (const p of points) {
    const problem = pointProblem(p);
    if (problem !== undefined) {
      rejected.add(`data point of '${p.metricName}'`, problem);
      bad += 1;
    }
  }
  return bad === 0 ? points : points.filter((p) => pointProblem(p) === undefined);
}

function isAllZero(id: Uint8Array): boolean {
  for (let i = 0; i < id.length; i++) if (id[i] !== 0) return false;
  return true;
}

/** Collects rejected spans (or data points) and the first few reasons, for partial_success. */
export class Rejections {
  count = 0;
  private readonly reasons: string[] = [];

  add(where: string, reason: string): void {
    this.count += 1;
    if (this.reasons.length < 3) this.reasons.push(`${where}: ${reason}`);
  }

  /** A short English message; the response stays far below the spec's 4 MiB response limit. */
  message(noun: string): string {
    if (this.count === 0) return '';
    const more = this.count > this.reasons.length ? `; and ${this.count - this.reasons.length} more` : '';
    return `rejected ${this.count} ${noun}${this.count === 1 ? '' : 's'}: ${this.reasons.join('; ')}${more}`;
  }
}

/** Set an attribute; a key named __proto__ must become data, never the object's prototype. */
export function setAttribute(attrs: Attributes, key: string, value: AnyValue): void {
  if (key === '__proto__') Object.defineProperty(attrs, key, { value, enumerable: true, writable: true, configurable: true });
  else attrs[key] = value;
}
