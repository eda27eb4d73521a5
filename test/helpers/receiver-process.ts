// Run `firstspan receive` as a real child process and wait for its listening line.
import type { ChildProcess } from 'node:child_process';
import { spawnCli } from './cli.ts';

export interface ReceiverProcess {
  child: ChildProcess;
  url: string;
  grpcUrl?: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnReceiver(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 30_000): Promise<ReceiverProcess> {
  const child = spawnCli(['receive', ...args], env);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`receiver printed no listening line within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
    }, timeoutMs);
    const check = (): void => {
      const m = /listening on \S+/.exec(out);
      if (m !== null && out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0]!);
      }
    };
    child.stdout?.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`receiver exited before listening\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  const url = /listening on (http:\/\/\S+)/.exec(line)![1]!;
  const grpcUrl = /OTLP\/gRPC on (\S+?),/.exec(line)?.[1];
  return { child, url, grpcUrl, stdout: () => out, stderr: () => err, exited };
}
