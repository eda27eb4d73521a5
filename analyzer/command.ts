// `firstspan analyze`: the thin shell around the analysis — flags in, shards opened read-only,
// analyze → render → write, thresholds checked, an exit code out (docs/analyzer.md lists them).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Problems, parseDuration, parseFlags, numberFlag } from '../cli/args.ts';
import type { CommandIO } from '../cli/io.ts';
import { ExitCodes, FirstspanError } from '../model/errors.ts';
import { analyze, type AnalyzeOptions } from './analyze.ts';
import type { OtherClientTraffic } from './find-runs.ts';
import { closeShards, openShards, type Shard } from '../model/span-reads.ts';
import { renderCsv } from './render-csv.ts';
import { renderHtml } from './render-html.ts';
import { renderJson } from './render-json.ts';
import { printable } from './render-shared.ts';
import { renderTable } from './render-table.ts';
import { evaluateThresholds, formatThresholdResults, parseRatio, parseThreshold, type Threshold } from './thresholds.ts';
// Run versus baseline (issue 15): the comparison's flags, change thresholds and renderers.
import { evaluateChangeThresholds, formatChangeResults, isChangeThreshold, parseChangeThreshold, type ChangeThreshold } from './change-thresholds.ts';
import { analyzeAgainstBaseline, type BaselineConfig } from './compare-command.ts';
import type { ComparedReport } from './compare.ts';
import { comparisonCsv, comparisonText } from './render-comparison.ts';
import { runList, runListText } from './run-list.ts';

const FORMATS = ['table', 'json', 'csv', 'html'] as const;
type Format = (typeof FORMATS)[number];

export const ANALYZE_USAGE = `Usage: firstspan analyze --db FILE [--db FILE2 …] [options]

Pair every load-test root span with its server span and explain the gap between what the user
waited and what the server saw, per run and endpoint. With no filter every run is analysed.

  --db FILE            receiver database; repeat for shards analysed as one (required)
  --service NAME       only runs of this service, analysed as a load generator even when it is
                       not recognised as one (firstspan and Locust are)
  --run-id ID          only this run (an idle-gap run's label also works)
  --from ISO, --to ISO only runs overlapping this time range, clipped to it
  --list               list the runs with requests, gap p50/p99, coverage (--format json: a list)
  --idle-gap DUR       split runs without a run id at pauses longer than this (default 30s)
  --format FORMAT      table (default), json, csv or html
  --out FILE           write the report to FILE instead of stdout
  --assert EXPR        CI gate, repeatable: 'gap.p99<50ms', 'client.p90<=200ms', 'coverage>=0.99',
                       'gap.p99{/product/{id}}<80ms' (one endpoint), 'gap.p99{*}<80ms' (each endpoint)
  --baseline ID        compare the run with this baseline run: per endpoint the change of every
                       percentile and gap part, tested against noise; 'gap.p99<+10%' gates on it
  --baseline-db FILE   the baseline's database when it is not the run's (repeatable for shards)
  --metric NAME        a metric the services export (OTLP), per second under the HTML timeline,
                       e.g. process.cpu.utilization; repeatable
  --min-coverage R     fail when propagation coverage is below R (0.99 or 99%), same as 'coverage>=R'
  --top N              traces with the largest gaps shown as waterfalls (default 10)
  --settle DUR         a run whose last span arrived less than DUR ago may still be receiving
                       spans and is reported so (default 3s; 0 never: the receiver has stopped)
  --threads N          worker threads for large databases, split by trace id (default 1 = none)
  --no-record          neither use nor write the record of earlier analyses kept in the first
                       database (by default a second analysis of unchanged runs reads it)
  --quiet              no progress on stderr
  -h, --help           this help

Exit codes: 0 fine, 2 bad usage or database, 3 no runs found, 99 a threshold breached.
`;

interface Config {
  dbs: string[];
  format: Format;
  out: string | undefined;
  list: boolean;
  quiet: boolean;
  thresholds: Threshold[];
  options: AnalyzeOptions;
  baseline: BaselineConfig | undefined;
  changeThresholds: ChangeThreshold[];
}

function parseIso(problems: Problems, flag: string, raw: string | undefined): bigint | undefined {
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) {
    problems.add(`${flag} must be an ISO-8601 time such as 2025-10-09T09:46:40Z, got '${raw}'`);
    return undefined;
  }
  return BigInt(ms) * 1_000_000n;
}

function resolveConfig(argv: string[], io: CommandIO): Config | { exit: number } {
  const parsed = parseFlags(argv, {
    db: { type: 'string', multiple: true },
    service: { type: 'string' },
    'run-id': { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    list: { type: 'boolean' },
    'idle-gap': { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    assert: { type: 'string', multiple: true },
    'min-coverage': { type: 'string' },
    baseline: { type: 'string' },
    metric: { type: 'string', multiple: true },
    'baseline-db': { type: 'string', multiple: true },
    top: { type: 'string' },
    settle: { type: 'string' },
    threads: { type: 'string' },
    'no-record': { type: 'boolean' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('error' in parsed) {
    io.stderr.write(`firstspan analyze: ${parsed.error}\n\n${ANALYZE_USAGE}`);
    return { exit: ExitCodes.USAGE };
  }
  const v = parsed.values;
  if (v.help === true) {
    io.stdout.write(ANALYZE_USAGE);
    return { exit: ExitCodes.OK };
  }
  const problems = new Problems();
  const dbs = (v.db as string[] | undefined) ?? [];
  if (dbs.length === 0) problems.add('--db FILE is required: the database `firstspan receive` wrote');
  const format = ((v.format as string | undefined) ?? 'table') as Format;
  if (!FORMATS.includes(format)) problems.add(`--format must be one of ${FORMATS.join(', ')}, got '${format}'`);
  let idleGapMs = 30_000;
  if (v['idle-gap'] !== undefined) {
    const d = parseDuration(v['idle-gap'] as string);
    if (d === undefined || d <= 0) problems.add(`--idle-gap must be a duration such as 30s or 2m, got '${v['idle-gap'] as string}'`);
    else idleGapMs = d;
  }
  const thresholds: Threshold[] = [];
  const changeThresholds: ChangeThreshold[] = [];
  const baselineId = v.baseline as string | undefined;
  const baselineDbs = ((v['baseline-db'] as string[] | undefined) ?? []).map((d) => resolve(io.cwd, d));
  if (baselineDbs.length > 0 && baselineId === undefined) problems.add('--baseline-db needs --baseline ID: the run to compare with');
  for (const source of (v.assert as string[] | undefined) ?? []) {
    if (isChangeThreshold(source)) {
      const c = parseChangeThreshold(source);
      if (typeof c === 'string') problems.add(c);
      else if (baselineId === undefined) problems.add(`--assert '${source}' is a change against a baseline: add --baseline RUN_ID`);
      else changeThresholds.push(c);
      continue;
    }
    const t = parseThreshold(source);
    if (typeof t === 'string') problems.add(t);
    else thresholds.push(t);
  }
  if (v['min-coverage'] !== undefined) {
    const raw = v['min-coverage'] as string;
    const minCoverage = parseRatio('--min-coverage', raw);
    if (typeof minCoverage === 'string') problems.add(minCoverage);
    else thresholds.push({ source: `coverage>=${raw.trim()}`, metric: 'coverage', endpoint: null, op: '>=', value: minCoverage, kind: 'ratio' });
  }
  const top = numberFlag(problems, '--top', v.top as string | undefined, { min: 0, integer: true }) ?? 10;
  let settleMs: number | undefined;
  if (v.settle !== undefined) {
    const d = parseDuration(v.settle as string);
    if (d === undefined || d < 0) problems.add(`--settle must be a duration such as 3s or 0, got '${v.settle as string}'`);
    else settleMs = d;
  }
  const threads = numberFlag(problems, '--threads', v.threads as string | undefined, { min: 1, integer: true });
  const fromNs = parseIso(problems, '--from', v.from as string | undefined);
  const toNs = parseIso(problems, '--to', v.to as string | undefined);
  if (fromNs !== undefined && toNs !== undefined && toNs < fromNs) problems.add('--to must not be before --from');
  if (!problems.empty) {
    io.stderr.write(problems.format('analyze'));
    return { exit: ExitCodes.USAGE };
  }
  const options: AnalyzeOptions = { idleGapNs: BigInt(Math.round(idleGapMs * 1e6)), topN: top, record: v['no-record'] !== true };
  if (threads !== undefined) options.threads = threads;
  if (settleMs !== undefined) options.settleMs = settleMs;
  if (v.service !== undefined) options.service = v.service as string;
  if (v['run-id'] !== undefined) options.runId = v['run-id'] as string;
  if (fromNs !== undefined) options.fromNs = fromNs;
  if (toNs !== undefined) options.toNs = toNs;
  const metrics = (v.metric as string[] | undefined) ?? [];
  if (metrics.length > 0) options.metrics = metrics;
  return {
    dbs: dbs.map((d) => resolve(io.cwd, d)),
    format,
    out: v.out === undefined ? undefined : resolve(io.cwd, v.out as string),
    list: v.list === true,
    quiet: v.quiet === true,
    thresholds,
    options,
    baseline: baselineId === undefined ? undefined : { runId: baselineId, dbs: baselineDbs },
    changeThresholds,
  };
}

/** Progress on stderr for large runs: at most once a second, `\r`-updated on a terminal. */
function progressReporter(io: CommandIO): NonNullable<AnalyzeOptions['progress']> {
  let last = 0;
  return (run, roots, expected) => {
    if (expected < 100_000) return;
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    const line = `analyze: run ${printable(run)}: ${roots.toLocaleString('en-US')} of ~${expected.toLocaleString('en-US')} roots read (${Math.min(100, (roots / expected) * 100).toFixed(0)}%)`;
    io.stderr.write(io.stderr.isTTY ? `\r${line}` : `${line}\n`);
  };
}

/**
 * What the record did, on stderr: why it could not be written (once: the analysis itself is
 * complete), and unless quiet each run read from it.
 */
function recordReporter(io: CommandIO, quiet: boolean): NonNullable<AnalyzeOptions['onRecord']> {
  let told = false;
  return (event) => {
    if (event.kind === 'unwritable') {
      if (!told) io.stderr.write(`firstspan analyze: the analysis is not recorded for the next one (${event.message}); its results are complete\n`);
      told = true;
    } else if (event.kind === 'used' && !quiet && event.part.startsWith('run ')) {
      io.stderr.write(`analyze: ${printable(event.part)}: read from the record of an earlier analysis (no span changed it since; --no-record recomputes)\n`);
    }
  };
}

/** Why there is no run, when CLIENT roots exist that are no load generator's: name one to analyse it. */
function otherTrafficHint(other: OtherClientTraffic[]): string {
  if (other.length === 0) return '';
  const list = other.slice(0, 5).map((o) => `${printable(o.service)}: ${o.rootSpans}`).join(', ');
  return `; trace-root CLIENT spans from services not recognised as load generators are other client traffic, not runs (${list}): name one with --service NAME to analyse it as a load test`;
}

export async function analyzeCommand(argv: string[], io: CommandIO): Promise<number> {
  const config = resolveConfig(argv, io);
  if ('exit' in config) return config.exit;
  let shards: Shard[];
  try {
    shards = openShards(config.dbs);
  } catch (error) {
    if (error instanceof FirstspanError) {
      io.stderr.write(`firstspan analyze: ${error.message} [${error.code}]\n`);
      return ExitCodes.USAGE;
    }
    throw error;
  }
  try {
    const where = config.dbs.length === 1 ? config.dbs[0] : `${config.dbs.length} databases`;
    config.options.onRecord = recordReporter(io, config.quiet);
    if (config.list) {
      const { runs, other } = await runList(shards, config.options);
      if (runs.length === 0) {
        io.stderr.write(`firstspan analyze: no runs in ${where} that match the filters${otherTrafficHint(other)}\n`);
        return ExitCodes.NO_RUNS;
      }
      io.stdout.write(config.format === 'json' ? JSON.stringify(runs, null, 2) + '\n' : runListText(runs));
      return ExitCodes.OK;
    }
    if (!config.quiet) config.options.progress = progressReporter(io);
    let report: ComparedReport;
    if (config.baseline !== undefined) {
      const compared = await analyzeAgainstBaseline(shards, config.dbs, config.baseline, config.options, io);
      if ('exit' in compared) return compared.exit;
      report = compared;
    } else {
      report = await analyze(shards, config.options);
    }
    if (io.stderr.isTTY && !config.quiet) io.stderr.write('\r\u001b[K');
    for (const name of config.options.metrics ?? []) {
      if (!report.runs.some((r) => r.serverMetrics.some((s) => s.name === name))) {
        io.stderr.write(`firstspan analyze: --metric ${name}: no service exported it during the analysed runs (is its SDK's metric exporter pointed at the receiver?)\n`);
      }
    }
    if (report.runs.length === 0) {
      io.stderr.write(
        `firstspan analyze: no runs in ${where} that match the filters: no trace-root CLIENT spans from a load generator` +
          ` (check that the generator exported to this receiver, and the --service/--run-id/--from/--to filters)${otherTrafficHint(report.otherClientTraffic)}\n`,
      );
      return ExitCodes.NO_RUNS;
    }
    // Evaluated before rendering, so the HTML report shows each threshold's ✓ / ✗.
    const results = evaluateThresholds(config.thresholds, report.runs);
    const text =
      config.format === 'json'
        ? renderJson(report)
        : config.format === 'csv'
          ? report.comparison !== undefined
            ? comparisonCsv(report.comparison)
            : renderCsv(report)
          : config.format === 'html'
            ? renderHtml(report, { thresholds: results })
            : renderTable(report) + (report.comparison === undefined ? '' : comparisonText(report.comparison));
    if (config.out !== undefined) {
      writeFileSync(config.out, text);
      io.stderr.write(`firstspan analyze: ${config.format} report written to ${config.out}\n`);
    } else {
      io.stdout.write(text);
    }
    if (config.thresholds.length + config.changeThresholds.length === 0) return ExitCodes.OK;
    const changes = report.comparison === undefined ? [] : evaluateChangeThresholds(config.changeThresholds, report.comparison);
    // Threshold lines go with the table; they would corrupt JSON, CSV or HTML on stdout.
    const sink = config.format === 'table' && config.out === undefined ? io.stdout : io.stderr;
    sink.write(`\nThresholds:\n${formatThresholdResults(results)}`);
    if (report.comparison !== undefined) sink.write(formatChangeResults(changes, report.comparison));
    const failed = results.filter((r) => !r.ok).length + changes.filter((r) => !r.ok).length;
    if (failed > 0) {
      sink.write(`${failed} of ${results.length + changes.length} thresholds breached (exit ${ExitCodes.THRESHOLDS_FAILED})\n`);
      return ExitCodes.THRESHOLDS_FAILED;
    }
    return ExitCodes.OK;
  } finally {
    closeShards(shards);
  }
}
