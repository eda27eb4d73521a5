// `firstspan analyze --list`: every stored run with its headline figures — requests, gap p50 and
// p99, propagation coverage — so a baseline can be picked. Each run is analysed (one pass over its
// pairs, no waterfalls) to get them; the table is plain aligned text, `--format json` a list.
import { analyze, type AnalyzeOptions } from './analyze.ts';
import type { OtherClientTraffic } from './find-runs.ts';
import type { Shard } from '../model/span-reads.ts';
import { printable } from './render-shared.ts';

export interface RunListEntry {
  label: string;
  service: string;
  runId: string | null;
  start: string;
  end: string;
  durationS: number;
  requests: number;
  /** null with no gap measured (no matched server span). */
  gapP50Ms: number | null;
  gapP99Ms: number | null;
  propagationCoverage: number;
  findings: number;
}

/** The runs, and the trace-root CLIENT traffic of services that are no load generator (not runs). */
export async function runList(shards: Shard[], options: AnalyzeOptions): Promise<{ runs: RunListEntry[]; other: OtherClientTraffic[] }> {
  const report = await analyze(shards, { ...options, topN: 0 });
  const runs = report.runs.map((r) => ({
    label: r.label,
    service: r.service,
    runId: r.runId,
    start: r.start,
    end: r.end,
    durationS: r.durationS,
    requests: r.rootSpans,
    gapP50Ms: r.total.gapMs?.p50 ?? null,
    gapP99Ms: r.total.gapMs?.p99 ?? null,
    propagationCoverage: r.propagationCoverage,
    findings: r.findings.length,
  }));
  return { runs, other: report.otherClientTraffic };
}

function ms(v: number | null): string {
  if (v === null) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function runListText(runs: RunListEntry[]): string {
  const header = ['Run', 'Service', 'Start', 'Duration', 'Requests', 'Gap p50', 'Gap p99', 'Coverage', 'Findings'];
  const rows = runs.map((r) => [
    printable(r.label, 60),
    printable(r.service),
    r.start,
    `${r.durationS.toFixed(1)} s`,
    String(r.requests),
    ms(r.gapP50Ms),
    ms(r.gapP99Ms),
    `${(r.propagationCoverage * 100).toFixed(1)}%`,
    String(r.findings),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
