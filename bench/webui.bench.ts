// `npm run bench:webui` — what the web UI costs the generator: requests per CPU-second of
// `firstspan run` with the page open in headless Chromium and updating once a second, against the
// same run headless, alternated in the same bench run against the same target (ratios only).
//
// - Target: the smallest Node keep-alive server, in its own process on core 1; the generator on
//   core 0 (taskset, when it exists); Chromium on core 1 too (on a real desk it is elsewhere).
// - Headless: `firstspan run -t Ns --headless --json`. With the page: `firstspan run` serving its
//   UI, the page opened in Chromium first, then the test started by POST /swarm (the Start
//   button's request, with run_time) and watched on the page until it says stopped; the figures
//   come from the page's own /stats/json.
// - Both report the generator's own CPU from the first user to the last flushed span; with the
//   page that includes every per-second update and the event stream that carries it.
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

async function headless(url: string, script: string): Promise<Outcome> {
  const child = start(onCore(0, [process.execPath, BIN, 'run', script, '--host', url, '-u', String(USERS), '-r', '10000', '-t', `${SECONDS}s`, '--json', '--headless']));
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0 && code !== 1) throw new Error(`firstspan run exited ${String(code)}:\n${stderr}`);
  const summary = JSON.parse(stdout) as { total: { count: number }; generator: { cpuSeconds: number } };
  return { requests: summary.total.count, cpuSeconds: summary.generator.cpuSeconds };
}

/** The same test started from an open page (as a user would), its figures read from the page's
 *  own /stats/json once it has stopped. */
async function withPage(url: string, script: string, browser: Browser | undefined): Promise<Outcome> {
  const child = start(onCore(0, [process.execPath, BIN, 'run', script, '--host', url, '-u', String(USERS), '-r', '10000', '--web-port', '0']));
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  let at: string | undefined;
  while (at === undefined) {
    at = /web UI at (\S+)/.exec(stderr)?.[1];
    if (child.exitCode !== null) throw new Error(`firstspan run exited early:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const page = await browser?.newPage({ viewport: { width: 1440, height: 900 } });
  let stream: AbortController | undefined;
  let updates = 0;
  if (page !== undefined) {
    await page.goto(at);
    await page.waitForSelector('#state[data-state="ready"]');
  } else {
    stream = new AbortController();
    const response = await fetch(`${at}events`, { signal: stream.signal });
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) updates += (decoder.decode(chunk).match(/event: update/g) ?? []).length;
    })().catch(() => undefined);
  }
  const started = (await (await fetch(`${at}swarm`, { method: 'POST', body: new URLSearchParams({ user_count: String(USERS), spawn_rate: '10000', run_time: `${SECONDS}s` }) })).json()) as { success: boolean; message: string };
  if (!started.success) throw new Error(`POST /swarm: ${started.message}`);
  // Wait on the page (not on the server) for the end of the test.
  let points = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    if (page !== undefined) {
      points = Math.max(points, Number(await page.getAttribute('#chart-rps', 'data-points')));
      if ((await page.getAttribute('#state', 'data-state')) === 'stopped') break;
    } else if (((await (await fetch(`${at}stats/requests`)).json()) as { state: string }).state === 'stopped') break;
  }
  const summary = (await (await fetch(`${at}stats/json`)).json()) as { total: { count: number }; generator: { cpuSeconds: number } | null };
  await page?.close();
  stream?.abort();
  child.kill('SIGINT');
  await exited;
  if (summary.generator === null) throw new Error('the stopped test reported no CPU');
  return { requests: summary.total.count, cpuSeconds: summary.generator.cpuSeconds, points: page !== undefined ? points : updates };
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
    // The browser shares the target's core, not the generator's (on a real desk it is elsewhere).
    const wrapper = path.join(work, 'chromium-on-core-1');
    writeFileSync(wrapper, TASKSET !== undefined ? `#!/bin/sh\nexec ${TASKSET} -c 1 ${CHROMIUM} "$@"\n` : `#!/bin/sh\nexec ${CHROMIUM} "$@"\n`, { mode: 0o755 });
    browser = await chromium.launch({ executablePath: wrapper, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  } else {
    console.log(`${CHROMIUM} is missing: the page's event stream is read by a plain HTTP client instead`);
  }
  console.log(`target ${url}; ${USERS} users, ${SECONDS} s a run, ${ROUNDS} rounds; pinned: ${TASKSET ? 'yes' : 'no'}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const ratios: number[] = [];
  const streamRatios: number[] = [];
  const rate = (o: Outcome): number => o.requests / o.cpuSeconds;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Rotate the order, so a drift in the machine's load falls on every variant.
      const variants = ['headless', 'page', 'stream'];
      const order = [...variants.slice((round - 1) % 3), ...variants.slice(0, (round - 1) % 3)];
      const results: Record<string, Outcome> = {};
      for (const v of order) {
        results[v] = v === 'headless' ? await headless(url, script) : await withPage(url, script, v === 'page' ? browser : undefined);
      }
      const h = results.headless as Outcome;
      const p = results.page as Outcome;
      const st = results.stream as Outcome;
      ratios.push(rate(p) / rate(h));
      streamRatios.push(rate(st) / rate(h));
      console.log(
        `round ${round}: headless ${h.requests} req / ${h.cpuSeconds.toFixed(2)} CPU-s = ${rate(h).toFixed(0)}/CPU-s · ` +
          `page open${browser === undefined ? ' (no Chromium: plain client)' : ''} ${p.requests} / ${p.cpuSeconds.toFixed(2)} = ${rate(p).toFixed(0)} (${p.points ?? 0} chart points) · ` +
          `events read by a plain client ${st.requests} / ${st.cpuSeconds.toFixed(2)} = ${rate(st).toFixed(0)} (${st.points ?? 0} updates) · ` +
          `ratios ${(rate(p) / rate(h)).toFixed(3)}, ${(rate(st) / rate(h)).toFixed(3)}`,
      );
    }
  } finally {
    await browser?.close();
  }
  const m = median(ratios);
  const ms = median(streamRatios);
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`with the page open in Chromium / headless, requests per CPU-second, median of ${ROUNDS}: ${m.toFixed(3)} (${m >= 0.9 ? 'meets' : 'BELOW'} the 0.9 bar)`);
  console.log(`with the event stream read by a plain client (the generator's own cost of the UI) / headless: ${ms.toFixed(3)}; load average ${load}`);
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
