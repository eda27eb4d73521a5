// The demo shop (examples/shop/main.ts) as a real child process, exporting its spans with the real
// OTel Node SDK to the given OTLP/HTTP endpoint. A separate process, as a service under test is:
// its SDK, its clock reads and its event loop are not the test's.
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './locust-peer.ts';

export interface ShopProcess {
  url: URL;
  child: ChildProcess;
  /** SIGTERM, wait for the shop to flush every span and exit; returns its last output line. */
  stop(): Promise<string>;
}

export async function startShopProcess(options: {
  otlpEndpoint: string;
  args?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}): Promise<ShopProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('OTEL_')) delete env[key];
  Object.assign(env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    // Export often, so spans do not pile up until shutdown.
    OTEL_BSP_SCHEDULE_DELAY: '200',
    ...options.env,
  });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', `${REPO_ROOT}examples/shop/main.ts`, '--port', '0', '--exit-with-stdin', ...(options.args ?? [])],
    { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const url = await new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shop did not start within ${options.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    const check = (): void => {
      const match = /shop listening on (\S+)/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve(new URL(match[1]));
      }
    };
    child.stdout.on('data', check);
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`shop exited (${code}) before listening\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });

  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
      const lines = stdout.trim().split('\n');
      return lines[lines.length - 1] ?? '';
    },
  };
}
