// Placeholder until the demo command lands: it says so plainly and exits with the usage code.
import type { CommandIO } from '../cli/io.ts';

export async function demoCommand(_argv: string[], io: CommandIO): Promise<number> {
  io.stderr.write('firstspan: this command is not available in this build yet\n');
  return 2;
}
