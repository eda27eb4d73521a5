// Benchmark (not a test): analysis speed and memory on a large store.
//
//   npm run bench:analyzer                 10 million spans (5 million root/server pairs)
//   npm run bench:analyzer -- --spans 1000000
//
// Builds the database through SpanStore.insertTraces (as the receiver writes it) once, and keeps
// it under os.tmpdir() for the next run of the same size. Then analyses it in a fresh child
// process (so the build does not count towards memory) and prints wall time, CPU time, spans/s
// and peak RSS, next to references measured in the same run on the same file: SQLite alone doing
// the pairing join (a count, no rows to JavaScript), and the pair rows merely iterated in JS.
// Targets (issue 4): at least 1 million spans/s and at most 500 MB.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { analyze } from '../analyzer/analyze.ts';
import { closeShards, openShards, pairRows } from '../analyzer/read-spans.ts';
import { SpanStore } from '../model/store.ts';
import { TraceBuilder, usersMetric, type Phases } from '../test/helpers/analyzer-traces.ts';

const BUILDER_VERSION = 4;
const ENDPOINTS = ['/product/{id}', '/cart/add', '/checkout/confirm', '/authenticate'];
const RATE_PER_S = 2000;

function build(path: string, spans: number): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const pairs = Math.floor(spans / 2);
  const store = SpanStore.open(path);
  const b = new TraceBuilder(3);
  const t0 = performance.now();
  let lastPrint = t0;
  for (let i = 0; i < pairs; i++) {
    const newConnection = i % 40 === 0;
    const server = 5 + (i % 13) + (i % 997 === 0 ? 80 : 0);
    const before = 0.3 + (i % 5) * 0.1;
    const phases: Phases = {
      blocked: i % 7 === 0 ? 1.5 : 0.05,
      dns: newConnection ? 0.4 : 0,
      connect: newConnection ? 12 : 0,
      tls: 0,
      sending: 0.1,
      waiting: before + server + 0.3,
      receiving: 0.4,
    };
    const root = b.root({ startMs: (i * 1000) / RATE_PER_S, method: i % 4 === 1 ? 'POST' : 'GET', requestName: ENDPOINTS[i % 4], phases });
    b.server(root, { beforeMs: before, durationMs: server, offsetMs: 1500, service: 'shop' });
    if (b.size >= 1024) store.insertTraces(b.take());
    const now = performance.now();
    if (now - lastPrint > 5000) {
      lastPrint = now;
      process.stderr.write(`build: ${(i * 2).toLocaleString('en-US')} of ${spans.toLocaleString('en-US')} spans (${(((i * 2) / (now - t0)) * 1000).toFixed(0)} spans/s)\n`);
    }
  }
  store.insertTraces(b.take());
  const seconds = Math.ceil(pairs / RATE_PER_S);
  store.insertMetrics(usersMetric({ points: Array.from({ length: seconds }, (_, s) => ({ atMs: s * 1000, users: Math.min(200, 10 + s) })) }));
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.close();
  process.stderr.write(`build: ${spans.toLocaleString('en-US')} spans in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

interface Measured {
  wallMs: number;
  cpuMs: number;
  maxRssMb: number;
  spans: number;
  roots: number;
}

/** Child-process mode: analyse (or run a reference) once and print the figures as JSON. */
async function measure(mode: string, path: string): Promise<void> {
  const t0 = performance.now();
  const u0 = process.cpuUsage();
  let roots = 0;
  let spans = 0;
  if (mode === 'analyze' || mode === 'analyze-1') {
    const shards = openShards([path]);
    const report = await analyze(shards, { idleGapNs: 30_000_000_000n, topN: 10, threads: mode === 'analyze-1' ? 1 : undefined });
    closeShards(shards);
    for (const r of report.runs) {
      roots += r.rootSpans;
      // Spans analysed: every root plus every server child paired with it, plus background.
      spans += r.rootSpans + r.matched + r.total.extraServerChildren + r.backgroundServerSpans;
    }
  } else if (mode === 'iterate') {
    const shards = openShards([path]);
    const shard = shards[0];
    if (shard === undefined) throw new Error('no shard');
    for (const row of pairRows(shard, { service: 'firstspan', runId: 'run-1', startNs: 0n, lastStartNs: 1n << 62n, originNs: 0n })) {
      roots += 1;
      if (row[10] !== null) spans += 1;
    }
    spans += roots;
    closeShards(shards);
  } else {
    const db = new Database(path, { readonly: true });
    const row = db
      .prepare(
        `SELECT count(*), count(s.rowid) FROM spans r LEFT JOIN spans s ON s.trace_id = r.trace_id AND s.parent_span_id = r.span_id
         AND s.kind = 2 AND s.service_name <> r.service_name
         WHERE r.parent_span_id IS NULL AND r.kind = 3 AND r.service_name = 'firstspan' AND r.run_id IS 'run-1' AND r.start_ns >= 0`,
      )
      .raw()
      .get() as [number, number];
    roots = row[0];
    spans = row[0] + row[1];
    db.close();
  }
  const cpu = process.cpuUsage(u0);
  const out: Measured = {
    wallMs: performance.now() - t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    spans,
    roots,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runChild(mode: string, path: string): Measured {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--measure', mode, '--db', path], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`measure ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Measured;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { spans: { type: 'string' }, measure: { type: 'string' }, db: { type: 'string' }, rebuild: { type: 'boolean' } },
  });
  if (values.measure !== undefined && values.db !== undefined) {
    await measure(values.measure, values.db);
    return;
  }
  const spans = Number(values.spans ?? 10_000_000);
  if (!Number.isInteger(spans) || spans < 2) throw new Error(`--spans must be an integer >= 2, got ${values.spans}`);
  const path = join(tmpdir(), `firstspan-analyzer-bench-${spans}.db`);
  const marker = `${path}.json`;
  const wanted = JSON.stringify({ spans, builder: BUILDER_VERSION });
  if (values.rebuild || !existsSync(path) || !existsSync(marker) || readFileSync(marker, 'utf8') !== wanted) {
    build(path, spans);
    writeFileSync(marker, wanted);
  } else {
    process.stderr.write(`using the cached database ${path}\n`);
  }
  // Warm the page cache once so the three measurements read the same (cached) file.
  runChild('sqlite', path);
  const sqlite = runChild('sqlite', path);
  const iterate = runChild('iterate', path);
  const single = runChild('analyze-1', path);
  const full = runChild('analyze', path);
  const line = (label: string, m: Measured): string =>
    `${label.padEnd(44)} ${(m.wallMs / 1000).toFixed(2).padStart(7)} s  ${(m.cpuMs / 1000).toFixed(2).padStart(7)} s  ${Math.round(m.spans / (m.wallMs / 1000)).toLocaleString('en-US').padStart(11)}  ${Math.round(m.spans / (m.cpuMs / 1000)).toLocaleString('en-US').padStart(11)}  ${m.maxRssMb.toFixed(0).padStart(6)} MB`;
  console.log(`analyzer benchmark: ${spans.toLocaleString('en-US')} spans (${Math.floor(spans / 2).toLocaleString('en-US')} root/server pairs), ${path}`);
  console.log(`${''.padEnd(44)} ${'wall'.padStart(7)}    ${'CPU'.padStart(7)}    ${'spans/s'.padStart(11)}  ${'spans/CPU-s'.padStart(11)}  ${'peak RSS'.padStart(9)}`);
  console.log(line('reference: SQLite pairing join, count only', sqlite));
  console.log(line('reference: pair rows iterated in JS', iterate));
  console.log(line('firstspan analyze, one thread', single));
  console.log(line(`firstspan analyze, ${Math.min(4, availableParallelism())} threads (default)`, full));
  console.log(
    `targets: >= 1,000,000 spans/s (${full.spans / (full.wallMs / 1000) >= 1e6 ? 'met' : 'NOT met'}), <= 500 MB peak RSS (${full.maxRssMb <= 500 ? 'met' : 'NOT met'})`,
  );
}

await main();
