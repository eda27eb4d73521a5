// The analyzer as a library call: open database files read-only, analyse, close. For callers that
// render several formats from one result (the demo: table, HTML and JSON from one pass over the
// data) instead of running `firstspan analyze` once per format.
import { analyze, type AnalyzeOptions } from './analyze.ts';
import { type Report } from './report.ts';
import { closeShards, openShards } from '../model/span-reads.ts';

/** Defaults of `firstspan analyze` (analyzer/command.ts): a 30 s idle gap, the 10 worst traces. */
export const DEFAULT_IDLE_GAP_NS = 30_000_000_000n;
export const DEFAULT_TOP_N = 10;

/**
 * Analyse the databases at `paths` as one (shards). Fails with FS_ERR_STORE_OPEN when a file is
 * missing, not SQLite or of an unknown schema version.
 */
export async function analyzeFiles(paths: string[], options: Partial<AnalyzeOptions> = {}): Promise<Report> {
  const shards = openShards(paths);
  try {
    return await analyze(shards, { idleGapNs: DEFAULT_IDLE_GAP_NS, topN: DEFAULT_TOP_N, ...options });
  } finally {
    closeShards(shards);
  }
}
