// The report model: the Report value the analysis produces and every renderer reads (table, JSON,
// CSV, HTML, the web UI's report), and the pure builders the renderers share — how a stored span's
// attributes and events read in a waterfall, and the wording about clock offsets. analyze.ts fills
// a Report; nothing here reads a database.

import { SpanKind } from '../model/otlp.ts';
import type { OffsetEstimate } from './clock-offset.ts';
import type { GeneratorKind, OtherClientTraffic } from './find-runs.ts';
import type { Finding } from './findings.ts';
import type { PhasesMs } from './gap-breakdown.ts';
import type { Oddities } from './pair-spans.ts';
import type { MetricSeries } from './server-metrics.ts';
import type { Stats } from './stats.ts';
import type { TailPhases } from './tail-breakdown.ts';
import type { EndpointTimePoint, TimelinePoint } from './timeline.ts';
import type { Warning } from './warnings.ts';

export const REPORT_SCHEMA_VERSION = 1;

export interface EndpointReport {
  name: string;
  count: number;
  matched: number;
  errors: number;
  clientMs: Stats;
  /** null when no root of the endpoint has a matched server span: no data, never 0. */
  serverMs: Stats | null;
  /** null when no pair has a gap (no matched server span, or none shorter than its client span). */
  gapMs: Stats | null;
  /** Where the gap went; null with no pair to split. */
  phasesMs: PhasesMs | null;
  /** Where the gap of the slowest 10% and 1% of the requests (by gap) went: each part's mean over them. */
  tailPhasesMs: TailPhases;
  propagationCoverage: number;
  errorRate: number;
  /** Roots with more than one server child (retries, redirects), and how many extra children. */
  multipleServerChildren: number;
  extraServerChildren: number;
  /**
   * Roots that opened a new connection (connection_reused = false); null when no root says
   * (real Locust): unknown, not zero.
   */
  newConnections: number | null;
  /**
   * The gap split by what the request did with its connection: a connection's set-up cost shows
   * as the difference. Roots without the connection attribute (real Locust) are in neither; null
   * when no root has it.
   */
  gapByConnection: { opened: ConnectionGap; reused: ConnectionGap } | null;
  /** Client p50/p95 per second (buckets of several seconds in long runs), for the report. */
  clientOverTime: EndpointTimePoint[];
  /** True while every percentile is computed from the exact values (false once HDR-binned). */
  exactPercentiles: boolean;
  /** Requests cut off by the end of the run (no response measured): in none of the figures above. */
  cutOff: number;
}

export interface ConnectionGap {
  /** Matched roots with a gap. */
  count: number;
  /** null when count is 0. */
  gapMs: Stats | null;
}

export interface WaterfallSpan {
  spanId: string;
  parentSpanId: string | null;
  service: string;
  name: string;
  kind: 'server' | 'client' | 'internal' | 'producer' | 'consumer' | 'unspecified';
  /** Start after the root's start on the generator's clock (offset-corrected), ms. */
  startMs: number;
  durationMs: number;
  depth: number;
  error: boolean;
  /** For the report's span-detail panel: status message, attributes and events as display text. */
  statusMessage?: string;
  attributes?: Record<string, string>;
  events?: Array<{ name: string; atMs: number | null; attributes: Record<string, string> }>;
  /** Offset applied to this span's times (its service's estimate, else its parent's). */
  offsetMs: number;
}

export interface Waterfall {
  traceId: string;
  endpoint: string;
  rootName: string;
  gapMs: number;
  clientMs: number;
  serverMs: number;
  /** Phase segments of the root, in order, ms after its start; empty without phase attributes. */
  phases: Array<{ name: string; startMs: number; durationMs: number }>;
  spans: WaterfallSpan[];
}

export interface BackgroundReport {
  count: number;
  services: Array<{ service: string; count: number }>;
  serverMs: Stats;
  topNames: Array<{ name: string; count: number }>;
}

export interface RunReport {
  service: string;
  /** How the service was recognised as a load generator: its own spans, Locust's resource, or --service. */
  generator: GeneratorKind;
  runId: string | null;
  label: string;
  start: string;
  end: string;
  durationS: number;
  /** Load-test requests in the figures (requests cut off by the end of the run excluded). */
  rootSpans: number;
  matched: number;
  /** Requests cut off by the end of the run (cut-off.ts): counted apart, in no figure. */
  cutOff: number;
  propagationCoverage: number;
  backgroundServerSpans: number;
  background: BackgroundReport;
  clockOffsets: OffsetEstimate[];
  total: EndpointReport;
  endpoints: EndpointReport[];
  oddities: Oddities;
  /** What the figures cannot show, in words: no server data, still receiving (warnings.ts). */
  warnings: Warning[];
  /** Where the time went, in a few generated sentences (sentences.ts). */
  summary: string[];
  timeline: TimelinePoint[];
  slowestTraces: Waterfall[];
  /** Failed requests by endpoint and message (status message, else HTTP status), most first. */
  failures: Array<{ endpoint: string; message: string; count: number }>;
  /** Why the gap is what it is (findings.ts), after the figures they rest on. */
  findings: Finding[];
  /** The services' metrics named by --metric, per second on the run's timeline (server-metrics.ts). */
  serverMetrics: MetricSeries[];
}

export interface Report {
  schemaVersion: 1;
  generatedAt: string;
  databases: string[];
  runs: RunReport[];
  /** Trace-root CLIENT spans of services that are no load generator (not runs), per service. */
  otherClientTraffic: OtherClientTraffic[];
}

export const KIND_NAMES: Record<number, WaterfallSpan['kind']> = {
  [SpanKind.UNSPECIFIED]: 'unspecified',
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

export function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** An OTLP/JSON AnyValue (as the store keeps it) as the text a person reads. */
function displayValue(v: unknown): string {
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of ['stringValue', 'intValue', 'doubleValue', 'boolValue', 'bytesValue'] as const) if (k in o) return String(o[k]);
    if ('arrayValue' in o) return `[${(((o.arrayValue as { values?: unknown[] } | null)?.values) ?? []).map(displayValue).join(', ')}]`;
    if ('kvlistValue' in o) return JSON.stringify(displayAttributes(Object.fromEntries((((o.kvlistValue as { values?: Array<{ key: string; value: unknown }> } | null)?.values) ?? []).map((kv) => [kv.key, kv.value]))));
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function displayAttributes(json: unknown): Record<string, string> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return {};
  return Object.fromEntries(Object.entries(json as Record<string, unknown>).map(([k, v]) => [k, displayValue(v)]));
}

export function displayEvents(json: unknown, spanStartNs: bigint): NonNullable<WaterfallSpan['events']> {
  if (!Array.isArray(json)) return [];
  return json.map((e: { name?: unknown; timeUnixNano?: unknown; attributes?: unknown }) => {
    let atMs: number | null = null;
    try {
      if (typeof e.timeUnixNano === 'string' || typeof e.timeUnixNano === 'number') atMs = Number(BigInt(e.timeUnixNano) - spanStartNs) / 1e6;
    } catch {
      atMs = null;
    }
    return { name: String(e.name ?? ''), atMs, attributes: displayAttributes(e.attributes ?? null) };
  });
}

/**
 * What the clock offsets explain of the server spans lying outside their client span on the raw
 * clocks: the rest (residual) still stick out once corrected — timestamp noise, not offset.
 */
export function offsetNote(run: RunReport): string | undefined {
  const outside = run.oddities.serverOutsideClientSpan;
  if (outside === 0 || run.clockOffsets.length === 0) return undefined;
  const residual = run.clockOffsets.reduce((n, o) => n + o.residual.pairs, 0);
  const what = `${outside} server spans lie outside their client span on the raw clocks: what a clock offset between the hosts looks like, and the gap, which needs no offset, is not affected`;
  if (residual === 0) return `${what}; with the estimated offsets removed, every one lies inside`;
  // The residual is counted against the corrected clocks, so it can exceed `outside` (pairs
  // inside on the raw clocks may stick out once corrected): report both, never their difference.
  return `${what}; with the estimated offsets removed, ${residual} pairs still stick out a little: noise in the span timestamps (a span ended late by a busy event loop), which no offset removes; only the before/after split of those pairs may be off, by at most the amounts shown`;
}

/** One service's residual: how far its corrected server spans still stick out, or undefined if none do. */
export function residualNote(o: OffsetEstimate): string | undefined {
  const r = o.residual;
  if (r.pairs === 0) return undefined;
  return `${r.pairs} of ${o.samples} corrected server spans still stick out of their client span, by p50 ${r.p50Ms.toFixed(3)} ms, max ${r.maxMs.toFixed(3)} ms`;
}

export function explainedByOffset(run: RunReport, oddity: string): boolean {
  return oddity === 'serverOutsideClientSpan' && run.clockOffsets.length > 0;
}
