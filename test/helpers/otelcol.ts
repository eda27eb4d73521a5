// The real OpenTelemetry Collector for tests: the binary scripts/build-collector.sh builds and
// caches (or FIRSTSPAN_OTELCOL), run as a child process on free ports with a config from
// collector-config/. When there is no binary, `otelcolMissing` says why, for the skip message.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect, type CliResult } from './cli.ts';

export const CONFIG_DIR = fileURLToPath(new URL('../../collector-config/', import.meta.url));
const VERSION = '0.161.0';

function locate(): { binary?: string; missing?: string } {
  const fromEnv = process.env.FIRSTSPAN_OTELCOL;
  if (fromEnv !== undefined && fromEnv !== '') {
    return existsSync(fromEnv) ? { binary: fromEnv } : { missing: `FIRSTSPAN_OTELCOL=${fromEnv} does not exist` };
  }
  const cache = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  const binary = path.join(cache, 'firstspan', `otelcol-${VERSION}`, 'otelcol-firstspan');
  if (existsSync(binary)) return { binary };
  return {
    missing:
      `no OpenTelemetry Collector binary at ${binary}: run scripts/build-collector.sh ` +
      '(needs Go and the Go module proxy; scripts/install-test-peers.sh runs it)',
  };
}

const found = locate();
export const otelcolBinary = found.binary;
export const otelcolMissing = found.missing;

/** Base environment for every Collector run: no self-telemetry server on :8888 (parallel tests). */
export function collectorEnv(extra: Record<string, string>): Record<string, string | undefined> {
  return { ...process.env, FIRSTSPAN_OTELCOL_METRICS_LEVEL: 'none', ...extra };
}

export function validateConfig(configPath: string, env: Record<string, string>): Promise<CliResult> {
  const child = spawn(otelcolBinary as string, ['validate', `--config=${configPath}`], {
    env: collectorEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, 60_000);
}

export interface RunningCollector {
  httpUrl: string;
  grpcEndpoint: string;
  /** SIGTERM: the Collector drains its batch processor and queues before it exits. */
  stop(): Promise<CliResult>;
  logs(): string;
}

/** The official Collector image of the same version, for the container test. */
export const OTELCOL_IMAGE = `otel/opentelemetry-collector-contrib:${VERSION}`;

export async function startCollector(
  configPath: string,
  env: Record<string, string>,
  options: { container?: boolean } = {},
): Promise<RunningCollector> {
  // Port 0 for both listeners: the Collector logs the address it really bound, read back below.
  const fullEnv: Record<string, string> = {
    FIRSTSPAN_OTLP_HTTP_ENDPOINT: '127.0.0.1:0',
    FIRSTSPAN_OTLP_GRPC_ENDPOINT: '127.0.0.1:0',
    FIRSTSPAN_OTELCOL_METRICS_LEVEL: 'none',
    ...env,
  };
  // In a container the Collector shares the host's network, so port 0 and 127.0.0.1 mean the same
  // as for the local binary; `docker run` forwards our SIGTERM to it (--sig-proxy defaults on).
  const [command, args] = options.container
    ? [
        'docker',
        [
          'run', '--rm', '--network', 'host',
          '-v', `${path.dirname(configPath)}:/etc/otelcol:ro`,
          ...Object.entries(fullEnv).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
          OTELCOL_IMAGE, `--config=/etc/otelcol/${path.basename(configPath)}`,
        ],
      ]
    : [otelcolBinary as string, [`--config=${configPath}`]];
  const child: ChildProcess = spawn(command, args, { env: collectorEnv(fullEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  const done = collect(child, 300_000);
  let logs = '';
  await new Promise<void>((resolve, reject) => {
    const limitMs = options.container ? 240_000 : 30_000; // a first `docker run` pulls the image
    const timer = setTimeout(() => reject(new Error(`the Collector did not start within ${limitMs} ms:\n${logs}`)), limitMs);
    const onData = (d: Buffer): void => {
      logs += d.toString();
      // The Collector logs this once every pipeline is running and the receivers listen.
      if (logs.includes('Everything is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`the Collector exited (code ${code}) before it was ready:\n${logs}`));
    });
  });
  const bound = (server: string): string => {
    const m = new RegExp(`Starting ${server} server.*?"endpoint": "([^"]+)"`).exec(logs);
    if (m?.[1] === undefined) throw new Error(`the Collector did not log its ${server} endpoint:\n${logs}`);
    return m[1];
  };
  const httpEndpoint = bound('HTTP');
  const grpcEndpoint = bound('GRPC');
  return {
    httpUrl: `http://${httpEndpoint}`,
    grpcEndpoint,
    logs: () => logs,
    stop: async () => {
      child.kill('SIGTERM');
      return done;
    },
  };
}
