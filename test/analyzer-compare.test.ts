// A run against its baseline, through the real binary: another draw of the same system shows no
// significant change; a run with 20 ms more before the server on one endpoint shows that endpoint
// and that part, and fails a change threshold with exit 99.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Comparison } from '../analyzer/compare.ts';
import { COMPARISON_CSV_COLUMNS } from '../analyzer/render-comparison.ts';
import { ExitCodes } from '../model/errors.ts';
import { runCli } from './helpers/cli.ts';
import { SLOWER, scenarios, writeRun } from './helpers/diagnosis-scenarios.ts';

let dir: string;
let db: string;
let other: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-compare-'));
  db = join(dir, 'runs.db');
  other = join(dir, 'baseline.db');
  writeRun(db, { ...(scenarios.clean as (typeof scenarios)['clean']), runId: 'base', seed: 1 });
  writeRun(db, scenarios.sameAgain as (typeof scenarios)['clean']);
  writeRun(db, scenarios.slowerA as (typeof scenarios)['clean']);
  writeRun(other, { ...(scenarios.clean as (typeof scenarios)['clean']), runId: 'base', seed: 1 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function compare(args: string[]): Promise<{ code: number | null; comparison: Comparison; stderr: string }> {
  const r = await runCli(['analyze', '--quiet', '--format', 'json', ...args]);
  const doc = JSON.parse(r.stdout || '{}') as { comparison: Comparison };
  return { code: r.code, comparison: doc.comparison, stderr: r.stderr };
}

function significant(c: Comparison): string[] {
  return c.endpoints.flatMap((ep) => ep.changes.filter((x) => x.significant).map((x) => `${ep.name} ${x.metric}`));
}

describe('run versus baseline (real binary)', () => {
  it('another run of the same system: no significant change, and a +10% gate holds', async () => {
    const r = await compare(['--db', db, '--run-id', 'same', '--baseline', 'base', '--assert', 'gap.p99<+10%', '--assert', 'gap.p99{*}<+10%']);
    expect(r.code).toBe(ExitCodes.OK);
    expect(significant(r.comparison)).toEqual([]);
    expect(r.comparison.run.label).toBe('same');
    expect(r.comparison.baseline.label).toBe('base');
    // Every figure was tested except the maxima.
    const a = r.comparison.endpoints.find((e) => e.name === '/a');
    expect(a?.changes.filter((x) => x.pValue === null).map((x) => x.metric)).toEqual(['client.max', 'server.max', 'gap.max']);
  });

  it('+20 ms before the server on /a: that endpoint and that part, and the gate fails with 99', async () => {
    const r = await compare(['--db', db, '--run-id', 'slower', '--baseline', 'base', '--assert', 'gap.p99<+10%']);
    expect(r.code).toBe(ExitCodes.THRESHOLDS_FAILED);
    expect(r.stderr).toMatch(/✗ gap\.p99<\+10% — run slower vs baseline base: \+\d+(\.\d+)?% \(.*significant/);
    const sig = significant(r.comparison);
    const a = r.comparison.endpoints.find((e) => e.name === SLOWER.endpoint);
    const before = a?.changes.find((x) => x.metric === 'phase.beforeServer');
    expect(before?.significant).toBe(true);
    expect(Math.abs((before?.changeMs ?? 0) - SLOWER.beforeMs)).toBeLessThan(SLOWER.beforeMs * 0.1);
    // On /a: the gap, the client time and the before-server part moved; no other part, not the server.
    const onA = sig.filter((s) => s.startsWith(`${SLOWER.endpoint} `)).map((s) => s.slice(SLOWER.endpoint.length + 1));
    expect(onA).toContain('gap.p99');
    expect(onA).toContain('client.p50');
    expect(onA.filter((m) => m.startsWith('phase.'))).toEqual(['phase.beforeServer']);
    expect(onA.filter((m) => m.startsWith('server.'))).toEqual([]);
    // The other endpoint did not change.
    expect(sig.filter((s) => s.startsWith('/b '))).toEqual([]);
  });

  it('the baseline can live in another database (--baseline-db)', async () => {
    const r = await compare(['--db', db, '--run-id', 'slower', '--baseline', 'base', '--baseline-db', other, '--assert', 'phase.beforeServer{/a}<+5ms', '--assert', 'phase.beforeServer{/b}<+5ms']);
    expect(r.code).toBe(ExitCodes.THRESHOLDS_FAILED);
    expect(r.comparison.baseline.databases).toEqual([other]);
    expect(r.stderr).toMatch(/✗ phase\.beforeServer\{\/a\}<\+5ms/);
    expect(r.stderr).toMatch(/✓ phase\.beforeServer\{\/b\}<\+5ms/);
  });

  it('table, CSV and HTML carry the comparison', async () => {
    const table = await runCli(['analyze', '--quiet', '--db', db, '--run-id', 'slower', '--baseline', 'base']);
    expect(table.code).toBe(ExitCodes.OK);
    expect(table.stdout).toMatch(/Run slower against baseline base .*:\n {2}\d+ significant changes/);
    expect(table.stdout).toMatch(/\/b: no significant change/);
    const csvPath = join(dir, 'c.csv');
    expect((await runCli(['analyze', '--quiet', '--db', db, '--run-id', 'slower', '--baseline', 'base', '--format', 'csv', '--out', csvPath])).code).toBe(0);
    const lines = readFileSync(csvPath, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe(COMPARISON_CSV_COLUMNS.join(','));
    expect(lines.some((l) => l.startsWith('slower,base,/a,phase.beforeServer,') && l.endsWith(',true'))).toBe(true);
    const htmlPath = join(dir, 'c.html');
    expect((await runCli(['analyze', '--quiet', '--db', db, '--run-id', 'slower', '--baseline', 'base', '--format', 'html', '--out', htmlPath])).code).toBe(0);
    const html = readFileSync(htmlPath, 'utf8');
    expect(html).toContain('<section class="run comparison" id="comparison">');
    expect(html).toMatch(/<tr class="significant" data-metric="phase.beforeServer">/);
  });

  it('--list shows each run with requests, gap p50/p99 and coverage, as the full analysis has them', async () => {
    const list = await runCli(['analyze', '--db', db, '--list']);
    expect(list.code).toBe(ExitCodes.OK);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Run\s+Service\s+Start\s+Duration\s+Requests\s+Gap p50\s+Gap p99\s+Coverage\s+Findings$/);
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['Run', 'base', 'same', 'slower']);
    const json = await runCli(['analyze', '--db', db, '--list', '--format', 'json']);
    const entries = JSON.parse(json.stdout) as Array<{ label: string; requests: number; gapP50Ms: number; gapP99Ms: number; propagationCoverage: number }>;
    const full = await runCli(['analyze', '--quiet', '--db', db, '--run-id', 'slower', '--format', 'json']);
    const total = (JSON.parse(full.stdout) as { runs: Array<{ rootSpans: number; propagationCoverage: number; total: { gapMs: { p50: number; p99: number } } }> }).runs[0];
    const slower = entries.find((e) => e.label === 'slower');
    expect(slower).toEqual(expect.objectContaining({ requests: total?.rootSpans, gapP50Ms: total?.total.gapMs.p50, gapP99Ms: total?.total.gapMs.p99, propagationCoverage: total?.propagationCoverage }));
    expect(lines.find((l) => l.startsWith('slower'))).toMatch(new RegExp(`\\s${(slower?.gapP99Ms ?? 0).toFixed(1)}\\s+100\\.0%\\s+0$`));
  });

  it('bad input: a change gate without a baseline, an unknown baseline, several runs', async () => {
    const noBase = await runCli(['analyze', '--db', db, '--run-id', 'slower', '--assert', 'gap.p99<+10%']);
    expect(noBase.code).toBe(ExitCodes.USAGE);
    expect(noBase.stderr).toContain('add --baseline RUN_ID');
    const unknown = await runCli(['analyze', '--quiet', '--db', db, '--run-id', 'slower', '--baseline', 'nope']);
    expect(unknown.code).toBe(ExitCodes.NO_RUNS);
    expect(unknown.stderr).toContain("no baseline run 'nope'");
    const several = await runCli(['analyze', '--quiet', '--db', db, '--baseline', 'base']);
    expect(several.code).toBe(ExitCodes.USAGE);
    expect(several.stderr).toContain('name the run with --run-id');
  });
});
