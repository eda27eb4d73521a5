// Child processes the demo starts, kept on a leash: each is registered in a group the moment it is
// spawned, so one `stopAll()` (Ctrl-C, an error, the normal end) ends every one of them — gently
// first (SIGTERM lets the shop flush its spans), then SIGKILL after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { FirstspanError, ErrorCodes } from '../model/errors.ts';

export interface StartChild {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  /** Resolve `ready` with the first match of this pattern in the child's stdout. */
  readyPattern?: RegExp;
  readyTimeoutMs?: number;
  /** Keep the child's stdin open as a pipe: a child that watches it exits when we die. */
  stdinPipe?: boolean;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
}

export interface RunningChild {
  name: string;
  process: ChildProcess;
  /** Resolves with the ready pattern's match; rejects if the child exits or times out first. */
  ready: Promise<RegExpExecArray>;
  /** Resolves with the exit code (or 128+signal number style: null code → -1) once the child is gone. */
  exited: Promise<number>;
  /** Everything the child wrote to stdout/stderr so far (for error messages). */
  output(): string;
}

export class ChildGroup {
  private readonly children = new Set<RunningChild>();

  start(spec: StartChild): RunningChild {
    const proc = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env as NodeJS.ProcessEnv,
      stdio: [spec.stdinPipe ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let captured = '';
    const keep = (text: string): void => {
      // Enough of the tail to explain a failure, never unbounded.
      captured = (captured + text).slice(-16_384);
    };
    let resolveReady: (m: RegExpExecArray) => void = () => undefined;
    let rejectReady: (e: Error) => void = () => undefined;
    const ready = new Promise<RegExpExecArray>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    let isReady = spec.readyPattern === undefined;
    const exited = new Promise<number>((resolve) => {
      proc.once('error', (error) => {
        keep(`\n${error.message}\n`);
        resolve(-1);
      });
      proc.once('close', (code) => resolve(code ?? -1));
    });
    const child: RunningChild = { name: spec.name, process: proc, ready, exited, output: () => captured };
    this.children.add(child);
    void exited.then((code) => {
      this.children.delete(child);
      if (!isReady) rejectReady(new FirstspanError(ErrorCodes.BAD_CONFIG, `${spec.name} exited (code ${code}) before it was ready:\n${captured}`));
    });
    if (spec.readyPattern === undefined) resolveReady([] as unknown as RegExpExecArray);
    const timer = setTimeout(() => {
      if (!isReady) rejectReady(new FirstspanError(ErrorCodes.BAD_CONFIG, `${spec.name} was not ready within ${spec.readyTimeoutMs ?? 30_000} ms:\n${captured}`));
    }, spec.readyTimeoutMs ?? 30_000);
    timer.unref();
    void ready.then(() => clearTimeout(timer), () => clearTimeout(timer));
    lines(proc.stdout, (line) => {
      keep(line + '\n');
      if (!isReady && spec.readyPattern) {
        const m = spec.readyPattern.exec(line);
        if (m !== null) {
          isReady = true;
          resolveReady(m);
        }
      }
      spec.onStdoutLine?.(line);
    });
    lines(proc.stderr, (line) => {
      keep(line + '\n');
      spec.onStderrLine?.(line);
    });
    return child;
  }

  /** Ask one child to stop (SIGTERM, or the given signal); SIGKILL if it is still there after graceMs. */
  async stop(child: RunningChild, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number> {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill(signal);
      const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
      timer.unref();
      const code = await child.exited;
      clearTimeout(timer);
      return code;
    }
    return child.exited;
  }

  /** Stop every child; `last` (the receiver) only once the others are gone, so their final
   *  exports still find it listening. */
  async stopAll(graceMs = 10_000, last?: RunningChild): Promise<void> {
    await Promise.all([...this.children].filter((c) => c !== last).map((c) => this.stop(c, 'SIGTERM', graceMs)));
    if (last !== undefined) await this.stop(last, 'SIGTERM', graceMs);
  }

  get running(): number {
    return this.children.size;
  }
}

function lines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      onLine(buffered.slice(0, nl).replace(/\r$/, ''));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (buffered !== '') onLine(buffered);
  });
}
