// `firstspan analyze --run-id NEW --baseline OLD [--baseline-db FILE]`: analyse both runs (the
// baseline from its own database when given), keep what the tests need, and attach the
// comparison to the new run's report. Input problems come back as an exit code with a message.
import type { CommandIO } from '../cli/io.ts';
import { ExitCodes, FirstspanError } from '../model/errors.ts';
import { analyze, type AnalyzeOptions } from './analyze.ts';
import { compareRuns, type ComparedReport, type RunData } from './compare.ts';
import { closeShards, openShards, type Shard } from '../model/span-reads.ts';

export interface BaselineConfig {
  runId: string;
  /** Databases holding the baseline; empty: the same as the run's. */
  dbs: string[];
}

function fail(io: CommandIO, message: string, exit: number): { exit: number } {
  io.stderr.write(`firstspan analyze: ${message}\n`);
  return { exit };
}

export async function analyzeAgainstBaseline(
  shards: Shard[],
  dbs: string[],
  baseline: BaselineConfig,
  options: AnalyzeOptions,
  io: CommandIO,
): Promise<ComparedReport | { exit: number }> {
  let runData: RunData | undefined;
  const report: ComparedReport = await analyze(shards, { ...options, onRunData: (d) => (runData = d) });
  if (report.runs.length !== 1 || runData === undefined) {
    return fail(
      io,
      `--baseline compares one run with another, and the filters select ${report.runs.length} runs: name the run with --run-id`,
      report.runs.length === 0 ? ExitCodes.NO_RUNS : ExitCodes.USAGE,
    );
  }
  let baseShards = shards;
  if (baseline.dbs.length > 0) {
    try {
      baseShards = openShards(baseline.dbs);
    } catch (error) {
      if (error instanceof FirstspanError) return fail(io, `--baseline-db: ${error.message} [${error.code}]`, ExitCodes.USAGE);
      throw error;
    }
  }
  try {
    let baseData: RunData | undefined;
    const base: AnalyzeOptions = { idleGapNs: options.idleGapNs, topN: 0, runId: baseline.runId, onRunData: (d) => (baseData = d) };
    if (options.service !== undefined) base.service = options.service;
    if (options.threads !== undefined) base.threads = options.threads;
    if (options.record !== undefined) base.record = options.record;
    if (options.onRecord !== undefined) base.onRecord = options.onRecord;
    const baseReport = await analyze(baseShards, base);
    const where = (baseline.dbs.length > 0 ? baseline.dbs : dbs).join(', ');
    if (baseReport.runs.length === 0 || baseData === undefined) {
      return fail(io, `no baseline run '${baseline.runId}' in ${where} (list the runs with --list)`, ExitCodes.NO_RUNS);
    }
    if (baseReport.runs.length > 1) {
      return fail(io, `baseline run id '${baseline.runId}' names ${baseReport.runs.length} runs in ${where}: pick one with --service`, ExitCodes.USAGE);
    }
    report.comparison = compareRuns(runData, dbs, baseData, baseline.dbs.length > 0 ? baseline.dbs : dbs);
    return report;
  } finally {
    if (baseShards !== shards) closeShards(baseShards);
  }
}
