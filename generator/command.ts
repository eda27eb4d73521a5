// `firstspan run SCRIPT`: the shell around the runner. Resolves flags and OTEL_* once, loads the
// script, starts telemetry, runs, then prints the table / JSON, writes the CSV files and returns
// the exit code (0 all requests fine, 1 some failed, 2 bad usage).
import { cpuUsage, resourceUsage } from 'node:process';
import { Problems } from '../cli/args.ts';
import type { CommandIO } from '../cli/io.ts';
import { envValue } from '../cli/io.ts';
import { ExitCodes } from '../model/errors.ts';
import { RequestStats } from './request-stats.ts';
import { checkHost, generateRunId, parseRunArgs, RUN_USAGE, share, type RunOptions } from './run-options.ts';
import { Runner } from './runner.ts';
import { loadScript } from './script-loader.ts';
import { notSampled, statusLine, type RunSummary } from './stats-report.ts';
import { resolveTelemetryConfig, type TelemetryConfig } from './telemetry-config.ts';
import type { Telemetry } from './telemetry.ts';
import { runProcesses, workerReport } from './processes.ts';
import { reportRun } from './run-report.ts';

async function version(): Promise<string> {
  const pkg = (await import('../package.json', { with: { type: 'json' } })).default as { version: string };
  return pkg.version;
}

export async function runCommand(argv: string[], io: CommandIO): Promise<number> {
  const parsed = parseRunArgs(argv);
  if ('help' in parsed) {
    io.stdout.write(RUN_USAGE);
    return ExitCodes.OK;
  }
  if ('problems' in parsed) {
    // The OTEL_* variables too, so one attempt lists every problem (flags and environment).
    if (argv.includes('--otel')) resolveTelemetryConfig(io.env, parsed.problems);
    io.stderr.write(parsed.problems.format('run'));
    return ExitCodes.USAGE;
  }
  const options = parsed.options;
  const problems = new Problems();
  let telemetryConfig: TelemetryConfig | undefined;
  if (options.otel) {
    telemetryConfig = resolveTelemetryConfig(io.env, problems);
    if (envValue(io.env, 'OTEL_SDK_DISABLED') === 'true') {
      io.stderr.write('firstspan run: OTEL_SDK_DISABLED=true, so --otel exports nothing\n');
      telemetryConfig = undefined;
    }
  }
  if (!problems.empty) {
    io.stderr.write(problems.format('run'));
    return ExitCodes.USAGE;
  }
  // Loading errors (file:line, no user class) are FirstspanErrors: cli/main reports them, exit 2.
  const script = await loadScript(options.script, io.cwd);
  for (const cls of script.userClasses) {
    // The web UI asks for the host on its page (as Locust's does).
    if (options.host === undefined && cls.host === undefined && !(options.web.enabled && !options.web.autostart)) {
      problems.add(`no host for user class ${cls.name}: pass --host URL or set static host = 'http://…' in the class`);
    } else if (options.host === undefined && cls.host !== undefined) {
      checkHost(problems, `${cls.name}.host`, cls.host);
    }
  }
  if (!problems.empty) {
    io.stderr.write(problems.format('run'));
    return ExitCodes.USAGE;
  }
  const runId = options.runId ?? generateRunId();
  if (options.processes !== undefined && options.processes > 1) {
    return runProcesses(argv, options, runId, io, script.shape !== undefined);
  }
  if (options.web.enabled) {
    const { runWeb } = await import('./web/web-command.ts');
    return runWeb({ options, runId, script, telemetryConfig, version: await version(), report: (summary) => reportRun(summary, options, io) }, io);
  }
  return runHere(options, runId, script, telemetryConfig, io);
}

async function runHere(
  options: RunOptions,
  runId: string,
  script: Awaited<ReturnType<typeof loadScript>>,
  telemetryConfig: TelemetryConfig | undefined,
  io: CommandIO,
): Promise<number> {
  const index = options.workerIndex ?? 0;
  const count = options.workerCount ?? 1;
  const users = share(options.users, index, count);
  const spawnRate = options.spawnRate / count;
  const iterations = options.iterations === undefined ? undefined : share(options.iterations, index, count);
  // A worker of --processes also keeps each second's histogram delta, for the parent's exact merge.
  const stats = new RequestStats({ historyWire: options.workerReport });
  const holder: { runner?: Runner } = {};
  let telemetry: Telemetry | undefined;
  if (telemetryConfig !== undefined) {
    const { Telemetry } = await import('./telemetry.ts');
    telemetry = await Telemetry.create({
      config: telemetryConfig,
      runId,
      version: await version(),
      activeUsers: () => holder.runner?.activeUsers() ?? new Map(),
    });
  }
  const worker = count > 1 ? ` · worker ${index + 1} of ${count}` : '';
  io.stderr.write(
    `firstspan run: run id ${runId} · ${script.shape ? 'users as the shape says' : `${users} user${users === 1 ? '' : 's'} at ${Number(spawnRate.toFixed(3))}/s`}` +
      ` · ${script.userClasses.map((c) => c.name).join(', ')}${script.shape ? ` · shape ${script.shape.name}` : ''}` +
      ` · host ${options.host ?? script.userClasses.map((c) => c.host).join(', ')}${worker}\n` +
      (telemetryConfig !== undefined
        ? `firstspan run: OpenTelemetry on: service ${telemetryConfig.serviceName}, traces to ${telemetryConfig.tracesUrl} (${telemetryConfig.protocol})\n`
        : ''),
  );
  const live = io.stderr.isTTY === true && !options.onlySummary && !options.json;
  const runner = new Runner({
    script,
    host: options.host,
    users,
    spawnRate,
    runTimeMs: options.runTimeMs,
    iterations,
    stopTimeoutMs: options.stopTimeoutMs,
    runId,
    stats,
    telemetry,
    signal: io.signal,
    userIdBase: index,
    userIdStride: count,
    shapeShare: { index, count },
    connectionPerRequest: options.connectionPerRequest,
    rejectUnauthorized: !options.insecure,
    onTick: live
      ? (row, elapsed, n) => io.stderr.write(`\r\x1b[2K${statusLine(elapsed, n, row, stats.total)}`)
      : options.workerReport
        ? // A worker of --processes tells its parent how it is doing, for the parent's live line.
          (_row, _elapsed, n) => io.stdout.write(JSON.stringify({ progress: { users: n, requests: stats.total.count, failures: stats.total.failures } }) + '\n')
        : undefined,
  });
  holder.runner = runner;
  // The generator's own CPU is part of the result: a saturated generator measures itself.
  // Said at once: a graceful stop can take a while (onStop runs, spans are flushed).
  const onInterrupt = (): void => {
    if (live) io.stderr.write('\r\x1b[2K');
    io.stderr.write('firstspan run: interrupted: stopping users and flushing telemetry (Ctrl-C again to leave at once, exit 130)\n');
  };
  io.signal.addEventListener('abort', onInterrupt, { once: true });
  const cpuAtStart = cpuUsage();
  const startedAt = new Date();
  const stopReason = await runner.run();
  const endedAt = new Date();
  io.signal.removeEventListener('abort', onInterrupt);
  if (live) io.stderr.write('\r\x1b[2K');
  const summary: RunSummary = {
    runId,
    service: telemetryConfig?.serviceName ?? envValue(io.env, 'OTEL_SERVICE_NAME') ?? 'firstspan',
    startedAt,
    endedAt,
    stopReason,
    peakUsers: runner.peakUsers,
    stats,
  };
  if (telemetry !== undefined) {
    summary.telemetry = await telemetry.shutdown();
    const t = summary.telemetry;
    io.stderr.write(
      `firstspan run: spans ${t.spansExported} exported, ${t.spansFailed} failed, ${t.spansDropped} dropped (of ${t.spansEnded})${notSampled(t)} → ${t.endpoint}\n`,
    );
    if (t.warning !== undefined) io.stderr.write(`firstspan run: warning: ${t.warning}\n`);
  }
  const cpu = cpuUsage(cpuAtStart);
  summary.usage = { cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssBytes: resourceUsage().maxRSS * 1024 };
  if (stats.overflowed) io.stderr.write('firstspan run: warning: more than 1000 request names; name requests by template with { name }\n');
  if (options.workerReport) {
    io.stdout.write(JSON.stringify(workerReport(summary)) + '\n');
    return stats.total.failures > 0 ? ExitCodes.REQUEST_FAILURES : ExitCodes.OK;
  }
  return reportRun(summary, options, io);
}
