// `npm run bench:peers` — head to head on one machine, in one run: firstspan's generator, real
// Locust (HttpUser, the only Locust user class --otel traces), Artillery (with and without its
// OpenTelemetry tracing), Gatling and autocannon against the same fast local target, traced runs
// exporting spans to the same real `firstspan receive`. Artillery and Gatling are installed by
// their project scripts (bench/peer-tools.ts); a tool that cannot be had is left out with the reason.
//
// The figure of merit is requests per CPU-second of the load generator: how much load one core
// buys, which is what decides how many generator machines a test needs. CPU time and peak RSS come
// from the kernel's rusage of each tool's process tree (GNU time's wait4), not from sampling.
// Each tool is pinned to core 0; the target and the receiver share core 1, so the tools never
// compete with the things they measure. Requests are counted by each tool itself, and for traced
// runs the spans that reached the receiver's SQLite file are counted too: a traced request whose
// span was dropped is reported, not hidden.
//
// Env knobs: PEERS_BENCH_SECONDS (default 10), PEERS_BENCH_USERS (default 10),
// PEERS_BENCH_ROUNDS (default 2; the table shows each tool's best round and lists every round).
import Database from 'better-sqlite3';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { artilleryArgs, artilleryAvailability, artilleryEnv, artilleryRequests, gatlingArgs, gatlingAvailability, gatlingRequests, writeArtilleryScript } from './peer-tools.ts';
import { LOCUST_BIN, LOCUSTFILES, locustArgs, locustAvailability, locustEnv, REPO_ROOT, summarize, type LocustStat } from '../test/helpers/locust-peer.ts';

const SECONDS = Number(process.env.PEERS_BENCH_SECONDS ?? 10);
const USERS = Number(process.env.PEERS_BENCH_USERS ?? 10);
const ROUNDS = Number(process.env.PEERS_BENCH_ROUNDS ?? 2);
const TIME = '/usr/bin/time';
const FIRSTSPAN_SCRIPT = `${REPO_ROOT}test/fixtures/locust/tight_get.ts`;
// The target: the smallest keep-alive HTTP server Node has, counting what it serves, with the
// count readable on a second port so sampling it never adds to the measured traffic.
const TARGET_PROGRAM = `
const http = require('node:http');
let served = 0;
const s = http.createServer((q, r) => { q.resume(); q.on('end', () => { served++; r.end('ok'); }); });
s.keepAliveTimeout = 60000;
const c = http.createServer((q, r) => r.end(String(served)));
s.listen(0, '127.0.0.1', () => c.listen(0, '127.0.0.1', () => console.log('target on ' + s.address().port + ' count on ' + c.address().port)));
`;
const CLK_TCK = 100;
const pin = existsSync('/usr/bin/taskset') && os.availableParallelism() >= 2;
const TOOL_CORE = ['taskset', '-c', '0'];
const SERVICE_CORE = ['taskset', '-c', '1'];

interface Row {
  tool: string;
  traced: boolean;
  requests: number;
  /** Spans stored by the receiver for this run; undefined for untraced runs. */
  spans?: number;
  wallS: number;
  cpuS: number;
  maxRssMb: number;
  /** Requests and CPU inside the steady window (see steadyRate), when there was one. */
  steady?: { requests: number; cpuS: number };
  /** Steady req per CPU-second of every round, in order (the row itself is the best round). */
  allRounds?: number[];
  note?: string;
}

function steadyPerCpu(r: Row): number {
  return r.steady ? r.steady.requests / r.steady.cpuS : NaN;
}

function startService(argv: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const [cmd, ...args] = pin ? [...SERVICE_CORE, ...argv] : argv;
  const child = spawn(cmd as string, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start:\n${out}`)), 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('close', (code) => reject(new Error(`${argv.join(' ')} exited ${code}:\n${out}`)));
  });
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise((resolve) => child.once('close', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await closed;
  clearTimeout(timer);
}

/** Run a tool to completion under GNU time; returns its stdout and the kernel's rusage figures. */
interface Sample {
  t: number;
  cpuTicks: number;
  served: number;
}

/** utime + stime, in clock ticks, of `root` and every live descendant (from /proc/PID/stat). */
function treeCpuTicks(root: number): number {
  const byParent = new Map<number, Array<{ pid: number; ticks: number }>>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    const list = byParent.get(ppid) ?? [];
    list.push({ pid: Number(entry), ticks });
    byParent.set(ppid, list);
  }
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    for (const child of byParent.get(pid) ?? []) {
      total += child.ticks;
      stack.push(child.pid);
    }
  }
  return total;
}

async function served(countUrl: string): Promise<number> {
  return Number(await (await fetch(countUrl)).text());
}

/**
 * Requests per CPU-second while the tool is under way: from 1 s after the first request reached
 * the target to the last sample before the request count stopped growing. Start-up (module
 * loading, interpreter start) and the final flush are outside the window; the whole-run figure
 * keeps them.
 */
function steadyRate(samples: Sample[]): { requests: number; cpuS: number } | undefined {
  const first = samples.findIndex((s) => s.served > (samples[0]?.served ?? 0));
  if (first < 0) return undefined;
  const startT = (samples[first] as Sample).t + 1000;
  const from = samples.findIndex((s) => s.t >= startT);
  const finalServed = samples[samples.length - 1]?.served ?? 0;
  let to = -1;
  for (let i = samples.length - 1; i > 0; i--) {
    if ((samples[i - 1] as Sample).served < finalServed) {
      to = i - 1;
      break;
    }
  }
  if (from < 0 || to <= from) return undefined;
  const a = samples[from] as Sample;
  const b = samples[to] as Sample;
  return { requests: b.served - a.served, cpuS: (b.cpuTicks - a.cpuTicks) / CLK_TCK };
}

function measured(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number, countUrl: string): Promise<{ code: number | null; stdout: string; stderr: string; wallS: number; cpuS: number; maxRssMb: number; samples: Sample[] }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'peers-time-'));
  const timeFile = join(dir, 'time');
  const full = [TIME, '-o', timeFile, '-f', '%e %U %S %M', ...(pin ? TOOL_CORE : []), ...argv];
  const child = spawn(full[0] as string, full.slice(1), { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const t = performance.now();
      const cpuTicks = treeCpuTicks(child.pid ?? -1);
      samples.push({ t, cpuTicks, served: await served(countUrl) });
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} ran past ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('close', async (code) => {
      clearTimeout(timer);
      sampling = false;
      await sampler;
      try {
        // GNU time writes its line last; a tool's own lines on stderr come before it.
        const line = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
        const [e, u, s, m] = line.split(' ').map(Number) as [number, number, number, number];
        resolve({ code, stdout, stderr, wallS: e, cpuS: u + s, maxRssMb: m / 1024, samples });
      } catch (error) {
        reject(new Error(`no rusage for ${argv.join(' ')}: ${(error as Error).message}\n${stderr.slice(-2000)}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

function countSpans(db: string, service: string): number {
  const sqlite = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return Number(sqlite.prepare('SELECT count(*) FROM spans WHERE service_name = ?').pluck().get(service));
  } finally {
    sqlite.close();
  }
}

/** Spans arrive a moment after the tool exits only if it exits before its exporter is done; wait for them to settle. */
async function settledSpanCount(db: string, service: string): Promise<number> {
  let last = -1;
  for (let i = 0; i < 20; i++) {
    const n = countSpans(db, service);
    if (n === last) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

function cleanOtelEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const key of Object.keys(env)) if (key.startsWith('OTEL_')) delete env[key];
  return { ...env, ...extra };
}

/** Requests firstspan counted, from its `--json` summary (docs/generator.md: `total.count`). */
function firstspanRequests(stdout: string): number {
  const summary = JSON.parse(stdout) as { total?: { count?: number } };
  const count = summary.total?.count;
  if (typeof count !== 'number') throw new Error(`no total.count in firstspan's --json summary: ${stdout.slice(0, 500)}`);
  return count;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'firstspan-peers-'));
  const db = join(dir, 'peers.db');
  const rows: Row[] = [];
  const notes: string[] = [];
  if (!pin) notes.push('taskset or a second core is missing: tools, target and receiver were not pinned to separate cores');
  const target = await startService([process.execPath, '-e', TARGET_PROGRAM], /target on (\d+) count on (\d+)/);
  const targetUrl = `http://127.0.0.1:${target.match[1]}`;
  const countUrl = `http://127.0.0.1:${target.match[2]}/`;
  const receiver = await startService(
    [process.execPath, `${REPO_ROOT}bin/firstspan.js`, 'receive', '--port', '0', '--no-grpc', '--db', db],
    /listening on (http:\/\/\S+)/,
  );
  const otlp = receiver.match[1] as string;
  const timeoutMs = (SECONDS + 60) * 1000;
  console.log(`peers bench: ${ROUNDS} rounds of ${SECONDS} s per tool, ${USERS} users/connections, target ${targetUrl}, receiver ${otlp}${pin ? ', tools on core 0, target+receiver on core 1' : ''}`);

  type Measured = Awaited<ReturnType<typeof measured>>;
  interface Tool {
    name: string;
    traced: boolean;
    /** service.name of its spans, when traced. */
    spanService?: string;
    /** Runs the tool once; returns the rusage and samples, and the tool's own request count. */
    run(): Promise<{ r: Measured; requests: number; note?: string }>;
  }
  const tools: Tool[] = [
    // autocannon: the ceiling, no tracing. Single-threaded, same connection count.
    {
      name: 'autocannon 8',
      traced: false,
      async run() {
        const r = await measured(
          [process.execPath, `${REPO_ROOT}node_modules/autocannon/autocannon.js`, '-c', String(USERS), '-d', String(SECONDS), '--json', `${targetUrl}/`],
          cleanOtelEnv({}),
          timeoutMs,
          countUrl,
        );
        const result = JSON.parse(r.stdout) as { '2xx': number; non2xx: number };
        return { r, requests: result['2xx'] + result.non2xx };
      },
    },
  ];
  // firstspan run, traced (spans to the receiver over OTLP/HTTP protobuf, its default) and not.
  for (const traced of [true, false]) {
    tools.push({
      name: 'firstspan run',
      traced,
      spanService: traced ? 'firstspan-bench' : undefined,
      async run() {
        const r = await measured(
          [process.execPath, `${REPO_ROOT}bin/firstspan.js`, 'run', FIRSTSPAN_SCRIPT, '--host', targetUrl, '-u', String(USERS), '-r', String(USERS * 10), '-t', `${SECONDS}s`, '--headless', '--json', ...(traced ? ['--otel'] : [])],
          cleanOtelEnv(traced ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_SERVICE_NAME: 'firstspan-bench' } : {}),
          timeoutMs,
          countUrl,
        );
        if (r.code !== 0) throw new Error(`firstspan run exited ${r.code}:\n${r.stderr.slice(-3000)}`);
        return { r, requests: firstspanRequests(r.stdout) };
      },
    });
  }
  // Real Locust, HttpUser, traced (--otel, http/protobuf to the same receiver) and not.
  const locust = locustAvailability();
  if (!locust.ok) notes.push(`Locust rows missing: ${locust.detail}`);
  else {
    for (const traced of [true, false]) {
      const options = {
        locustfile: LOCUSTFILES.tightGet,
        host: targetUrl,
        users: USERS,
        spawnRate: USERS * 10,
        runTime: `${SECONDS}s`,
        otel: traced ? { endpoint: otlp, protocol: 'http/protobuf' as const } : undefined,
        timeoutMs,
      };
      tools.push({
        name: locust.detail.replace('locust', 'Locust'),
        traced,
        spanService: traced ? 'locust' : undefined,
        async run() {
          const r = await measured([LOCUST_BIN, ...locustArgs(options)], locustEnv(options), timeoutMs, countUrl);
          return {
            r,
            requests: summarize(JSON.parse(r.stdout) as LocustStat[]).requests,
            note: /CPU usage above/.test(r.stderr) ? 'Locust warned: CPU above 90%' : undefined,
          };
        },
      });
    }
  }

  // Artillery, untraced and traced (its publish-metrics plugin's OpenTelemetry reporter).
  const artillery = artilleryAvailability(REPO_ROOT);
  if (!artillery.ok) notes.push(`Artillery rows missing: ${artillery.detail}`);
  else {
    for (const traced of [true, false]) {
      tools.push({
        name: artillery.detail,
        traced,
        spanService: traced ? 'artillery-bench' : undefined,
        async run() {
          const script = writeArtilleryScript(REPO_ROOT, dir, { targetUrl, users: USERS, seconds: SECONDS, otlp: traced ? otlp : undefined, serviceName: 'artillery-bench' });
          const report = join(dir, 'artillery-report.json');
          const r = await measured(artilleryArgs(REPO_ROOT, script, report), artilleryEnv(cleanOtelEnv({}), SECONDS), timeoutMs, countUrl);
          if (r.code !== 0) throw new Error(`artillery exited ${r.code}:\n${(r.stdout + r.stderr).slice(-3000)}`);
          // Its spans: one per request plus one per virtual user (the scenario span, their parent).
          return { r, requests: artilleryRequests(readFileSync(report, 'utf8')), note: traced ? `spans include one scenario span per virtual user (${USERS})` : undefined };
        },
      });
    }
  }
  // Gatling, untraced: it has no client spans to export.
  const gatling = gatlingAvailability(REPO_ROOT);
  if (!gatling.ok) notes.push(`Gatling row missing: ${gatling.detail}`);
  else {
    tools.push({
      name: gatling.detail,
      traced: false,
      async run() {
        const r = await measured(gatlingArgs(REPO_ROOT, { targetUrl, users: USERS, seconds: SECONDS }), cleanOtelEnv({}), timeoutMs, countUrl);
        if (r.code !== 0) throw new Error(`Gatling exited ${r.code}:\n${(r.stdout + r.stderr).slice(-3000)}`);
        return { r, requests: gatlingRequests(r.stdout) };
      },
    });
  }

  // Rounds interleave the tools, so a burst of outside load hits one round of each rather than
  // every round of one; each tool's best round goes in the table, every round's figure beside it.
  const rounds = new Map<Tool, Row[]>(tools.map((t) => [t, []]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const tool of tools) {
        // Spans of this round = what the receiver holds for the tool's service now, minus before.
        const before = tool.spanService === undefined ? 0 : countSpans(db, tool.spanService);
        const { r, requests, note } = await tool.run();
        const spans = tool.spanService === undefined ? undefined : (await settledSpanCount(db, tool.spanService)) - before;
        const row: Row = { tool: tool.name, traced: tool.traced, requests, spans, wallS: r.wallS, cpuS: r.cpuS, maxRssMb: r.maxRssMb, steady: steadyRate(r.samples), note };
        rounds.get(tool)?.push(row);
        console.log(
          `  round ${round}: ${tool.name}${tool.traced ? ' traced' : ''}: ${requests} requests, ${r.cpuS.toFixed(2)} CPU-s` +
            (row.steady ? `, steady ${(row.steady.requests / row.steady.cpuS).toFixed(0)} req/CPU-s` : '') +
            (spans !== undefined ? `, ${spans} spans stored` : ''),
        );
      }
    }
  } finally {
    await stopService(receiver.child);
    await stopService(target.child);
    rmSync(dir, { recursive: true, force: true });
  }
  for (const runs of rounds.values()) {
    const best = [...runs].sort((a, b) => steadyPerCpu(b) - steadyPerCpu(a))[0];
    if (best) rows.push({ ...best, allRounds: runs.map((r) => steadyPerCpu(r)) });
  }
  console.log('');
  console.log(renderTable(rows, notes));
}

function renderTable(rows: Row[], notes: string[]): string {
  const whole = (r: Row): number => r.requests / r.cpuS;
  const steady = steadyPerCpu;
  const find = (prefix: string, traced: boolean): Row | undefined => rows.find((r) => r.tool.startsWith(prefix) && r.traced === traced);
  const locustTraced = find('Locust', true);
  const autocannon = find('autocannon', false);
  const fsTraced = find('firstspan', true);
  const fsUntraced = find('firstspan', false);
  const ratio = (a: number, b: number | undefined): string => (b === undefined || !Number.isFinite(a / b) ? '–' : (a / b).toFixed(2));
  const header = [
    'tool',
    'traced',
    'requests',
    'spans stored',
    'wall s',
    'CPU s',
    'req per CPU-s (whole run)',
    'req per CPU-s (steady)',
    '× Locust traced (steady)',
    '÷ autocannon (steady)',
    'firstspan traced ÷ this',
    'firstspan untraced ÷ this',
    'peak RSS MB',
    'every round (steady req per CPU-s)',
  ];
  const lines = rows.map((r) => [
    r.tool,
    r.traced ? 'yes' : 'no',
    String(r.requests),
    r.spans === undefined ? '–' : `${r.spans}${r.spans < r.requests ? ` (${r.requests - r.spans} lost)` : ''}`,
    r.wallS.toFixed(1),
    r.cpuS.toFixed(2),
    whole(r).toFixed(0),
    Number.isFinite(steady(r)) ? steady(r).toFixed(0) : '–',
    ratio(steady(r), locustTraced && steady(locustTraced)),
    ratio(steady(r), autocannon && steady(autocannon)),
    fsTraced ? ratio(steady(fsTraced), steady(r)) : '–',
    fsUntraced ? ratio(steady(fsUntraced), steady(r)) : '–',
    r.maxRssMb.toFixed(0),
    (r.allRounds ?? []).map((n) => n.toFixed(0)).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const out = [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)];
  // The targets of docs/benchmarks.md "Head to head", steady requests per CPU-second, this run.
  const target = (label: string, a: Row | undefined, b: Row | undefined, atLeast: number): void => {
    if (a === undefined || b === undefined) return;
    const s = steady(a) / steady(b);
    const w = whole(a) / whole(b);
    out.push(`${label}: ${s.toFixed(2)}× steady, ${w.toFixed(2)}× whole run (target ≥ ${atLeast}×) ${s >= atLeast ? '✓' : '✗'}`);
  };
  out.push('');
  target('firstspan traced vs Locust traced', fsTraced, locustTraced, 5);
  target('firstspan traced vs Artillery traced', fsTraced, find('Artillery', true), 3);
  target('firstspan untraced vs Gatling', fsUntraced, find('Gatling', false), 0.8);
  target('firstspan traced vs autocannon', fsTraced, autocannon, 0.6);
  for (const r of rows) if (r.note) out.push(`note: ${r.tool}${r.traced ? ' traced' : ''}: ${r.note}`);
  for (const n of notes) out.push(`note: ${n}`);
  out.push(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version}, ${new Date().toISOString()}`);
  return out.join('\n');
}

if (!existsSync(TIME) || spawnSync(TIME, ['-f', '%e', 'true']).status !== 0) {
  console.error(`peers bench needs GNU time at ${TIME} (Debian package 'time') to read each tool's rusage`);
  process.exit(2);
}
await main();
