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
