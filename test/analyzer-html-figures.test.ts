// The HTML report as a performance engineer reads it, checked figure by figure against the Report
// it was rendered from: the tables, the charts' geometry (a bar's length is its value, a later
// second is further right, a larger latency is higher up), the waterfall's bars on the trace's own
// scale and each span's details. The report is rendered inside each test (so a mutation test can
// tell which test covers which line) and read from the DOM of Debian's chromium.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { basisLabel, PART_NAMES } from '../analyzer/gap-breakdown.ts';
import { offsetNote, type EndpointReport, type Report, type RunReport, type Waterfall, type WaterfallSpan } from '../analyzer/report.ts';
import { nameHtml, renderHtml, shortLabel } from '../analyzer/render-html.ts';
import { niceMax } from '../analyzer/render-shared.ts';
import { PART_LABELS } from '../analyzer/sentences.ts';
import { evaluateThresholds, parseThreshold, type Threshold, type ThresholdResult } from '../analyzer/thresholds.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { StatusCode } from '../model/otlp.ts';
import { SpanStore } from '../model/store.ts';
import { writeLocustRuns, writeScenario } from './helpers/analyzer-scenario.ts';
import { TraceBuilder, usersMetric } from './helpers/analyzer-traces.ts';
import { launchChromium } from './helpers/chromium.ts';

const HOSTILE = `<img src=x onerror="window.__pwned=1">'"&`;
/** Longer than the charts' 60-character labels: shortened to its trailing path segments. */
const LONG_PATH = '/recommendations/personalised-for-you/{customer_id}/history/items?page=2&size=50';
/** Longer than 60 characters with no '/' at all: cut at a space. */
const LONG_WORDS = 'search the whole catalogue for anything that matches the customer query';
/** Small endpoints, so that the per-endpoint chart has more than its eight lines. */
const SMALL = ['/a', '/b', '/c', '/d'];

/** The renderer's documented figure format (render-html.ts fmt): '–' without data, 0, 1 or 2 decimals by size. */
function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
const pct = (share: number, digits = 1): string => `${(share * 100).toFixed(digits)}%`;

let dir: string;
let report: Report;
let twoRuns: Report;
let thresholds: ThresholdResult[];
let browser: Browser | undefined;
let page: Page;
let launchError = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-html-figures-'));
  const db = join(dir, 'a.db');
  writeScenario(db);
  const store = SpanStore.open(db);
  const b = new TraceBuilder(11);
  for (let i = 0; i < 3; i++) {
    const root = b.root({ startMs: 400 + i * 300, requestName: HOSTILE, phases: { blocked: 0, dns: 0, connect: 0, tls: 0, sending: 0.2, waiting: 30, receiving: 0.3 } });
    b.server(root, { service: `evil${HOSTILE}`, name: HOSTILE, beforeMs: 5, durationMs: 20, offsetMs: 0 });
  }
  // The slowest traces (a 40 ms connect): their server spans carry an event and a status message.
  for (const [i, name] of [LONG_PATH, LONG_WORDS, LONG_PATH].entries()) {
    const root = b.root({ startMs: 420 + i * 250, requestName: name, phases: { blocked: 0.4, dns: 0.5, connect: 40, tls: i === 1 ? 0 : 3, sending: 0.2, waiting: 30, receiving: 0.3 } });
    b.server(root, { service: 'catalogue-service', name: 'GET /recommendations/{customer_id}', beforeMs: 45, durationMs: 20, offsetMs: 0 });
  }
  // …the last one seconds after the others: the timeline has seconds without a request.
  for (const [i, name] of SMALL.entries()) b.root({ startMs: [500, 1400, 2300, 12_200][i] as number, requestName: name, durationMs: 5 + i });
  // The long name in the last second too: its line in the per-endpoint chart ends at the right edge.
  b.root({ startMs: 12_250, requestName: LONG_PATH, durationMs: 50 });
  for (let i = 0; i < 2; i++) b.root({ startMs: 700 + i * 10, requestName: '/authenticate', error: true, httpStatus: 503, durationMs: 3 });
  b.root({ startMs: 800, requestName: '/authenticate', durationMs: 4 });
  const request = b.take();
  for (const rs of request.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        if (s.name !== 'GET /recommendations/{customer_id}') continue;
        s.events = [{ timeUnixNano: s.startTimeUnixNano + 2_000_000n, name: 'cache miss', attributes: { key: { stringValue: 'reco:42' } }, droppedAttributesCount: 0 }];
        s.status = { code: StatusCode.ERROR, message: 'upstream slow' };
      }
    }
  }
  store.insertTraces(request);
  store.insertMetrics(usersMetric({ points: [{ atMs: 900, users: 8 }] }));
  store.close();
  const shards = openShards([db]);
  try {
    report = await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 3, threads: 1 });
  } finally {
    closeShards(shards);
  }
  const gates = ['coverage>=0', 'gap.p99<0.001ms', 'errors.rate<=50%', `gap.p50{${'/cart/add'}}<1s`, `server.p99{/a}<1ms`].map((t) => parseThreshold(t) as Threshold);
  thresholds = evaluateThresholds(gates, report.runs);
  const locust = join(dir, 'locust.db');
  writeLocustRuns(locust);
  const locustShards = openShards([locust]);
  try {
    twoRuns = await analyze(locustShards, { idleGapNs: 30_000_000_000n, topN: 1, threads: 1 });
  } finally {
    closeShards(locustShards);
  }
  const launched = await launchChromium();
  if ('skip' in launched) {
    launchError = launched.skip;
    console.warn(`analyzer-html-figures: skipping the browser checks: ${launchError}`);
  } else {
    browser = launched.browser;
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** In-page helpers (this project's TypeScript has no DOM types, so the page code is a string). */
const HELPERS = `
const attrs = (el) => Object.fromEntries([...el.attributes].map((a) => [a.name, a.value]));
const ownText = (el) => [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('');
const titleOf = (el) => el.querySelector(':scope > title')?.textContent ?? '';
const section = (i) => document.querySelectorAll('section.run')[i];
const heading = (root, title) => [...root.querySelectorAll('h3')].find((h) => h.firstChild.textContent.trim() === title);
const tableAfter = (root, title) => {
  const h = heading(root, title);
  if (h === undefined) return null;
  let el = h.nextElementSibling;
  while (el !== null && el.tagName !== 'TABLE' && el.querySelector('table') === null) el = el.nextElementSibling;
  const t = el.tagName === 'TABLE' ? el : el.querySelector('table');
  return {
    small: h.querySelector('small')?.textContent ?? '',
    head: [...t.querySelectorAll('thead th')].map((th) => th.textContent),
    rows: [...t.querySelectorAll('tbody > tr')].map((tr) => ({ cls: tr.className, cells: [...tr.children].map((td) => td.textContent), wbr: tr.children[tr.classList.contains('ok') || tr.classList.contains('breach') ? 2 : 0].querySelectorAll('wbr').length })),
  };
};
const svgEls = (svg) => [...svg.querySelectorAll('*')].filter((e) => e.closest('defs') === null && e.tagName !== 'title').map((e) => ({ tag: e.tagName, ...attrs(e), text: ownText(e), title: titleOf(e), bw: String(e.tagName === 'text' ? e.getBBox().width : 0) }));
const legendOf = (svg) => { const n = svg.nextElementSibling; return n !== null && n.classList.contains('legend') ? [...n.querySelectorAll('span')].map((s) => s.textContent) : []; };
const chart = (root, sel) => { const svg = root.querySelector(sel); return svg === null ? null : { els: svgEls(svg), legend: legendOf(svg) }; };
`;

async function render(r: Report, options: Parameters<typeof renderHtml>[1] = {}): Promise<void> {
  await page.setContent(renderHtml(r, options));
}

async function inPage<T>(body: string): Promise<T> {
  return (await page.evaluate(`(() => {${HELPERS}\n${body}\n})()`)) as T;
}

interface El {
  tag: string;
  text: string;
  title: string;
  [attr: string]: string;
}
interface Chart {
  els: El[];
  legend: string[];
}
interface Table {
  small: string;
  head: string[];
  rows: Array<{ cls: string; cells: string[]; wbr: number }>;
}

const n = (el: El | undefined, attr: string): number => Number((el as El)[attr]);
const byClass = (els: El[], tag: string, cls: string): El[] => els.filter((e) => e.tag === tag && (e.class ?? '').split(' ').includes(cls));
const pointsOf = (e: El | undefined): Array<[number, number]> => ((e as El).points ?? '').split(' ').map((p) => p.split(',').map(Number) as [number, number]);
/** Breaks nameHtml puts in a name: after every '/' or '?' that is not its last character. */
const breaks = (name: string): number => [...name.slice(0, -1)].filter((c) => c === '/' || c === '?').length;

function skipWithoutBrowser(ctx: { skip: () => void }): boolean {
  if (browser !== undefined) return false;
  console.warn(`analyzer-html-figures: skipped: ${launchError}`);
  ctx.skip();
  return true;
}

const run = (): RunReport => report.runs[0] as RunReport;

describe('shortLabel and nameHtml: the documented rules for names', () => {
  it('keeps a short label, shortens a long path to whole trailing segments after …, a long phrase at a space', () => {
    expect(shortLabel('/cart/add')).toBe('/cart/add');
    const exact = 'x'.repeat(60);
    expect(shortLabel(exact)).toBe(exact);
    // Exactly at the limit: '…' and the segments that fill it, no fewer.
    expect(shortLabel('/one/two/three', 10)).toBe('…two/three');
    expect(shortLabel('/one/two/three', 9)).toBe('…three');
    for (const max of [60, 44, 30]) {
      const s = shortLabel(LONG_PATH, max);
      expect(s.startsWith('…'), s).toBe(true);
      expect(s.length).toBeLessThanOrEqual(max);
      const kept = s.slice(1);
      expect(LONG_PATH.endsWith(kept)).toBe(true);
      // It starts at a segment boundary, and one more segment would not fit.
      const at = LONG_PATH.length - kept.length;
      expect('/?').toContain(LONG_PATH[at - 1]);
      const previous = LONG_PATH.slice(0, at - 1).search(/[^/?]*[/?]?$/);
      expect(LONG_PATH.length - previous + 1).toBeGreaterThan(max);
    }
    // One segment too long for the label: cut at the last space that fits, then '…'.
    const s = shortLabel(LONG_WORDS);
    expect(s).toBe(`${LONG_WORDS.slice(0, LONG_WORDS.lastIndexOf(' ', 59))}…`);
    expect(s.length).toBeLessThanOrEqual(60);
    // No space either: cut hard.
    expect(shortLabel('y'.repeat(80), 20)).toBe(`${'y'.repeat(19)}…`);
    // A long last segment with a path before it: the path is dropped, never the segment's middle.
    expect(shortLabel(`/api/${'z'.repeat(70)}`, 60)).toBe(`${`/api/${'z'.repeat(70)}`.slice(0, 59)}…`);
  });

  it('escapes a name and lets it break only after / or ?', () => {
    expect(nameHtml('/a/b?c<d>')).toBe('/<wbr>a/<wbr>b?<wbr>c&lt;d&gt;');
    expect(nameHtml(`"'&`)).toBe('&quot;&#39;&amp;');
    expect(nameHtml('/end/')).toBe('/<wbr>end/');
  });
});

describe('the report\'s tables show the Report\'s figures', () => {
  it('endpoint table: one row per endpoint and the total, every figure in the documented format', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const t = await inPage<Table>(`return tableAfter(section(0), 'Endpoints');`);
    expect(t.head).toEqual(['Endpoint', 'Count', 'Coverage', 'Errors', 'Client p50', 'Client p95', 'Client p99', 'Server p50', 'Server p99', 'Gap p50', 'Gap p90', 'Gap p99', 'Gap max', 'Explained']);
    const eps = [...run().endpoints, run().total];
    expect(t.rows).toHaveLength(eps.length);
    eps.forEach((ep, i) => {
      const row = t.rows[i] as Table['rows'][number];
      const explained = ep.phasesMs === null ? '–' : `${pct(ep.phasesMs.explainedShare, 0)}${ep.phasesMs.basis === 'measured' ? '' : ` (${basisLabel(ep.phasesMs)})`}`;
      expect(row.cells, ep.name).toEqual([
        ep.name,
        String(ep.count),
        pct(ep.propagationCoverage),
        String(ep.errors),
        fmt(ep.clientMs.p50),
        fmt(ep.clientMs.p95),
        fmt(ep.clientMs.p99),
        fmt(ep.serverMs?.p50),
        fmt(ep.serverMs?.p99),
        fmt(ep.gapMs?.p50),
        fmt(ep.gapMs?.p90),
        fmt(ep.gapMs?.p99),
        fmt(ep.gapMs?.max),
        explained,
      ]);
      expect(row.cls).toBe(i === eps.length - 1 ? 'total' : '');
      expect(row.wbr, ep.name).toBe(breaks(ep.name));
    });
    // The data covers both sides of every branch the row has.
    expect(eps.some((ep) => ep.serverMs === null)).toBe(true);
    expect(eps.some((ep) => ep.phasesMs === null)).toBe(true);
    expect(eps.some((ep) => ep.errors > 0)).toBe(true);
    expect(eps.some((ep) => ep.clientMs.p99 >= 100 || (ep.gapMs?.max ?? 0) >= 10)).toBe(true);
  });

  it('failures: by endpoint and message, with counts and the share of the endpoint\'s requests', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const t = await inPage<Table>(`return tableAfter(section(0), 'Failures');`);
    const failures = run().failures ?? [];
    expect(failures.length).toBeGreaterThan(0);
    expect(t.small).toBe(`${run().total.errors} failed requests (${pct(run().total.errorRate)}): client spans with status ERROR, by endpoint and message`);
    expect(t.rows.map((r) => r.cells)).toEqual(
      failures.map((f) => {
        const ep = run().endpoints.find((e) => e.name === f.endpoint) as EndpointReport;
        return [f.endpoint, f.message, String(f.count), pct(f.count / ep.count)];
      }),
    );
    // A run without failures says so.
    const clean: RunReport = { ...run(), total: { ...run().total, errors: 0 }, failures: [] };
    await render({ ...report, runs: [clean] });
    expect(await inPage<string>(`return heading(section(0), 'Failures').nextElementSibling.textContent;`)).toBe('No request failed.');
  });

  it('thresholds: ✓ or ✗, the source, the endpoint and the actual value in its unit; the count breached', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report, { thresholds });
    const t = await inPage<Table>(`return tableAfter(section(0), 'Thresholds');`);
    const mine = thresholds.filter((r) => r.run === run().label);
    expect(mine.some((r) => r.ok) && mine.some((r) => !r.ok) && mine.some((r) => r.actual === null)).toBe(true);
    expect(t.rows.map((r) => [r.cls, ...r.cells])).toEqual(
      mine.map((r) => [r.ok ? 'ok' : 'breach', r.ok ? '✓' : '✗', r.threshold.source, r.endpoint, r.actual === null ? 'no data' : r.threshold.kind === 'ratio' ? r.actual.toFixed(4) : `${fmt(r.actual)} ms`]),
    );
    t.rows.forEach((row, i) => expect(row.wbr).toBe(breaks((mine[i] as ThresholdResult).endpoint)));
    const failed = mine.filter((r) => !r.ok).length;
    expect(t.small).toBe(`${failed} of ${mine.length} breached`);
    // All passed, and a run no threshold names has no table.
    await render(report, { thresholds: mine.filter((r) => r.ok) });
    expect((await inPage<Table>(`return tableAfter(section(0), 'Thresholds');`)).small).toBe('all passed');
    await render(report, { thresholds: mine.map((r) => ({ ...r, run: 'another run' })) });
    expect(await inPage<Table | null>(`return tableAfter(section(0), 'Thresholds');`)).toBeNull();
  });

  it('gap by connection: opened and reused side by side for the endpoints that have them, then the total', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const t = await inPage<Table>(`return tableAfter(section(0), 'Gap by connection');`);
    expect(t.head).toEqual(['Endpoint', 'Opened', 'Gap p50', 'Gap p99', 'Gap mean', 'Reused', 'Gap p50', 'Gap p99', 'Gap mean']);
    type Side = { count: number; gapMs: EndpointReport['gapMs'] } | undefined;
    const cells = (c: Side): string[] => (c === undefined ? ['–', '–', '–', '–'] : [String(c.count), fmt(c.gapMs?.p50), fmt(c.gapMs?.p99), fmt(c.gapMs?.mean)]);
    const split = (ep: EndpointReport): number => (ep.gapByConnection === null ? 0 : ep.gapByConnection.opened.count + ep.gapByConnection.reused.count);
    const shown = [...run().endpoints.filter((ep) => split(ep) > 0), run().total];
    expect(shown.length).toBeGreaterThan(2);
    expect(run().endpoints.some((ep) => split(ep) === 0)).toBe(true);
    expect(t.rows.map((r) => [r.cls, ...r.cells])).toEqual(shown.map((ep, i) => [i === shown.length - 1 ? 'total' : '', ep.name, ...cells(ep.gapByConnection?.opened), ...cells(ep.gapByConnection?.reused)]));
    // Without a single split request there is no such table.
    const none = (ep: EndpointReport): EndpointReport => ({ ...ep, gapByConnection: null });
    await render({ ...report, runs: [{ ...run(), endpoints: run().endpoints.map(none), total: none(run().total) }] });
    expect(await inPage<Table | null>(`return tableAfter(section(0), 'Gap by connection');`)).toBeNull();
  });

  it('the tail: two rows (10 %, 1 %) per endpoint with a tail, requests, gap and every part', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const t = await inPage<Table>(`return tableAfter(section(0), 'The tail');`);
    expect(t.head).toEqual(['Endpoint', 'Slowest', 'Requests', 'Gap', ...PART_NAMES.map((p) => PART_LABELS[p])]);
    const eps = run().endpoints.filter((ep) => ep.tailPhasesMs.slowest10 !== null);
    expect(eps.length).toBeGreaterThan(0);
    expect(eps.length).toBeLessThan(run().endpoints.length);
    const expected = eps.flatMap((ep) =>
      ([['10%', ep.tailPhasesMs.slowest10], ['1%', ep.tailPhasesMs.slowest1]] as const).map(([label, tail]) => [ep.name, label, String(Math.round(tail?.pairs ?? 0)), fmt(tail?.gap), ...PART_NAMES.map((p) => fmt(tail?.[p]))]),
    );
    expect(t.rows.map((r) => r.cells)).toEqual(expected);
    const noTail = (ep: EndpointReport): EndpointReport => ({ ...ep, tailPhasesMs: { ...ep.tailPhasesMs, slowest10: null } });
    await render({ ...report, runs: [{ ...run(), endpoints: run().endpoints.map(noTail) }] });
    expect(await inPage<Table | null>(`return tableAfter(section(0), 'The tail');`)).toBeNull();
  });
});

describe('headings and headline figures', () => {
  it('a section per run with its label, service, times and duration; the header counts the runs', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    for (const r of [report, twoRuns]) {
      await render(r);
      const page = await inPage<{ header: string; sections: Array<{ id: string; h2: string }> }>(
        `return { header: document.querySelector('header p').textContent, sections: [...document.querySelectorAll('section.run')].map((s) => ({ id: s.id, h2: s.querySelector('h2').textContent })) };`,
      );
      expect(page.header).toBe(`${r.runs.length} run${r.runs.length === 1 ? '' : 's'} from ${r.databases.join(', ')} · generated ${r.generatedAt}`);
      expect(page.sections).toEqual(r.runs.map((run, i) => ({ id: `run-${i}`, h2: `Run ${run.label} ${run.service} · ${run.start} → ${run.end} (${run.durationS.toFixed(1)} s)` })));
    }
    expect(twoRuns.runs).toHaveLength(2);
    // The run's warnings and its summary sentences, as written.
    const warned: RunReport = { ...run(), warnings: [{ code: 'still-receiving', message: 'spans still <arriving>' }, ...run().warnings] };
    await render({ ...report, runs: [warned] });
    const text = await inPage<{ warnings: Array<[string, string]>; summary: string[] }>(
      `return { warnings: [...section(0).querySelectorAll('p.warning')].map((p) => [p.dataset.warning, p.textContent]), summary: [...section(0).querySelectorAll('.summary p')].map((p) => p.textContent) };`,
    );
    expect(text.warnings).toEqual(warned.warnings.map((w) => [w.code, w.message]));
    expect(run().summary.length).toBeGreaterThan(0);
    expect(text.summary).toEqual(run().summary);
  });

  it('the cards: requests and rate, failures, client, server and gap percentiles, coverage, background, cut-off', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    const cards = async (): Promise<Array<{ cls: string; b: string; span: string }>> =>
      inPage(`return [...section(0).querySelectorAll('.cards .card')].map((c) => ({ cls: c.className, b: c.querySelector('b').textContent, span: c.querySelector('span').textContent }));`);
    const r = run();
    const t = r.total;
    const expected = (rr: RunReport): Array<{ cls: string; b: string; span: string }> => [
      { cls: 'card', b: String(rr.total.count), span: `requests (${fmt(rr.total.count / rr.durationS)}/s)` },
      { cls: rr.total.errors > 0 ? 'card bad' : 'card', b: String(rr.total.errors), span: `failed (${pct(rr.total.errorRate)})` },
      { cls: 'card', b: `${fmt(rr.total.clientMs.p50)} / ${fmt(rr.total.clientMs.p95)} ms`, span: 'client p50 / p95' },
      { cls: 'card', b: `${fmt(rr.total.clientMs.p99)} ms`, span: 'client p99' },
      { cls: 'card', b: rr.total.serverMs === null ? '–' : `${fmt(rr.total.serverMs.p99)} ms`, span: 'server p99' },
      { cls: 'card gap', b: rr.total.gapMs === null ? '–' : `${fmt(rr.total.gapMs.p50)} ms`, span: 'gap p50' },
      { cls: 'card gap', b: rr.total.gapMs === null ? '–' : `${fmt(rr.total.gapMs.p99)} ms`, span: 'gap p99' },
      { cls: rr.propagationCoverage < 0.99 ? 'card bad' : 'card', b: pct(rr.propagationCoverage), span: `propagation coverage (${rr.matched}/${rr.rootSpans})` },
      { cls: 'card', b: String(rr.backgroundServerSpans), span: 'background server spans (kept apart)' },
      ...(rr.cutOff > 0 ? [{ cls: 'card cut-off', b: String(rr.cutOff), span: 'requests cut off by the end of the run (no response; in no figure)' }] : []),
    ];
    await render(report);
    expect(await cards()).toEqual(expected(r));
    expect(t.errors).toBeGreaterThan(0);
    expect(r.propagationCoverage).toBeLessThan(0.99);
    // The other side: no failures, full coverage, requests cut off, no server data.
    const other: RunReport = { ...r, cutOff: 3, propagationCoverage: 1, total: { ...t, errors: 0, errorRate: 0, serverMs: null, gapMs: null } };
    await render({ ...report, runs: [other] });
    expect(await cards()).toEqual(expected(other));
    // A run without a request shows no percentile.
    const empty: RunReport = { ...r, total: { ...t, count: 0 } };
    await render({ ...report, runs: [empty] });
    const c = await cards();
    expect([c[2]?.b, c[3]?.b]).toEqual(['–', '–']);
  });

  it('clock offsets, background traffic and odd data are listed with their figures', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const r = run();
    const got = await inPage<{ offsets: string[]; after: string; background: string; odd: Array<{ name: string; text: string }>; intro: string }>(`
      const s = section(0);
      const off = heading(s, 'Clock offsets');
      const bg = heading(s, 'Background traffic');
      const odd = heading(s, 'Odd data');
      return {
        offsets: off ? [...off.nextElementSibling.querySelectorAll('li')].map((li) => li.textContent) : [],
        after: off?.nextElementSibling.nextElementSibling?.tagName === 'P' ? off.nextElementSibling.nextElementSibling.textContent : '',
        background: bg ? bg.nextElementSibling.textContent : '',
        odd: odd ? [...odd.nextElementSibling.querySelectorAll('li')].map((li) => ({ name: li.dataset.oddity, text: li.textContent })) : [],
        intro: document.querySelector('main > p').textContent,
      };`);
    expect(r.clockOffsets.length).toBeGreaterThan(0);
    expect(got.offsets).toHaveLength(r.clockOffsets.length);
    r.clockOffsets.forEach((o, i) => {
      expect(got.offsets[i]?.startsWith(`${o.service}: ${o.offsetMs >= 0 ? '+' : ''}${o.offsetMs.toFixed(3)} ms (from ${o.trusted} of ${o.samples} pairs, delay ≤ ${o.delayMs.toFixed(3)} ms, ${o.method})`), got.offsets[i]).toBe(true);
    });
    expect(r.background.count).toBeGreaterThan(0);
    expect(got.background).toContain(`${r.background.count} server spans in the run's window from no load-test trace`);
    expect(got.background).toContain(r.background.services.map((s) => `${s.service} ${s.count}`).join(', '));
    expect(got.background).toContain(`server p50 ${fmt(r.background.serverMs.p50)} ms, p99 ${fmt(r.background.serverMs.p99)} ms`);
    expect(got.background).toContain(`most common: ${r.background.topNames.slice(0, 5).map((t) => `${t.name} (${t.count})`).join(', ')}.`);
    expect(got.odd.length).toBeGreaterThan(0);
    for (const o of got.odd) expect(o.text).toMatch(new RegExp(`^${o.name}: \\d+ — .+`));
    expect(got.intro).toContain('gap = client span duration − server span duration');
    const note = offsetNote(r);
    expect(note).toBeDefined();
    expect(got.after).toBe(`${note}.`);
    // Client traffic from no load generator: named under the runs, only when there is some.
    const other = async (): Promise<string | null> => inPage(`return document.querySelector('p.other-traffic')?.textContent ?? null;`);
    expect(report.otherClientTraffic).toEqual([]);
    expect(await other()).toBeNull();
    await render({ ...report, otherClientTraffic: [{ service: 'browser<x>', rootSpans: 12 }, { service: 'cron', rootSpans: 3 }] });
    expect(await other()).toBe('Other client traffic (trace-root CLIENT spans from services that are no load generator; not runs, not in any figure): browser<x> 12, cron 3. Name a service with --service to analyse it as a load test.');
  });
});

/** The ticks of a log axis from its first to its last decade: 1, 2, 5 per decade over three decades or fewer, else 1. */
function logScale(values: number[]): number[] {
  const lo = Math.round(Math.log10(values[0] as number));
  const hi = Math.round(Math.log10(values[values.length - 1] as number));
  const out: number[] = [];
  for (let e = lo; e <= hi; e++) for (const m of hi - lo <= 3 ? [1, 2, 5] : [1]) if (e < hi || m === 1) out.push(Number((m * 10 ** e).toPrecision(3)));
  return out;
}

/** The per-second x of timeline index i, read from the second labels under a chart. */
function secondsAxis(c: Chart, run: RunReport): (i: number) => number {
  const ticks = c.els.filter((e) => e.tag === 'text' && /^\d+s$/.test(e.text));
  // About ten labels: every step-th second.
  const step = Math.max(1, Math.ceil(run.timeline.length / 10));
  expect(ticks.map((t) => t.text)).toEqual(run.timeline.filter((_, i) => i % step === 0).map((p) => `${p.second}s`));
  const at = ticks.map((t) => [run.timeline.findIndex((p) => `${p.second}s` === t.text), n(t, 'x')] as [number, number]);
  for (const [i] of at) expect(i).toBeGreaterThanOrEqual(0);
  const [[i0, x0], [i1, x1]] = [at[0] as [number, number], at[at.length - 1] as [number, number]];
  expect(x1).toBeGreaterThan(x0);
  const xAt = (i: number): number => x0 + ((x1 - x0) * (i - i0)) / (i1 - i0);
  // Each second in the middle of its slot: the plot's edges half a slot from the first and last.
  const grid = c.els.find((e) => e.tag === 'line' && e.class === 'grid') as El;
  const slot = xAt(1) - xAt(0);
  expect(xAt(0) - slot / 2).toBeCloseTo(n(grid, 'x1'), 1);
  expect(xAt(run.timeline.length - 1) + slot / 2).toBeCloseTo(n(grid, 'x2'), 1);
  return xAt;
}

describe('the timeline charts are faithful to the per-second data', () => {
  it('throughput: a bar per busy second, its height the requests (failed ones in red), on the left axis; users on the right', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const c = await inPage<Chart>(`return chart(section(0), 'svg.throughput');`);
    const tl = run().timeline;
    expect(tl.length).toBeGreaterThanOrEqual(5);
    expect(tl.some((p) => p.requests === 0)).toBe(true);
    const xAt = secondsAxis(c, run());
    // Left axis: 0 … a nice maximum above the busiest second, in five ticks going up.
    const left = c.els.filter((e) => e.tag === 'text' && e['text-anchor'] === 'end' && e.class === undefined);
    const maxReq = niceMax(Math.max(...tl.map((p) => p.requests)));
    expect(left.map((e) => e.text)).toEqual([0, 0.25, 0.5, 0.75, 1].map((f) => fmt(f * maxReq)));
    const grid = byClass(c.els, 'line', 'grid');
    expect(grid).toHaveLength(5);
    const y0 = n(grid[0], 'y1');
    const yTop = n(grid[4], 'y1');
    expect(yTop).toBeLessThan(y0);
    grid.forEach((g, i) => {
      expect(n(g, 'y1')).toBeCloseTo(y0 + ((yTop - y0) * i) / 4, 6);
      expect(n(left[i], 'y') - 4).toBeCloseTo(n(g, 'y1'), 6);
    });
    const yReq = (v: number): number => y0 + ((yTop - y0) * v) / maxReq;
    const bars = byClass(c.els, 'rect', 'req-bar');
    const busy = tl.map((p, i) => [p, i] as const).filter(([p]) => p.requests > 0);
    expect(bars).toHaveLength(busy.length);
    busy.forEach(([p, i], k) => {
      const bar = bars[k] as El;
      expect(n(bar, 'x') + n(bar, 'width') / 2).toBeCloseTo(xAt(i), 0);
      expect(Math.abs(n(bar, 'y') - yReq(p.requests))).toBeLessThan(0.06);
      expect(Math.abs(n(bar, 'y') + n(bar, 'height') - y0)).toBeLessThan(0.11);
      expect(bar.title).toBe(`${p.time}: ${p.requests} requests, ${p.errors} failed`);
    });
    const widths = new Set(bars.map((b) => b.width));
    expect(widths.size).toBe(1);
    expect(n(bars[1], 'x') - n(bars[0], 'x')).toBeGreaterThan(n(bars[0], 'width'));
    const errBars = byClass(c.els, 'rect', 'err-bar');
    const failing = tl.filter((p) => p.errors > 0);
    expect(failing.length).toBeGreaterThan(0);
    expect(errBars).toHaveLength(failing.length);
    failing.forEach((p, k) => {
      const bar = errBars[k] as El;
      expect(Math.abs(n(bar, 'height') - (y0 - yReq(p.errors)))).toBeLessThan(0.11);
      expect(bar.title).toBe(`${p.time}: ${p.errors} failed`);
    });
    // Right axis: users, up to a nice maximum over users reported and requests in flight.
    const maxUsers = niceMax(Math.max(...tl.map((p) => Math.max(p.users ?? 0, p.inFlight)), 1));
    const right = c.els.filter((e) => e.tag === 'text' && e.class === undefined && e['text-anchor'] === undefined);
    expect(right.map((e) => e.text)).toEqual([0, 0.25, 0.5, 0.75, 1].map((f) => String(Number((f * maxUsers).toFixed(maxUsers < 4 ? 2 : 0)))));
    right.forEach((e, i) => expect(n(e, 'y')).toBeCloseTo(n(left[i], 'y'), 6));
    expect(n(right[0], 'x')).toBeGreaterThan(xAt(tl.length - 1));
    const yUsers = (v: number): number => y0 + ((yTop - y0) * v) / maxUsers;
    const lines = c.els.filter((e) => e.tag === 'polyline');
    const pts = pointsOf;
    const users = lines.find((e) => e['data-series'] === 'active users');
    const inFlight = lines.find((e) => e['data-series'] === 'requests in flight (from spans)');
    const reported = tl.map((p, i) => [p, i] as const).filter(([p]) => p.users !== null);
    expect(reported.length).toBeGreaterThan(0);
    expect(pts(users)).toHaveLength(reported.length);
    reported.forEach(([p, i], k) => {
      const [x, y] = pts(users)[k] as number[];
      expect(Math.abs((x as number) - xAt(i))).toBeLessThan(0.11);
      expect(Math.abs((y as number) - yUsers(p.users as number))).toBeLessThan(0.06);
    });
    expect(pts(inFlight)).toHaveLength(tl.length);
    tl.forEach((p, i) => expect(Math.abs((pts(inFlight)[i]?.[1] as number) - yUsers(p.inFlight))).toBeLessThan(0.06));
    expect(inFlight?.['stroke-dasharray']).toBe('1 2');
    expect(c.els.filter((e) => e.class === 'axis-label').map((e) => e.text)).toEqual(['seconds since the run started', 'req/s', 'users']);
    expect(c.legend).toEqual(['requests per second (left axis)', 'failed requests per second', 'active users reported (solid) / requests in flight from the spans (dotted), right axis']);
    // No users metric: the right axis scales to the requests in flight alone.
    await render({ ...report, runs: [{ ...run(), timeline: tl.map((p) => ({ ...p, users: null })) }] });
    const bare = await inPage<Chart>(`return chart(section(0), 'svg.throughput');`);
    const flightMax = niceMax(Math.max(...tl.map((p) => p.inFlight), 1));
    expect(flightMax).not.toBe(maxUsers);
    expect(bare.els.filter((e) => e.tag === 'text' && e.class === undefined && e['text-anchor'] === undefined).map((e) => Number(e.text))).toEqual([0, 0.25, 0.5, 0.75, 1].map((f) => Number((f * flightMax).toFixed(flightMax < 4 ? 2 : 0))));
    expect(bare.els.filter((e) => e.tag === 'polyline').map((e) => e['data-series'])).toEqual(['requests in flight (from spans)']);
    pointsOf(bare.els.find((e) => e.tag === 'polyline')).forEach(([, y], i) => expect(Math.abs(y - (y0 + ((yTop - y0) * (tl[i] as (typeof tl)[number]).inFlight) / flightMax))).toBeLessThan(0.06));
  });

  it('latency over time: one point per second with data, later seconds further right, larger values higher on a labelled log scale', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const charts = await inPage<Chart[]>(`return [...section(0).querySelectorAll('svg.latency')].map((svg) => ({ els: svgEls(svg), legend: legendOf(svg) }));`);
    expect(charts).toHaveLength(2);
    const r = run();
    const tl = r.timeline;
    const busiest = [...r.endpoints].filter((ep) => ep.clientOverTime.length > 0).sort((a, b) => b.count - a.count).slice(0, 8);
    const series: Array<Array<{ label: string; dash: boolean; value: (i: number) => number | null }>> = [
      ([['client p50', 'clientP50', false], ['client p99', 'clientP99', true], ['server p50', 'serverP50', false], ['gap p50', 'gapP50', false], ['gap p99', 'gapP99', true]] as const).map(([label, key, dash]) => ({ label, dash, value: (i: number) => tl[i]?.[key] ?? null })),
      busiest.map((ep, k) => ({ label: shortLabel(ep.name, 44), dash: k >= 4, value: (i: number) => ep.clientOverTime.find((p) => p.second === tl[i]?.second)?.p95 ?? null })),
    ];
    charts.forEach((c, ci) => {
      const xAt = secondsAxis(c, r);
      const ticks = c.els.filter((e) => e.tag === 'text' && e['text-anchor'] === 'end' && e.class === undefined);
      const values = ticks.map((t) => Number(t.text));
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < values.length; i++) {
        expect(values[i]).toBeGreaterThan(values[i - 1] as number);
        expect(n(ticks[i], 'y')).toBeLessThan(n(ticks[i - 1], 'y'));
      }
      // 1-2-5 per decade over few decades, labelled in the figure format.
      expect(values).toEqual(logScale(values));
      // The axis reaches down to 1 ms at least, and covers every value drawn.
      expect(values[0]).toBeLessThanOrEqual(1);
      for (const t of ticks) expect(t.text).toBe(fmt(Number(t.text)));
      expect(Number.isInteger(Math.log10(values[0] as number))).toBe(true);
      expect(Number.isInteger(Math.log10(values[values.length - 1] as number))).toBe(true);
      const grid = byClass(c.els, 'line', 'grid');
      grid.forEach((g, i) => expect(n(g, 'y1')).toBeCloseTo(n(ticks[i], 'y') - 4, 1));
      const lo = Math.log10(values[0] as number);
      const hi = Math.log10(values[values.length - 1] as number);
      const yLo = n(grid[0], 'y1');
      const yHi = n(grid[grid.length - 1], 'y1');
      const yOf = (v: number): number => yLo + ((yHi - yLo) * (Math.log10(v) - lo)) / (hi - lo);
      const lines = c.els.filter((e) => e.tag === 'polyline');
      const drawn = (series[ci] ?? []).filter((s) => tl.some((p, i) => p.requests > 0 && (s.value(i) ?? 0) > 0));
      expect(lines.map((l) => l['data-series'])).toEqual(drawn.map((s) => s.label));
      const ends = byClass(c.els, 'text', 'end-label');
      expect(ends.map((e) => e.text)).toEqual(drawn.map((s) => s.label));
      let all: Array<[number, number]> = [];
      drawn.forEach((s, k) => {
        const line = lines[k] as El;
        expect(line['stroke-dasharray'] !== undefined, s.label).toBe(s.dash);
        const pts = pointsOf(line);
        const expected = tl.map((p, i) => [i, s.value(i)] as const).filter(([i, v]) => (tl[i]?.requests ?? 0) > 0 && v !== null && v > 0);
        expect(pts, s.label).toHaveLength(expected.length);
        expected.forEach(([i, v], j) => {
          const [x, y] = pts[j] as [number, number];
          expect(Math.abs(x - xAt(i)), s.label).toBeLessThan(0.11);
          expect(Math.abs(y - yOf(v as number)), `${s.label} at ${i}: ${v}`).toBeLessThan(0.15);
          expect(y).toBeGreaterThanOrEqual(yHi - 0.06);
          expect(y).toBeLessThanOrEqual(yLo + 0.06);
          all.push([v as number, y]);
        });
        // Its end label sits right of its last point, at or below it.
        const last = pts[pts.length - 1] as [number, number];
        const end = ends[k] as El;
        expect(n(end, 'x')).toBeCloseTo(last[0] + 6, 1);
        expect(n(end, 'y')).toBeGreaterThanOrEqual(last[1] + 4 - 0.06);
      });
      // Higher values higher on screen, everywhere in the chart.
      all = all.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < all.length; i++) if ((all[i]?.[0] as number) > (all[i - 1]?.[0] as number)) expect(all[i]?.[1]).toBeLessThan(all[i - 1]?.[1] as number);
      // End labels in the order their lines end, top to bottom, at least a line apart.
      const order = (xs: number[]): number[] => xs.map((_, i) => i).sort((a, b) => (xs[a] as number) - (xs[b] as number));
      const lastYs = lines.map((l) => (pointsOf(l).at(-1) as [number, number])[1]);
      expect(order(ends.map((e) => n(e, 'y')))).toEqual(order(lastYs));
      const ys = ends.map((e) => n(e, 'y')).sort((a, b) => a - b);
      for (let i = 1; i < ys.length; i++) expect((ys[i] as number) - (ys[i - 1] as number)).toBeGreaterThanOrEqual(12 - 0.06);
      expect(c.legend).toEqual((series[ci] ?? []).map((s) => `${s.label}${s.dash ? ' (dashed)' : ''}`));
      expect(c.els.filter((e) => e.class === 'axis-label').map((e) => e.text)).toEqual(['seconds since the run started', 'ms (log)']);
    });
    expect(r.endpoints.length).toBeGreaterThan(8);
    const h3 = await inPage<string>(`return heading(section(0), 'Response time per endpoint').textContent;`);
    expect(h3).toBe(`Response time per endpoint client p95 per second, ms; the 8 busiest endpoints (${r.endpoints.length - 8} more in the tables)`);
  });
});

describe('every chart keeps its marks and labels inside its own box', () => {
  it('no label or bar is cut off at any edge, in either report', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    for (const r of [report, twoRuns]) {
      await render(r);
      const out = await inPage<string[]>(`
        const out = [];
        for (const svg of document.querySelectorAll('svg.chart')) {
          const [, , W, H] = svg.getAttribute('viewBox').split(' ').map(Number);
          for (const el of svg.querySelectorAll('text, rect, line, polyline')) {
            if (el.closest('defs') !== null) continue;
            const b = el.getBBox();
            if (b.x < -0.5 || b.y < -0.5 || b.x + b.width > W + 0.5 || b.y + b.height > H + 0.5) out.push(svg.getAttribute('class') + ': ' + el.tagName + ' ' + (el.textContent || el.getAttribute('class')) + ' at ' + [b.x, b.y, b.width, b.height].map((v) => v.toFixed(1)).join(',') + ' in ' + W + 'x' + H);
          }
        }
        return out;`);
      expect(out).toEqual([]);
    }
  });

  it('a log axis: 1, 2, 5 per decade over three decades, powers of ten over more, one decade at least', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    const only = (p50: number, p99: number): Report => ({
      ...report,
      runs: [{ ...run(), timeline: run().timeline.map((p) => (p.requests > 0 ? { ...p, clientP50: p50, clientP99: p99, serverP50: null, gapP50: null, gapP99: null } : p)) }],
    });
    const cases: Array<[number, number, number[]]> = [
      [0.2, 50, [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]],
      [0.2, 500, [0.1, 1, 10, 100, 1000]],
      [0.3, 0.8, [0.1, 0.2, 0.5, 1, 2, 5, 10]],
    ];
    for (const [p50, p99, ticks] of cases) {
      await render(only(p50, p99));
      const c = await inPage<Chart>(`return chart(section(0), 'svg.latency');`);
      expect(c.els.filter((e) => e.tag === 'text' && e['text-anchor'] === 'end' && e.class === undefined).map((t) => Number(t.text)), `${p50}…${p99}`).toEqual(ticks);
      expect(c.els.filter((e) => e.tag === 'polyline').map((e) => e['data-series'])).toEqual(['client p50', 'client p99']);
    }
  });

  it('the two-run report: each run its own charts, a log axis that starts at 1 ms when every value is larger', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(twoRuns);
    const charts = await inPage<Chart[][]>(`return [0, 1].map((i) => [...section(i).querySelectorAll('svg.latency')].map((svg) => ({ els: svgEls(svg), legend: legendOf(svg) })));`);
    twoRuns.runs.forEach((r, i) => {
      const c = (charts[i] as Chart[])[0] as Chart;
      const values = c.els.filter((e) => e.tag === 'text' && e['text-anchor'] === 'end' && e.class === undefined).map((t) => Number(t.text));
      const drawn = r.timeline.flatMap((p) => (p.requests > 0 ? [p.clientP50, p.clientP99, p.serverP50, p.gapP50, p.gapP99] : [])).filter((v): v is number => v !== null && v > 0);
      expect(Math.min(...drawn)).toBeGreaterThan(10);
      expect(values[0]).toBe(1);
      expect(values[values.length - 1]).toBeGreaterThanOrEqual(Math.max(...drawn));
      expect(values).toEqual(logScale(values));
      secondsAxis(c, r);
    });
  });
});

describe('the distribution and breakdown charts are faithful to the figures', () => {
  it('distributions: per endpoint a p50 bar of proportional length, whiskers to p90 and p99, labelled', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const c = await inPage<Chart>(`return chart(section(0), 'svg.distribution');`);
    const eps = [...run().endpoints, run().total];
    const grid = byClass(c.els, 'line', 'grid');
    const tickText = c.els.filter((e) => e.tag === 'text' && e['text-anchor'] === 'middle');
    const max = niceMax(Math.max(...eps.map((e) => Math.max(e.clientMs.p99, e.serverMs?.p99 ?? 0, e.gapMs?.p99 ?? 0))));
    expect(tickText.map((t) => t.text)).toEqual([0, 0.25, 0.5, 0.75, 1].map((f) => `${fmt(f * max)} ms`));
    const L = n(grid[0], 'x1');
    const right = n(grid[4], 'x1');
    grid.forEach((g, i) => expect(n(g, 'x1')).toBeCloseTo(L + ((right - L) * i) / 4, 6));
    const x = (v: number): number => L + ((right - L) * v) / max;
    const names = byClass(c.els, 'text', 'ep-name');
    expect(names.map((e) => [e.text, e.title])).toEqual(eps.map((ep) => [shortLabel(ep.name), ep.name]));
    for (const e of names) expect(n(e, 'x')).toBe(L - 8);
    const bars = byClass(c.els, 'rect', 'dist-bar');
    const noData = byClass(c.els, 'text', 'no-data');
    const metrics = eps.flatMap((ep) => ([['client', ep.clientMs], ['server', ep.serverMs], ['gap', ep.gapMs]] as const).map(([label, s]) => ({ ep, label, s })));
    expect(bars).toHaveLength(metrics.filter((m) => m.s !== null).length);
    expect(noData.map((e) => e.text)).toEqual(metrics.filter((m) => m.s === null).map((m) => `${m.label}: no data (no matched server span)`));
    let k = 0;
    let lastY = -Infinity;
    for (const { ep, label, s } of metrics) {
      if (s === null) continue;
      const bar = bars[k++] as El;
      expect(n(bar, 'x')).toBe(L);
      expect(Math.abs(n(bar, 'width') - Math.max(0.5, x(s.p50) - L)), `${ep.name} ${label}`).toBeLessThan(0.06);
      expect(n(bar, 'y')).toBeGreaterThan(lastY);
      lastY = n(bar, 'y');
      expect(bar.title).toBe(`${ep.name} ${label}: p50 ${fmt(s.p50)} ms, p90 ${fmt(s.p90)} ms, p99 ${fmt(s.p99)} ms, max ${fmt(s.max)} ms`);
      const at = c.els.indexOf(bar);
      const [whisker, p90, p99, text] = c.els.slice(at + 1, at + 5) as [El, El, El, El];
      expect([n(whisker, 'x1'), n(whisker, 'x2')]).toEqual([x(s.p50), x(s.p99)].map((v) => expect.closeTo(v, 6)));
      expect(n(whisker, 'y1')).toBeCloseTo(n(bar, 'y') + n(bar, 'height') / 2, 6);
      expect([n(p90, 'x1'), n(p90, 'x2')]).toEqual([x(s.p90), x(s.p90)].map((v) => expect.closeTo(v, 6)));
      expect([n(p99, 'x1'), n(p99, 'x2')]).toEqual([x(s.p99), x(s.p99)].map((v) => expect.closeTo(v, 6)));
      // The p99 tick is the taller one, both straddle the bar.
      expect(n(p99, 'y2') - n(p99, 'y1')).toBeGreaterThan(n(p90, 'y2') - n(p90, 'y1'));
      expect(n(p90, 'y1')).toBeLessThan(n(whisker, 'y1'));
      expect(n(p90, 'y2')).toBeGreaterThan(n(whisker, 'y1'));
      expect(text.text).toBe(`${label} ${fmt(s.p50)} / ${fmt(s.p99)}`);
      expect(n(text, 'x')).toBeCloseTo(x(s.p99) + 6, 6);
    }
    // Two bars' lengths are in the ratio of their p50s.
    const product = run().endpoints.find((e) => e.name === '/product/{id}') as EndpointReport;
    expect(product.gapMs).not.toBeNull();
    expect(c.legend).toEqual(['client', 'server', 'gap']);
  });

  it('where the gap went: a stacked bar per endpoint, segments in order, lengths proportional, adding up to the bar', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const c = await inPage<Chart>(`return chart(section(0), 'svg.breakdown');`);
    const eps = [...run().endpoints, run().total];
    const names = byClass(c.els, 'text', 'ep-name');
    expect(names.map((e) => [e.text, e.title])).toEqual(eps.map((ep) => [shortLabel(ep.name), ep.name]));
    const L = n(names[0], 'x') + 8;
    const parts = byClass(c.els, 'rect', 'part');
    // The scale: the largest segment's width over its value.
    const biggest = parts.reduce((a, b) => (n(b, 'width') > n(a, 'width') ? b : a));
    const segs = eps.flatMap((ep) => (ep.phasesMs === null ? [] : PART_NAMES.map((p) => ({ ep, p, v: Math.max(0, (ep.phasesMs as NonNullable<EndpointReport['phasesMs']>)[p]) })).filter((s) => s.v > 0)));
    expect(parts).toHaveLength(segs.length);
    const scale = n(biggest, 'width') / (segs[parts.indexOf(biggest)]?.v as number);
    const sums = eps.map((ep) => PART_NAMES.reduce((a, p) => a + Math.max(0, ep.phasesMs?.[p] ?? 0), 0));
    // A bar as long as the axis's nice maximum still leaves room for its total right of it.
    const widest = Math.max(...c.els.filter((e) => e.tag === 'text' && e.class === 'small').map((e) => n(e, 'bw')));
    expect(L + scale * niceMax(Math.max(...sums)) + 4 + widest).toBeLessThanOrEqual(1200);
    let k = 0;
    eps.forEach((ep, i) => {
      const name = names[i] as El;
      if (ep.phasesMs === null) {
        const after = c.els[c.els.indexOf(name) + 1] as El;
        expect(after.text).toBe('no data: no matched server span to split the gap by');
        return;
      }
      let at = L;
      for (const p of PART_NAMES) {
        const v = Math.max(0, ep.phasesMs[p]);
        if (v === 0) continue;
        const rect = parts[k++] as El;
        expect(rect['data-part']).toBe(p);
        expect(Math.abs(n(rect, 'x') - at), `${ep.name} ${p}`).toBeLessThan(0.11 * k);
        expect(Math.abs(n(rect, 'width') - Math.max(0.5, v * scale)), `${ep.name} ${p}`).toBeLessThan(0.11);
        expect(Math.abs(n(rect, 'y') + 13 - n(name, 'y'))).toBeLessThan(1e-9);
        expect(rect.title).toBe(`${ep.name}: ${PART_LABELS[p]} ${fmt(v)} ms`);
        at += v * scale;
      }
      const label = c.els[c.els.indexOf(parts[k - 1] as El) + 1] as El;
      expect(Math.abs(n(label, 'x') - (L + (sums[i] as number) * scale + 4))).toBeLessThan(0.2);
      expect(label.text).toBe(`${fmt(ep.phasesMs.gap)} ms${ep.phasesMs.basis === 'measured' ? '' : ` (${basisLabel(ep.phasesMs)})`}`);
    });
    expect(eps.some((ep) => ep.phasesMs === null)).toBe(true);
    expect(c.legend).toEqual(PART_NAMES.map((p) => PART_LABELS[p]));
  });
});

/** The waterfalls in the page against the run's data: every bar, phase and gap mark on the trace's scale. */
async function checkWaterfalls(r: RunReport): Promise<void> {
  const figs = await inPage<Array<{ caption: string; wbr: number; els: El[]; spans: Array<{ kind: string; rect: El; name: El; dur: El; href: string }>; phases: string }>>(`
    return [...section(0).querySelectorAll('figure.trace')].map((f) => {
      const svg = f.querySelector('svg.waterfall');
      return {
        caption: f.querySelector('figcaption').textContent,
        wbr: f.querySelector('figcaption b').querySelectorAll('wbr').length,
        els: svgEls(svg),
        spans: [...svg.querySelectorAll('g.wf-span')].map((g) => ({ kind: g.dataset.kind, href: g.parentElement.getAttribute('href'), rect: { ...attrs(g.querySelector('rect')), title: titleOf(g.querySelector('rect')) }, name: { ...attrs(g.querySelector('text.span-name')), text: ownText(g.querySelector('text.span-name')), title: titleOf(g.querySelector('text.span-name')) }, dur: { ...attrs(g.querySelector('text.small')), text: ownText(g.querySelector('text.small')) } })),
        phases: f.querySelector('p.phases')?.textContent ?? '',
      };
    });`);
  const wfs = r.slowestTraces;
  expect(wfs.length).toBe(3);
  expect(figs).toHaveLength(wfs.length);
  const PHASE_LABEL: Record<string, string> = { blocked: 'pool wait', dns: 'dns', connect: 'connect', tls: 'tls', sending: 'sending', waiting: 'waiting (server + network)', receiving: 'download' };
  wfs.forEach((w, t) => {
    const f = figs[t] as (typeof figs)[number];
    expect(f.caption).toBe(`${w.endpoint} gap ${fmt(w.gapMs)} ms = client ${fmt(w.clientMs)} ms − server ${fmt(w.serverMs)} ms · trace ${w.traceId}`);
    expect(f.wbr).toBe(breaks(w.endpoint));
    // The scale: the time ticks from the trace's first start to its last end.
    const minStart = Math.min(0, ...w.spans.map((s) => s.startMs));
    const maxEnd = Math.max(w.clientMs, ...w.spans.map((s) => s.startMs + s.durationMs));
    const grid = byClass(f.els, 'line', 'grid');
    const ticks = f.els.filter((e) => e.tag === 'text' && e['text-anchor'] === 'middle');
    expect(ticks.map((e) => e.text)).toEqual([0, 0.25, 0.5, 0.75, 1].map((q) => `${fmt(minStart + q * (maxEnd - minStart))} ms`));
    const L = n(grid[0], 'x1');
    const right = n(grid[4], 'x1');
    grid.forEach((g, i) => expect(n(g, 'x1')).toBeCloseTo(L + ((right - L) * i) / 4, 6));
    const x = (v: number): number => L + ((right - L) * (v - minStart)) / (maxEnd - minStart);
    expect(f.spans).toHaveLength(w.spans.length);
    let lastY = -Infinity;
    w.spans.forEach((s, i) => {
      const g = f.spans[i] as (typeof f.spans)[number];
      expect(g.kind).toBe(s.kind);
      expect(g.href).toBe(`#r0-t${t}-s${i}`);
      expect(Math.abs(n(g.rect, 'x') - x(s.startMs)), `${s.name}`).toBeLessThan(0.06);
      expect(Math.abs(n(g.rect, 'width') - Math.max(1, x(s.startMs + s.durationMs) - x(s.startMs))), s.name).toBeLessThan(0.06);
      expect(n(g.rect, 'y')).toBeGreaterThan(lastY);
      lastY = n(g.rect, 'y');
      expect(g.rect.stroke !== undefined).toBe(s.error);
      const offset = s.offsetMs !== 0 ? ` (clock offset ${fmt(s.offsetMs)} ms removed)` : '';
      expect(g.rect.title).toBe(`${s.kind} ${s.name}: starts at ${fmt(s.startMs)} ms, lasts ${fmt(s.durationMs)} ms${offset} · click for details`);
      expect(g.dur.text).toBe(`${fmt(s.durationMs)} ms`);
      expect(n(g.dur, 'x')).toBeCloseTo(x(s.startMs + s.durationMs) + 4, 1);
      const label = `${s.service} · ${s.name}`;
      expect(g.name.title).toBe(`${label}: click for details`);
      expect(n(g.name, 'x')).toBe(8 + s.depth * 12);
      expect(label.endsWith(g.name.text.replace(/^…/, '')) || label.startsWith(g.name.text.replace(/…$/, ''))).toBe(true);
      expect(g.name.text.length * 6.6 + n(g.name, 'x')).toBeLessThanOrEqual(L);
    });
    // The root's connection phases, in order and in place, each on the same scale.
    const phases = byClass(f.els, 'rect', 'wf-phase');
    const shown = w.phases.filter((p) => p.durationMs > 0);
    expect(shown.length).toBeGreaterThan(3);
    expect(phases.map((p) => p['data-phase'])).toEqual(shown.map((p) => p.name));
    shown.forEach((p, i) => {
      const r = phases[i] as El;
      expect(Math.abs(n(r, 'x') - x(p.startMs))).toBeLessThan(0.06);
      expect(Math.abs(n(r, 'width') - Math.max(1, x(p.startMs + p.durationMs) - x(p.startMs)))).toBeLessThan(0.11);
      expect(r.title).toBe(`${PHASE_LABEL[p.name]}: ${fmt(p.durationMs)} ms`);
      const text = f.els[f.els.indexOf(r) + 1] as El;
      const short = p.name === 'waiting' ? 'waiting' : (PHASE_LABEL[p.name] as string);
      const fits = n(r, 'width') >= short.length * 6 + 8;
      expect(text.class === 'phase-text' && text.text === short, `${p.name} ${n(r, 'width')}`).toBe(fits);
      if (fits) expect(n(text, 'x')).toBeCloseTo(n(r, 'x') + 4, 1);
    });
    expect(phases.some((r) => n(r, 'width') < 20)).toBe(true);
    for (const r of phases) expect(n(r, 'y')).toBeGreaterThan(n(f.spans[0]?.rect, 'y'));
    expect(f.phases).toBe(`connection phases: ${w.phases.map((p) => `${PHASE_LABEL[p.name]} ${fmt(p.durationMs)} ms`).join(' · ')}`);
    // The gap: before and after the server span, hatched, with its two figures.
    const root = w.spans.find((s) => s.depth === 0) as (typeof w.spans)[number];
    const server = w.spans.find((s) => s.depth === 1 && s.kind === 'server') as (typeof w.spans)[number];
    const before = server.startMs - root.startMs;
    const after = root.startMs + root.durationMs - (server.startMs + server.durationMs);
    const gaps = byClass(f.els, 'rect', 'wf-gap');
    const marks = [
      ...(before > 0 ? [{ from: root.startMs, ms: before, what: 'before' }] : []),
      ...(after > 0 ? [{ from: server.startMs + server.durationMs, ms: after, what: 'after' }] : []),
    ];
    expect(gaps).toHaveLength(marks.length);
    marks.forEach((m, i) => {
      const g = gaps[i] as El;
      expect(Math.abs(n(g, 'x') - x(m.from))).toBeLessThan(0.06);
      expect(Math.abs(n(g, 'width') - Math.max(1, x(m.from + m.ms) - x(m.from)))).toBeLessThan(0.11);
      expect(g.title).toBe(`gap ${m.what} the server span: ${fmt(m.ms)} ms`);
      // Below the phases row, under the spans.
      expect(n(g, 'y')).toBeGreaterThan(Math.max(lastY, ...phases.map((p) => n(p, 'y'))));
    });
    const gapLabel = f.els[f.els.findIndex((e) => e.class === 'span-name gap-label') + 1 + marks.length] as El;
    expect(gapLabel.text).toBe(`${fmt(Math.max(0, before))} + ${fmt(Math.max(0, after))} ms`);
    expect(n(gapLabel, 'x')).toBeCloseTo(x(root.startMs + root.durationMs) + 4, 1);
    expect(byClass(f.els, 'text', 'gap-label').map((e) => e.text)).toEqual(['the gap']);
    expect(byClass(f.els, 'text', 'phase-label').map((e) => e.text)).toEqual(['connection phases']);
  });
}

describe('the waterfalls of the traces with the largest gaps', () => {
  it('one bar per span on the trace\'s scale, the phases and the gap in place, the caption\'s figures', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    await checkWaterfalls(run());
    expect(run().slowestTraces.some((w) => w.phases.some((p) => p.durationMs === 0))).toBe(true);
    // A server span that starts before its client span (a clock offset left uncorrected) and ends
    // with it: the scale starts before the root, and there is no gap to hatch on either side.
    const [first, ...rest] = run().slowestTraces as [Waterfall, ...Waterfall[]];
    const root = first.spans.find((s) => s.depth === 0) as WaterfallSpan;
    const spans = first.spans.map((s) => (s.depth === 1 && s.kind === 'server' ? { ...s, startMs: -2.5, durationMs: root.startMs + root.durationMs + 2.5 } : s));
    const skewed: RunReport = { ...run(), slowestTraces: [{ ...first, spans }, ...rest] };
    await render({ ...report, runs: [skewed] });
    await checkWaterfalls(skewed);
  });

  it('every span has a details panel (status, timing, offset, attributes, events); a click opens it', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const wfs = run().slowestTraces;
    const details = await inPage<Array<{ id: string; h4: string; p: string; attrs: Array<[string, string]>; note: string; events: string[] }>>(`
      return [...section(0).querySelectorAll('.span-detail')].map((d) => ({
        id: d.id,
        h4: d.querySelector('h4').textContent,
        p: d.querySelector('p').textContent,
        attrs: [...d.querySelectorAll(':scope > table.attrs tr')].map((tr) => [tr.querySelector('th').textContent, tr.querySelector('td').textContent]),
        note: d.querySelector(':scope > p.note')?.textContent ?? '',
        events: [...d.querySelectorAll('li')].map((li) => li.textContent),
      }));`);
    const spans = wfs.flatMap((w, t) => w.spans.map((s, i) => ({ s, id: `r0-t${t}-s${i}` })));
    expect(details.map((d) => d.id)).toEqual(spans.map((x) => x.id));
    let withEvents = 0;
    spans.forEach(({ s }, i) => {
      const d = details[i] as (typeof details)[number];
      expect(d.h4).toBe(`${s.kind} span · ${s.service} · ${s.name}`);
      const offset = s.offsetMs !== 0 ? ` (clock offset ${fmt(s.offsetMs)} ms removed)` : '';
      expect(d.p).toBe(`starts at ${fmt(s.startMs)} ms, lasts ${fmt(s.durationMs)} ms${offset} · status ${s.error ? 'error' : 'ok'}${s.statusMessage ? `: ${s.statusMessage}` : ''} · span ${s.spanId}`);
      const attrs = Object.entries(s.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b));
      expect(d.attrs).toEqual(attrs);
      expect(d.note).toBe(attrs.length === 0 ? 'no attributes' : '');
      const events = s.events ?? [];
      if (events.length > 0) withEvents++;
      expect(d.events).toEqual(events.map((e) => `${e.name}${e.atMs === null ? '' : ` at +${fmt(e.atMs)} ms`}${Object.keys(e.attributes).length === 0 ? '' : ` ${Object.entries(e.attributes).map(([k, v]) => `${k}${v}`).join('')}`}`));
    });
    expect(withEvents).toBeGreaterThan(0);
    expect(spans.some(({ s }) => s.statusMessage)).toBe(true);
    expect(spans.some(({ s }) => s.offsetMs !== 0)).toBe(true);
    // A click on the second span of the first trace opens its panel, and only that one.
    expect(await page.locator('.span-detail:visible').count()).toBe(0);
    await page.locator('svg.waterfall a.wf-link rect').nth(1).click();
    const open = page.locator('.span-detail:visible');
    expect(await open.count()).toBe(1);
    expect(await open.getAttribute('id')).toBe('r0-t0-s1');
  });
});

describe('untrusted names', () => {
  it('a hostile endpoint, span and service name is shown as text everywhere, never as markup', async (ctx) => {
    if (skipWithoutBrowser(ctx)) return;
    await render(report);
    const got = await inPage<{ imgs: number; cells: number; svgTitles: number }>(`
      return {
        imgs: document.querySelectorAll('img').length,
        cells: [...document.querySelectorAll('td.name')].filter((td) => td.textContent === ${JSON.stringify(HOSTILE)}).length,
        svgTitles: [...document.querySelectorAll('svg text.ep-name title')].filter((t) => t.textContent === ${JSON.stringify(HOSTILE)}).length,
      };`);
    expect(got.imgs).toBe(0);
    // Endpoint table, tail table, connection table: the name as written.
    expect(got.cells).toBeGreaterThanOrEqual(2);
    expect(got.svgTitles).toBe(2);
    expect(run().endpoints.some((e) => e.name === HOSTILE)).toBe(true);
  });
});
