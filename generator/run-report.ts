// The end of a run, for one process or the parent of --processes: print the table (or JSON), write
// the Locust-style CSV files, and turn the result into the exit code (0 all fine, 1 some failed).
// Apart from command.ts so that processes.ts can end a merged run the same way without a cycle.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandIO } from '../cli/io.ts';
import { ExitCodes } from '../model/errors.ts';
import type { RunOptions } from './run-options.ts';
import { exceptionsCsv, failuresCsv, historyCsv, renderTable, statsCsv, summaryJson, type RunSummary } from './stats-report.ts';

/** Print the table or JSON, write the CSV files, return the exit code. */
export async function reportRun(summary: RunSummary, options: RunOptions, io: CommandIO): Promise<number> {
  const { stats, runId, stopReason } = summary;
  const table = renderTable(summary);
  if (options.json) {
    io.stderr.write(table);
    io.stdout.write(JSON.stringify(summaryJson(summary), null, 2) + '\n');
  } else {
    io.stdout.write(table);
  }
  if (options.csv !== undefined) {
    const prefix = path.resolve(io.cwd, options.csv);
    await mkdir(path.dirname(prefix), { recursive: true });
    await Promise.all([
      writeFile(`${prefix}_stats.csv`, statsCsv(summary)),
      writeFile(`${prefix}_stats_history.csv`, historyCsv(stats.history)),
      writeFile(`${prefix}_failures.csv`, failuresCsv(summary)),
      writeFile(`${prefix}_exceptions.csv`, exceptionsCsv(summary)),
    ]);
  }
  const cutOff = stats.cutOff > 0 ? ` · ${stats.cutOff} cut off by the stop (not counted)` : '';
  io.stderr.write(`firstspan run: run id ${runId} · stopped by ${stopReason} · ${stats.total.count} requests, ${stats.total.failures} failed${cutOff}\n`);
  return stats.total.failures > 0 ? ExitCodes.REQUEST_FAILURES : ExitCodes.OK;
}
