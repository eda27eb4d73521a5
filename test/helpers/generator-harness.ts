// What the generator tests share: a real receiver (SQLite), the instrumented target exporting to
// it, scripts written to a temporary directory outside the repo (so every test also proves that a
// lone script can `import … from 'firstspan'`), and queries over the stored spans.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startReceiver, type RunningReceiver } from '../../receiver/start.ts';
import { readStoreFile } from './store-file.ts';
import { startTargetService, type TargetService } from './target-service.ts';

export function tempDir(prefix = 'firstspan-gen-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeScript(dir: string, name: string, source: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
}

export interface Stack {
  receiver: RunningReceiver;
  target: TargetService;
  dir: string;
  /** Env for `firstspan run --otel` pointing at the receiver. */
  otelEnv: Record<string, string>;
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const { dir, remove } = tempDir();
  const receiver = await startReceiver({ db: path.join(dir, 'spans.db'), port: 0 });
  const target = await startTargetService({ otlpTracesUrl: `${receiver.url}/v1/traces`, serviceName: 'target-service' });
  return {
    receiver,
    target,
    dir,
    otelEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '1000' },
    async close() {
      await target.close().catch(() => undefined);
      await receiver.close();
      remove();
    },
  };
}

export const SPAN_KIND = { SERVER: 2, CLIENT: 3 } as const;

export interface StoredSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  serviceName: string;
  runId: string | null;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  statusCode: number;
  attributes: Record<string, { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean }>;
  phases: Record<string, number | null>;
  connectionReused: number | null;
  requestName: string | null;
}

const SPAN_COLUMNS = `hex(trace_id) AS t, hex(span_id) AS s, hex(parent_span_id) AS p, service_name, run_id, name, kind, start_ns, end_ns,
  status_code, attributes, phase_blocked_ms, phase_dns_ms, phase_connect_ms, phase_tls_ms, phase_sending_ms,
  phase_waiting_ms, phase_receiving_ms, connection_reused, request_name`;

// Each query is whole, parameters bound: the tests name what they read, they never write SQL.
const QUERIES = {
  ofRun: `SELECT ${SPAN_COLUMNS} FROM spans WHERE run_id = ? ORDER BY start_ns`,
  clientsOfRun: `SELECT ${SPAN_COLUMNS} FROM spans WHERE kind = ${SPAN_KIND.CLIENT} AND run_id = ? ORDER BY start_ns`,
  serversOf: `SELECT ${SPAN_COLUMNS} FROM spans WHERE kind = ${SPAN_KIND.SERVER} AND service_name = ? ORDER BY start_ns`,
  serversOfInRunTraces: `SELECT ${SPAN_COLUMNS} FROM spans
    WHERE kind = ${SPAN_KIND.SERVER} AND service_name = ? AND trace_id IN (SELECT trace_id FROM spans WHERE run_id = ?) ORDER BY start_ns`,
} as const;

function storedSpans(receiver: RunningReceiver, query: keyof typeof QUERIES, ...params: string[]): StoredSpan[] {
  const rows = readStoreFile(receiver.store.path, (db) => db.prepare(QUERIES[query]).safeIntegers(true).all(...params) as Array<Record<string, unknown>>);
  return rows.map((r) => ({
    traceId: String(r.t).toLowerCase(),
    spanId: String(r.s).toLowerCase(),
    parentSpanId: r.p === null || r.p === '' ? null : String(r.p).toLowerCase(),
    serviceName: String(r.service_name),
    runId: r.run_id === null ? null : String(r.run_id),
    name: String(r.name),
    kind: Number(r.kind),
    startNs: r.start_ns as bigint,
    endNs: r.end_ns as bigint,
    statusCode: Number(r.status_code),
    attributes: JSON.parse(String(r.attributes)) as StoredSpan['attributes'],
    phases: {
      blocked: r.phase_blocked_ms === null ? null : Number(r.phase_blocked_ms),
      dns: r.phase_dns_ms === null ? null : Number(r.phase_dns_ms),
      connect: r.phase_connect_ms === null ? null : Number(r.phase_connect_ms),
      tls: r.phase_tls_ms === null ? null : Number(r.phase_tls_ms),
      sending: r.phase_sending_ms === null ? null : Number(r.phase_sending_ms),
      waiting: r.phase_waiting_ms === null ? null : Number(r.phase_waiting_ms),
      receiving: r.phase_receiving_ms === null ? null : Number(r.phase_receiving_ms),
    },
    connectionReused: r.connection_reused === null ? null : Number(r.connection_reused),
    requestName: r.request_name === null ? null : String(r.request_name),
  }));
}

/** Every span of run `runId`, oldest first. */
export function spansOfRun(receiver: RunningReceiver, runId: string): StoredSpan[] {
  return storedSpans(receiver, 'ofRun', runId);
}

/** The CLIENT spans of run `runId` (the generator's requests), oldest first. */
export function clientSpansOfRun(receiver: RunningReceiver, runId: string): StoredSpan[] {
  return storedSpans(receiver, 'clientsOfRun', runId);
}

/** The SERVER spans of `service`, oldest first. */
export function serverSpansOf(receiver: RunningReceiver, service: string): StoredSpan[] {
  return storedSpans(receiver, 'serversOf', service);
}

/** The SERVER spans of `service` in the traces run `runId` started, oldest first. */
export function serverSpansInRunTraces(receiver: RunningReceiver, service: string, runId: string): StoredSpan[] {
  return storedSpans(receiver, 'serversOfInRunTraces', service, runId);
}

export function durationMs(span: StoredSpan): number {
  return Number(span.endNs - span.startNs) / 1e6;
}

export function phaseSum(span: StoredSpan): number {
  return Object.values(span.phases).reduce<number>((s, v) => s + (v ?? 0), 0);
}

/** The --json summary's shape, as far as tests read it. */
export interface Summary {
  runId: string;
  stopReason: string;
  peakUsers: number;
  requests: Array<{ method: string; name: string; count: number; failures: number; medianMs: number; p99Ms: number }>;
  total: { count: number; failures: number };
  /** Requests the stop cut off: spans, but not in the stats. */
  cutOff: number;
  failures: Array<{ method: string; name: string; error: string; occurrences: number }>;
  exceptions: Array<{ count: number; message: string }>;
  telemetry: { spansEnded: number; spansExported: number; spansFailed: number; spansDropped: number; warning?: string } | null;
}
