// OTLP export settings resolved once from the standard OTEL_* variables (OpenTelemetry's SDK
// environment variable spec): defaults < env. Pure: takes the env, returns settings or problems.
// https://opentelemetry.io/docs/specs/otel/protocol/exporter/
import { envValue, type CommandIO } from '../cli/io.ts';
import type { Problems } from '../cli/args.ts';

export const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * Who encodes http/protobuf span exports: firstspan's encoder for its own spans (the default,
 * several times cheaper) or the OTel SDK's general serializer. Both go through the SDK's exporter.
 */
export const ENCODERS = ['firstspan', 'sdk'] as const;
export type Encoder = (typeof ENCODERS)[number];

export interface TelemetryConfig {
  tracesUrl: string;
  metricsUrl: string;
  protocol: Protocol;
  metricsProtocol: Protocol;
  /** Share of requests traced (OTEL_TRACES_SAMPLER/_ARG), 0..1; the rest carry an unsampled traceparent. */
  sampleRatio: number;
  /** The sampler as named in OTEL_TRACES_SAMPLER (for the run's report). */
  sampler: string;
  /** FIRSTSPAN_OTLP_ENCODER; http/json and grpc always use the SDK's own exporters. */
  encoder: Encoder;
  tracesHeaders: Record<string, string>;
  metricsHeaders: Record<string, string>;
  timeoutMillis: number;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  /** Batch span processor: sized for load-test rates, not for an app's trickle of spans. */
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  metricExportIntervalMillis: number;
}

const DEFAULT_HTTP_ENDPOINT = 'http://localhost:4318';
const DEFAULT_GRPC_ENDPOINT = 'http://localhost:4317';

function signalUrl(env: CommandIO['env'], signal: 'TRACES' | 'METRICS', protocol: Protocol, problems: Problems): string {
  const specific = envValue(env, `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`);
  const generic = envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  // The per-signal variable is used as it is. Over HTTP the generic one gets /v1/<signal>
  // appended; over gRPC it names the server, whose service names say the signal (exporter spec).
  const url =
    specific ??
    (protocol === 'grpc' ? (generic ?? DEFAULT_GRPC_ENDPOINT) : `${(generic ?? DEFAULT_HTTP_ENDPOINT).replace(/\/+$/, '')}/v1/${signal.toLowerCase()}`);
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    problems.add(`${specific !== undefined ? `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT` : 'OTEL_EXPORTER_OTLP_ENDPOINT'} must be an http(s) URL, got '${url}'`);
  }
  return url;
}

function protocolOf(env: CommandIO['env'], signal: 'TRACES' | 'METRICS', problems: Problems): Protocol {
  const name = envValue(env, `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) !== undefined ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL` : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const raw = envValue(env, name) ?? 'http/protobuf';
  if ((PROTOCOLS as readonly string[]).includes(raw)) return raw as Protocol;
  problems.add(`${name} must be one of ${PROTOCOLS.join(', ')}, got '${raw}'`);
  return 'http/protobuf';
}

/**
 * OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (SDK environment spec). Every request span is a
 * trace root, so the parent-based samplers act as their root sampler.
 */
function samplerOf(env: CommandIO['env'], problems: Problems): { sampler: string; sampleRatio: number } {
  const sampler = envValue(env, 'OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on';
  const fixed: Record<string, number> = { always_on: 1, parentbased_always_on: 1, always_off: 0, parentbased_always_off: 0 };
  if (sampler in fixed) return { sampler, sampleRatio: fixed[sampler] as number };
  if (sampler !== 'traceidratio' && sampler !== 'parentbased_traceidratio') {
    problems.add(`OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got '${sampler}'`);
    return { sampler, sampleRatio: 1 };
  }
  const raw = envValue(env, 'OTEL_TRACES_SAMPLER_ARG');
  const ratio = raw === undefined ? 1 : Number(raw);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    problems.add(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 for ${sampler}, got '${raw}'`);
    return { sampler, sampleRatio: 1 };
  }
  return { sampler, sampleRatio: ratio };
}

function encoderOf(env: CommandIO['env'], problems: Problems): Encoder {
  const raw = envValue(env, 'FIRSTSPAN_OTLP_ENCODER') ?? 'firstspan';
  if ((ENCODERS as readonly string[]).includes(raw)) return raw as Encoder;
  problems.add(`FIRSTSPAN_OTLP_ENCODER must be one of ${ENCODERS.join(', ')}, got '${raw}'`);
  return 'firstspan';
}

/** `key=value,key2=value2` with percent-encoded values (W3C baggage format, as the spec says). */
export function parseKeyValues(raw: string | undefined, variable: string, problems: Problems): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined) return out;
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      problems.add(`${variable} must be key=value pairs separated by commas, got '${part.trim()}'`);
      continue;
    }
    try {
      out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      problems.add(`${variable}: '${part.trim()}' is not valid percent-encoding`);
    }
  }
  return out;
}

function positiveInt(env: CommandIO['env'], name: string, fallback: number, problems: Problems): number {
  const raw = envValue(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    problems.add(`${name} must be a positive integer, got '${raw}'`);
    return fallback;
  }
  return n;
}

export function resolveTelemetryConfig(env: CommandIO['env'], problems: Problems): TelemetryConfig {
  const resourceAttributes = parseKeyValues(envValue(env, 'OTEL_RESOURCE_ATTRIBUTES'), 'OTEL_RESOURCE_ATTRIBUTES', problems);
  const generic = parseKeyValues(envValue(env, 'OTEL_EXPORTER_OTLP_HEADERS'), 'OTEL_EXPORTER_OTLP_HEADERS', problems);
  const maxQueueSize = positiveInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 262_144, problems);
  const protocol = protocolOf(env, 'TRACES', problems);
  const metricsProtocol = protocolOf(env, 'METRICS', problems);
  return {
    tracesUrl: signalUrl(env, 'TRACES', protocol, problems),
    metricsUrl: signalUrl(env, 'METRICS', metricsProtocol, problems),
    protocol,
    metricsProtocol,
    encoder: encoderOf(env, problems),
    ...samplerOf(env, problems),
    tracesHeaders: { ...generic, ...parseKeyValues(envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'), 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', problems) },
    metricsHeaders: { ...generic, ...parseKeyValues(envValue(env, 'OTEL_EXPORTER_OTLP_METRICS_HEADERS'), 'OTEL_EXPORTER_OTLP_METRICS_HEADERS', problems) },
    timeoutMillis: positiveInt(env, 'OTEL_EXPORTER_OTLP_TIMEOUT', 10_000, problems),
    // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES (SDK spec).
    serviceName: envValue(env, 'OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? 'firstspan',
    resourceAttributes,
    maxQueueSize,
    maxExportBatchSize: Math.min(positiveInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, problems), maxQueueSize),
    scheduledDelayMillis: positiveInt(env, 'OTEL_BSP_SCHEDULE_DELAY', 1000, problems),
    metricExportIntervalMillis: positiveInt(env, 'OTEL_METRIC_EXPORT_INTERVAL', 5000, problems),
  };
}
