// --processes N: N generator processes on this machine, each running its share of the users
// (as --worker-index/--worker-count), all under one run id. Not implemented in this build.
import type { CommandIO } from '../cli/io.ts';
import { ExitCodes } from '../model/errors.ts';
import type { RunOptions } from './run-options.ts';

export async function runProcesses(_argv: string[], _options: RunOptions, _runId: string, io: CommandIO): Promise<number> {
  io.stderr.write('firstspan run: --processes N is not available yet; start N generators with --worker-index I --worker-count N and one --run-id\n');
  return ExitCodes.USAGE;
}
