import { ExitCodes, FirstspanError } from '../model/errors.ts';
import type { CommandIO } from './io.ts';

/** Last-resort handler: a FirstspanError is a usage problem with a clear message; anything else is a bug. */
export function reportError(error: unknown, io: CommandIO): number {
  if (error instanceof FirstspanError) {
    io.stderr.write(`firstspan: ${error.message} [${error.code}]\n`);
    return ExitCodes.USAGE;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`firstspan: internal error, please report it with this trace:\n${detail}\n`);
  return ExitCodes.INTERNAL;
}
