// `npm run bench:generator` — what one core of the generator buys, traced and untraced, next to
// autocannon measured in the same run against the same target; and what an idle user costs.
//
// - Target: nginx from Debian's packages when installed (one worker, keep-alive without limit,
//   `return 200`), else the smallest Node keep-alive server in its own process. Both announce a
//   600 s keep-alive (`Keep-Alive: timeout=600`): without it undici closes an idle connection
//   after 4 s, and the idle users below would lose theirs before their RSS is read.
// - Traced runs export every span over OTLP/HTTP protobuf to a real `firstspan receive` in another
//   process; the spans that reached its SQLite file are counted, so dropped spans cannot hide.
//   Twice: with firstspan's encoder (the default) and with the SDK's serializer
//   (FIRSTSPAN_OTLP_ENCODER=sdk); once more tracing one request in ten (OTEL_TRACES_SAMPLER=
//   traceidratio, 0.1); once more into a do-nothing OTLP sink on the receiver's core (the
//   generator's own tracing cost, without the receiver slowing the target that shares its core);
//   then the encoding alone, in this process, CPU per span for both.
// - CPU and peak RSS come from the kernel's rusage of each tool (GNU time), from process start to
//   exit; the generator also reports its own CPU from first user to last flushed span, which
//   leaves out start-up (loading TypeScript and the OTel SDK), and that is the figure compared.
// - The tools run on core 0, target and receiver on core 1 (taskset), when taskset exists.
// - Idle users: 10,000 users that each made one request (so each holds its keep-alive
//   connection) and now wait; RSS against the median of three 1-user runs of the same script.
//
// Env: GEN_BENCH_SECONDS (default 8), GEN_BENCH_USERS (default 20), GEN_BENCH_IDLE_USERS (10000).
import Database from 'better-sqlite3';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OtlpTraceEncoder } from '../generator/otlp-trace-encoder.ts';
import { RequestSpan } from '../generator/otlp-request-span.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin/firstspan.js');
const SECONDS = Number(process.env.GEN_BENCH_SECONDS ?? 8);
const USERS = Number(process.env.GEN_BENCH_USERS ?? 20);
const IDLE_USERS = Number(process.env.GEN_BENCH_IDLE_USERS ?? 10_000);
const TIME = '/usr/bin/time';
const HAVE_TIME = existsSync(TIME);
const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const work = mkdtempSync(path.join(os.tmpdir(), 'firstspan-genbench-'));
const children: ChildProcess[] = [];

function pinned(core: number, argv: string[]): string[] {
  return TASKSET !== undefined && os.cpus().length > 1 ? [TASKSET, '-c', String(core), ...argv] : argv;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startTarget(): Promise<{ url: string; kind: string }> {
  const port = await freePort();
  if (NGINX !== undefined) {
    const conf = path.join(work, 'nginx.conf');
    writeFileSync(
      conf,
      `daemon off; worker_processes 1; pid ${work}/nginx.pid; error_log ${work}/nginx-error.log;
events { worker_connections 16384; }
http { access_log off; keepalive_requests 100000000; keepalive_timeout 600s 600s;
  client_body_temp_path ${work}; proxy_temp_path ${work}; fastcgi_temp_path ${work}; uwsgi_temp_path ${work}; scgi_temp_path ${work};
  server { listen 127.0.0.1:${port}; location / { return 200 "ok"; } } }
`,
    );
    const argv = pinned(1, [NGINX, '-c', conf, '-p', work]);
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
    children.push(child);
    try {
      await waitForPort(port);
      return { url: `http://127.0.0.1:${port}`, kind: 'nginx (1 worker)' };
    } catch {
      child.kill();
    }
  }
  const program = `require('node:http').createServer({ keepAliveTimeout: 600000 }, (q, r) => { q.resume(); q.on('end', () => r.end('ok')); }).listen(${port}, '127.0.0.1');`;
  const argv = pinned(1, [process.execPath, '-e', program]);
  children.push(spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore' }));
  await waitForPort(port);
  return { url: `http://127.0.0.1:${port}`, kind: 'node:http server' };
}

/** Start a server on core 1 and resolve with the URL it prints (the first match of `listening`). */
function startPrintingUrl(name: string, argv: string[], listening: RegExp): Promise<string> {
  const pinnedArgv = pinned(1, argv);
  const child = spawn(pinnedArgv[0] as string, pinnedArgv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = listening.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.on('exit', () => reject(new Error(`${name} exited: ${out}`)));
  });
}

function startReceiver(db: string): Promise<string> {
  return startPrintingUrl('receiver', [process.execPath, BIN, 'receive', '--port', '0', '--grpc-port', '0', '--db', db], /listening on (http:\/\/\S+)/);
}

/**
 * A do-nothing OTLP endpoint (answers 200 to every export, stores nothing) on the receiver's core:
 * the traced run against it shows the generator's own tracing cost, without the receiver's
 * decoding and SQLite work beside the target that shares core 1.
 */
function startSink(): Promise<string> {
  const program = `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/x-protobuf' }); res.end(); }); }).listen(0, '127.0.0.1', function () { console.log('sink on http://127.0.0.1:' + this.address().port); });`;
  return startPrintingUrl('sink', [process.execPath, '-e', program], /sink on (http:\/\/\S+)/);
}

interface Measured {
  stdout: string;
  cpuSeconds: number;
  maxRssKb: number;
  wallSeconds: number;
}

/** Run a command to its end under GNU time; rusage from the kernel. */
function measure(argv: string[], env: Record<string, string> = {}): Promise<Measured> {
  const timeFile = path.join(work, `time-${Math.random().toString(16).slice(2)}`);
  const full = HAVE_TIME ? [TIME, '-o', timeFile, '-f', '%U %S %M', ...argv] : argv;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(full[0] as string, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 60) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0 && code !== 1) return reject(new Error(`${argv.join(' ')} exited ${code}\n${stderr}`));
      const [user, sys, rss] = HAVE_TIME ? readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) : [0, 0, 0];
      resolve({ stdout, cpuSeconds: (user ?? 0) + (sys ?? 0), maxRssKb: rss ?? 0, wallSeconds: (performance.now() - started) / 1000 });
    });
  });
}

const TIGHT = `import { HttpUser, task } from 'firstspan';
export class Tight extends HttpUser { @task async get() { await this.client.get('/'); } }
`;
// Idle users: one task, then a one-hour wait. WITH_CONNECTION's task made one request, so the user
// holds its keep-alive connection (the target announces 600 s; the sockets still open are counted
// when the RSS is read, so a figure without them cannot pass for one with them).
const IDLE = `import { HttpUser, task, constant } from 'firstspan';
export class Idle extends HttpUser {
  override waitTime = constant(3600);
  @task async once() {}
}
`;
const IDLE_WITH_CONNECTION = `import { HttpUser, task, constant } from 'firstspan';
export class Idle extends HttpUser {
  override waitTime = constant(3600);
  @task async once() { await this.client.get('/'); }
}
`;

interface GeneratorSummary {
  total: { count: number; failures: number };
  telemetry: { spansExported: number; spansDropped: number; spansFailed: number; spansNotSampled: number } | null;
  generator: { cpuSeconds: number; maxRssBytes: number };
}

async function runGenerator(url: string, otel: { endpoint: string; encoder?: 'sdk'; sampleRatio?: number } | undefined, runId: string) {
  const script = path.join(work, 'tight.ts');
  writeFileSync(script, TIGHT);
  const argv = pinned(0, [process.execPath, BIN, 'run', script, '--host', url, '-u', String(USERS), '-r', '10000', '-t', `${SECONDS}s`, '--json', '--run-id', runId, ...(otel ? ['--otel'] : [])]);
  const sampling: Record<string, string> = otel?.sampleRatio === undefined ? {} : { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: String(otel.sampleRatio) };
  const m = await measure(argv, otel ? { OTEL_EXPORTER_OTLP_ENDPOINT: otel.endpoint, FIRSTSPAN_OTLP_ENCODER: otel.encoder ?? 'firstspan', ...sampling } : {});
  const summary = JSON.parse(m.stdout) as GeneratorSummary;
  return { ...m, summary };
}

async function runAutocannon(url: string) {
  const program = `const ac = require(${JSON.stringify(path.join(ROOT, 'node_modules/autocannon'))});
const t0 = process.cpuUsage();
ac({ url: ${JSON.stringify(url)}, connections: ${USERS}, duration: ${SECONDS} }, (err, r) => {
  if (err) throw err;
  const c = process.cpuUsage(t0);
  console.log(JSON.stringify({ requests: r.requests.total, errors: r.errors + r.non2xx, cpuSeconds: (c.user + c.system) / 1e6 }));
});`;
  const m = await measure(pinned(0, [process.execPath, '-e', program]));
  return { ...m, summary: JSON.parse(m.stdout) as { requests: number; errors: number; cpuSeconds: number } };
}

/** RSS of a generator once `users` users each made their request and wait. */
async function idleRss(url: string, users: number, source: string): Promise<{ rssKb: number; requests: number; sockets: number }> {
  const script = path.join(work, 'idle.ts');
  writeFileSync(script, source);
  const child = spawn(process.execPath, [BIN, 'run', script, '--host', url, '-u', String(users), '-r', '100000', '--only-summary', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  // Wait until the RSS stops growing (all users spawned, requests done), bounded.
  let last = 0;
  let stable = 0;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && stable < 2) {
    await new Promise((r) => setTimeout(r, 700));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    stable = Math.abs(rss - last) < 256 ? stable + 1 : 0;
    last = rss;
  }
  const sockets = openSockets(child.pid as number);
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGINT');
  await exited;
  const summary = JSON.parse(stdout) as GeneratorSummary;
  return { rssKb: last, requests: summary.total.count, sockets };
}

/** Sockets a process holds open (its keep-alive connections, plus stdio pipes are not sockets). */
function openSockets(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n += 1;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

/**
 * CPU per span of encoding a 512-span export request, firstspan's encoder against the SDK's
 * serializer, for the generator's own spans (fresh ones each round, so the SDK path also pays for
 * the attributes object it reads).
 */
function encoderCost(): { firstspan: number; sdk: number } {
  const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': 'firstspan', 'service.instance.id': crypto.randomUUID(), 'firstspan.run.id': 'bench' }));
  const scope = { name: 'firstspan', version: '0.1.0' };
  const batch = (): RequestSpan[] =>
    Array.from({ length: 512 }, (_, i) => {
      const ids = randomBytes(24).toString('hex');
      const phases = { blocked: Math.random() * 0.1, dns: 0, connect: 0, tls: 0, sending: Math.random() * 0.05, waiting: Math.random(), receiving: Math.random() * 0.1 };
      const outcome = { method: 'GET', name: '/', url: 'http://127.0.0.1:8080/', serverAddress: '127.0.0.1', serverPort: 8080, start: i, end: i + 0.7, phases, reused: true, status: 200, contentLength: 2 };
      return new RequestSpan({ traceId: ids.slice(0, 32), spanId: ids.slice(32), traceFlags: 1, isRemote: false }, 'Tight', 'bench', outcome, resource, scope);
    });
  const encoder = new OtlpTraceEncoder();
  const ways = { firstspan: (spans: RequestSpan[]) => encoder.encode(spans), sdk: (spans: RequestSpan[]) => ProtobufTraceSerializer.serializeRequest(spans) };
  const best = { firstspan: Infinity, sdk: Infinity };
  for (let round = 0; round < 20; round += 1) {
    for (const way of ['firstspan', 'sdk'] as const) {
      const batches = Array.from({ length: 10 }, batch);
      const before = process.cpuUsage();
      for (const spans of batches) ways[way](spans);
      const used = process.cpuUsage(before);
      best[way] = Math.min(best[way], (used.user + used.system) / (10 * 512));
    }
  }
  return best;
}

function countSpans(db: string, runId: string): number {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare('SELECT count(*) AS n FROM spans WHERE run_id = ?').get(runId) as { n: number }).n;
  } finally {
    d.close();
  }
}

async function main(): Promise<void> {
  const target = await startTarget();
  const db = path.join(work, 'bench.db');
  const receiver = await startReceiver(db);
  console.log(`target: ${target.kind} at ${target.url}; receiver ${receiver}; ${USERS} users/connections, ${SECONDS} s each; pinned: ${TASKSET ? 'yes' : 'no'}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  const ac = await runAutocannon(target.url);
  const plain = await runGenerator(target.url, undefined, 'bench-plain');
  const traced = await runGenerator(target.url, { endpoint: receiver }, 'bench-traced');
  // The same traced run with the OTel SDK's own protobuf serializer (FIRSTSPAN_OTLP_ENCODER=sdk).
  const tracedSdk = await runGenerator(target.url, { endpoint: receiver, encoder: 'sdk' }, 'bench-traced-sdk');
  // One request in ten traced (OTEL_TRACES_SAMPLER=traceidratio): what sampling buys back.
  const sampled = await runGenerator(target.url, { endpoint: receiver, sampleRatio: 0.1 }, 'bench-traced-10pct');
  // Every span again, into a sink that stores nothing: the generator's own share of the cost.
  const sink = await startSink();
  const sunk = await runGenerator(target.url, { endpoint: sink }, 'bench-traced-sink');
  // The receiver commits before it answers, and the generator flushed before it exited.
  const stored = countSpans(db, 'bench-traced');

  const rows = [
    { tool: 'autocannon', requests: ac.summary.requests, cpu: ac.summary.cpuSeconds, processCpu: ac.cpuSeconds, rss: ac.maxRssKb },
    { tool: 'firstspan run', requests: plain.summary.total.count, cpu: plain.summary.generator.cpuSeconds, processCpu: plain.cpuSeconds, rss: plain.maxRssKb },
    { tool: 'firstspan run --otel', requests: traced.summary.total.count, cpu: traced.summary.generator.cpuSeconds, processCpu: traced.cpuSeconds, rss: traced.maxRssKb },
    { tool: '  … SDK serializer', requests: tracedSdk.summary.total.count, cpu: tracedSdk.summary.generator.cpuSeconds, processCpu: tracedSdk.cpuSeconds, rss: tracedSdk.maxRssKb },
    { tool: '  … 10 % sampled', requests: sampled.summary.total.count, cpu: sampled.summary.generator.cpuSeconds, processCpu: sampled.cpuSeconds, rss: sampled.maxRssKb },
    { tool: '  … into a null sink', requests: sunk.summary.total.count, cpu: sunk.summary.generator.cpuSeconds, processCpu: sunk.cpuSeconds, rss: sunk.maxRssKb },
  ];
  console.log('\ntool                   requests   req/s   CPU s (run)  req per CPU-s   CPU s (process)  peak RSS MB');
  for (const r of rows) {
    console.log(
      `${r.tool.padEnd(22)} ${String(r.requests).padStart(8)} ${(r.requests / SECONDS).toFixed(0).padStart(7)} ${r.cpu.toFixed(2).padStart(12)} ${(r.requests / r.cpu).toFixed(0).padStart(14)} ${r.processCpu.toFixed(2).padStart(16)} ${(r.rss / 1024).toFixed(0).padStart(12)}`,
    );
  }
  const acRate = ac.summary.requests / ac.summary.cpuSeconds;
  const tracedRate = traced.summary.total.count / traced.summary.generator.cpuSeconds;
  const t = traced.summary.telemetry;
  console.log(`\ntraced spans: ${t?.spansExported} exported, ${t?.spansFailed} failed, ${t?.spansDropped} dropped; ${stored} in the receiver's SQLite`);
  console.log(`traced / autocannon per CPU-second: ${(tracedRate / acRate).toFixed(2)} (target >= 0.5)`);
  const ts = tracedSdk.summary.telemetry;
  console.log(
    `traced with the SDK serializer / autocannon per CPU-second: ${(tracedSdk.summary.total.count / tracedSdk.summary.generator.cpuSeconds / acRate).toFixed(2)} (${ts?.spansExported} exported, ${ts?.spansDropped} dropped; ${countSpans(db, 'bench-traced-sdk')} stored)`,
  );
  const tsm = sampled.summary.telemetry;
  console.log(
    `traced at a 0.1 sampling ratio / autocannon per CPU-second: ${(sampled.summary.total.count / sampled.summary.generator.cpuSeconds / acRate).toFixed(2)} (${tsm?.spansExported} spans exported, ${tsm?.spansNotSampled} requests not sampled; ${countSpans(db, 'bench-traced-10pct')} stored)`,
  );
  console.log(
    `traced into a do-nothing OTLP sink (no receiver beside the target) / autocannon per CPU-second: ${(sunk.summary.total.count / sunk.summary.generator.cpuSeconds / acRate).toFixed(2)} (${sunk.summary.telemetry?.spansExported} spans exported)`,
  );
  const encoding = encoderCost();
  console.log(`span encoding, CPU per span (in-process, best of 20 rounds of 10 × 512): firstspan ${encoding.firstspan.toFixed(2)} µs, SDK serializer ${encoding.sdk.toFixed(2)} µs`);
  console.log(`untraced / autocannon per CPU-second: ${(plain.summary.total.count / plain.summary.generator.cpuSeconds / acRate).toFixed(2)}`);

  console.log('');
  for (const [label, source] of [
    ['idle users (waiting, no connection)', IDLE],
    ['idle users holding a keep-alive connection', IDLE_WITH_CONNECTION],
  ] as const) {
    // The 1-user RSS alone varies by several MB from run to run (when start-up garbage is
    // collected): its median of three keeps that out of the per-user figure.
    const ones = [];
    for (let i = 0; i < 3; i++) ones.push(await idleRss(target.url, 1, source));
    ones.sort((x, y) => x.rssKb - y.rssKb);
    const one = ones[1] as (typeof ones)[number];
    const many = await idleRss(target.url, IDLE_USERS, source);
    const perUser = ((many.rssKb - one.rssKb) * 1024) / (IDLE_USERS - 1);
    console.log(
      `${label}: RSS ${(one.rssKb / 1024).toFixed(1)} MB with 1 user, ${(many.rssKb / 1024).toFixed(1)} MB with ${IDLE_USERS} (${many.requests} requests, ${many.sockets} sockets open): ${(perUser / 1024).toFixed(2)} KB per user (target <= 10 KB)`,
    );
  }
}

try {
  await main();
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  rmSync(work, { recursive: true, force: true });
}
