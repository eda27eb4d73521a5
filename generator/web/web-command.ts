// `firstspan run SCRIPT` without --headless: serve the web UI, run the tests the page (or
// Locust's web API, or --autostart) asks for, and on Ctrl-C print the last test's results as the
// headless run does. With --db, each finished test gets the analyzer's report, made by
// `firstspan analyze` as a child process once the test's last spans have reached the receiver.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cpuUsage, resourceUsage } from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandIO } from '../../cli/io.ts';
import { envValue } from '../../cli/io.ts';
import { ErrorCodes, ExitCodes, FirstspanError } from '../../model/errors.ts';
import { SpanTail } from '../../model/span-tail.ts';
import type { RunOptions } from '../run-options.ts';
import type { LoadedScript } from '../script-loader.ts';
import type { RunSummary } from '../stats-report.ts';
import type { TelemetryConfig } from '../telemetry-config.ts';
import { GRACE_MS } from './live-gap.ts';
import { makeReport } from './report-child.ts';
import { buildWebServer } from './server.ts';
import { StatsFeed } from './stats-feed.ts';
import { TestControl } from './test-control.ts';

/** The receiver's last spans have settled when no new one arrived for this long. */
const SETTLED_MS = 2000;
/** Never wait longer than this for them. */
const SETTLE_LIMIT_MS = 30_000;

export interface WebRun {
  options: RunOptions;
  runId: string;
  script: LoadedScript;
  telemetryConfig: TelemetryConfig | undefined;
  version: string;
  /** Prints the final table / JSON / CSV, as after a headless run; returns the exit code. */
  report: (summary: RunSummary) => Promise<number>;
}

export async function runWeb(run: WebRun, io: CommandIO): Promise<number> {
  const { options } = run;
  const web = options.web;
  const dbPath = web.db === undefined ? undefined : path.resolve(io.cwd, web.db);
  // A missing or foreign database is a usage error (FS_ERR_STORE_OPEN), reported before serving.
  const tail = dbPath === undefined ? undefined : SpanTail.open(dbPath);
  const reportsDir = mkdtempSync(path.join(tmpdir(), 'firstspan-web-'));
  const reports = new Map<string, string>();
  const pendingReports = new Set<Promise<void>>();
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  // The test's own CPU, from its first user to its last flushed span, as a headless run counts it.
  let cpuOfTest: NodeJS.CpuUsage | undefined;
  let testEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (testEnded = resolve));

  const control: TestControl = new TestControl({
    script: run.script,
    host: options.host,
    runId: run.runId,
    telemetryConfig: run.telemetryConfig,
    version: run.version,
    serviceName: run.telemetryConfig?.serviceName ?? envValue(io.env, 'OTEL_SERVICE_NAME') ?? 'firstspan',
    iterations: options.iterations,
    stopTimeoutMs: options.stopTimeoutMs,
    connectionPerRequest: options.connectionPerRequest,
    rejectUnauthorized: !options.insecure,
    onTick: () => feed.tick(),
    onChange: () => {
      if (control.running) cpuAtStart ??= cpuUsage();
      feed.broadcast('state');
    },
    onTestEnd: (summary) => {
      cpuOfTest = cpuUsage(cpuAtStart);
      cpuAtStart = undefined;
      // In the summary at once: GET /stats/json of a stopped test reports it too.
      summary.usage = { cpuSeconds: (cpuOfTest.user + cpuOfTest.system) / 1e6, maxRssBytes: resourceUsage().maxRSS * 1024 };
      io.stderr.write(`firstspan run: test ${summary.runId} stopped (${summary.stopReason}) · ${summary.stats.total.count} requests, ${summary.stats.total.failures} failed\n`);
      if (summary.telemetry !== undefined) {
        const t = summary.telemetry;
        io.stderr.write(`firstspan run: spans ${t.spansExported} exported, ${t.spansFailed} failed, ${t.spansDropped} dropped (of ${t.spansEnded}) → ${t.endpoint}\n`);
      }
      if (dbPath !== undefined && tail !== undefined) {
        const p = reportFor(summary.runId).finally(() => pendingReports.delete(p));
        pendingReports.add(p);
      }
      testEnded();
    },
  });
  const feed = new StatsFeed(control, tail);

  async function reportFor(runId: string): Promise<void> {
    feed.report = { state: 'waiting', runId };
    feed.broadcast('state');
    // The target exports its spans in batches: wait at least the grace period, then until no
    // new span arrived for a while.
    const start = Date.now();
    let last = -1;
    let stableSince = Date.now();
    while (Date.now() - start < SETTLE_LIMIT_MS) {
      feed.readTail();
      if (feed.tailRowid !== last) {
        last = feed.tailRowid;
        stableSince = Date.now();
      } else if (Date.now() - start >= GRACE_MS && Date.now() - stableSince >= SETTLED_MS) break;
      await sleep(250);
    }
    feed.report = { state: 'making', runId };
    feed.broadcast('state');
    const out = path.join(reportsDir, `report-${reports.size + 1}.html`);
    const result = await makeReport(dbPath as string, runId, out, io.env);
    if (result.ok && existsSync(out)) {
      reports.set(runId, out);
      feed.report = { state: 'ready', runId };
    } else {
      feed.report = { state: 'failed', runId, message: result.message.split('\n').slice(-3).join(' ') || `firstspan analyze exited ${String(result.code)}` };
    }
    feed.broadcast('state');
  }

  const app = buildWebServer({
    control,
    feed,
    login: web.login,
    reportFile: (runId) => reports.get(runId),
    page: {
      script: path.basename(options.script),
      users: options.users,
      spawnRate: options.spawnRate,
      host: options.host ?? run.script.userClasses.find((c) => c.host !== undefined)?.host ?? '',
      otel: run.telemetryConfig !== undefined,
      db: web.db,
      version: run.version,
    },
  });
  // Between tests the page still hears about late spans (the gap settles) once a second.
  const idle = setInterval(() => {
    if (control.running) return;
    feed.readTail();
    feed.broadcast('state');
  }, 1000);
  try {
    try {
      await app.listen({ host: web.host, port: web.port });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') {
        throw new FirstspanError(ErrorCodes.BAD_CONFIG, `the web UI cannot listen on ${web.host}:${web.port}: ${e.message}. Pick another --web-port (0: any free one) or --web-host, or run --headless.`, { cause: error });
      }
      throw error;
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : web.port;
    const shownHost = web.host.includes(':') && !web.host.startsWith('[') ? `[${web.host}]` : web.host;
    io.stderr.write(`firstspan run: web UI at http://${shownHost}:${port}/ (Ctrl-C to quit)${web.login !== undefined ? ' · basic auth on' : ''}\n`);

    if (web.autostart) {
      const result = await control.swarm({ users: options.users, spawnRate: options.spawnRate, host: options.host, runTimeMs: options.runTimeMs });
      if (!result.success) {
        io.stderr.write(`firstspan run: --autostart: ${result.message}\n`);
        return ExitCodes.USAGE;
      }
      feed.testStarted();
    }
    const quit = new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const autoquit = web.autostart && web.autoquitS !== undefined ? ended.then(() => sleep((web.autoquitS as number) * 1000)) : new Promise<void>(() => undefined);
    await Promise.race([quit, autoquit]);
    if (io.signal.aborted) io.stderr.write('firstspan run: quitting: stopping the test and flushing telemetry (Ctrl-C again to leave at once, exit 130)\n');
    await control.stop();
    await Promise.all([...pendingReports]);
  } finally {
    clearInterval(idle);
    // Open pages hold their event streams; end them, or closing the server would wait for them.
    feed.closeAll();
    await app.close();
    tail?.close();
    rmSync(reportsDir, { recursive: true, force: true });
  }
  const summary = control.lastSummary;
  if (summary === undefined) return ExitCodes.OK;
  const cpu = cpuOfTest ?? cpuUsage(cpuAtStart);
  summary.usage = { cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssBytes: resourceUsage().maxRSS * 1024 };
  return run.report(summary);
}
