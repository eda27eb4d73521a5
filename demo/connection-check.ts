// The demo's ground-truth check. The demo knows exactly what it injected (the proxy's delay on
// every new connection), so it reads the stored spans back and compares: for the load-test
// requests that opened a connection, the gap (client span − its server child) should be that
// delay plus a little; for the requests that reused one, close to zero. This is a cross-check of
// the whole pipeline, printed beside the analyzer's report, not a second analyzer.
import type Database from 'better-sqlite3';

export interface GapSummary {
  count: number;
  p50Ms: number | undefined;
}

export interface ConnectionCheck {
  opened: GapSummary;
  reused: GapSummary;
  /** Load-test roots of the run with no server child (propagation broken or spans lost). */
  unmatched: number;
}

const SERVER = 2;
const CLIENT = 3;

function median(sorted: number[]): number | undefined {
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function checkConnectionGaps(db: Database.Database, runId: string): ConnectionCheck {
  const rows = db
    .prepare(
      `SELECT r.connection_reused AS reused,
              (r.end_ns - r.start_ns) - (s.end_ns - s.start_ns) AS gap_ns
         FROM spans r
         JOIN spans s ON s.trace_id = r.trace_id AND s.parent_span_id = r.span_id AND s.kind = ${SERVER}
        WHERE r.parent_span_id IS NULL AND r.kind = ${CLIENT} AND r.run_id = ?`,
    )
    .all(runId) as { reused: number | null; gap_ns: number }[];
  const opened: number[] = [];
  const reused: number[] = [];
  for (const row of rows) (row.reused === 0 ? opened : reused).push(row.gap_ns / 1e6);
  opened.sort((a, b) => a - b);
  reused.sort((a, b) => a - b);
  const roots = db
    .prepare(`SELECT count(*) FROM spans WHERE parent_span_id IS NULL AND kind = ${CLIENT} AND run_id = ?`)
    .pluck()
    .get(runId) as number;
  const matchedRoots = db
    .prepare(
      `SELECT count(*) FROM spans r WHERE r.parent_span_id IS NULL AND r.kind = ${CLIENT} AND r.run_id = ?
          AND EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = r.trace_id AND s.parent_span_id = r.span_id AND s.kind = ${SERVER})`,
    )
    .pluck()
    .get(runId) as number;
  return {
    opened: { count: opened.length, p50Ms: median(opened) },
    reused: { count: reused.length, p50Ms: median(reused) },
    unmatched: roots - matchedRoots,
  };
}

/** One or two lines for the terminal; says plainly whether the injected delay was found. */
export function describeCheck(check: ConnectionCheck, injectedMs: number): string {
  const fmt = (ms: number | undefined): string => (ms === undefined ? 'n/a' : `${ms.toFixed(1)} ms`);
  const lines = [
    `Ground truth: the proxy delayed each new connection by ${injectedMs} ms.`,
    `  requests that opened a connection: ${check.opened.count}, gap p50 ${fmt(check.opened.p50Ms)}`,
    `  requests that reused one:          ${check.reused.count}, gap p50 ${fmt(check.reused.p50Ms)}`,
  ];
  if (check.opened.p50Ms !== undefined && injectedMs > 0) {
    const off = Math.abs(check.opened.p50Ms - injectedMs) / injectedMs;
    lines.push(
      off <= 0.1
        ? `  ✓ the injected delay is the gap (within ${(off * 100).toFixed(1)} %)`
        : `  ✗ the gap differs from the injected delay by ${(off * 100).toFixed(1)} % (a busy machine adds queueing)`,
    );
  }
  if (check.unmatched > 0) lines.push(`  ${check.unmatched} load-test requests have no server span (see coverage in the report)`);
  return lines.join('\n') + '\n';
}
