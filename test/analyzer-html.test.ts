// The HTML report in a real browser (Debian's chromium through playwright-core): the charts and
// the waterfall render, nothing is fetched from the network, and a hostile span name is shown as
// text, never run. A screenshot is kept in the temp directory for a human to look at.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../analyzer/analyze.ts';
import { type Report } from '../analyzer/report.ts';
import { closeShards, openShards } from '../model/span-reads.ts';
import { renderHtml } from '../analyzer/render-html.ts';
import { evaluateThresholds, parseThreshold, type Threshold } from '../analyzer/thresholds.ts';
import { SpanStore } from '../model/store.ts';
import { writeScenario } from './helpers/analyzer-scenario.ts';
import { TraceBuilder, usersMetric } from './helpers/analyzer-traces.ts';
import { launchChromium } from './helpers/chromium.ts';

const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'"&`;
export const SCREENSHOT = join(tmpdir(), 'firstspan-analyzer-report.png');
const LONG_NAMES = ['/recommendations/personalised-for-you/{customer_id}', '/authenticate', '/api/v2/checkout/confirm?express=true&gift_wrapping=false'];

let dir: string;
let htmlPath: string;
let browser: Browser | undefined;
let launchError = '';
let report: Report;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-analyzer-html-'));
  const db = join(dir, 'a.db');
  writeScenario(db);
  // Hostile names from span data: an endpoint, a server span name and a service name.
  const store = SpanStore.open(db);
  const b = new TraceBuilder(9);
  for (let i = 0; i < 3; i++) {
    const root = b.root({ startMs: 400 + i * 300, requestName: HOSTILE, phases: { blocked: 0, dns: 0, connect: 0, tls: 0, sending: 0.2, waiting: 30, receiving: 0.3 } });
    b.server(root, { service: `evil${HOSTILE}`, name: HOSTILE, beforeMs: 5, durationMs: 20, offsetMs: 0 });
  }
  // Long names, as real services have them: the report must never break them inside a word.
  for (let i = 0; i < 4; i++) {
    const root = b.root({ startMs: 420 + i * 250, requestName: LONG_NAMES[i % LONG_NAMES.length] as string, phases: { blocked: 0, dns: 0.5, connect: 40, tls: 0, sending: 0.2, waiting: 30, receiving: 0.3 } });
    b.server(root, { service: 'catalogue-service', name: 'GET /recommendations/{customer_id}', beforeMs: 45, durationMs: 20, offsetMs: 0 });
  }
  // Two failed requests, answered 503: the report lists them by endpoint and message.
  for (let i = 0; i < 2; i++) b.root({ startMs: 700 + i * 10, requestName: '/authenticate', error: true, httpStatus: 503, durationMs: 3 });
  store.insertTraces(b.take());
  store.insertMetrics(usersMetric({ points: [{ atMs: 900, users: 8 }] }));
  store.close();
  const shards = openShards([db]);
  try {
    htmlPath = join(dir, 'report.html');
    report = await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 3, threads: 1 });
    const gates = ['coverage>=0', 'gap.p99<0.001ms'].map((t) => parseThreshold(t) as Threshold);
    writeFileSync(htmlPath, renderHtml(report, { thresholds: evaluateThresholds(gates, report.runs) }));
  } finally {
    closeShards(shards);
  }
  const launched = await launchChromium();
  if ('skip' in launched) launchError = launched.skip;
  else browser = launched.browser;
  if (launchError) console.warn(`analyzer-html: skipping the browser checks: ${launchError}`);
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('per-endpoint percentiles over time', () => {
  it('count every request with a plausible duration once, in its second', () => {
    const run = report.runs[0]!;
    for (const ep of run.endpoints) {
      const counted = ep.clientOverTime.reduce((n, p) => n + p.requests, 0);
      expect(counted, ep.name).toBeLessThanOrEqual(ep.count);
      for (const p of ep.clientOverTime) expect(p.p95, ep.name).toBeGreaterThanOrEqual(p.p50);
    }
    expect(run.failures).toContainEqual({ endpoint: '/authenticate', message: 'HTTP 503', count: 2 });
    const product = run.endpoints.find((ep) => ep.count > 10)!;
    expect(product.clientOverTime.reduce((n, p) => n + p.requests, 0)).toBe(product.count);
    expect(run.total.clientOverTime.reduce((n, p) => n + p.requests, 0)).toBe(run.endpoints.reduce((n, ep) => n + ep.clientOverTime.reduce((m, p) => m + p.requests, 0), 0));
  });
});

describe('HTML report in headless Chromium', () => {
  it('renders the charts and the waterfall, fetches nothing, runs no injected script', async (ctx) => {
    if (browser === undefined) {
      console.warn(`analyzer-html: skipped: ${launchError}`);
      ctx.skip();
      return;
    }
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(htmlPath).href);
    // Runs in the page (a string, since this project's TypeScript has no DOM types).
    const facts = (await page.evaluate(`(() => {
      const box = (sel) => {
        const el = document.querySelector(sel);
        if (el === null) return 0;
        const r = el.getBoundingClientRect();
        return r.width * r.height;
      };
      const count = (sel) => document.querySelectorAll(sel).length;
      return {
        pwned: window.__pwned ?? null,
        scripts: count('script'),
        imgs: count('img'),
        timelineSeries: count('svg.timeline polyline.series'),
        requestBars: count('svg.timeline rect.req-bar'),
        usersLine: count('svg.timeline polyline[data-series="active users"]'),
        distBars: count('svg.distribution rect.dist-bar'),
        parts: count('svg.breakdown rect.part'),
        waterfalls: count('svg.waterfall'),
        wfServerSpans: count('svg.waterfall g.wf-span[data-kind="server"]'),
        wfPhases: count('svg.waterfall rect.wf-phase'),
        timelineArea: box('svg.timeline'),
        waterfallArea: box('svg.waterfall'),
        text: document.body.innerText,
      };
    })()`)) as Record<string, number | string | null>;
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.info(`analyzer-html: screenshot at ${SCREENSHOT}`);
    await page.close();
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(facts.pwned).toBeNull();
    expect(facts.scripts).toBe(0);
    expect(facts.imgs).toBe(0);
    expect(facts.timelineSeries).toBeGreaterThanOrEqual(5);
    expect(facts.requestBars).toBeGreaterThan(0);
    expect(facts.usersLine).toBe(1);
    expect(facts.distBars).toBeGreaterThanOrEqual(3 * 4);
    expect(facts.parts).toBeGreaterThan(4);
    expect(facts.waterfalls).toBe(3);
    expect(facts.wfServerSpans).toBeGreaterThanOrEqual(3);
    expect(facts.wfPhases).toBeGreaterThanOrEqual(3);
    expect(facts.timelineArea).toBeGreaterThan(10_000);
    expect(facts.waterfallArea).toBeGreaterThan(10_000);
    // The hostile name is on the page as text.
    expect(facts.text).toContain('<img src=x onerror=');
  });

  it('never breaks a name inside a word, at desktop width and at 1280 and 900 px; a click opens a span\'s details; thresholds show ✓ and ✗', async (ctx) => {
    if (browser === undefined) {
      console.warn(`analyzer-html: skipped: ${launchError}`);
      ctx.skip();
      return;
    }
    for (const width of [1920, 1280, 900]) {
      const page = await browser.newPage({ viewport: { width, height: 1000 } });
      await page.goto(pathToFileURL(htmlPath).href);
      // Every word (letters, digits, _ and braces) of every name must sit on one line; SVG labels
      // must fit their column (start right of the chart's left edge).
      const broken = (await page.evaluate(`(() => {
        const out = [];
        const names = [...document.querySelectorAll('td.name, figcaption b, .span-detail h4')];
        for (const el of names) {
          const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
            for (const m of node.textContent.matchAll(/[A-Za-z0-9_{}]+/g)) {
              const range = document.createRange();
              range.setStart(node, m.index);
              range.setEnd(node, m.index + m[0].length);
              const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
              if (lines.size > 1) out.push(m[0] + ' in ' + el.textContent);
            }
          }
        }
        for (const t of document.querySelectorAll('svg text.ep-name, svg text.span-name')) {
          if (t.getBBox().x < 0) out.push('label cut off: ' + t.textContent);
        }
        return { out, names: names.length, scrollWidth: document.documentElement.scrollWidth };
      })()`)) as { out: string[]; names: number; scrollWidth: number };
      expect(broken.names).toBeGreaterThan(10);
      expect(broken.out, `at ${width} px`).toEqual([]);
      // The page uses the width it has and needs no sideways scrolling.
      expect(broken.scrollWidth).toBeLessThanOrEqual(width);
      if (width === 1280) await page.screenshot({ path: SCREENSHOT.replace('.png', '-1280.png'), fullPage: true });
      if (width === 1920) await page.screenshot({ path: SCREENSHOT.replace('.png', '-1920.png'), fullPage: true });
      if (width === 900) {
        // A click on a span opens its details (CSS :target; the report runs no script).
        expect(await page.locator('.span-detail:visible').count()).toBe(0);
        await page.locator('svg.waterfall a.wf-link rect').nth(1).click();
        const panel = page.locator('.span-detail:visible');
        expect(await panel.count()).toBe(1);
        expect(await panel.locator('table.attrs tr').count()).toBeGreaterThan(0);
        expect(await panel.textContent()).toMatch(/lasts [\d.]+ ms/);
        const verdicts = await page.locator('table.thresholds td.verdict').allTextContents();
        expect(verdicts).toContain('✓');
        expect(verdicts).toContain('✗');
        expect(await page.locator('.cards').textContent()).toMatch(/requests \([\d.]+\/s\)/);
        expect(await page.locator('h3:has-text("Failures") + .scroll').textContent()).toMatch(/authenticate.*HTTP 503.*2/);
        // The run's latency over time, and each endpoint's p95 over time, one line per endpoint.
        expect(await page.locator('svg.latency').count()).toBe(2);
        expect(await page.locator('svg.latency').nth(1).locator('polyline.series').count()).toBe(Math.min(8, report.runs[0]!.endpoints.length));
      }
      await page.close();
    }
  });
});
