// The analyzer on synthetic traces of known durations, in process: exact gaps, the clock offset of
// a server 3 s ahead, background traffic kept apart, unmatched roots, duplicates (re-delivery and
// a second shard), odd data, Locust-style runs split by idle gaps, the timeline and the renderers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { type Report, type RunReport } from '../analyzer/report.ts';
import { PART_NAMES } from '../analyzer/gap-breakdown.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { CSV_COLUMNS, renderCsv } from '../analyzer/render-csv.ts';
import { renderTable } from '../analyzer/render-table.ts';
import { CART, ODD, PRODUCT, SKEW_MS, nearestRank, writeLocustRuns, writeScenario, type Scenario } from './helpers/analyzer-scenario.ts';

const IDLE_30S = 30_000_000_000n;
let dir: string;
let scenario: Scenario;
let one: Report;
let two: Report;

function run(report: Report): RunReport {
  expect(report.runs).toHaveLength(1);
  return report.runs[0] as RunReport;
}

/** A figure the test expects to have data behind it (a null fails the test here, by name). */
function data<T>(value: T | null | undefined, what = 'figure'): T {
  if (value === null || value === undefined) throw new Error(`${what} has no data`);
  return value;
}

function endpoint(r: RunReport, name: string) {
  const ep = r.endpoints.find((e) => e.name === name);
  if (ep === undefined) throw new Error(`no endpoint ${name} in ${r.endpoints.map((e) => e.name).join(', ')}`);
  return ep;
}

async function analyzeFiles(paths: string[], threads = 1): Promise<Report> {
  const shards = openShards(paths);
  try {
    // The files are complete when analysed: no "still receiving" warning, whose age would differ per call.
    return await analyze(shards, { idleGapNs: IDLE_30S, topN: 3, threads, parallelMinRoots: 1, settleMs: 0 });
  } finally {
    closeShards(shards);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-analyzer-'));
  scenario = writeScenario(join(dir, 'a.db'), join(dir, 'b.db'));
  one = await analyzeFiles([join(dir, 'a.db')]);
  two = await analyzeFiles([join(dir, 'a.db'), join(dir, 'b.db')]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('analyzer on known traces', () => {
  it('finds the run of the generator service and counts every root once', () => {
    const r = run(one);
    expect(r.service).toBe('firstspan');
    expect(r.runId).toBe('run-1');
    expect(r.rootSpans).toBe(40 + 10 + 3);
    expect(r.matched).toBe(40 + 6 + 2);
    expect(r.propagationCoverage).toBeCloseTo(48 / 53, 12);
  });

  it('gives exactly the known gaps per endpoint, client and server too', () => {
    const ep = endpoint(run(one), PRODUCT);
    const gaps = scenario.product.map((p) => p.gapMs);
    const servers = scenario.product.map((p) => p.serverMs);
    const clients = scenario.product.map((p) => p.gapMs + p.serverMs);
    expect(ep.count).toBe(40);
    expect(ep.matched).toBe(40);
    for (const [stats, values] of [
      [data(ep.gapMs), gaps],
      [data(ep.serverMs), servers],
      [ep.clientMs, clients],
    ] as const) {
      expect(stats.p50).toBeCloseTo(nearestRank(values, 50), 6);
      expect(stats.p90).toBeCloseTo(nearestRank(values, 90), 6);
      expect(stats.p99).toBeCloseTo(nearestRank(values, 99), 6);
      expect(stats.max).toBeCloseTo(Math.max(...values), 6);
      expect(stats.mean).toBeCloseTo(values.reduce((a, v) => a + v, 0) / values.length, 6);
    }
    expect(ep.newConnections).toBe(4);
  });

  it('splits the gap by connection: requests that opened one against those that reused one', () => {
    const ep = endpoint(run(one), PRODUCT);
    const opened = scenario.product.filter((p) => p.phases.connect > 0).map((p) => p.gapMs);
    const reused = scenario.product.filter((p) => p.phases.connect === 0).map((p) => p.gapMs);
    expect(opened).toHaveLength(4);
    const byConnection = data(ep.gapByConnection);
    for (const [split, values] of [
      [byConnection.opened, opened],
      [byConnection.reused, reused],
    ] as const) {
      expect(split.count).toBe(values.length);
      expect(split.gapMs?.p50).toBeCloseTo(nearestRank(values, 50), 6);
      expect(split.gapMs?.max).toBeCloseTo(Math.max(...values), 6);
      expect(split.gapMs?.mean).toBeCloseTo(values.reduce((a, v) => a + v, 0) / values.length, 6);
    }
    // The connection's set-up (1 ms DNS + 25 ms connect) is the difference of the means.
    expect(data(byConnection.opened.gapMs).mean - data(byConnection.reused.gapMs).mean).toBeGreaterThan(20);
    // The run's total holds every endpoint's split.
    const total = data(run(one).total.gapByConnection);
    const all = run(one).endpoints.reduce((a, e) => a + data(e.gapByConnection).opened.count + data(e.gapByConnection).reused.count, 0);
    expect(total.opened.count + total.reused.count).toBe(all);
    expect(renderTable(one)).toMatch(/Gap by connection/);
  });

  it('estimates the server clock offset within 1 ms of the injected 3 s', () => {
    const offsets = run(one).clockOffsets;
    const shop = offsets.find((o) => o.service === 'shop');
    expect(shop).toBeDefined();
    expect(Math.abs((shop?.offsetMs ?? 0) - SKEW_MS)).toBeLessThan(1);
    expect(shop?.method).toBe('phases');
    expect(shop?.samples).toBe(40 + 6 + 1);
    // Every raw server timestamp lay outside its client span: the symptom was seen and counted
    // (the 47 pairs with a gap, and the one whose server span outlasts its client span).
    expect(run(one).oddities.serverOutsideClientSpan).toBe(40 + 6 + 1 + 1);
    // Every pair with a gap sits inside its client span once the offset is removed.
    expect(shop?.residual).toEqual({ pairs: 0, p50Ms: 0, maxMs: 0 });
  });

  it('splits the gap into parts that add up to it, with the offset removed', () => {
    const ep = endpoint(run(one), PRODUCT);
    const p = data(ep.phasesMs);
    const mean = (f: (x: Scenario['product'][number]) => number): number =>
      scenario.product.reduce((a, x) => a + f(x), 0) / scenario.product.length;
    expect(p.basis).toBe('measured');
    expect(p.poolWait).toBeCloseTo(mean((x) => x.phases.blocked), 5);
    expect(p.connectionSetup).toBeCloseTo(mean((x) => x.phases.dns + x.phases.connect + x.phases.tls), 5);
    expect(p.sending).toBeCloseTo(mean((x) => x.phases.sending), 5);
    expect(p.beforeServer).toBeCloseTo(mean((x) => x.beforeMs), 3);
    expect(p.afterServer).toBeCloseTo(mean((x) => x.afterMs), 3);
    expect(p.download).toBeCloseTo(mean((x) => x.phases.receiving), 5);
    expect(p.unexplained).toBeCloseTo(0, 5);
    expect(p.explainedShare).toBeCloseTo(1, 5);
    const sum = PART_NAMES.reduce((a, k) => a + p[k], 0);
    expect(sum).toBeCloseTo(data(ep.gapMs).mean, 5);
    expect(p.gap).toBeCloseTo(data(ep.gapMs).mean, 5);
  });

  it('counts roots without a server child as missing propagation, per endpoint', () => {
    const cart = endpoint(run(one), CART);
    expect(cart.count).toBe(scenario.cartRoots);
    expect(cart.matched).toBe(scenario.cartMatched);
    expect(cart.propagationCoverage).toBeCloseTo(0.6, 12);
    expect(cart.gapMs?.max).toBeCloseTo(Math.max(...scenario.cartGaps), 6);
    expect(cart.gapMs?.mean).toBeCloseTo(7, 6);
  });

  it('keeps background traffic apart and does not count downstream spans of test traces', () => {
    const r = run(one);
    expect(r.backgroundServerSpans).toBe(scenario.backgroundDurations.length);
    expect(r.background.services).toEqual([{ service: 'shop', count: 5 }]);
    expect(r.background.serverMs?.max).toBeCloseTo(5, 6);
    expect(r.background.topNames[0]).toEqual({ name: 'GET /health', count: 5 });
    // The health checks never reach the test's server figures.
    expect(r.total.serverMs?.max).toBeLessThan(60);
    expect(endpoint(r, PRODUCT).serverMs?.p50).toBeGreaterThanOrEqual(10);
  });

  it('handles odd data without negative or absurd numbers', () => {
    const r = run(one);
    const odd = endpoint(r, ODD);
    expect(odd.count).toBe(3);
    expect(r.oddities.clientEndBeforeStart).toBe(1);
    expect(r.oddities.serverLongerThanClient).toBe(1);
    expect(odd.multipleServerChildren).toBe(1);
    expect(odd.extraServerChildren).toBe(1);
    // Only the retried request has a gap: 30 ms client − (5 + 6) ms of server time.
    expect(odd.gapMs?.max).toBeCloseTo(19, 6);
    expect(odd.gapMs?.p50).toBeCloseTo(19, 6);
    expect(odd.phasesMs?.betweenAttempts).toBeCloseTo(8, 3);
    for (const ep of [...r.endpoints, r.total]) {
      for (const s of [ep.clientMs, ep.serverMs, ep.gapMs]) for (const v of Object.values(s ?? {})) expect(v).toBeGreaterThanOrEqual(0);
      for (const k of PART_NAMES) if (k !== 'unexplained') expect(ep.phasesMs?.[k] ?? 0).toBeGreaterThanOrEqual(0);
    }
  });

  it('gives the same figures for two shards that share some traces, and counts the duplicates', () => {
    const a = run(one);
    const b = run(two);
    expect(b.rootSpans).toBe(a.rootSpans);
    expect(b.matched).toBe(a.matched);
    expect(b.oddities.duplicateRootSpans).toBe(scenario.duplicatedInShard2);
    expect(b.total.gapMs).toEqual(a.total.gapMs);
    expect(b.total.clientMs).toEqual(a.total.clientMs);
    expect(b.backgroundServerSpans).toBe(a.backgroundServerSpans);
    expect(b.clockOffsets[0]?.offsetMs).toBeCloseTo(a.clockOffsets[0]?.offsetMs ?? 0, 6);
  });

  it('builds a per-second timeline with active users', () => {
    const t = run(one).timeline;
    expect(t.reduce((a, p) => a + p.requests, 0)).toBe(53);
    // Two seconds of requests; the third users report comes after the last request ended.
    expect(t.map((p) => p.users)).toEqual([5, 10]);
    expect(t[0]?.requests).toBeGreaterThan(0);
    for (const p of t) expect(p.gapP99).toBeGreaterThanOrEqual(data(p.gapP50));
  });

  it('keeps the traces with the largest gaps, with phases, server span and downstream children', () => {
    const top = run(one).slowestTraces;
    expect(top).toHaveLength(3);
    const gaps = top.map((w) => w.gapMs);
    expect(gaps).toEqual([...gaps].sort((x, y) => y - x));
    const largest = Math.max(...scenario.product.map((p) => p.gapMs));
    expect(gaps[0]).toBeCloseTo(largest, 6);
    const w = top[0];
    expect(w?.phases.map((p) => p.name)).toEqual(['blocked', 'dns', 'connect', 'tls', 'sending', 'waiting', 'receiving']);
    const server = w?.spans.find((s) => s.kind === 'server' && s.depth === 1);
    expect(server?.service).toBe('shop');
    // On the generator's clock the server span sits inside the client span once the offset is removed.
    expect(server?.startMs).toBeGreaterThan(0);
    expect((server?.startMs ?? 0) + (server?.durationMs ?? 0)).toBeLessThan(w?.clientMs ?? 0);
    expect(w?.spans.some((s) => s.service === 'inventory' && s.depth === 3)).toBe(true);
  });

  it('gives the same figures when the runs are split across worker threads', async () => {
    for (const [threads, paths] of [
      [3, [join(dir, 'a.db')]],
      [2, [join(dir, 'a.db'), join(dir, 'b.db')]],
    ] as const) {
      const split = await analyzeFiles([...paths], threads);
      const whole = paths.length === 1 ? one : two;
      const strip = (r: Report): unknown => r.runs.map((x) => ({ ...x, slowestTraces: x.slowestTraces.map((w) => w.traceId) }));
      expect(strip(split)).toEqual(strip(whole));
    }
  });

  it('renders the table and CSV from the same figures', () => {
    const table = renderTable(one);
    expect(table).toContain(PRODUCT);
    expect(table).toContain('Aggregated');
    expect(table).toContain('Where the gap went');
    expect(table).toMatch(/shop: \+300\d\.\d{3} ms|shop: \+2999\.\d{3} ms/);
    // Server spans outside their client span on raw clocks are the offset at work, said beside it,
    // while real odd data (a root ending before it starts) stays under "Odd data".
    const outside = run(one).oddities.serverOutsideClientSpan;
    const offsetSection = table.slice(table.indexOf('Clock offsets'));
    expect(offsetSection).toContain(`${outside} server spans lie outside their client span on the raw clocks`);
    expect(table).not.toContain('serverOutsideClientSpan:');
    expect(table).toMatch(/Odd data[^]*clientEndBeforeStart: 1/);
    const csv = renderCsv(one).trim().split('\r\n');
    expect(csv[0]).toBe(CSV_COLUMNS.join(','));
    expect(csv).toHaveLength(1 + 3 + 1);
    const productRow = csv.find((l) => l.includes(PRODUCT))?.split(',') ?? [];
    const col = (name: string): string => productRow[CSV_COLUMNS.indexOf(name)] ?? '';
    expect(Number(col('gap_max_ms'))).toBeCloseTo(data(endpoint(run(one), PRODUCT).gapMs).max, 9);
    expect(col('count')).toBe('40');
  });
});

describe('runs without a run id (real Locust)', () => {
  let report: Report;
  let truth: { gapsMs: number[][] };
  beforeAll(async () => {
    truth = writeLocustRuns(join(dir, 'locust.db'));
    report = await analyzeFiles([join(dir, 'locust.db')]);
  });

  it('splits them by idle gaps and names endpoints from the span name', () => {
    expect(report.runs).toHaveLength(2);
    for (const [i, r] of report.runs.entries()) {
      expect(r.service).toBe('locust');
      expect(r.runId).toBeNull();
      expect(r.label).toMatch(/^locust@\d{4}-/);
      expect(r.endpoints.map((e) => e.name)).toEqual(['/items']);
      expect(r.total.gapMs?.max).toBeCloseTo(Math.max(...(truth.gapsMs[i] ?? [])), 6);
      expect(r.propagationCoverage).toBe(1);
    }
  });

  it('splits the gap by placing the server span with the span-bounds clock offset, labelled with its error bound', () => {
    // Each burst: client 40+i ms, server 20 ms starting 10 ms in (same clock): before 10, after 10+i.
    // The pair with the least slack (i = 0, gap 20) fixes the offset at 0 within ±10 ms.
    const p = data(report.runs[0]?.total.phasesMs);
    expect(p.basis).toBe('offset');
    expect(p.errorBoundMs).toBe(10);
    expect(p.beforeServer).toBeCloseTo(10, 6);
    expect(p.afterServer).toBeCloseTo(12.5, 6);
    expect(p.gap).toBeCloseTo(22.5, 6);
    expect(p.explainedShare).toBe(1);
    expect(report.runs[0]?.clockOffsets[0]?.method).toBe('span bounds');
    // Locust does not say whether a request opened its connection: unknown (null), never 0, and
    // no table for it.
    expect(report.runs[0]?.total.gapByConnection).toBeNull();
    expect(report.runs[0]?.total.newConnections).toBeNull();
    for (const ep of report.runs[0]?.endpoints ?? []) expect(ep.newConnections).toBeNull();
    expect(renderTable(report)).not.toMatch(/Gap by connection/);
  });

  it('merges the bursts into one run with a longer idle gap', async () => {
    const shards = openShards([join(dir, 'locust.db')]);
    try {
      const merged = await analyze(shards, { idleGapNs: 120_000_000_000n, topN: 0 });
      expect(merged.runs).toHaveLength(1);
      expect(merged.runs[0]?.rootSpans).toBe(12);
    } finally {
      closeShards(shards);
    }
  });
});
