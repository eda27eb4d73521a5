// A real `firstspan receive` in a child process for the benchmarks that send it spans
// (bench:receiver, bench:analyzer): started on a free port, ready once it prints its URL.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/firstspan.js', import.meta.url));

export interface ReceiverProcess {
  url: string;
  pid: number;
  /** SIGTERM, wait for the exit (every acknowledged span committed); resolves to its stderr. */
  stop(): Promise<string>;
}

/** Start the receiver writing `db` (OTLP/HTTP only); `nodeArgs` go to node before the binary. */
export async function startReceiverProcess(db: string, nodeArgs: string[] = []): Promise<ReceiverProcess> {
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'receive', '--port', '0', '--no-grpc', '--db', db], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`receiver did not start: ${err}`)), 30_000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      return err.trim();
    },
  };
}
