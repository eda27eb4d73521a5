// The services' metric charts under the HTML timeline (analyzer/render-metrics.ts), from series
// built by hand: one chart per series, titled with its name, service, unit and kind; a point per
// second on the timeline's own x axis (TIMELINE_X); heights in proportion to the values on a
// "nice" scale whose ticks are labelled in k/M/G; points past the run's last second left out.
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../analyzer/report.ts';
import { serverMetricCharts } from '../analyzer/render-metrics.ts';
import { TIMELINE_X } from '../analyzer/render-shared.ts';
import type { MetricSeries } from '../analyzer/server-metrics.ts';

/** Within the 0.1 the chart rounds its coordinates to. */
function near(actual: number | undefined, expected: number): void {
  expect(Math.abs((actual ?? NaN) - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(0.05 + 1e-9);
}

function runWith(series: MetricSeries[], seconds: number): RunReport {
  return { serverMetrics: series, timeline: Array.from({ length: seconds }, (_, second) => ({ second })) } as unknown as RunReport;
}

interface Chart {
  attrs: Record<string, string>;
  label: string;
  ticks: Array<{ y: number; text: string }>;
  dots: Array<{ cx: number; cy: number; title: string }>;
  line: Array<[number, number]>;
}

function charts(html: string): Chart[] {
  return [...html.matchAll(/<svg ([^>]*)>([\s\S]*?)<\/svg>/g)].map((m) => {
    const attrs = Object.fromEntries([...(m[1] as string).matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
    const body = m[2] as string;
    return {
      attrs,
      label: /<text x="\d+" y="10" class="axis-label">([^<]*)<\/text>/.exec(body)?.[1] ?? '',
      ticks: [...body.matchAll(/<line [^>]*y1="([\d.]+)"[^>]*class="grid"\/><text [^>]*text-anchor="end">([^<]*)<\/text>/g)].map((t) => ({ y: Number(t[1]), text: t[2] as string })),
      dots: [...body.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"[^>]*><title>([^<]*)<\/title><\/circle>/g)].map((d) => ({ cx: Number(d[1]), cy: Number(d[2]), title: d[3] as string })),
      line: (/points="([^"]*)"/.exec(body)?.[1] ?? '').split(' ').filter((p) => p !== '').map((p) => p.split(',').map(Number) as [number, number]),
    };
  });
}

const cpu: MetricSeries = { name: 'process.cpu.utilization', service: 'shop', unit: '1', kind: 'value', points: [{ second: 0, value: 0.25 }, { second: 1, value: 0.8 }, { second: 3, value: 0.5 }] };
const requests: MetricSeries = { name: 'http.server.requests', service: 'shop', unit: '{request}', kind: 'rate', points: [{ second: 0, value: 1200 }, { second: 1, value: 3400 }, { second: 9, value: 9999 }] };
const latency: MetricSeries = { name: 'db.time', service: 'db', unit: '', kind: 'mean', points: [{ second: 2, value: 12 }] };

describe('server metric charts', () => {
  it('draws nothing for a run without --metric series', () => {
    expect(serverMetricCharts(runWith([], 5))).toBe('');
  });

  it('draws one chart per series, titled with name, service, unit (per second for a rate) and kind, under one legend', () => {
    const html = serverMetricCharts(runWith([cpu, requests, latency], 4));
    const c = charts(html);
    expect(c.map((x) => [x.attrs['data-metric'], x.attrs['data-service'], x.label, x.attrs['aria-label']])).toEqual([
      ['process.cpu.utilization', 'shop', 'process.cpu.utilization · shop (1)', 'process.cpu.utilization · shop (1) per second'],
      ['http.server.requests', 'shop', 'http.server.requests · shop ({request}/s)', 'http.server.requests · shop ({request}/s) per second'],
      ['db.time', 'db', 'db.time · db, mean', 'db.time · db, mean per second'],
    ]);
    expect(c.every((x) => x.attrs.viewBox === `0 0 ${TIMELINE_X.W} 120`)).toBe(true);
    expect(html.startsWith('<div class="server-metrics">')).toBe(true);
    expect(html.match(/class="legend"/g)?.length).toBe(1);
    expect(html).toContain('each point is the services&#39; last report in that second');
  });

  it('puts each second at the timeline\'s x and each value at its height on a nice scale from 0', () => {
    const [chart] = charts(serverMetricCharts(runWith([cpu], 4)));
    if (chart === undefined) throw new Error('no chart');
    // Ticks at 0, half and the whole of the scale: 0.8 rounds up to 1.
    expect(chart.ticks.map((t) => t.text)).toEqual(['0.000', '0.500', '1.0']);
    const [zero, half, top] = chart.ticks.map((t) => t.y) as [number, number, number];
    expect(zero).toBeGreaterThan(half);
    expect(half - top).toBeCloseTo(zero - half, 6);
    const { W, L, R } = TIMELINE_X;
    const xOf = (second: number): number => L + ((second + 0.5) / 4) * (W - L - R);
    const yOf = (v: number): number => zero - (zero - top) * v;
    expect(chart.dots.map((d) => d.title)).toEqual(['0s: 0.250', '1s: 0.800', '3s: 0.500']);
    chart.dots.forEach((d, i) => {
      const p = cpu.points[i] as { second: number; value: number };
      near(d.cx, xOf(p.second));
      near(d.cy, yOf(p.value));
    });
    expect(chart.line).toEqual(chart.dots.map((d) => [d.cx, d.cy]));
  });

  it('labels large values in k, M and G, and leaves out points after the run\'s last second', () => {
    const big: MetricSeries = { ...requests, points: [{ second: 0, value: 2_500_000_000 }, { second: 1, value: 3_400_000 }, { second: 2, value: 1500 }, { second: 3, value: 42 }, { second: 5, value: 1 }] };
    const [chart] = charts(serverMetricCharts(runWith([big], 4)));
    expect(chart?.ticks.map((t) => t.text)).toEqual(['0.000', '2.5G', '5.0G']);
    expect(chart?.dots.map((d) => d.title)).toEqual(['0s: 2.5G', '1s: 3.4M', '2s: 1.5k', '3s: 42']);
    expect(chart?.line.length).toBe(4);
  });

  it('keeps a run of no seconds on a one-second axis, and a series of zeros on a scale of 1', () => {
    const flat: MetricSeries = { ...cpu, points: [{ second: 0, value: 0 }] };
    const [chart] = charts(serverMetricCharts(runWith([flat], 0)));
    expect(chart?.ticks.map((t) => t.text)).toEqual(['0.000', '0.500', '1.0']);
    near(chart?.dots[0]?.cx, TIMELINE_X.L + 0.5 * (TIMELINE_X.W - TIMELINE_X.L - TIMELINE_X.R));
    near(chart?.dots[0]?.cy, chart?.ticks[0]?.y ?? NaN);
  });

  it('escapes series names and services', () => {
    const html = serverMetricCharts(runWith([{ ...latency, name: '<b>"x"</b>', service: 'a&b' }], 3));
    expect(html).not.toContain('<b>');
    expect(html).toContain('data-metric="&lt;b&gt;&quot;x&quot;&lt;/b&gt;" data-service="a&amp;b"');
  });
});
