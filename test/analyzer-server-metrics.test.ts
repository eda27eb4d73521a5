// Server metrics on the timeline (--metric NAME): the services' OTLP metric points, moved onto the
// generator's clock by the service's offset, one value a second; drawn under the HTML timeline on
// the same time axis. Points go through the real store; the CLI warns about a metric nobody sent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { type RunReport } from '../analyzer/report.ts';
import type { MetricRow } from '../analyzer/read-metrics.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { renderHtml } from '../analyzer/render-html.ts';
import { perSecond } from '../analyzer/server-metrics.ts';
import { ExitCodes } from '../model/errors.ts';
import { SpanStore } from '../model/store.ts';
import { runCli } from './helpers/cli.ts';
import { usersMetric } from './helpers/analyzer-traces.ts';
import { SECONDS, scenarios, writeRun } from './helpers/diagnosis-scenarios.ts';

const CPU = 'process.cpu.utilization';
let dir: string;
let db: string;
let run: RunReport;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-metrics-'));
  db = join(dir, 'm.db');
  writeRun(db, scenarios.clean as (typeof scenarios)['clean']);
  // The shop's clock is 3 s ahead (as its spans are): second s of the run is 3000 + 1000 s on it.
  const store = SpanStore.open(db);
  store.insertMetrics(usersMetric({ service: 'shop', runId: null, metricName: CPU, points: Array.from({ length: SECONDS }, (_, s) => ({ atMs: 3000 + s * 1000 + 500, users: 0.01 * s })) }));
  store.close();
  const shards = openShards([db]);
  try {
    run = (await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 0, threads: 1, metrics: [CPU, 'not.exported'] })).runs[0] as RunReport;
  } finally {
    closeShards(shards);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function row(o: Partial<MetricRow> & { relMs: number }): MetricRow {
  return { service: 's', resourceId: 1, type: 'gauge', temporality: 0, monotonic: false, attributes: '{}', unit: '1', value: null, count: null, sum: null, ...o };
}

describe('server metrics per second', () => {
  it('gauges: the latest value of each stream, summed over attribute sets and processes', () => {
    const s = perSecond('m', 's', [
      row({ relMs: 100, value: 0.2, attributes: '{"cpu.mode":"user"}' }),
      row({ relMs: 120, value: 0.1, attributes: '{"cpu.mode":"system"}' }),
      row({ relMs: 150, value: 0.5, resourceId: 2 }),
      row({ relMs: 1100, value: 0.3, attributes: '{"cpu.mode":"user"}' }),
    ]);
    expect(s?.kind).toBe('value');
    expect(s?.points).toEqual([
      { second: 0, value: 0.2 + 0.1 + 0.5 },
      { second: 1, value: 0.3 + 0.1 + 0.5 },
    ]);
  });

  it('counters: the rate per second between points; histograms: the mean of each interval', () => {
    const counter = perSecond('c', 's', [
      row({ type: 'sum', monotonic: true, temporality: 2, relMs: 0, value: 100 }),
      row({ type: 'sum', monotonic: true, temporality: 2, relMs: 2000, value: 160 }),
    ]);
    expect(counter?.kind).toBe('rate');
    expect(counter?.points).toEqual([{ second: 2, value: 30 }]);
    const hist = perSecond('h', 's', [
      row({ type: 'histogram', temporality: 2, relMs: 0, count: 10, sum: 50 }),
      row({ type: 'histogram', temporality: 2, relMs: 1000, count: 30, sum: 250 }),
    ]);
    expect(hist?.points).toEqual([{ second: 1, value: 10 }]);
  });

  it('delta counters and histograms, counter resets, several streams, and the points to leave out', () => {
    const delta = perSecond('c', 's', [
      row({ type: 'sum', monotonic: true, temporality: 1, relMs: 500, value: 7 }),
      // Each delta point over the time since the stream's last one: 30 in 2 s, 5 in 0.5 s.
      row({ type: 'sum', monotonic: true, temporality: 1, relMs: 2500, value: 30 }),
      row({ type: 'sum', monotonic: true, temporality: 1, relMs: 3000, value: 5 }),
      // Another stream: its first point has no interval yet; the second adds its rate to the total.
      row({ type: 'sum', monotonic: true, temporality: 1, relMs: 3200, value: 4, attributes: '{"a":1}' }),
      row({ type: 'sum', monotonic: true, temporality: 1, relMs: 3600, value: 4, attributes: '{"a":1}' }),
    ]);
    expect(delta).toMatchObject({ kind: 'rate', unit: '1' });
    expect(delta?.points).toEqual([
      { second: 2, value: 15 },
      { second: 3, value: 10 + 10 },
    ]);
    const reset = perSecond('c', 's', [
      row({ type: 'sum', monotonic: true, temporality: 2, relMs: 0, value: 100 }),
      row({ type: 'sum', monotonic: true, temporality: 2, relMs: 1000, value: 40 }), // restarted: no rate
      row({ type: 'sum', monotonic: true, temporality: 2, relMs: 2000, value: 40 }), // no change: rate 0
      row({ type: 'sum', monotonic: true, temporality: 2, relMs: 2000, value: 90 }), // same time: no interval
      row({ type: 'sum', monotonic: true, temporality: 2, relMs: 4000, value: null }),
      row({ type: 'sum', monotonic: true, temporality: 2, relMs: 5000, value: 100 }),
    ]);
    expect(reset?.points).toEqual([
      { second: 2, value: 0 },
      { second: 5, value: 10 / 3 },
    ]);
    const histograms = perSecond('h', 's', [
      row({ type: 'histogram', temporality: 1, relMs: 100, count: 4, sum: 20 }),
      row({ type: 'histogram', temporality: 1, relMs: 1100, count: 0, sum: 0 }), // nothing observed: no mean
      row({ type: 'histogram', temporality: 1, relMs: 1200, count: 2, sum: 30, resourceId: 2 }),
      row({ type: 'histogram', temporality: 2, relMs: 2100, count: 5, sum: 5, resourceId: 3 }),
      row({ type: 'histogram', temporality: 2, relMs: 3100, count: 5, sum: 9, resourceId: 3 }), // no new count
      row({ type: 'histogram', temporality: 2, relMs: 4100, count: null, sum: 9, resourceId: 3 }),
    ]);
    // The mean over the streams' latest means: (5 + 15) / 2.
    expect(histograms).toMatchObject({ kind: 'mean' });
    expect(histograms?.points).toEqual([
      { second: 0, value: 5 },
      { second: 1, value: 10 },
    ]);
  });

  it('leaves out points before the run, and a metric with no numeric points; a sum that is not monotonic is a value', () => {
    const s = perSecond('m', 's', [row({ relMs: -200, value: 9 }), row({ relMs: 1300, value: 2, attributes: '{"b":1}' }), row({ relMs: 2300, value: 1 })]);
    expect(s?.points).toEqual([
      { second: 1, value: 2 },
      { second: 2, value: 3 },
    ]);
    expect(perSecond('m', 's', [row({ type: 'summary', relMs: 0, value: 1 })])).toBeUndefined();
    expect(perSecond('m', 's', [])).toBeUndefined();
    expect(perSecond('m', 's', [row({ type: 'sum', monotonic: false, temporality: 2, relMs: 0, value: 5 }), row({ type: 'sum', relMs: 1000, value: 3 })])).toMatchObject({
      kind: 'value',
      points: [
        { second: 0, value: 5 },
        { second: 1, value: 3 },
      ],
    });
    expect(perSecond('m', 's', [row({ relMs: 0, value: null })])?.points).toEqual([]);
  });

  it("a service's points land on the run's seconds through its clock offset", () => {
    expect(run.serverMetrics.map((s) => `${s.name} ${s.service}`)).toEqual([`${CPU} shop`]);
    const points = run.serverMetrics[0]?.points ?? [];
    expect(points).toHaveLength(SECONDS);
    for (const p of points) expect(p.value).toBeCloseTo(0.01 * p.second, 9);
  });

  it('draws each series under the timeline, second k at the same x as the timeline', () => {
    const html = renderHtml({ schemaVersion: 1, generatedAt: '', databases: [], otherClientTraffic: [], runs: [run] });
    const xsOf = (series: string): number[] => {
      const m = new RegExp(`data-series="${series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*points="([^"]+)"`).exec(html);
      return (m?.[1] ?? '').split(' ').map((p) => Number(p.split(',')[0]));
    };
    const timeline = xsOf('gap p50');
    const metric = xsOf(`${CPU} · shop ({user})`);
    expect(timeline).toHaveLength(SECONDS);
    expect(metric).toEqual(timeline);
    expect(html.indexOf('class="chart server-metric"')).toBeGreaterThan(html.indexOf('class="chart timeline"'));
  });

  it('the CLI takes --metric and says when no service exported it', async () => {
    const r = await runCli(['analyze', '--quiet', '--db', db, '--metric', CPU, '--metric', 'not.exported', '--format', 'json']);
    expect(r.code).toBe(ExitCodes.OK);
    expect(r.stderr).toContain('--metric not.exported: no service exported it');
    expect(r.stderr).not.toContain(`--metric ${CPU}:`);
    const doc = JSON.parse(r.stdout) as { runs: Array<{ serverMetrics: Array<{ name: string; points: unknown[] }> }> };
    expect(doc.runs[0]?.serverMetrics[0]?.points).toHaveLength(SECONDS);
  });
});
