// `firstspan run` with its web UI, as a child process: waits for the "web UI at URL" line and
// hands back the URL, the output so far, and a clean stop (SIGINT, then the exit code).
import type { ChildProcess } from 'node:child_process';
import { collect, spawnCli, type CliResult } from './cli.ts';

export interface WebRun {
  url: string;
  child: ChildProcess;
  stderr(): string;
  /** Ctrl-C, then the process's result (the final table is on stdout). */
  quit(): Promise<CliResult>;
  /** The result once the process ends by itself (--autoquit). */
  result: Promise<CliResult>;
}

export async function startWebRun(args: string[], env: Record<string, string | undefined>, cwd: string, timeoutMs = 120_000): Promise<WebRun> {
  const child = spawnCli(['run', ...args, '--web-port', '0'], env, cwd);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const result = collect(child, timeoutMs);
  const url = await new Promise<string>((resolve, reject) => {
    const check = setInterval(() => {
      const m = /web UI at (\S+)/.exec(stderr);
      if (m !== null) {
        clearInterval(check);
        resolve(m[1] as string);
      }
    }, 50);
    result.then(
      (r) => {
        clearInterval(check);
        reject(new Error(`firstspan run exited ${String(r.code)} before serving its web UI:\n${stderr}`));
      },
      (error: unknown) => {
        clearInterval(check);
        reject(error as Error);
      },
    );
  });
  return {
    url,
    child,
    stderr: () => stderr,
    quit: async () => {
      child.kill('SIGINT');
      return result;
    },
    result,
  };
}

/** Poll until `check` returns a value (not undefined), or fail after `timeoutMs` with `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
