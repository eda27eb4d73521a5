// A decoded traces request as OTLP/JSON, for tests that send spans to the real receiver over HTTP.
import type { Attributes, TracesRequest } from '../../model/otlp.ts';

/** OTLP/JSON of a decoded request (opentelemetry-proto: hex ids, 64-bit integers as strings, attributes as {key, value}). */
export function otlpJson(request: TracesRequest): string {
  const attributes = (a: Attributes): { key: string; value: unknown }[] => Object.entries(a).map(([key, value]) => ({ key, value }));
  return JSON.stringify(request, (key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
    if (typeof value === 'bigint') return value.toString();
    if (key === 'attributes' && value !== null && typeof value === 'object' && !Array.isArray(value)) return attributes(value as Attributes);
    return value;
  });
}
