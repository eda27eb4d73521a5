// `analyze --baseline` in process (analyzer/compare-command.ts): the run and its baseline analysed
// from one database or from their own, the comparison attached to the run's report, and each way
// the pair cannot be formed refused with an exit code and a message that says what to do. The CLI
// test (analyzer-compare.test.ts) sees the same through a child process.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type AnalyzeOptions } from '../analyzer/analyze.ts';
import { analyzeAgainstBaseline, type BaselineConfig } from '../analyzer/compare-command.ts';
import type { ComparedReport } from '../analyzer/compare.ts';
import type { RecordEvent } from '../analyzer/record.ts';
import { ExitCodes } from '../model/errors.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { SpanStore } from '../model/store.ts';
import { captureIO } from './helpers/command-io.ts';
import { scenarios, writeRun } from './helpers/diagnosis-scenarios.ts';
import { TraceBuilder } from './helpers/analyzer-traces.ts';

let dir: string;
/** Runs 'base' and 'same' of one system. */
let db: string;
/** Run 'same' again, alone, as a baseline database of its own. */
let baseDb: string;
/** Run id 'twice' under two generator services. */
let twiceDb: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-compare-command-'));
  db = join(dir, 'runs.db');
  writeRun(db, { ...(scenarios.clean as (typeof scenarios)['clean']), runId: 'base', seed: 1 });
  writeRun(db, scenarios.sameAgain as (typeof scenarios)['clean']);
  baseDb = join(dir, 'baseline.db');
  writeRun(baseDb, scenarios.sameAgain as (typeof scenarios)['clean']);
  twiceDb = join(dir, 'twice.db');
  const store = SpanStore.open(twiceDb);
  const b = new TraceBuilder(3);
  for (const service of ['gen-a', 'gen-b']) for (let i = 0; i < 5; i++) b.root({ service, runId: 'twice', startMs: i * 10, requestName: '/x', durationMs: 2 });
  store.insertTraces(b.take());
  store.close();
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPTIONS: AnalyzeOptions = { idleGapNs: 30_000_000_000n, topN: 0, threads: 1 };

async function compare(dbs: string[], options: Partial<AnalyzeOptions>, baseline: BaselineConfig) {
  const c = captureIO();
  const shards = openShards(dbs);
  try {
    const result = await analyzeAgainstBaseline(shards, dbs, baseline, { ...OPTIONS, ...options }, c.io);
    return { result, stderr: c.stderr() };
  } finally {
    closeShards(shards);
  }
}

function report(result: ComparedReport | { exit: number }): ComparedReport {
  if ('exit' in result) throw new Error(`exit ${result.exit}`);
  return result;
}

describe('analyze --baseline', () => {
  it('compares the named run with the baseline run of the same databases, and says where the baseline came from', async () => {
    const { result, stderr } = await compare([db], { runId: 'same' }, { runId: 'base', dbs: [] });
    const r = report(result);
    expect(stderr).toBe('');
    expect(r.runs.map((x) => x.runId)).toEqual(['same']);
    expect(r.comparison?.run.label).toBe(r.runs[0]?.label);
    expect(r.comparison?.baseline.label).toMatch(/base/);
    expect(r.comparison?.run.databases).toEqual([db]);
    expect(r.comparison?.baseline.databases).toEqual([db]);
    expect(r.comparison?.endpoints.length).toBeGreaterThan(0);
  });

  it('reads the baseline from its own database when given', async () => {
    const { result, stderr } = await compare([db], { runId: 'same' }, { runId: 'same', dbs: [baseDb] });
    const r = report(result);
    expect(stderr).toBe('');
    expect(r.comparison?.baseline.databases).toEqual([baseDb]);
    expect(r.comparison?.run.databases).toEqual([db]);
    // The same run of the same system: nothing significant.
    expect(r.comparison?.endpoints.flatMap((e) => e.changes.filter((x) => x.significant))).toEqual([]);
  });

  it('analyses the baseline with the run\'s service filter', async () => {
    // Run id 'twice' names a run of gen-a and one of gen-b: only --service makes either one run.
    const { result, stderr } = await compare([twiceDb], { runId: 'twice', service: 'gen-a' }, { runId: 'twice', dbs: [] });
    expect(stderr).toBe('');
    expect(report(result).comparison?.baseline.service).toBe('gen-a');
  });

  it('analyses the baseline with the run\'s record settings: the baseline\'s analysis is recorded and reported too', async () => {
    const copy = (from: string, name: string): string => {
      const to = join(dir, name);
      copyFileSync(from, to);
      return to;
    };
    const runOnly: RecordEvent[] = [];
    const shards = openShards([copy(db, 'run-only.db')]);
    try {
      await analyze(shards, { ...OPTIONS, runId: 'same', record: true, onRecord: (e) => runOnly.push(e) });
    } finally {
      closeShards(shards);
    }
    const both: RecordEvent[] = [];
    const { result } = await compare([copy(db, 'run.db')], { runId: 'same', record: true, onRecord: (e) => both.push(e) }, { runId: 'same', dbs: [copy(baseDb, 'base-copy.db')] });
    report(result);
    expect(runOnly.length).toBeGreaterThan(0);
    expect(both.length).toBeGreaterThan(runOnly.length);
    expect(both.every((e) => e.kind === 'computed')).toBe(true);
  });

  it('refuses a filter that selects several runs or none, saying to name the run', async () => {
    const several = await compare([db], {}, { runId: 'base', dbs: [] });
    expect(several.result).toEqual({ exit: ExitCodes.USAGE });
    expect(several.stderr).toBe('firstspan analyze: --baseline compares one run with another, and the filters select 2 runs: name the run with --run-id\n');
    const none = await compare([db], { runId: 'nope' }, { runId: 'base', dbs: [] });
    expect(none.result).toEqual({ exit: ExitCodes.NO_RUNS });
    expect(none.stderr).toBe('firstspan analyze: --baseline compares one run with another, and the filters select 0 runs: name the run with --run-id\n');
  });

  it('refuses a baseline run that is not there, naming the databases it looked in', async () => {
    const same = await compare([db], { runId: 'same' }, { runId: 'gone', dbs: [] });
    expect(same.result).toEqual({ exit: ExitCodes.NO_RUNS });
    expect(same.stderr).toBe(`firstspan analyze: no baseline run 'gone' in ${db} (list the runs with --list)\n`);
    const own = await compare([db], { runId: 'same' }, { runId: 'base', dbs: [baseDb] });
    expect(own.stderr).toBe(`firstspan analyze: no baseline run 'base' in ${baseDb} (list the runs with --list)\n`);
  });

  it('refuses a baseline run id that names runs of several generators, saying to pick one', async () => {
    const { result, stderr } = await compare([db], { runId: 'same' }, { runId: 'twice', dbs: [twiceDb] });
    expect(result).toEqual({ exit: ExitCodes.USAGE });
    expect(stderr).toBe(`firstspan analyze: baseline run id 'twice' names 2 runs in ${twiceDb}: pick one with --service\n`);
  });

  it('refuses a baseline database that cannot be opened, with the store\'s reason and code', async () => {
    const missing = join(dir, 'no-such.db');
    const { result, stderr } = await compare([db], { runId: 'same' }, { runId: 'base', dbs: [missing] });
    expect(result).toEqual({ exit: ExitCodes.USAGE });
    expect(stderr).toMatch(new RegExp(`^firstspan analyze: --baseline-db: .*${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.* \\[FS_ERR_[A-Z_]+\\]\\n$`));
  });
});
