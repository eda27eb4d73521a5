// `firstspan run` flags, Locust's names where Locust has one, resolved once into RunOptions.
// Every problem is collected and reported at once.
import { numberFlag, parseDuration, parseFlags, Problems, type OptionSpec } from '../cli/args.ts';
import { parseWebOptions, WEB_FLAGS, WEB_USAGE, type WebOptions } from './web/web-options.ts';

export const RUN_FLAGS: OptionSpec = {
  users: { type: 'string', short: 'u' },
  'spawn-rate': { type: 'string', short: 'r' },
  'run-time': { type: 'string', short: 't' },
  iterations: { type: 'string', short: 'i' },
  'stop-timeout': { type: 'string', short: 's' },
  host: { type: 'string', short: 'H' },
  headless: { type: 'boolean' },
  otel: { type: 'boolean' },
  'run-id': { type: 'string' },
  json: { type: 'boolean' },
  csv: { type: 'string' },
  'only-summary': { type: 'boolean' },
  'connection-per-request': { type: 'boolean' },
  'insecure': { type: 'boolean' },
  processes: { type: 'string' },
  'worker-index': { type: 'string' },
  'worker-count': { type: 'string' },
  // Internal: a worker of --processes prints its mergeable stats as one JSON line, nothing else.
  'worker-report': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...WEB_FLAGS,
};

export const RUN_USAGE = `Usage: firstspan run SCRIPT [options]

Run a Locust-style load-test script (.ts or .js): one traced CLIENT span per request.

Options (Locust's names):
  -u, --users N            peak number of concurrent users (default 1)
  -r, --spawn-rate N       users started per second (default 1)
  -t, --run-time TIME      stop after this long: 30s, 5m, 1h30m (default: until Ctrl-C,
                           the iteration cap, or the load shape ends the test)
  -i, --iterations N       stop after N task iterations in total
  -s, --stop-timeout TIME  at the stop, let running tasks finish for up to this long: 10s,
                           1m (default 0: requests in flight are cut off at once)
  -H, --host URL           base URL of the target (overrides the user classes' host)
      --headless           no web UI: run at once and print the results
      --otel               export spans and metrics with OpenTelemetry (OTEL_* variables;
                           default http://localhost:4318, http/protobuf)
      --run-id ID          run id on every span (default: generated, printed at start)
      --json               print the summary as JSON on stdout
      --csv PREFIX         write PREFIX_stats.csv, PREFIX_stats_history.csv,
                           PREFIX_failures.csv, PREFIX_exceptions.csv
      --only-summary       no live status line
      --connection-per-request
                           every request opens a new connection (default: each user keeps
                           its connection alive between its requests)
      --insecure           do not verify the target's TLS certificate
      --processes N        run N generator processes on this machine, users split between them
      --worker-index I, --worker-count N
                           run share I (0-based) of N: users, spawn rate and iterations split
                           between N generators that share one --run-id
  -h, --help               this help

${WEB_USAGE}
Exit codes: 0 every request succeeded, 1 some request failed, 2 bad usage or script.
Docs: docs/generator.md
`;

export interface RunOptions {
  script: string;
  users: number;
  spawnRate: number;
  runTimeMs: number | undefined;
  iterations: number | undefined;
  /** How long running tasks may go on after the stop (Locust's --stop-timeout); 0: cut off. */
  stopTimeoutMs: number;
  host: string | undefined;
  otel: boolean;
  runId: string | undefined;
  json: boolean;
  csv: string | undefined;
  onlySummary: boolean;
  connectionPerRequest: boolean;
  insecure: boolean;
  processes: number | undefined;
  workerIndex: number | undefined;
  workerCount: number | undefined;
  workerReport: boolean;
  /** The web UI (docs/generator.md, "Web UI"). */
  web: WebOptions;
}

export type ParsedRun = { help: true } | { options: RunOptions } | { problems: Problems };

export function checkHost(problems: Problems, flag: string, raw: string): string | undefined {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    return raw.replace(/\/+$/, '');
  } catch {
    problems.add(`${flag} must be an http:// or https:// URL, got '${raw}'`);
    return undefined;
  }
}

export function parseRunArgs(argv: string[]): ParsedRun {
  const problems = new Problems();
  const parsed = parseFlags(argv, RUN_FLAGS, true);
  if ('error' in parsed) {
    problems.add(parsed.error);
    return { problems };
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help === true) return { help: true };
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (parsed.positionals.length === 0) problems.add('the script to run is missing: firstspan run SCRIPT.ts --host URL');
  if (parsed.positionals.length > 1) problems.add(`one script at a time, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`);
  const users = numberFlag(problems, '-u/--users', str('users'), { min: 0, integer: true }) ?? 1;
  const spawnRate = numberFlag(problems, '-r/--spawn-rate', str('spawn-rate'), { min: 0 }) ?? 1;
  if (spawnRate === 0) problems.add('-r/--spawn-rate must be greater than 0');
  let runTimeMs: number | undefined;
  const runTime = str('run-time');
  if (runTime !== undefined) {
    runTimeMs = parseDuration(runTime);
    if (runTimeMs === undefined || runTimeMs <= 0) problems.add(`-t/--run-time must be a duration like 30s, 5m or 1h30m, got '${runTime}'`);
  }
  const iterations = numberFlag(problems, '-i/--iterations', str('iterations'), { min: 1, integer: true });
  let stopTimeoutMs = 0;
  const stopTimeout = str('stop-timeout');
  if (stopTimeout !== undefined) {
    // Seconds as a plain number, or a duration, as Locust's --stop-timeout takes it.
    const parsedTimeout = parseDuration(stopTimeout);
    if (parsedTimeout === undefined) problems.add(`-s/--stop-timeout must be seconds or a duration like 10s or 1m (0 to cut off at once), got '${stopTimeout}'`);
    else stopTimeoutMs = parsedTimeout;
  }
  const hostRaw = str('host');
  const host = hostRaw === undefined ? undefined : checkHost(problems, '-H/--host', hostRaw);
  const runId = str('run-id');
  if (runId !== undefined && !/^[A-Za-z0-9._:-]{1,128}$/.test(runId)) {
    problems.add(`--run-id may hold letters, digits and . _ : - (1 to 128 characters), got '${runId}'`);
  }
  const csv = str('csv');
  if (csv !== undefined && csv.trim() === '') problems.add('--csv needs a file prefix, e.g. --csv results/run1');
  const processes = numberFlag(problems, '--processes', str('processes'), { min: 1, integer: true });
  const workerIndex = numberFlag(problems, '--worker-index', str('worker-index'), { min: 0, integer: true });
  const workerCount = numberFlag(problems, '--worker-count', str('worker-count'), { min: 1, integer: true });
  if ((workerIndex === undefined) !== (workerCount === undefined) && !problems.list.some((p) => p.startsWith('--worker'))) {
    problems.add('--worker-index and --worker-count go together');
  }
  if (workerIndex !== undefined && workerCount !== undefined && workerIndex >= workerCount) {
    problems.add(`--worker-index must be below --worker-count (${workerCount}), got ${workerIndex}`);
  }
  if (workerCount !== undefined && workerCount > 1 && runId === undefined) {
    // Each generator would otherwise make up its own run id, and the run would be N runs.
    problems.add('--worker-count needs --run-id ID, the same on every generator of the run');
  }
  if (processes !== undefined && processes > 1 && workerCount !== undefined) {
    problems.add('--processes and --worker-index/--worker-count cannot be combined');
  }
  const web = parseWebOptions(v, problems, {
    headless: v.headless === true || v['worker-report'] === true,
    nonInteractive: runTimeMs !== undefined || iterations !== undefined || v.json === true,
    multiProcess: (processes !== undefined && processes > 1) || workerCount !== undefined,
    otel: v.otel === true,
  });
  if (!problems.empty) return { problems };
  return {
    options: {
      script: parsed.positionals[0] as string,
      users,
      spawnRate,
      runTimeMs,
      iterations,
      stopTimeoutMs,
      host,
      otel: v.otel === true,
      runId,
      json: v.json === true,
      csv,
      onlySummary: v['only-summary'] === true,
      connectionPerRequest: v['connection-per-request'] === true,
      insecure: v.insecure === true,
      processes,
      workerIndex,
      workerCount,
      workerReport: v['worker-report'] === true,
      web,
    },
  };
}

/** This worker's share of a total split between `count` workers (the first ones take the rest). */
export function share(total: number, index: number, count: number): number {
  return Math.floor(total / count) + (index < total % count ? 1 : 0);
}

export function generateRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${crypto.getRandomValues(new Uint8Array(3)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')}`;
}
