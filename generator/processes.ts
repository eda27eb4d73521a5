// --processes N: N generator processes on this machine (Locust's --processes), each running its
// share of the users as --worker-index I --worker-count N under one run id, each exporting its own
// spans. The parent merges their stats exactly (HDR histograms add up), the per-second history
// included, and reports as one run.
import { spawn, type ChildProcess } from 'node:child_process';
import { execPath } from 'node:process';
import { fileURLToPath } from 'node:url';
import type { CommandIO } from '../cli/io.ts';
import { ExitCodes } from '../model/errors.ts';
import { mergeWorkers, statsToWire, type StatsWire } from './request-stats.ts';
import type { RunOptions } from './run-options.ts';
import { notSampled, statusText, type RunSummary, type TelemetryReport } from './stats-report.ts';
import { reportRun } from './run-report.ts';

const BIN = fileURLToPath(new URL('../bin/firstspan.js', import.meta.url));

interface WorkerReport {
  runId: string;
  service: string;
  startedAt: string;
  endedAt: string;
  stopReason: string;
  peakUsers: number;
  stats: StatsWire;
  telemetry: TelemetryReport | null;
  usage: { cpuSeconds: number; maxRssBytes: number } | null;
}

export function workerReport(s: RunSummary): WorkerReport {
  return {
    runId: s.runId,
    service: s.service,
    startedAt: s.startedAt.toISOString(),
    endedAt: s.endedAt.toISOString(),
    stopReason: s.stopReason,
    peakUsers: s.peakUsers,
    stats: statsToWire(s.stats),
    telemetry: s.telemetry ?? null,
    usage: s.usage ?? null,
  };
}

/** The worker's command line: the user's flags minus those the parent owns. */
function workerArgs(argv: string[], index: number, count: number, runId: string): string[] {
  const out: string[] = [];
  const ownedWithValue = new Set(['--processes', '--csv', '--run-id']);
  const ownedFlags = new Set(['--json', '--only-summary']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const name = arg.split('=')[0] as string;
    if (ownedWithValue.has(name)) {
      if (!arg.includes('=')) i += 1;
      continue;
    }
    if (ownedFlags.has(arg)) continue;
    out.push(arg);
  }
  return ['run', ...out, '--worker-index', String(index), '--worker-count', String(count), '--run-id', runId, '--worker-report'];
}

export async function runProcesses(argv: string[], options: RunOptions, runId: string, io: CommandIO, shaped = false): Promise<number> {
  const count = options.processes ?? 1;
  io.stderr.write(`firstspan run: run id ${runId} · ${count} processes, ${shaped ? 'users as the load shape says' : `${options.users} users in all`}\n`);
  const children: ChildProcess[] = [];
  // The live line on a terminal: each worker reports its users and totals once a second on stdout.
  const live = io.stderr.isTTY === true && !options.onlySummary && !options.json;
  const progress = Array.from({ length: count }, () => ({ users: 0, requests: 0, failures: 0 }));
  const startedAt = performance.now();
  let lastRequests = 0;
  let lineShown = false;
  const clearLine = (): void => {
    if (lineShown) io.stderr.write('\r\x1b[2K');
    lineShown = false;
  };
  const ticker = live
    ? setInterval(() => {
        const sum = progress.reduce((s, p) => ({ users: s.users + p.users, requests: s.requests + p.requests, failures: s.failures + p.failures }), { users: 0, requests: 0, failures: 0 });
        io.stderr.write(`\r\x1b[2K${statusText((performance.now() - startedAt) / 1000, sum.users, sum.requests - lastRequests, sum.requests, sum.failures)}`);
        lastRequests = sum.requests;
        lineShown = true;
      }, 1000)
    : undefined;
  const finished = Array.from({ length: count }, (_, index) => {
    const child = spawn(execPath, [BIN, ...workerArgs(argv, index, count, runId)], {
      cwd: io.cwd,
      env: io.env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: a terminal's Ctrl-C reaches the parent only, which forwards exactly one
      // SIGINT (a second one would make a worker leave without its report).
      detached: true,
    });
    children.push(child);
    let stdout = '';
    let pending = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('{"progress":')) progress[index] = (JSON.parse(line) as { progress: { users: number; requests: number; failures: number } }).progress;
        else stdout += line + '\n';
      }
    });
    child.stdout?.on('end', () => (stdout += pending));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split('\n')) {
        if (line.trim() === '') continue;
        clearLine();
        io.stderr.write(`[worker ${index}] ${line}\n`);
      }
    });
    return new Promise<{ code: number | null; stdout: string }>((resolve) => {
      child.on('error', () => resolve({ code: ExitCodes.INTERNAL, stdout }));
      child.on('close', (code) => resolve({ code, stdout }));
    });
  });
  // Ctrl-C reaches the workers as SIGINT: each stops its users, flushes and reports.
  const onAbort = (): void => {
    for (const c of children) c.kill('SIGINT');
  };
  io.signal.addEventListener('abort', onAbort, { once: true });
  const results = await Promise.all(finished);
  io.signal.removeEventListener('abort', onAbort);
  if (ticker !== undefined) clearInterval(ticker);
  clearLine();
  const reports: WorkerReport[] = [];
  for (const [i, r] of results.entries()) {
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if ((r.code !== 0 && r.code !== 1) || !line.startsWith('{')) {
      io.stderr.write(`firstspan run: worker ${i} failed (exit ${r.code})\n`);
      return r.code === ExitCodes.USAGE ? ExitCodes.USAGE : ExitCodes.INTERNAL;
    }
    const w = JSON.parse(line) as WorkerReport;
    reports.push(w);
  }
  const stats = mergeWorkers(reports.map((r) => r.stats));
  const first = reports[0] as WorkerReport;
  const telemetry = reports.every((r) => r.telemetry === null)
    ? undefined
    : reports.reduce<TelemetryReport>(
        (sum, r) => {
          const t = r.telemetry;
          if (t === null) return sum;
          return {
            endpoint: t.endpoint,
            protocol: t.protocol,
            spansEnded: sum.spansEnded + t.spansEnded,
            spansExported: sum.spansExported + t.spansExported,
            spansFailed: sum.spansFailed + t.spansFailed,
            spansDropped: sum.spansDropped + t.spansDropped,
            spansNotSampled: sum.spansNotSampled + t.spansNotSampled,
            ...(t.warning !== undefined || sum.warning !== undefined ? { warning: [sum.warning, t.warning].filter(Boolean).join('; ') } : {}),
          };
        },
        { endpoint: '', protocol: '', spansEnded: 0, spansExported: 0, spansFailed: 0, spansDropped: 0, spansNotSampled: 0 },
      );
  const summary: RunSummary = {
    runId,
    service: first.service,
    startedAt: new Date(Math.min(...reports.map((r) => Date.parse(r.startedAt)))),
    endedAt: new Date(Math.max(...reports.map((r) => Date.parse(r.endedAt)))),
    stopReason: first.stopReason,
    peakUsers: reports.reduce((s, r) => s + r.peakUsers, 0),
    stats,
    telemetry,
    usage: {
      cpuSeconds: reports.reduce((s, r) => s + (r.usage?.cpuSeconds ?? 0), 0),
      maxRssBytes: reports.reduce((s, r) => s + (r.usage?.maxRssBytes ?? 0), 0),
    },
  };
  if (telemetry !== undefined) {
    io.stderr.write(
      `firstspan run: spans ${telemetry.spansExported} exported, ${telemetry.spansFailed} failed, ${telemetry.spansDropped} dropped (of ${telemetry.spansEnded})${notSampled(telemetry)} in ${count} processes\n`,
    );
  }
  return reportRun(summary, options, io);
}
