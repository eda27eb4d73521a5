// `firstspan analyze` as a black box through the real binary: output formats, the JSON contract,
// thresholds with ✓/✗ lines and exit 99, bad input with exit 2, no runs with exit 3.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../analyzer/render-csv.ts';
import { ExitCodes } from '../model/errors.ts';
import { SCHEMA_VERSION, SpanStore } from '../model/store.ts';
import { runCli } from './helpers/cli.ts';
import { contractViolations } from './helpers/analyzer-contract.ts';
import { PRODUCT, writeLocustRuns, writeScenario } from './helpers/analyzer-scenario.ts';
import { writeSchemaVersion } from './helpers/store-file.ts';

let dir: string;
let db: string;
let shard2: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-analyze-cli-'));
  db = join(dir, 'a.db');
  shard2 = join(dir, 'b.db');
  writeScenario(db, shard2);
  writeLocustRuns(join(dir, 'locust.db'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('firstspan analyze (real binary)', () => {
  it('prints the table by default and exits 0', async () => {
    const r = await runCli(['analyze', '--db', db]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(ExitCodes.OK);
    expect(r.stdout).toContain('Run run-1');
    expect(r.stdout).toContain(PRODUCT);
    expect(r.stdout).toContain('Where the gap went');
    expect(r.stdout).toContain('Background traffic');
  });

  it('writes JSON that satisfies the documented contract (docs/analyzer.md), for one database and for shards', async () => {
    for (const dbs of [['--db', db], ['--db', db, '--db', shard2], ['--db', join(dir, 'locust.db')]]) {
      const r = await runCli(['analyze', ...dbs, '--format', 'json']);
      expect(r.code).toBe(ExitCodes.OK);
      const doc = JSON.parse(r.stdout) as { runs: Array<{ endpoints: Array<{ name: string }> }> };
      expect(contractViolations(doc)).toEqual([]);
      expect(doc.runs.length).toBeGreaterThan(0);
    }
  });

  it('the contract checker does catch a broken document', () => {
    expect(contractViolations({ schemaVersion: 2, runs: [{ service: 1, total: {}, endpoints: [] }] }).length).toBeGreaterThan(5);
  });

  it('writes CSV and HTML to --out', async () => {
    const csv = join(dir, 'r.csv');
    const r = await runCli(['analyze', '--db', db, '--format', 'csv', '--out', csv]);
    expect(r.code).toBe(ExitCodes.OK);
    expect(r.stderr).toContain(csv);
    const lines = readFileSync(csv, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines.some((l) => l.startsWith(`run-1,firstspan,run-1,${PRODUCT},40,`))).toBe(true);
    const html = join(dir, 'r.html');
    const h = await runCli(['analyze', '--db', db, '--format', 'html', '--out', html]);
    expect(h.code).toBe(ExitCodes.OK);
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('lists runs, filters them, and splits Locust runs by --idle-gap', async () => {
    const list = await runCli(['analyze', '--db', join(dir, 'locust.db'), '--list']);
    expect(list.code).toBe(ExitCodes.OK);
    expect(list.stdout.trim().split('\n')).toHaveLength(1 + 2);
    const merged = await runCli(['analyze', '--db', join(dir, 'locust.db'), '--list', '--idle-gap', '2m']);
    expect(merged.stdout.trim().split('\n')).toHaveLength(1 + 1);
    const none = await runCli(['analyze', '--db', db, '--run-id', 'no-such-run']);
    expect(none.code).toBe(ExitCodes.NO_RUNS);
    expect(none.stderr).toContain('no runs');
    const bySvc = await runCli(['analyze', '--db', db, '--service', 'firstspan', '--format', 'json']);
    expect((JSON.parse(bySvc.stdout) as { runs: unknown[] }).runs).toHaveLength(1);
  });

  it('passes thresholds with ✓ lines and exit 0', async () => {
    const r = await runCli(['analyze', '--db', db, '--assert', 'gap.p99<100ms', '--assert', `client.p90<=1s`, '--assert', `coverage>=0.5`]);
    expect(r.code).toBe(ExitCodes.OK);
    expect(r.stdout).toMatch(/✓ gap\.p99<100ms — run run-1: [\d.]+ms/);
    expect(r.stdout).toContain('✓ coverage>=0.5');
    expect(r.stdout).not.toContain('✗');
  });

  it('fails breached thresholds with ✗ lines and exit 99, per endpoint too', async () => {
    const r = await runCli([
      'analyze', '--db', db, '--format', 'json',
      '--assert', 'gap.p99<1ms',
      '--assert', `gap.max{${PRODUCT}}<500ms`,
      '--min-coverage', '0.95',
    ]);
    expect(r.code).toBe(ExitCodes.THRESHOLDS_FAILED);
    expect(contractViolations(JSON.parse(r.stdout))).toEqual([]);
    expect(r.stderr).toMatch(/✗ gap\.p99<1ms — run run-1/);
    expect(r.stderr).toMatch(/✓ gap\.max\{\/product\/\{id\}\}<500ms \[\/product\/\{id\}\]/);
    expect(r.stderr).toMatch(/✗ coverage>=0\.95 — run run-1: 90\.57%/);
    expect(r.stderr).toContain('2 of 3 thresholds breached');
    const missing = await runCli(['analyze', '--db', db, '--assert', 'gap.p99{/nope}<1s']);
    expect(missing.code).toBe(ExitCodes.THRESHOLDS_FAILED);
    expect(missing.stdout).toContain('no such endpoint');
  });

  it('rejects bad flags with every problem listed and exit 2', async () => {
    const r = await runCli(['analyze', '--db', db, '--format', 'xml', '--assert', 'gap.p99<<5', '--idle-gap', 'soon', '--min-coverage', '2']);
    expect(r.code).toBe(ExitCodes.USAGE);
    expect(r.stderr).toContain('4 problems');
    const none = await runCli(['analyze']);
    expect(none.code).toBe(ExitCodes.USAGE);
    expect(none.stderr).toContain('--db FILE is required');
  });

  it('says clearly what is wrong with a missing file, a non-database and an unknown schema, exit 2', async () => {
    const missing = await runCli(['analyze', '--db', join(dir, 'missing.db')]);
    expect(missing.code).toBe(ExitCodes.USAGE);
    expect(missing.stderr).toMatch(/does not exist \[FS_ERR_STORE_OPEN\]/);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello, this is not SQLite\n'.repeat(100));
    const notDb = await runCli(['analyze', '--db', text]);
    expect(notDb.code).toBe(ExitCodes.USAGE);
    expect(notDb.stderr).toContain('not a usable SQLite database');
    const future = join(dir, 'future.db');
    SpanStore.open(future).close();
    writeSchemaVersion(future, String(SCHEMA_VERSION + 1));
    const next = await runCli(['analyze', '--db', future]);
    expect(next.code).toBe(ExitCodes.USAGE);
    expect(next.stderr).toContain(`schema version ${SCHEMA_VERSION + 1}`);
  });

  it('says a database with no runs has none, exit 3', async () => {
    const empty = join(dir, 'empty.db');
    SpanStore.open(empty).close();
    const r = await runCli(['analyze', '--db', empty]);
    expect(r.code).toBe(ExitCodes.NO_RUNS);
    expect(r.stderr).toContain('no runs');
  });
});
