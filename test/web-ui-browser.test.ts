// The web UI in headless Chromium (Debian's, through playwright-core), against real parts: the
// real binary serving the page, the real receiver, a target instrumented with the OTel SDK, and
// the delay proxy that holds every new connection for DELAY ms. From the page: start a test, see
// the table and the charts grow, change the user count, see the live gap of connection-opening
// requests show the injected delay while the test still runs, stop, and find the analyzer's report.
// Screenshots at 1280 px and desktop width are kept in the temp directory for a human to look at.
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDelayProxy, type DelayProxy } from '../demo/delay-proxy.ts';
import { startStack, writeScript, type Stack } from './helpers/generator-harness.ts';
import { startWebRun, type WebRun } from './helpers/web-ui.ts';
import { launchChromium } from './helpers/chromium.ts';

const DELAY = 300;
const LATER_S = 8;
const HOSTILE = `/<img src=x onerror="window.__pwned=1">'"&`;
export const SCREENSHOTS = { live1280: path.join(tmpdir(), 'firstspan-web-live-1280.png'), live1920: path.join(tmpdir(), 'firstspan-web-live-1920.png'), report: path.join(tmpdir(), 'firstspan-web-report.png') };

let stack: Stack;
let proxy: DelayProxy;
let web: WebRun;
let browser: Browser | undefined;
let launchError = '';

beforeAll(async () => {
  stack = await startStack();
  proxy = await startDelayProxy({ target: { host: '127.0.0.1', port: stack.target.port }, connectDelayMs: DELAY });
  const script = writeScript(
    stack.dir,
    'browse.ts',
    `import { HttpUser, task, constant } from 'firstspan';
     const started = Date.now();
     export class Visitor extends HttpUser {
       override waitTime = constant(0.1);
       @task(4) async page() {
         await this.client.get('/page');
         // Every few requests on a new connection: the proxy holds those for ${DELAY} ms.
         await this.client.get('/fresh', { newConnection: true });
         await this.client.get('/after-fresh');
       }
       @task async odd() { await this.client.get('/odd?status=500', { name: ${JSON.stringify(HOSTILE)} }); }
       // After ${LATER_S} s an endpoint whose service stops continuing the trace: the page must warn.
       @task(2) async later() { if (Date.now() - started > ${LATER_S * 1000}) await this.client.get('/later?untraced=1', { name: '/later' }); }
     }`,
  );
  web = await startWebRun([script, '--host', `http://127.0.0.1:${proxy.port}`, '-u', '2', '-r', '10', '--otel', '--db', path.join(stack.dir, 'spans.db')], stack.otelEnv, stack.dir, 180_000);
  const launched = await launchChromium();
  if ('skip' in launched) launchError = launched.skip;
  else browser = launched.browser;
  if (launchError) console.warn(`web-ui-browser: skipping the browser test: ${launchError}`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await web?.quit().catch(() => undefined);
  await proxy?.close();
  await stack?.close();
});

// Browser-side code is passed as strings: the project's types have no DOM (Node code only).
const cell = async (page: Page, table: string, row: 'total' | string, col: string): Promise<string> =>
  (await page.evaluate(`(() => {
    const [t, r, c] = ${JSON.stringify([table, row, col])};
    const tr = r === 'total' ? document.querySelector('#' + t + ' tfoot tr') : [...document.querySelectorAll('#' + t + ' tbody tr')].find((x) => x.querySelector('td.name')?.getAttribute('data-name') === r);
    return tr?.querySelector('td[data-col="' + c + '"]')?.textContent ?? '';
  })()`)) as string;
/** Polls with page.evaluate: waitForFunction's string form compiles in the page, which the
 *  page's own Content-Security-Policy (no eval) rightly refuses. */
async function waitFor(page: Page, expression: string, timeout = 30_000): Promise<unknown> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value: unknown = await page.evaluate(expression);
    if (value !== false && value !== null && value !== undefined && value !== 0) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const num = async (page: Page, table: string, row: string, col: string): Promise<number> => Number(await cell(page, table, row, col));
const text = async (page: Page, id: string): Promise<string> => (await page.textContent(`#${id}`)) ?? '';

describe('the web UI in headless Chromium', () => {
  it('starts, updates, changes users, shows the live gap, stops and shows the report', async (ctx) => {
    if (browser === undefined) {
      console.warn(`web-ui-browser: skipped: ${launchError}`);
      ctx.skip();
      return;
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(web.url)) outside.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(web.url);
    expect(await text(page, 'state')).toBe('ready');

    // Start from the page.
    await page.fill('#users', '2');
    await page.fill('#spawn-rate', '10');
    await page.click('#start');
    await waitFor(page, `['running', 'spawning'].includes(document.getElementById('state')?.textContent ?? '')`);

    // The table and the charts grow.
    await waitFor(page, `Number(document.querySelector('#stats-table tfoot td[data-col="requests"]')?.textContent ?? 0) > 0`);
    const first = await num(page, 'stats-table', 'total', 'requests');
    const firstPoints = Number(await page.getAttribute('#chart-rps', 'data-points'));
    await waitFor(
      page,
      `Number(document.querySelector('#stats-table tfoot td[data-col="requests"]')?.textContent ?? 0) > ${first} &&
       Number(document.getElementById('chart-rps')?.dataset.points ?? 0) > ${firstPoints} &&
       Number(document.getElementById('chart-rps')?.dataset.rps ?? 0) > 0`,
    );
    expect(await num(page, 'stats-table', '/page', 'requests')).toBeGreaterThan(0);
    expect(Number(await page.getAttribute('#chart-times', 'data-p95'))).toBeGreaterThan(0);
    // A hostile request name shows as text and runs nothing.
    await waitFor(page, `[...document.querySelectorAll('#stats-table td.name')].some((td) => td.getAttribute('data-name') === ${JSON.stringify(HOSTILE)})`);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await num(page, 'stats-table', HOSTILE, 'failures')).toBeGreaterThan(0);
    await waitFor(page, `(document.querySelector('#failures-table tbody')?.textContent ?? '').includes('HTTP 500')`);

    // Change the user count while running.
    await page.fill('#users', '5');
    await page.click('#start');
    await waitFor(page, `document.getElementById('user-count')?.textContent === '5'`);
    await waitFor(page, `Number(document.getElementById('chart-users')?.dataset.users ?? 0) === 5`);

    // The live gap: requests that opened a connection waited the proxy's hold, which the server
    // never saw; reused ones did not. Read while the test is still running.
    const live = await waitFor(
      page,
      `(() => {
        const row = document.querySelector('#gap-table tfoot tr');
        const v = (c) => Number(row?.querySelector('td[data-col="' + c + '"]')?.textContent ?? NaN);
        const opened = v('opened-gap-p50');
        return opened >= ${DELAY} * 0.9 ? { opened, reused: v('reused-gap-p50'), state: document.getElementById('state')?.textContent } : false;
      })()`,
      60_000,
    );
    const gap = live as { opened: number; reused: number; state: string };
    expect(['running', 'spawning']).toContain(gap.state);
    expect(gap.opened).toBeGreaterThanOrEqual(DELAY * 0.9);
    expect(gap.opened).toBeLessThan(DELAY * 3);
    expect(gap.reused).toBeLessThan(DELAY / 2);
    expect(await cell(page, 'gap-table', 'GET /after-fresh', 'coverage')).toBe('100 %');
    expect(Number(await cell(page, 'gap-table', 'GET /after-fresh', 'opened-share').then((t) => t.replace(' %', '')))).toBeGreaterThan(0);
    // The moment an endpoint's spans stop continuing the trace, the page warns (test still running).
    const warned = (await waitFor(
      page,
      `(() => { const w = document.getElementById('warnings')?.textContent ?? ''; return w.includes('GET /later') ? { w, state: document.getElementById('state')?.textContent } : false; })()`,
      60_000,
    )) as { w: string; state: string };
    expect(warned.w).toMatch(/Propagation coverage of GET \/later fell to 0 %/);
    expect(['running', 'spawning']).toContain(warned.state);
    expect(await cell(page, 'gap-table', 'GET /later', 'recent-coverage')).toBe('0 %');
    await page.screenshot({ path: SCREENSHOTS.live1280, fullPage: true });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: SCREENSHOTS.live1920, fullPage: true });

    // Stop, then the analyzer's report for this run appears on the same page.
    await page.click('#stop');
    await waitFor(page, `document.getElementById('state')?.textContent === 'stopped'`, 60_000);
    await waitFor(page, `document.getElementById('report-status')?.dataset.state === 'ready'`, 90_000);
    const runId = await text(page, 'run-id');
    const frame = page.frameLocator('#report-frame');
    await expect.poll(async () => (await frame.locator('body').textContent({ timeout: 10_000 })) ?? '', { timeout: 20_000 }).toContain(runId);
    // The report's frame is out of process (sandboxed): only an element screenshot captures it.
    await page.locator('#report-frame').screenshot({ path: SCREENSHOTS.report });
    expect(outside, 'the page fetched something from elsewhere').toEqual([]);
    expect(errors).toEqual([]);
    console.log(`web-ui-browser: live gap ${gap.opened} ms (new connection) vs ${gap.reused} ms (reused); screenshots: ${Object.values(SCREENSHOTS).join(', ')}`);
  }, 240_000);
});
