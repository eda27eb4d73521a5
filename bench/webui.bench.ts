// `npm run bench:webui` — what the web UI costs the generator: requests per CPU-second of
// `firstspan run` with the page open in headless Chromium and updating once a second, against the
// same run headless, alternated in the same bench run against the same target (ratios only).
//
// - Target: the smallest Node keep-alive server, in its own process on core 1; the generator on
//   core 0 (taskset, when it exists). Chromium is not pinned: its CPU is not the generator's.
// - The generator reports its own CPU from the first user to the last flushed span (--json's
//   generator.cpuSeconds); with the page that includes serving it, its assets and every update.
// - Without Chromium the page's own event stream is read by a plain HTTP client instead (said so).
//
// Env: WEBUI_BENCH_SECONDS (default 8), WEBUI_BENCH_USERS (default 20), WEBUI_BENCH_ROUNDS (5).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin/firstspan.js');
const SECONDS = Number(process.env.WEBUI_BENCH_SECONDS ?? 8);
const USERS = Number(process.env.WEBUI_BENCH_USERS ?? 20);
const ROUNDS = Number(process.env.WEBUI_BENCH_ROUNDS ?? 5);
const CHROMIUM = '/usr/bin/chromium';
const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));
const work = mkdtempSync(path.join(os.tmpdir(), 'firstspan-webbench-'));
const children: ChildProcess[] = [];

const onCore = (core: number, argv: string[]): string[] => (TASKSET !== undefined && os.cpus().length > 1 ? [TASKSET, '-c', String(core), ...argv] : argv);

function start(argv: string[]): ChildProcess {
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: work });
  children.push(child);
  return child;
}

function startTarget(): Promise<string> {
  const program = `require('node:http').createServer({ keepAliveTimeout: 600000 }, (req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'text/plain', 'keep-alive': 'timeout=600' }); res.end('ok'); }).listen(0, '127.0.0.1', function () { console.log('http://127.0.0.1:' + this.address().port); });`;
  const child = start(onCore(1, [process.execPath, '-e', program]));
  return new Promise((resolve, reject) => {
    child.stdout?.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()));
    child.once('exit', (code) => reject(new Error(`the target exited ${String(code)}`)));
  });
}

interface Outcome {
  requests: number;
  cpuSeconds: number;
  /** Chart points the page had drawn at the end (web runs). */
  points?: number;
}

async function run(url: string, script: string, browser: Browser | undefined, web: boolean): Promise<Outcome> {
  const mode = web ? ['--autostart', '--autoquit', '0', '--web-port', '0'] : ['--headless'];
  const child = start(onCore(0, [process.execPath, BIN, 'run', script, '--host', url, '-u', String(USERS), '-r', '10000', '-t', `${SECONDS}s`, '--json', ...mode]));
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  let points: number | undefined;
  let watcher: Promise<void> = Promise.resolve();
  if (web) {
    let pageUrl: string | undefined;
    while (pageUrl === undefined) {
      pageUrl = /web UI at (\S+)/.exec(stderr)?.[1];
      if (child.exitCode !== null) throw new Error(`firstspan run exited early:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const at = pageUrl;
    watcher = (async () => {
      if (browser !== undefined) {
        const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
        const t0 = performance.now();
        await page.goto(at);
        if (process.env.WEBUI_BENCH_DEBUG) console.log(`page loaded in ${(performance.now() - t0).toFixed(0)} ms`);
        // Read the drawn chart until the process quits (the page loses its server then).
        for (;;) {
          const p = Number(await page.getAttribute('#chart-rps', 'data-points').catch(() => null));
          if (p > 0) points = p;
          if (child.exitCode !== null) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        await page.close();
      } else {
        const response = await fetch(`${at}events`);
        let count = 0;
        const decoder = new TextDecoder();
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) count += (decoder.decode(chunk).match(/event: update/g) ?? []).length;
        points = count;
      }
    })().catch((error: unknown) => {
      if (process.env.WEBUI_BENCH_DEBUG) console.log(`the page watcher failed: ${String(error)}`);
    });
  }
  const code = await exited;
  await watcher;
  if (code !== 0 && code !== 1) throw new Error(`firstspan run exited ${String(code)}:\n${stderr}`);
  const summary = JSON.parse(stdout) as { total: { count: number }; generator: { cpuSeconds: number } };
  return { requests: summary.total.count, cpuSeconds: summary.generator.cpuSeconds, points };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function main(): Promise<void> {
  const script = path.join(work, 'tight.ts');
  writeFileSync(script, `import { HttpUser, task } from 'firstspan';\nexport class Tight extends HttpUser { @task async get() { await this.client.get('/'); } }\n`);
  const url = await startTarget();
  let browser: Browser | undefined;
  if (existsSync(CHROMIUM)) {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  } else {
    console.log(`${CHROMIUM} is missing: the page's event stream is read by a plain HTTP client instead`);
  }
  console.log(`target ${url}; ${USERS} users, ${SECONDS} s a run, ${ROUNDS} rounds; pinned: ${TASKSET ? 'yes' : 'no'}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const ratios: number[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which goes first, so a drift in the machine's load falls on both.
      const order = round % 2 === 1 ? [false, true] : [true, false];
      const results: Record<string, Outcome> = {};
      for (const web of order) results[web ? 'web' : 'headless'] = await run(url, script, browser, web);
      const h = results.headless as Outcome;
      const w = results.web as Outcome;
      const ratio = w.requests / w.cpuSeconds / (h.requests / h.cpuSeconds);
      ratios.push(ratio);
      console.log(
        `round ${round}: headless ${h.requests} requests / ${h.cpuSeconds.toFixed(2)} CPU-s = ${(h.requests / h.cpuSeconds).toFixed(0)}/CPU-s · ` +
          `web UI open ${w.requests} / ${w.cpuSeconds.toFixed(2)} CPU-s = ${(w.requests / w.cpuSeconds).toFixed(0)}/CPU-s (page drew ${w.points ?? 0} points) · ratio ${ratio.toFixed(3)}`,
      );
    }
  } finally {
    await browser?.close();
  }
  const m = median(ratios);
  console.log(`web UI open / headless, requests per CPU-second, median of ${ROUNDS}: ${m.toFixed(3)} (${m >= 0.9 ? 'meets' : 'BELOW'} the 0.9 bar); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });
