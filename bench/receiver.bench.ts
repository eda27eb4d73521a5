// Receiver throughput: `firstspan receive` in a child process, driven over real HTTP by several
// concurrent clients exporting protobuf batches of 512 generator-like spans. Prints spans/s
// committed (every 200 means committed), p99 export latency, the receiver's peak RSS, and next to
// them, measured in this same run, the raw better-sqlite3 insert rate of the same rows (prepared
// INSERT in 512-row transactions: the ceiling) and the store's own insert path.
//
//   npm run bench:receiver            (env: BENCH_SECONDS=10 BENCH_CLIENTS=8 BENCH_DIR=/dev/shm to take the disk out,
//                                      BENCH_PROFILE=DIR for CPU profiles of the receiver's threads)
//   BENCH_SPANS=20000000 npm run bench:receiver
//                                     long mode: send that many spans (no time limit), print the rate
//                                     of every million and the peak RSS (is ingest flat at scale?)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { applyWriterPragmas, SpanStore } from '../model/store.ts';
import { decodeTracesProtobuf } from '../receiver/decode-protobuf.ts';
import { encodeWith, Oracle } from '../test/helpers/receiver-oracle.ts';
import { startReceiverProcess, type ReceiverProcess } from './receiver-process.ts';

const BATCH = 512;
const LONG_SPANS = process.env.BENCH_SPANS === undefined ? undefined : Number(process.env.BENCH_SPANS);
const SECONDS = LONG_SPANS === undefined ? Number(process.env.BENCH_SECONDS ?? 10) : Infinity;
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
// Hard bound on the request loop, whatever the speed.
const MAX_REQUESTS = LONG_SPANS === undefined ? 20_000 : Math.ceil(LONG_SPANS / BATCH);

/** One batch like the generator's: CLIENT spans with HTTP attributes and connection phases. */
function templateBatch(): Template {
  const spans = [];
  const base = 1_764_000_000_000_000_000n;
  for (let i = 0; i < BATCH; i++) {
    const start = base + BigInt(i) * 1_000_000n + 123n;
    const d = (x: number) => ({ doubleValue: x });
    spans.push({
      traceId: randomBytes(16),
      spanId: randomBytes(8),
      name: 'GET /product/{id}',
      kind: 3,
      flags: 0x101,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + 12_345_678n).toString(),
      attributes: [
        { key: 'http.request.method', value: { stringValue: 'GET' } },
        { key: 'url.full', value: { stringValue: `http://127.0.0.1:8080/product/${i}` } },
        { key: 'server.address', value: { stringValue: '127.0.0.1' } },
        { key: 'server.port', value: { intValue: '8080' } },
        { key: 'http.response.status_code', value: { intValue: '200' } },
        { key: 'firstspan.request.name', value: { stringValue: '/product/{id}' } },
        { key: 'firstspan.user.class', value: { stringValue: 'ShopUser' } },
        { key: 'firstspan.run.id', value: { stringValue: 'bench-run' } },
        { key: 'firstspan.phase.blocked_ms', value: d(0.012) },
        { key: 'firstspan.phase.dns_ms', value: d(0) },
        { key: 'firstspan.phase.connect_ms', value: d(0.2) },
        { key: 'firstspan.phase.tls_ms', value: d(0) },
        { key: 'firstspan.phase.sending_ms', value: d(0.05) },
        { key: 'firstspan.phase.waiting_ms', value: d(11.9) },
        { key: 'firstspan.phase.receiving_ms', value: d(0.18) },
        { key: 'firstspan.connection.reused', value: { boolValue: true } },
      ],
      status: { code: 0 },
    });
  }
  const body = encodeWith(Oracle.TraceRequest, {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'firstspan' } },
            { key: 'firstspan.run.id', value: { stringValue: 'bench-run' } },
          ],
        },
        scopeSpans: [{ scope: { name: 'firstspan', version: '0.1.0' }, spans }],
      },
    ],
  });
  // Where each span's trace id and times sit, so every request can carry fresh ids and later
  // times without re-encoding (times must advance as in a real test: the store's indexes lead
  // with time, and equal times from request to request would insert into their middle).
  const idOffsets = spans.map((s) => body.indexOf(s.traceId));
  if (idOffsets.some((o) => o < 0)) throw new Error('template: trace id not found');
  const timeOffsets = spans.flatMap((s) =>
    [s.startTimeUnixNano, s.endTimeUnixNano].map((t) => {
      const le = Buffer.alloc(8);
      le.writeBigUInt64LE(BigInt(t));
      const at = body.indexOf(le);
      if (at < 0 || body.indexOf(le, at + 1) >= 0) throw new Error('template: a time is not unique');
      return at;
    }),
  );
  return { body, idOffsets, timeOffsets };
}

interface Template {
  body: Buffer;
  idOffsets: number[];
  timeOffsets: number[];
}

/**
 * A copy of the template with unique trace ids (request number in the first 4 bytes, span index
 * next) and times moved on by the request number's worth of 512 ms (spans of later requests start later).
 */
function batchFor(template: Template, n: number): Buffer {
  const body = Buffer.from(template.body);
  template.idOffsets.forEach((o, i) => {
    body.writeUInt32BE(n, o);
    body.writeUInt16BE(i, o + 4);
  });
  const shift = BigInt(n) * BigInt(BATCH) * 1_000_000n;
  for (const o of template.timeOffsets) body.writeBigUInt64LE(body.readBigUInt64LE(o) + shift, o);
  return body;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** CPU seconds used so far by each thread of a process (utime + stime, from /proc). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(`${name}#${tid}`, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** The receiver under test; BENCH_PROFILE=DIR writes a CPU profile of each of its threads there. */
function startReceiver(db: string): Promise<ReceiverProcess> {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  const extra = process.env.BENCH_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];
  return startReceiverProcess(db, [...profile, ...extra]);
}

async function driveHttp(url: string, template: Template, onMillion?: (million: number, at: number) => void) {
  const pool = new Pool(url, { connections: CLIENTS, pipelining: 1 });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  let acked = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const client = async (): Promise<void> => {
    while (performance.now() < deadline && next < MAX_REQUESTS) {
      const body = batchFor(template, next++);
      const t0 = performance.now();
      const res = await pool.request({
        path: '/v1/traces',
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body,
      });
      await res.body.arrayBuffer(); // always consume the response
      latencies.push(performance.now() - t0);
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      if (res.statusCode === 200) {
        acked += BATCH;
        if (acked % 1_000_000 < BATCH) onMillion?.(Math.floor(acked / 1_000_000), performance.now());
      }
      else await new Promise((r) => setTimeout(r, 100)); // honour push-back briefly
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { acked, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), statuses, requests: latencies.length };
}

/** CPU µs per row of each raw run (the best is printed). */
const rawCpuPerRow: number[] = [];

/** The ceiling: the same rows, pre-built, through one prepared INSERT in 512-row transactions. */
function rawInsertRate(dir: string, template: Template, batches: number, tag: string, group: number, keepIndexes = false) {
  const file = join(dir, `raw-${tag}.db`);
  const store = SpanStore.open(file); // the same table...
  store.close();
  const db = new Database(file);
  // ...with no secondary index at all: the index-free ceiling the issue measures against.
  // (With keepIndexes: the store's own write-path indexes, to show what they cost.)
  const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'spans' AND sql IS NOT NULL").pluck().all() as string[];
  if (!keepIndexes) for (const name of indexes) db.exec(`DROP INDEX ${name}`);
  applyWriterPragmas(db); // the same settings as the receiver's store, so the ratio is honest
  const columns = (db.prepare('PRAGMA table_info(spans)').all() as { name: string }[]).map((c) => c.name);
  // Build the exact rows the store would write, outside the timed loop.
  const rowsPerBatch: unknown[][][] = [];
  for (let b = 0; b < batches; b++) rowsPerBatch.push(rowsOf(decodeTracesProtobuf(batchFor(template, 1_000_000 + b)).request));
  const insert = db.prepare(`INSERT INTO spans (${columns.join(',')}) VALUES (${columns.map(() => '?').join(',')})`);
  db.prepare("INSERT INTO resources (resource_id, fingerprint, service_name, run_id, attributes, dropped_attributes_count, schema_url) VALUES (1, 'x', 'firstspan', 'bench-run', '{}', 0, '')").run();
  const tx = db.transaction((rows: unknown[][]) => {
    for (const r of rows) insert.run(r);
  });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < rowsPerBatch.length; i += group) tx(rowsPerBatch.slice(i, i + group).flat());
  const c1 = process.cpuUsage(c0);
  if (!keepIndexes) rawCpuPerRow.push((c1.user + c1.system) / (batches * BATCH));
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return (batches * BATCH) / seconds;

  function rowsOf(request: ReturnType<typeof decodeTracesProtobuf>['request']): unknown[][] {
    const rows: unknown[][] = [];
    for (const rs of request.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) {
          const attrs = JSON.stringify(s.attributes);
          const row: Record<string, unknown> = {
            trace_id: s.traceId, span_id: s.spanId, parent_span_id: null, resource_id: 1, service_name: 'firstspan',
            run_id: 'bench-run', name: s.name, kind: s.kind, start_ns: s.startTimeUnixNano, end_ns: s.endTimeUnixNano,
            status_code: 0, status_message: '', trace_state: '', flags: s.flags, scope_name: 'firstspan', scope_version: '0.1.0',
            scope_attributes: null, scope_schema_url: '', attributes: attrs, events: null, links: null,
            dropped_attributes_count: 0, dropped_events_count: 0, dropped_links_count: 0, request_name: '/product/{id}',
            http_method: 'GET', http_status: 200, phase_blocked_ms: 0.012, phase_dns_ms: 0, phase_connect_ms: 0.2,
            phase_tls_ms: 0, phase_sending_ms: 0.05, phase_waiting_ms: 11.9, phase_receiving_ms: 0.18, connection_reused: 1,
            received_at_ms: Date.now(),
          };
          rows.push(columns.map((c) => row[c] ?? null));
        }
    return rows;
  }
}

/** The store's own path (row building + JSON + insert), without HTTP or decoding. */
function storeInsertRate(dir: string, template: Template, batches: number): number {
  const store = SpanStore.open(join(dir, 'store-path.db'));
  const decoded = Array.from({ length: batches }, (_, b) => decodeTracesProtobuf(batchFor(template, 2_000_000 + b)).request);
  const t0 = performance.now();
  for (const request of decoded) store.insertTraces(request);
  const seconds = (performance.now() - t0) / 1000;
  store.close();
  return (batches * BATCH) / seconds;
}

function decodeRate(template: Template, batches: number): number {
  const bodies = Array.from({ length: batches }, (_, b) => batchFor(template, 3_000_000 + b));
  const t0 = performance.now();
  for (const body of bodies) decodeTracesProtobuf(body);
  return (batches * BATCH) / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'firstspan-bench-rx-'));
  try {
    const template = templateBatch();
    const length = LONG_SPANS === undefined ? `${SECONDS}s` : `until ${LONG_SPANS.toLocaleString('en-US')} spans`;
    console.log(`firstspan receiver benchmark: ${CLIENTS} clients, protobuf batches of ${BATCH} spans (${(template.body.length / 1024).toFixed(0)} KiB), ${length}`);
    const rx = await startReceiver(join(dir, 'http.db'));
    const cpu0 = threadCpu(rx.pid);
    const millions: string[] = [];
    let last = performance.now();
    let rssPeak = 0;
    const http = await driveHttp(rx.url, template, (million, at) => {
      rssPeak = Math.max(rssPeak, peakRssMiB(rx.pid));
      millions.push(`  million ${String(million).padStart(3)}: ${Math.round(1e6 / ((at - last) / 1000)).toLocaleString('en-US').padStart(8)} spans/s, peak RSS so far ${rssPeak.toFixed(0)} MiB`);
      if (LONG_SPANS !== undefined) console.log(millions[millions.length - 1]);
      last = at;
    });
    const cpu1 = threadCpu(rx.pid);
    const rss = peakRssMiB(rx.pid);
    // CPU per span, whole process and its two busiest threads (the HTTP/decoding thread and the
    // writer): what the receiver would sustain with a core per thread, whatever the machine's load.
    const used = [...cpu1].map(([k, v]) => [k, v - (cpu0.get(k) ?? 0)] as const).sort((a, b) => b[1] - a[1]);
    const cpuTotal = used.reduce((a, [, v]) => a + v, 0);
    const summary = await rx.stop();
    const check = new Database(join(dir, 'http.db'), { readonly: true });
    const stored = check.prepare('SELECT count(*) FROM spans').pluck().get() as number;
    check.close();

    // The same number of rows as the receiver committed, into the same schema, twice (the machine
    // is shared: keep the better run): in 512-row transactions (one per request), and in
    // transactions as large as the receiver's group commits averaged.
    const batches = Math.max(50, Math.min(600, Math.round(http.acked / BATCH)));
    const commits = Number(/(\d+) commits/.exec(summary)?.[1] ?? NaN);
    const group = Number.isFinite(commits) && commits > 0 ? Math.max(1, Math.round(http.requests / commits)) : 1;
    const raw512 = Math.max(rawInsertRate(dir, template, batches, 'a', 1), rawInsertRate(dir, template, batches, 'b', 1));
    const rawGroup = Math.max(rawInsertRate(dir, template, batches, 'c', group), rawInsertRate(dir, template, batches, 'd', group));
    const raw = Math.max(raw512, rawGroup);
    const rawIndexed = rawInsertRate(dir, template, batches, 'e', group, true);
    const storePath = storeInsertRate(dir, template, Math.min(batches, 200));
    const decode = decodeRate(template, Math.min(batches, 200));
    const rate = http.acked / http.seconds;
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

    const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
    console.log('');
    console.log(`  receiver over HTTP     ${fmt(rate).padStart(10)} spans/s committed   (${fmt(http.acked)} spans in ${http.seconds.toFixed(1)} s, ${http.requests} requests, statuses ${JSON.stringify(http.statuses)})`);
    console.log(`  export latency         p50 ${http.p50.toFixed(1)} ms   p99 ${http.p99.toFixed(1)} ms`);
    console.log(`  receiver peak RSS      ${rss.toFixed(0)} MiB`);
    const perSpan = (seconds: number): string => `${((seconds * 1e6) / Math.max(1, http.acked)).toFixed(1)} µs/span`;
    console.log(`  receiver CPU           ${perSpan(cpuTotal)} (all threads); busiest threads ${used.slice(0, 2).map(([k, v]) => `${k.split('#')[0]} ${perSpan(v)}`).join(', ')}`);
    console.log(`  rows in the database   ${fmt(stored)} (acknowledged ${fmt(http.acked)})`);
    console.log('  reference, same run, same rows:');
    console.log(`  raw better-sqlite3     ${fmt(raw512).padStart(10)} rows/s   (prepared INSERT of pre-built rows, ${BATCH}-row transactions, ${fmt(batches * BATCH)} rows)`);
    console.log(`  raw better-sqlite3     ${fmt(rawGroup).padStart(10)} rows/s   (same, ${group * BATCH}-row transactions = the receiver's average group commit of ${group} requests)`);
    console.log(`  raw better-sqlite3     ${Math.min(...rawCpuPerRow).toFixed(1)} µs CPU/row at best`);
    console.log(`  raw, store's indexes   ${fmt(rawIndexed).padStart(10)} rows/s   (same, group-sized, with the store's write-path indexes: ${(rawIndexed / rawGroup).toFixed(2)} of the index-free rate)`);
    console.log(`  store.insertTraces     ${fmt(storePath).padStart(10)} spans/s  (row building + JSON + insert, no HTTP/decoding)`);
    console.log(`  protobuf decode only   ${fmt(decode).padStart(10)} spans/s`);
    console.log('');
    console.log(`  receiver / raw ceiling = ${(rate / raw).toFixed(2)}   (ceiling = the better raw rate; target >= 0.50)`);
    // On a machine with a free core per thread the busiest thread sets the pace; on a saturated
    // machine total CPU does. Both ratios against the raw insert's CPU per row:
    const busiest = ((used[0]?.[1] ?? NaN) * 1e6) / Math.max(1, http.acked);
    const rawCpu = Math.min(...rawCpuPerRow);
    console.log(`  by CPU: raw µs/row over the receiver's busiest thread's µs/span = ${(rawCpu / busiest).toFixed(2)} (a core per thread); over all its threads = ${(rawCpu / ((cpuTotal * 1e6) / Math.max(1, http.acked))).toFixed(2)} (a saturated machine)`);
    console.log(`  ${summary}`);
    if (millions.length >= 2) {
      const rateOf = (line: string): number => Number(/:\s+([\d,]+) spans/.exec(line)?.[1]?.replace(/,/g, '') ?? NaN);
      const first = rateOf(millions[0]!);
      const lastRate = rateOf(millions[millions.length - 1]!);
      console.log(`  flat at scale: last million ${fmt(lastRate)} spans/s = ${(lastRate / first).toFixed(2)} of the first (target >= 0.80); peak RSS ${rss.toFixed(0)} MiB (target <= 300)`);
    }
    console.log(`  machine: ${cpus().length} cores, load average ${load}; databases in ${dir}`);
    if (stored < http.acked) console.log('  WARNING: fewer rows than acknowledged spans');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
