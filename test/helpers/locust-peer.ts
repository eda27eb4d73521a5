// Real Locust as a peer: find the project-local install (scripts/install-locust.sh), run it
// headless with --otel as a child process, and read its own request counts from `--json`.
// Shared by test/locust-interop.test.ts and bench/peers.bench.ts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const LOCUST_VENV = process.env.FIRSTSPAN_LOCUST_VENV ?? `${REPO_ROOT}.cache/locust-venv`;
export const LOCUST_BIN = `${LOCUST_VENV}/bin/locust`;
export const LOCUSTFILES = {
  mockTarget: `${REPO_ROOT}test/fixtures/locust/mock_target.py`,
  tightGet: `${REPO_ROOT}test/fixtures/locust/tight_get.py`,
  loginOnStart: `${REPO_ROOT}test/fixtures/locust/login_on_start.py`,
} as const;

export interface LocustAvailability {
  ok: boolean;
  /** Locust's own `--version` line when ok, else why it cannot run here. */
  detail: string;
}

/** Is real Locust with its otel extra installed here? Never throws: the caller skips and prints why. */
export function locustAvailability(): LocustAvailability {
  if (!existsSync(LOCUST_BIN)) {
    return {
      ok: false,
      detail: `real Locust is not installed at ${LOCUST_BIN}: run scripts/install-locust.sh (needs python3 with venv)`,
    };
  }
  const probe = spawnSync(
    `${LOCUST_VENV}/bin/python`,
    ['-c', 'import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc.trace_exporter, opentelemetry.exporter.otlp.proto.http.trace_exporter; import locust; print(locust.__version__)'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (probe.status !== 0) {
    return { ok: false, detail: `Locust at ${LOCUST_BIN} lacks its otel extra: ${probe.stderr.trim().split('\n').pop() ?? ''}` };
  }
  return { ok: true, detail: `locust ${probe.stdout.trim()}` };
}

/** One row of Locust's `--json` output (only the fields we read). */
export interface LocustStat {
  name: string;
  method: string;
  num_requests: number;
  num_failures: number;
}

export interface LocustRunOptions {
  locustfile: string;
  host: string;
  users: number;
  spawnRate: number;
  runTime: string;
  /** OTLP endpoint (http://host:port) and protocol; undefined runs Locust without --otel. */
  otel?: { endpoint: string; protocol: 'grpc' | 'http/protobuf' };
  env?: Record<string, string>;
  /** Kill Locust if it has not exited by then (it should exit on its own at run time + shutdown). */
  timeoutMs: number;
}

export interface LocustRunResult {
  code: number | null;
  pid: number;
  stats: LocustStat[];
  stdout: string;
  stderr: string;
}

export function locustArgs(options: LocustRunOptions): string[] {
  return [
    '-f', options.locustfile,
    '--headless',
    '-u', String(options.users),
    '-r', String(options.spawnRate),
    '-t', options.runTime,
    '-H', options.host,
    '--json',
    // Locust stops a user mid-task at run-time end unless given time; a short grace keeps the
    // last task's requests whole without letting the run drift.
    '--stop-timeout', '1',
    '--loglevel', 'WARNING',
    ...(options.otel ? ['--otel'] : []),
  ];
}

export function locustEnv(options: LocustRunOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', ...options.env };
  // Start from a clean OTel slate: the parent's OTEL_* must not leak into Locust's exporters.
  for (const key of Object.keys(env)) if (key.startsWith('OTEL_') && !(options.env && key in options.env)) delete env[key];
  if (options.otel) {
    env.OTEL_EXPORTER_OTLP_ENDPOINT = options.otel.endpoint;
    env.OTEL_EXPORTER_OTLP_PROTOCOL = options.otel.protocol;
  } else {
    env.OTEL_SDK_DISABLED = 'true';
  }
  return env;
}

/** Run Locust headless to completion and return its exit code and its own per-name counts. */
export function runLocust(options: LocustRunOptions): Promise<LocustRunResult> {
  const child = spawn(LOCUST_BIN, locustArgs(options), {
    env: locustEnv(options),
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`locust did not exit within ${options.timeoutMs} ms\nstderr:\n${stderr.slice(-4000)}`));
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      let stats: LocustStat[] = [];
      try {
        stats = JSON.parse(stdout) as LocustStat[];
      } catch {
        reject(new Error(`locust --json printed no JSON (exit ${code})\nstdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr.slice(-4000)}`));
        return;
      }
      resolve({ code, pid: child.pid ?? -1, stats, stdout, stderr });
    });
  });
}

/** Locust's total request count, and the `{METHOD} {name}` span names it should have emitted. */
export function summarize(stats: LocustStat[]): { requests: number; failures: number; spanNames: Map<string, number> } {
  const spanNames = new Map<string, number>();
  let requests = 0;
  let failures = 0;
  for (const s of stats) {
    requests += s.num_requests;
    failures += s.num_failures;
    const key = `${s.method} ${s.name}`;
    spanNames.set(key, (spanNames.get(key) ?? 0) + s.num_requests);
  }
  return { requests, failures, spanNames };
}
