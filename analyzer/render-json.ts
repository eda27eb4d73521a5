// JSON output: the Report as it is — the contract in docs/analyzer.md (schemaVersion 1, runs[…] with the
// ENDPOINT and STATS shapes) plus the extra keys (timeline, waterfalls, oddities, background).
import type { Report } from './report.ts';

export function renderJson(report: Report): string {
  return JSON.stringify(report, null, 2) + '\n';
}
