// A CommandIO for calling a `main(argv, io)` command in the test's own process (cli/io.ts): stdout
// and stderr collected as text, an abort controller standing in for SIGINT/SIGTERM. In-process
// calls are what mutation testing can see; test/helpers/cli.ts spawns the real binary instead.
import { Writable } from 'node:stream';
import type { CommandIO } from '../../cli/io.ts';

export interface CapturedIO {
  io: CommandIO;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Stop the command as SIGINT/SIGTERM would (bin/ aborts the io's signal). */
  abort(): void;
}

class TextSink extends Writable {
  text = '';
  isTTY: boolean;
  constructor(isTTY: boolean) {
    super();
    this.isTTY = isTTY;
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    done();
  }
}

export function captureIO(opts: { cwd?: string; env?: Record<string, string | undefined>; tty?: boolean } = {}): CapturedIO {
  const out = new TextSink(opts.tty ?? false);
  const err = new TextSink(opts.tty ?? false);
  const controller = new AbortController();
  return {
    io: { env: opts.env ?? {}, stdout: out, stderr: err, signal: controller.signal, cwd: opts.cwd ?? process.cwd() },
    stdout: () => out.text,
    stderr: () => err.text,
    abort: () => controller.abort(),
  };
}
