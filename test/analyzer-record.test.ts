// The record of an analysis (docs/analyzer.md#the-record): a second analysis of unchanged data reads
// the recorded join instead of the spans and reports exactly what a fresh analysis does; a span the
// receiver stores later inside a run's window (a late server child, a root delivered again, a new
// root) makes that run's record stale, so the figures change as a fresh analysis's do; a span stored
// far from the run does not cost a recomputation. Spans go in through the real receiver over HTTP.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import type { RecordEvent } from '../analyzer/record.ts';
import type { Report, RunReport } from '../analyzer/report.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { startReceiver } from '../receiver/start.ts';
import { writeScenario } from './helpers/analyzer-scenario.ts';
import { TraceBuilder, type Phases, type SpanHandle } from './helpers/analyzer-traces.ts';
import { BIN, collect, runCli } from './helpers/cli.ts';
import { otlpJson } from './helpers/otlp-json.ts';
import { hasRecordTable, holdWriteLock, recordsByKind, writeFirstRecordsTable, writeV1Store } from './helpers/store-file.ts';
import { JSON_TYPE, post } from './helpers/receiver-http.ts';

const PHASES: Phases = { blocked: 0.5, dns: 0, connect: 0, tls: 0, sending: 0.25, waiting: 20, receiving: 1.25 };
const DAY_MS = 86_400_000;

let dir: string;
let files = 0;

/** Deliver a request through a receiver of its own (a restarted receiver: its memory of recent ids is empty). */
async function send(db: string, body: string): Promise<void> {
  const rx = await startReceiver({ db, port: 0 });
  try {
    expect((await post(rx.url, '/v1/traces', body, JSON_TYPE)).status).toBe(200);
  } finally {
    await rx.close();
  }
}

/**
 * A store of its own for each test (mutation testing runs a test by itself, so none may lean on
 * another's data): run-1, 31 roots a second apart, three without a server child, some failed, with
 * background traffic, all stored through the receiver.
 */
interface Scenario {
  db: string;
  builder: TraceBuilder;
  /** Roots sent without a server child (a late one arrives in a test). */
  unmatched: SpanHandle[];
  /** One request's spans as sent, to deliver again. */
  onceMore: string;
}

async function scenario(): Promise<Scenario> {
  const db = join(dir, `run-${++files}.db`);
  const builder = new TraceBuilder(41);
  const unmatched: SpanHandle[] = [];
  for (let i = 0; i < 30; i++) {
    const root = builder.root({ startMs: 1000 + i * 1000, phases: PHASES, error: i % 7 === 3, requestName: i % 2 === 0 ? '/a' : '/b' });
    if (i % 10 === 9) unmatched.push(root);
    else builder.server(root, { beforeMs: 2, durationMs: 10 + (i % 4), offsetMs: 1500 });
  }
  for (let i = 0; i < 5; i++) builder.background({ startMs: 2000 + i * 3000, durationMs: 3 });
  const load = otlpJson(builder.take());
  const root = builder.root({ startMs: 500, phases: PHASES, requestName: '/a' });
  builder.server(root, { beforeMs: 2, durationMs: 12, offsetMs: 1500 });
  const onceMore = otlpJson(builder.take());
  await send(db, load);
  await send(db, onceMore);
  return { db, builder, unmatched, onceMore };
}

interface Analysis {
  report: Omit<Report, 'generatedAt'>;
  events: RecordEvent[];
}

async function analyzeDbs(paths: string[], options: { record: boolean; threads?: number }): Promise<Analysis> {
  const shards = openShards(paths);
  const events: RecordEvent[] = [];
  try {
    const { generatedAt: _, ...report } = await analyze(shards, {
      idleGapNs: 30_000_000_000n,
      topN: 3,
      settleMs: 0,
      parallelMinRoots: 1,
      threads: options.threads ?? 1,
      record: options.record,
      onRecord: (e) => events.push(e),
    });
    return { report, events };
  } finally {
    closeShards(shards);
  }
}

/** How the record served each part: `{ 'run run-1': 'used', ... }`. */
function served(a: Analysis, db: string): Record<string, string> {
  return Object.fromEntries(a.events.flatMap((e) => (e.kind === 'unwritable' ? [] : [[e.part.replace(db, 'DB'), e.kind]])));
}

function run1(a: Analysis): RunReport {
  const run = a.report.runs.find((r) => r.runId === 'run-1');
  expect(run).toBeDefined();
  return run!;
}

/** A recorded analysis and a fresh one of the file as it is now: they must agree. */
async function recordedAndFresh(db: string): Promise<{ recorded: Analysis; fresh: Analysis }> {
  const recorded = await analyzeDbs([db], { record: true });
  const fresh = await analyzeDbs([db], { record: false });
  expect(fresh.events).toEqual([]);
  expect(recorded.report).toEqual(fresh.report);
  return { recorded, fresh };
}

/** One more request of run-1 (a root and its server child), stored through the receiver. */
async function storeRequest(s: Scenario, startMs: number, requestName: string, durationMs: number): Promise<void> {
  const root = s.builder.root({ startMs, phases: PHASES, requestName });
  s.builder.server(root, { beforeMs: 2, durationMs, offsetMs: 1500 });
  await send(s.db, otlpJson(s.builder.take()));
}

/** The scenario, analysed once with the record on (so it has one), and run-1's figures then. */
async function recordedScenario(): Promise<Scenario & { before: RunReport }> {
  const s = await scenario();
  const first = await analyzeDbs([s.db], { record: true });
  expect(served(first, s.db)).toEqual({ 'runs in DB': 'computed', 'run run-1': 'computed' });
  return { ...s, before: run1(first) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-record-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the record of an analysis', () => {
  it('is written by the first analysis and read by the second, which reports exactly what a fresh one does', async () => {
    const { db } = await scenario();
    const fresh = await analyzeDbs([db], { record: false });
    const first = await analyzeDbs([db], { record: true });
    const second = await analyzeDbs([db], { record: true });
    expect(served(first, db)).toEqual({ 'runs in DB': 'computed', 'run run-1': 'computed' });
    expect(served(second, db)).toEqual({ 'runs in DB': 'used', 'run run-1': 'used' });
    expect(first.report).toEqual(fresh.report);
    expect(second.report).toEqual(fresh.report);
    // Every recorded part is in the figures: pairs, failures, background traffic, waterfalls.
    const run = run1(second);
    expect(run).toMatchObject({ rootSpans: 31, matched: 28, backgroundServerSpans: 5 });
    expect(run.failures.length).toBeGreaterThan(0);
    expect(run.slowestTraces.length).toBeGreaterThan(0);
  });

  it('stays in use when spans are stored far from the run (a new run, background traffic days later)', async () => {
    const { db, before } = await recordedScenario();
    const b = new TraceBuilder(42);
    const later = b.root({ startMs: 3 * DAY_MS, phases: PHASES, runId: 'run-2' });
    b.server(later, { beforeMs: 2, durationMs: 10, offsetMs: 1500 });
    b.background({ startMs: 3 * DAY_MS + 5000, durationMs: 3 });
    await send(db, otlpJson(b.take()));
    const { recorded } = await recordedAndFresh(db);
    // A new root: the runs are found again; run-1's join still comes from the record.
    expect(served(recorded, db)).toEqual({ 'runs in DB': 'computed', 'run run-1': 'used', 'run run-2': 'computed' });
    expect(run1(recorded)).toEqual(before);
  });

  it('is stale when a late server child is stored inside the run: the root is matched now', async () => {
    const { db, builder, unmatched, before } = await recordedScenario();
    builder.server(unmatched[0]!, { beforeMs: 2, durationMs: 11, offsetMs: 1500 });
    await send(db, otlpJson(builder.take()));
    const { recorded } = await recordedAndFresh(db);
    expect(served(recorded, db)).toEqual({ 'runs in DB': 'used', 'run run-1': 'computed' });
    expect(run1(recorded).matched).toBe(before.matched + 1);
  });

  it('is stale when a root is delivered again and stored twice: it counts once, as a duplicate', async () => {
    const { db, onceMore, before } = await recordedScenario();
    await send(db, onceMore);
    const { recorded } = await recordedAndFresh(db);
    expect(served(recorded, db)).toEqual({ 'runs in DB': 'computed', 'run run-1': 'computed' });
    expect(run1(recorded).rootSpans).toBe(before.rootSpans);
    expect(run1(recorded).oddities.duplicateRootSpans).toBe(before.oddities.duplicateRootSpans + 1);
  });

  it('is stale when a new root of the run is stored, then recorded again', async () => {
    const s = await recordedScenario();
    const { db, before } = s;
    await storeRequest(s, 15_500, '/b', 13);
    const { recorded } = await recordedAndFresh(db);
    expect(served(recorded, db)).toEqual({ 'runs in DB': 'computed', 'run run-1': 'computed' });
    expect(run1(recorded).rootSpans).toBe(before.rootSpans + 1);
    const again = await analyzeDbs([db], { record: true });
    expect(served(again, db)).toEqual({ 'runs in DB': 'used', 'run run-1': 'used' });
    expect(again.report).toEqual(recorded.report);
  });

  it('keeps one value per run: the record of a run that grew replaces the one from before', async () => {
    const s = await recordedScenario();
    const { db, before } = s;
    expect(recordsByKind(db)).toEqual({ runs: 1, run: 1 });
    // A root a second after run-1's last one: the run ends later, so its record has a new key.
    await storeRequest(s, 31_000, '/a', 12);
    const { recorded } = await recordedAndFresh(db);
    expect(served(recorded, db)).toEqual({ 'runs in DB': 'computed', 'run run-1': 'computed' });
    expect(run1(recorded).rootSpans).toBe(before.rootSpans + 1);
    expect(recordsByKind(db)).toEqual({ runs: 1, run: 1 });
    const again = await analyzeDbs([db], { record: true });
    expect(served(again, db)).toEqual({ 'runs in DB': 'used', 'run run-1': 'used' });
  });

  it('replaces a record table an older build made without the subject column (a cache: its rows go)', async () => {
    const old = join(dir, 'old-records.db');
    writeScenario(old);
    writeFirstRecordsTable(old, 'run');
    const shards = openShards([old]);
    const events: RecordEvent[] = [];
    try {
      await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 3, settleMs: 0, record: true, onRecord: (e) => events.push(e) });
    } finally {
      closeShards(shards);
    }
    expect(events.filter((e) => e.kind === 'unwritable')).toEqual([]);
    expect(recordsByKind(old).runs).toBe(1);
    expect(recordsByKind(old).run).toBeGreaterThan(0);
  });
});

describe('the record of shards analysed as one', () => {
  it('is written by an analysis in worker threads and read by one on a single thread, with the same figures', async () => {
    const a = join(dir, 'shard-a.db');
    const b = join(dir, 'shard-b.db');
    writeScenario(a, b);
    const threaded = await analyzeDbs([a, b], { record: true, threads: 2 });
    const fresh = await analyzeDbs([a, b], { record: false });
    const recorded = await analyzeDbs([a, b], { record: true });
    expect(threaded.events.filter((e) => e.kind === 'used')).toEqual([]);
    expect(recorded.events.filter((e) => e.kind === 'computed')).toEqual([]);
    expect(recorded.report.runs.length).toBeGreaterThan(0);
    expect(recorded.report).toEqual(fresh.report);
  });
});

// Under `npm run mutation` (stryker.config.mjs sets the variable) these tests run the CLI in a child
// process, where Stryker switches no mutant on, and its sandbox directory is closed to the `nobody`
// user the read-only case runs as: they are skipped there, saying so.
const UNDER_MUTATION = process.env.FIRSTSPAN_MUTATION === '1';
if (UNDER_MUTATION) console.warn('analyzer-record: the CLI tests are skipped under mutation testing');

describe.skipIf(UNDER_MUTATION)('firstspan analyze and its record', () => {
  let cliDb: string;
  beforeAll(() => {
    cliDb = join(dir, 'cli.db');
    writeScenario(cliDb);
  });

  it('--no-record neither reads nor writes it; by default the second analysis reads it and says so', async () => {
    const plain = await runCli(['analyze', '--db', cliDb, '--format', 'json', '--no-record', '--settle', '0']);
    expect(plain.code).toBe(0);
    expect(hasRecordTable(cliDb)).toBe(false);
    const first = await runCli(['analyze', '--db', cliDb, '--format', 'json', '--settle', '0']);
    const second = await runCli(['analyze', '--db', cliDb, '--format', 'json', '--settle', '0']);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(first.stderr).not.toContain('record');
    expect(second.stderr).toMatch(/read from the record of an earlier analysis/);
    const strip = (out: string): unknown => ({ ...(JSON.parse(out) as Report), generatedAt: '' });
    expect(strip(second.stdout)).toEqual(strip(plain.stdout));
    expect(strip(first.stdout)).toEqual(strip(plain.stdout));
  });

  it('analyses in full and says so once when the record cannot be written (the database stays locked by a writer)', async () => {
    const locked = join(dir, 'locked.db');
    writeScenario(locked);
    const release = holdWriteLock(locked);
    try {
      const r = await runCli(['analyze', '--db', locked, '--format', 'json', '--settle', '0']);
      expect(r.code).toBe(0);
      expect(r.stderr.match(/not recorded for the next one/g)).toHaveLength(1);
      expect((JSON.parse(r.stdout) as Report).runs.length).toBeGreaterThan(0);
    } finally {
      release();
    }
  });

  it('gives a file written before stores had an identity one, and records it; or, when it cannot be written, analyses it in full', async () => {
    const v1 = join(dir, 'v1.db');
    writeV1Store(v1, cliDb, readFileSync(new URL('./fixtures/store-schema-v1.sql', import.meta.url), 'utf8'));
    const release = holdWriteLock(v1);
    let locked;
    try {
      locked = await runCli(['analyze', '--db', v1, '--format', 'json', '--settle', '0']);
    } finally {
      release();
    }
    expect(locked.code).toBe(0);
    expect(locked.stderr.match(/not recorded for the next one/g)).toHaveLength(1);
    const first = await runCli(['analyze', '--db', v1, '--format', 'json', '--settle', '0']);
    const second = await runCli(['analyze', '--db', v1, '--format', 'json', '--settle', '0']);
    expect(first.stderr).not.toContain('record');
    expect(second.stderr).toMatch(/read from the record of an earlier analysis/);
    const strip = (out: string): unknown => ({ ...(JSON.parse(out) as Report), generatedAt: '' });
    expect(strip(second.stdout)).toEqual(strip(locked.stdout));
  });

  it('analyses in full and says so once when the database file is read-only to the user running it', async () => {
    const readOnly = join(dir, 'read-only', 'run.db');
    mkdirSync(join(dir, 'read-only'));
    writeScenario(readOnly);
    // Root writes any file whatever its mode: then the analysis runs as the unprivileged user
    // `nobody`, for whom the root-owned file is read-only (the directory stays open to it, so
    // SQLite can keep its shared-memory file there, as for any reader of a WAL database).
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chmodSync(join(dir, 'read-only'), 0o777);
    chmodSync(readOnly, asRoot ? 0o644 : 0o444);
    chmodSync(dir, 0o755);
    const args = ['analyze', '--db', readOnly, '--format', 'json', '--settle', '0'];
    const r = asRoot
      ? await collect(spawn(process.execPath, [BIN, ...args], { uid: 65534, gid: 65534, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }), 60_000)
      : await runCli(args);
    expect(r.code).toBe(0);
    expect(r.stderr.match(/not recorded for the next one \(.*readonly database\)/g)).toHaveLength(1);
    expect((JSON.parse(r.stdout) as Report).runs.length).toBeGreaterThan(0);
    expect(hasRecordTable(readOnly)).toBe(false);
  });
});
