// What a command may touch of the outside world, injected so tests can run commands in-process
// (k6's injected global state). Only bin/firstspan.js passes the real `process` streams.
import type { Readable, Writable } from 'node:stream';

export interface CommandIO {
  env: Record<string, string | undefined>;
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin?: Readable;
  /** Aborted on SIGINT/SIGTERM: commands stop gracefully, flush, and return. */
  signal: AbortSignal;
  cwd: string;
}

export type Command = (argv: string[], io: CommandIO) => Promise<number>;

/** Env values that are empty count as unset (OTel's rule for OTEL_* variables). */
export function envValue(env: CommandIO['env'], name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
