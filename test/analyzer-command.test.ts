// `firstspan analyze` called in the test's own process (analyzeCommand(argv, io)), so mutation
// testing sees the command's logic: flags and their problems, each format, --out, thresholds and
// exit 99, filters and exit 3, the record's lines on stderr, baselines. Each expected output is the
// analysis of the same file rendered by the renderers themselves: the command must wire flags into
// options and results into streams exactly. test/analyzer-cli.test.ts runs the real binary.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type AnalyzeOptions } from '../analyzer/analyze.ts';
import { ANALYZE_USAGE, analyzeCommand } from '../analyzer/command.ts';
import { analyzeAgainstBaseline } from '../analyzer/compare-command.ts';
import { comparisonCsv, comparisonText } from '../analyzer/render-comparison.ts';
import { renderCsv } from '../analyzer/render-csv.ts';
import { renderHtml } from '../analyzer/render-html.ts';
import { renderJson } from '../analyzer/render-json.ts';
import { renderTable } from '../analyzer/render-table.ts';
import { runList, runListText } from '../analyzer/run-list.ts';
import { evaluateThresholds, formatThresholdResults, parseRatio, parseThreshold, type Threshold } from '../analyzer/thresholds.ts';
import { ExitCodes } from '../model/errors.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { SpanStore } from '../model/store.ts';
import { captureIO } from './helpers/command-io.ts';
import { PRODUCT, writeLocustRuns, writeScenario } from './helpers/analyzer-scenario.ts';
import { holdWriteLock, writeRawSpans } from './helpers/store-file.ts';

let dir: string;
let db: string;
let locust: string;

const DEFAULTS: AnalyzeOptions = { idleGapNs: 30_000_000_000n, topN: 10, record: false, settleMs: 0 };

/** The command on `argv` in this process, run in `dir` (relative paths resolve there). */
async function run(argv: string[], opts: { tty?: boolean; settle?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIO({ cwd: dir, tty: opts.tty ?? false });
  // --settle 0: the files are complete, but their spans were stored moments ago (received_at_ms).
  const settle = opts.settle !== false && argv.includes('--db') && !argv.some((a) => a.startsWith('--settle')) ? ['--settle', '0'] : [];
  const code = await analyzeCommand([...argv, ...settle], c.io);
  return { code, stdout: stable(c.stdout()), stderr: c.stderr() };
}

/** The report's generation time blanked: two analyses of one file differ only there. */
function stable(text: string): string {
  return text.replace(/"generatedAt": "[^"]+"/g, '"generatedAt": "-"').replace(/ · generated [0-9TZ:.-]+</g, ' · generated -<');
}

/** What the analysis of `dbs` with `options` is, read directly. */
async function expected(dbs: string[], options: Partial<AnalyzeOptions> = {}): Promise<Awaited<ReturnType<typeof analyze>>> {
  const shards = openShards(dbs);
  try {
    const report = await analyze(shards, { ...DEFAULTS, ...options });
    report.generatedAt = '-';
    return report;
  } finally {
    closeShards(shards);
  }
}

function threshold(source: string): Threshold {
  const t = parseThreshold(source);
  if (typeof t === 'string') throw new Error(t);
  return t;
}

/**
 * A new file of trace-root CLIENT spans only, written past the receiver (so they arrived at time 0):
 * per group `count` roots of `service` and run `runId`, 10 µs apart, 2 ms long.
 */
function writeRoots(path: string, groups: Array<{ service: string; runId: string | null; count: number }>): void {
  SpanStore.open(path).close();
  const t0 = 1_760_000_000_000_000_000n;
  let n = 0;
  writeRawSpans(
    path,
    groups.flatMap(({ service, runId, count }) =>
      Array.from({ length: count }, (_, k) => {
        const id = Buffer.alloc(16);
        id.writeUInt32BE(++n, 12);
        return {
          traceId: id,
          spanId: id.subarray(8),
          parentSpanId: null,
          service,
          runId,
          kind: 3,
          startNs: t0 + BigInt(k) * 10_000n,
          endNs: t0 + BigInt(k) * 10_000n + 2_000_000n,
          attributes: '{}',
          connectionReused: null,
        };
      }),
    ),
  );
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-analyze-command-'));
  db = join(dir, 'a.db');
  writeScenario(db);
  locust = join(dir, 'locust.db');
  writeLocustRuns(locust);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('analyzeCommand: flags', () => {
  it('prints the usage on --help and -h, exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await run([flag]);
      expect(r).toEqual({ code: ExitCodes.OK, stdout: ANALYZE_USAGE, stderr: '' });
    }
  });

  it('names an unknown flag and prints the usage, exit 2', async () => {
    const r = await run(['--db', 'a.db', '--colour']);
    expect(r.code).toBe(ExitCodes.USAGE);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^firstspan analyze: .*--colour/);
    expect(r.stderr.endsWith(`\n\n${ANALYZE_USAGE}`)).toBe(true);
  });

  it('lists every problem with the flags at once, exit 2', async () => {
    const r = await run([
      '--format', 'xml',
      '--idle-gap', 'soon',
      '--baseline-db', 'b.db',
      '--assert', 'gap.p99<<5',
      '--assert', 'gap.p99<+10%',
      '--assert', 'gap.p99<+10',
      '--min-coverage', '2',
      '--top=-1',
      '--settle', 'later',
      '--threads', '0',
      '--from', 'yesterday',
      '--to', 'tomorrow',
    ]);
    const ratio = parseRatio('--min-coverage', '2');
    const bad = parseThreshold('gap.p99<<5');
    expect(typeof ratio).toBe('string');
    expect(typeof bad).toBe('string');
    const problems = [
      '--db FILE is required: the database `firstspan receive` wrote',
      "--format must be one of table, json, csv, html, got 'xml'",
      "--idle-gap must be a duration such as 30s or 2m, got 'soon'",
      '--baseline-db needs --baseline ID: the run to compare with',
      bad as string,
      "--assert 'gap.p99<+10%' is a change against a baseline: add --baseline RUN_ID",
      "--assert 'gap.p99<+10': give the change a unit: % of the baseline, or ms, s, us",
      ratio as string,
      "--top must be an integer >= 0, got '-1'",
      "--settle must be a duration such as 3s or 0, got 'later'",
      "--threads must be an integer >= 1, got '0'",
      "--from must be an ISO-8601 time such as 2025-10-09T09:46:40Z, got 'yesterday'",
      "--to must be an ISO-8601 time such as 2025-10-09T09:46:40Z, got 'tomorrow'",
    ];
    expect(r).toEqual({
      code: ExitCodes.USAGE,
      stdout: '',
      stderr: `firstspan analyze: ${problems.length} problems with the options:\n${problems.map((p) => `  - ${p}`).join('\n')}\nRun 'firstspan analyze --help' for usage.\n`,
    });
  });

  it('refuses --to before --from, and a negative --idle-gap or --settle, exit 2', async () => {
    const r = await run(['--db', 'a.db', '--from', '2025-10-09T10:00:00Z', '--to', '2025-10-09T09:00:00Z', '--idle-gap=-1s', '--settle=-1s']);
    expect(r.code).toBe(ExitCodes.USAGE);
    expect(r.stderr).toBe(
      'firstspan analyze: 3 problems with the options:\n' +
        "  - --idle-gap must be a duration such as 30s or 2m, got '-1s'\n" +
        "  - --settle must be a duration such as 3s or 0, got '-1s'\n" +
        '  - --to must not be before --from\n' +
        "Run 'firstspan analyze --help' for usage.\n",
    );
  });

  it('accepts the edges of each range: --top 0, --settle 0, --threads 1, --from equal to --to', async () => {
    const at = '2025-10-09T10:00:00Z';
    const r = await run(['--db', 'a.db', '--top', '0', '--settle', '0', '--threads', '1', '--idle-gap', '1ms', '--from', at, '--to', at, '--no-record', '--quiet']);
    // Valid flags: the only complaint left is that nothing falls in an empty time range.
    expect(r.code).toBe(ExitCodes.NO_RUNS);
    expect(r.stderr).toMatch(/^firstspan analyze: no runs in /);
  });

  it('says what is wrong with a database it cannot open, with the error code, exit 2', async () => {
    const r = await run(['--db', 'missing.db']);
    expect(r.code).toBe(ExitCodes.USAGE);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^firstspan analyze: .*${join(dir, 'missing.db').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.* \\[FS_ERR_STORE_OPEN\\]\\n$`));
  });
});

describe('analyzeCommand: formats', () => {
  it('prints the table by default, relative --db resolved against the cwd, nothing on stderr', async () => {
    const r = await run(['--db', 'a.db', '--no-record']);
    expect(r).toEqual({ code: ExitCodes.OK, stdout: renderTable(await expected([db])), stderr: '' });
    expect(r.stdout).toContain(PRODUCT);
  });

  it('--format table, json, csv and html print what the renderers make of the analysis', async () => {
    const report = await expected([db]);
    const renderers = {
      table: renderTable(report),
      json: renderJson(report),
      csv: renderCsv(report),
      html: renderHtml(report, { thresholds: [] }),
    };
    for (const [format, text] of Object.entries(renderers)) {
      const r = await run(['--db', db, '--format', format, '--no-record']);
      expect(r, format).toEqual({ code: ExitCodes.OK, stdout: text, stderr: '' });
    }
  });

  it('passes --top, --service, --run-id and --idle-gap on to the analysis', async () => {
    const top = await run(['--db', db, '--format', 'json', '--top', '2', '--no-record']);
    expect(top.stdout).toBe(renderJson(await expected([db], { topN: 2 })));
    expect(top.stdout).not.toBe(renderJson(await expected([db])));
    const byRun = await run(['--db', db, '--format', 'json', '--run-id', 'run-1', '--service', 'firstspan', '--no-record']);
    expect(byRun.stdout).toBe(renderJson(await expected([db], { runId: 'run-1', service: 'firstspan' })));
    const split = await run(['--db', locust, '--format', 'json', '--no-record']);
    const merged = await run(['--db', locust, '--format', 'json', '--idle-gap', '2m', '--no-record']);
    expect((JSON.parse(split.stdout) as { runs: unknown[] }).runs).toHaveLength(2);
    expect(merged.stdout).toBe(renderJson(await expected([locust], { idleGapNs: 120_000_000_000n })));
    expect((JSON.parse(merged.stdout) as { runs: unknown[] }).runs).toHaveLength(1);
  });

  it('writes the report to --out and says where on stderr', async () => {
    const out = join(dir, 'report.csv');
    const r = await run(['--db', db, '--format', 'csv', '--out', 'report.csv', '--no-record']);
    expect(r).toEqual({ code: ExitCodes.OK, stdout: '', stderr: `firstspan analyze: csv report written to ${out}\n` });
    expect(readFileSync(out, 'utf8')).toBe(renderCsv(await expected([db])));
  });

  it('lists runs as text and as JSON', async () => {
    const shards = openShards([locust]);
    const { runs } = await runList(shards, DEFAULTS).finally(() => closeShards(shards));
    expect(runs).toHaveLength(2);
    const text = await run(['--db', locust, '--list', '--no-record']);
    expect(text).toEqual({ code: ExitCodes.OK, stdout: runListText(runs), stderr: '' });
    const json = await run(['--db', locust, '--list', '--format', 'json', '--no-record']);
    expect(json).toEqual({ code: ExitCodes.OK, stdout: JSON.stringify(runs, null, 2) + '\n', stderr: '' });
  });

  it('clears the progress line on a terminal, unless --quiet', async () => {
    const tty = await run(['--db', db, '--no-record'], { tty: true });
    expect(tty.stderr).toBe('\r\u001b[K');
    const quiet = await run(['--db', db, '--no-record', '--quiet'], { tty: true });
    expect(quiet.stderr).toBe('');
  });

  it('warns about a --metric no service exported, and still reports', async () => {
    const r = await run(['--db', db, '--metric', 'no.such.metric', '--format', 'json', '--no-record']);
    expect(r.code).toBe(ExitCodes.OK);
    expect(r.stderr).toBe(
      'firstspan analyze: --metric no.such.metric: no service exported it during the analysed runs (is its SDK\'s metric exporter pointed at the receiver?)\n',
    );
    expect(r.stdout).toBe(renderJson(await expected([db], { metrics: ['no.such.metric'] })));
  });
});

describe('analyzeCommand: thresholds', () => {
  it('appends the threshold lines to the table and exits 0 when all hold', async () => {
    const report = await expected([db]);
    const sources = ['gap.p99<100ms', 'client.p90<=1s'];
    const results = evaluateThresholds([...sources.map(threshold), { ...threshold('coverage>=0.5'), source: 'coverage>=0.5' }], report.runs);
    expect(results.every((x) => x.ok)).toBe(true);
    const r = await run(['--db', db, '--assert', sources[0]!, '--assert', sources[1]!, '--min-coverage', ' 0.5 ', '--no-record']);
    expect(r).toEqual({ code: ExitCodes.OK, stdout: renderTable(report) + `\nThresholds:\n${formatThresholdResults(results)}`, stderr: '' });
  });

  it('exits 99 and counts the breaches; with --format json the lines go to stderr, stdout stays JSON', async () => {
    const report = await expected([db]);
    const ts = [threshold('gap.p99<1ms'), threshold(`gap.max{${PRODUCT}}<500ms`), threshold('coverage>=0.95')];
    const results = evaluateThresholds(ts, report.runs);
    expect(results.map((x) => x.ok)).toEqual([false, true, false]);
    const r = await run(['--db', db, '--format', 'json', '--assert', 'gap.p99<1ms', '--assert', `gap.max{${PRODUCT}}<500ms`, '--min-coverage', '0.95', '--no-record']);
    expect(r.code).toBe(ExitCodes.THRESHOLDS_FAILED);
    expect(r.stdout).toBe(renderJson(report));
    expect(r.stderr).toBe(`\nThresholds:\n${formatThresholdResults(results)}2 of 3 thresholds breached (exit 99)\n`);
  });

  it('puts the threshold lines on stderr when the table goes to --out, and shows ✓/✗ in the HTML', async () => {
    const report = await expected([db]);
    const results = evaluateThresholds([threshold('gap.p99<1ms')], report.runs);
    const out = join(dir, 'gated.html');
    const r = await run(['--db', db, '--format', 'html', '--out', out, '--assert', 'gap.p99<1ms', '--no-record']);
    expect(r.code).toBe(ExitCodes.THRESHOLDS_FAILED);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`firstspan analyze: html report written to ${out}\n\nThresholds:\n${formatThresholdResults(results)}1 of 1 thresholds breached (exit 99)\n`);
    expect(stable(readFileSync(out, 'utf8'))).toBe(renderHtml(report, { thresholds: results }));
    const table = join(dir, 'gated.txt');
    const t = await run(['--db', db, '--out', table, '--assert', 'gap.p99<1ms', '--no-record']);
    expect(t.code).toBe(ExitCodes.THRESHOLDS_FAILED);
    expect(t.stdout).toBe('');
    expect(t.stderr).toContain('\nThresholds:\n');
    expect(readFileSync(table, 'utf8')).toBe(renderTable(report));
  });
});

describe('analyzeCommand: no runs, exit 3', () => {
  it('says no run matches the filters, for the report and for --list', async () => {
    const none = await run(['--db', db, '--run-id', 'no-such-run', '--no-record']);
    expect(none).toEqual({
      code: ExitCodes.NO_RUNS,
      stdout: '',
      stderr:
        `firstspan analyze: no runs in ${db} that match the filters: no trace-root CLIENT spans from a load generator` +
        ' (check that the generator exported to this receiver, and the --service/--run-id/--from/--to filters)\n',
    });
    const list = await run(['--db', db, '--list', '--service', 'nobody', '--no-record']);
    expect(list).toEqual({ code: ExitCodes.NO_RUNS, stdout: '', stderr: `firstspan analyze: no runs in ${db} that match the filters\n` });
    const shards = await run(['--db', db, '--db', locust, '--run-id', 'no-such-run', '--no-record']);
    expect(shards.stderr).toMatch(/^firstspan analyze: no runs in 2 databases that match the filters: /);
    const empty = join(dir, 'empty.db');
    SpanStore.open(empty).close();
    expect((await run(['--db', empty, '--no-record'])).code).toBe(ExitCodes.NO_RUNS);
  });

  it('names the services whose CLIENT roots are other traffic, at most five, and how to analyse one', async () => {
    const other = join(dir, 'other.db');
    const services = ['curl', 'cron', 'probe-a', 'probe-b', 'probe-c', 'probe-d'];
    // Service number s has s + 1 roots.
    writeRoots(other, services.map((service, s) => ({ service, runId: null, count: s + 1 })));
    const r = await run(['--db', other, '--no-record']);
    expect(r.code).toBe(ExitCodes.NO_RUNS);
    const hint = /; trace-root CLIENT spans from services not recognised as load generators are other client traffic, not runs \((.*)\): name one with --service NAME to analyse it as a load test\n$/.exec(r.stderr);
    expect(hint, r.stderr).not.toBeNull();
    const named = hint![1]!.split(', ');
    expect(named).toHaveLength(5);
    for (const entry of named) {
      const [service, count] = entry.split(': ');
      expect(services.indexOf(service!) + 1, entry).toBe(Number(count));
    }
    const list = await run(['--db', other, '--list', '--no-record']);
    expect(list.stderr).toBe(`firstspan analyze: no runs in ${other} that match the filters${/(; trace-root.*)\n$/.exec(r.stderr)![1]}\n`);
    const named1 = await run(['--db', other, '--service', 'curl', '--format', 'json', '--no-record']);
    expect(named1.code).toBe(ExitCodes.OK);
  });
});

describe('analyzeCommand: the record', () => {
  it('reads a second analysis from the record and says so, unless --quiet or --no-record', async () => {
    const rec = join(dir, 'record.db');
    copyFileSync(db, rec);
    const first = await run(['--db', rec, '--format', 'json']);
    expect(first).toEqual({ code: ExitCodes.OK, stdout: renderJson(await expected([rec])), stderr: '' });
    const second = await run(['--db', rec, '--format', 'json']);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toBe('analyze: run run-1: read from the record of an earlier analysis (no span changed it since; --no-record recomputes)\n');
    expect((await run(['--db', rec, '--format', 'json', '--quiet'])).stderr).toBe('');
    expect((await run(['--db', rec, '--format', 'json', '--no-record'])).stderr).toBe('');
  });

  it('says once why the record cannot be written, and reports in full', async () => {
    const locked = join(dir, 'locked.db');
    copyFileSync(db, locked);
    const release = holdWriteLock(locked);
    try {
      const r = await run(['--db', locked, '--format', 'json', '--quiet']);
      expect(r.code).toBe(ExitCodes.OK);
      expect(r.stdout).toBe(renderJson(await expected([locked])));
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^firstspan analyze: the analysis is not recorded for the next one \\(${locked.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .+\\); its results are complete$`));
    } finally {
      release();
    }
  });
});

describe('analyzeCommand: --baseline', () => {
  it('compares the run with the same run in another database: the table gets the comparison, change thresholds hold', async () => {
    const base = join(dir, 'base.db');
    copyFileSync(db, base);
    const r = await run(['--db', db, '--baseline', 'run-1', '--baseline-db', 'base.db', '--assert', 'gap.p99<+10%', '--no-record']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(ExitCodes.OK);
    expect(r.stdout.startsWith(renderTable(await expected([db])))).toBe(true);
    expect(r.stdout).toContain('\nThresholds:\n');
    expect(r.stdout).toMatch(/✓ gap\.p99<\+10%/);
    expect(r.stdout).not.toContain('✗');
    const csv = await run(['--db', db, '--baseline', 'run-1', '--baseline-db', base, '--format', 'csv', '--no-record']);
    expect(csv.code).toBe(ExitCodes.OK);
    expect(csv.stdout).not.toBe(renderCsv(await expected([db])));
    const breached = await run(['--db', db, '--baseline', 'run-1', '--baseline-db', base, '--assert', 'gap.p99{/nope}<+10%', '--no-record']);
    expect(breached.code).toBe(ExitCodes.THRESHOLDS_FAILED);
    expect(breached.stdout).toMatch(/✗ gap\.p99\{\/nope\}<\+10% \[\/nope\] — run run-1 vs baseline run-1: no such endpoint in both runs\n1 of 1 thresholds breached \(exit 99\)\n$/);
  });

  it('exits with the comparison\'s code when the baseline cannot be used', async () => {
    const none = await run(['--db', db, '--run-id', 'no-such-run', '--baseline', 'run-1', '--no-record']);
    expect(none.code).toBe(ExitCodes.NO_RUNS);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/--baseline compares one run with another, and the filters select 0 runs/);
  });
});

describe('analyzeCommand: more flags reach the analysis', () => {
  it('--from and --to each clip the run; --from alone is no contradiction', async () => {
    // The scenario's run starts 100 ms after 2025-10-09T09:46:40Z (test/helpers/analyzer-traces.ts).
    const from = '2025-10-09T09:46:40.500Z';
    const to = '2025-10-09T09:46:41.500Z';
    const ns = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n;
    const both = await run(['--db', db, '--format', 'json', '--from', from, '--to', to, '--no-record']);
    expect(both.stdout).toBe(renderJson(await expected([db], { fromNs: ns(from), toNs: ns(to) })));
    const fromOnly = await run(['--db', db, '--format', 'json', '--from', from, '--no-record']);
    expect(fromOnly.stderr).toBe('');
    expect(fromOnly.stdout).toBe(renderJson(await expected([db], { fromNs: ns(from) })));
    const toOnly = await run(['--db', db, '--format', 'json', '--to', to, '--no-record']);
    expect(toOnly.stdout).toBe(renderJson(await expected([db], { toNs: ns(to) })));
    const all = renderJson(await expected([db]));
    expect(new Set([both.stdout, fromOnly.stdout, toOnly.stdout, all]).size).toBe(4);
  });

  it('uses the default --settle when none is given (spans written past the receiver arrived at time 0: long settled)', async () => {
    const old = join(dir, 'old.db');
    writeRoots(old, [{ service: 'firstspan', runId: 'old', count: 3 }]);
    const r = await run(['--db', old, '--format', 'json', '--no-record'], { settle: false });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(ExitCodes.OK);
    expect(r.stdout).toBe(renderJson(await expected([old], { settleMs: undefined })));
    expect((JSON.parse(r.stdout) as { runs: Array<{ runId: string }> }).runs.map((x) => x.runId)).toEqual(['old']);
  });

  it('warns only about the --metric names no service exported', async () => {
    const r = await run(['--db', db, '--metric', 'firstspan.users.active', '--metric', 'no.such.metric', '--format', 'json', '--no-record']);
    expect(r.code).toBe(ExitCodes.OK);
    expect(r.stderr).toBe(
      'firstspan analyze: --metric no.such.metric: no service exported it during the analysed runs (is its SDK\'s metric exporter pointed at the receiver?)\n',
    );
    expect(r.stdout).toBe(renderJson(await expected([db], { metrics: ['firstspan.users.active', 'no.such.metric'] })));
  });

  it('says once that the record cannot be written, though a baseline comparison analyses twice', async () => {
    const locked = join(dir, 'locked-twice.db');
    copyFileSync(db, locked);
    const release = holdWriteLock(locked);
    try {
      const r = await run(['--db', locked, '--baseline', 'run-1', '--format', 'json', '--quiet']);
      expect(r.code).toBe(ExitCodes.OK);
      expect(r.stderr.match(/the analysis is not recorded for the next one/g)).toHaveLength(1);
    } finally {
      release();
    }
  });

  it('gates on plain and change thresholds together: one of each, the change breached, exit 99', async () => {
    const base = join(dir, 'base2.db');
    copyFileSync(db, base);
    const r = await run(['--db', db, '--baseline', 'run-1', '--baseline-db', base, '--assert', 'gap.p99<100ms', '--assert', 'gap.p99{/nope}<+10%', '--no-record']);
    expect(r.code).toBe(ExitCodes.THRESHOLDS_FAILED);
    expect(r.stdout).toMatch(/\n✓ gap\.p99<100ms — run run-1: [^\n]+\n✗ gap\.p99\{\/nope\}<\+10% [^\n]+\n1 of 2 thresholds breached \(exit 99\)\n$/);
  });

  it('prints the baseline comparison after the table, and as CSV', async () => {
    const base = join(dir, 'base3.db');
    copyFileSync(db, base);
    const shards = openShards([db]);
    const c = captureIO({ cwd: dir });
    const compared = await analyzeAgainstBaseline(shards, [db], { runId: 'run-1', dbs: [base] }, DEFAULTS, c.io).finally(() => closeShards(shards));
    if ('exit' in compared || compared.comparison === undefined) throw new Error(`no comparison: ${c.stderr()}`);
    compared.generatedAt = '-';
    const table = await run(['--db', db, '--baseline', 'run-1', '--baseline-db', base, '--no-record']);
    expect(table).toEqual({ code: ExitCodes.OK, stdout: renderTable(compared) + comparisonText(compared.comparison), stderr: '' });
    const csv = await run(['--db', db, '--baseline', 'run-1', '--baseline-db', base, '--format', 'csv', '--no-record']);
    expect(csv).toEqual({ code: ExitCodes.OK, stdout: comparisonCsv(compared.comparison), stderr: '' });
  });
});

describe('analyzeCommand: progress', () => {
  // Progress is shown for runs of 100,000 roots or more (analyzer/command.ts), told every 65,536
  // roots read (analyzer/pair-spans.ts): a run of 140,000 roots, roots only, is told twice.
  const ROOTS = 140_000;
  let big: string;
  beforeAll(() => {
    big = join(dir, 'big.db');
    writeRoots(big, [{ service: 'firstspan', runId: 'big', count: ROOTS }]);
  });

  it('reports how many roots were read, on its own lines off a terminal, \\r-updated on one, none with --quiet', async () => {
    const line = new RegExp(`^analyze: run big: ([\\d,]+) of ~${ROOTS.toLocaleString('en-US')} roots read \\((\\d+)%\\)$`);
    const startedMs = Date.now();
    const plain = await run(['--db', big, '--format', 'json', '--no-record', '--top', '0']);
    const tookMs = Date.now() - startedMs;
    expect(plain.code).toBe(ExitCodes.OK);
    const lines = plain.stderr.split('\n').filter((l) => l !== '');
    // At most one line a second (the pairing reports far more often than that).
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(Math.floor(tookMs / 1000) + 1);
    for (const l of lines) {
      const m = line.exec(l);
      expect(m, l).not.toBeNull();
      const read = Number(m![1]!.replace(/,/g, ''));
      expect(read).toBeGreaterThan(0);
      expect(read).toBeLessThanOrEqual(ROOTS);
      expect(Number(m![2])).toBe(Math.round(Math.min(100, (read / ROOTS) * 100)));
    }
    const tty = await run(['--db', big, '--format', 'json', '--no-record', '--top', '0'], { tty: true });
    expect(tty.stderr).toMatch(new RegExp(`^(\\r${line.source.slice(1, -1)})+\\r\\u001b\\[K$`));
    const quiet = await run(['--db', big, '--format', 'json', '--no-record', '--top', '0', '--quiet'], { tty: true });
    expect(quiet.stderr).toBe('');
  });
});
