// `firstspan demo` through the real binary — the "Done when": with a known delay on every
// new connection, the report shows that delay as the gap of the requests that opened a connection
// (p50 within 10 %), the analyzer pairs every request, and nothing the demo started is left running.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli, type CliResult } from './helpers/cli.ts';
import { connectionOpeningGapsMs, rootPhases } from './helpers/stored-spans.ts';

const USERS = 6;
// Large enough that scheduler noise on a busy CI machine stays well inside the 10 % bound.
const DELAY_MS = 500;

/** Processes (other than this one) whose environment carries the marker: the demo's children inherit it. */
function processesWithMarker(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) found.push(Number(entry));
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return found;
}

interface Stats {
  p50: number;
}
interface JsonReport {
  schemaVersion: number;
  runs: {
    runId: string;
    rootSpans: number;
    matched: number;
    propagationCoverage: number;
    total: { count: number; gapMs: Stats; newConnections?: number };
    endpoints: { name: string; count: number; matched: number }[];
    slowestTraces?: { gapMs: number }[];
    summary?: string[];
    findings: { rule: string; endpoint?: string; figures: Record<string, number | string | null> }[];
    serverMetrics: { name: string; service: string; points: { second: number; value: number }[] }[];
  }[];
}

describe('firstspan demo (real binary)', () => {
  let dir: string;
  let result: CliResult;
  let report: JsonReport;
  const marker = `FIRSTSPAN_DEMO_TEST_MARKER=${randomBytes(6).toString('hex')}`;
  const [markerName, markerValue] = marker.split('=') as [string, string];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'firstspan-demo-test-'));
    result = await runCli(
      ['demo', '-u', String(USERS), '-t', '6s', '--connect-delay', `${DELAY_MS}ms`,
        '--db', path.join(dir, 'demo.db'), '--out', path.join(dir, 'report.html'), '--json', path.join(dir, 'report.json')],
      { env: { [markerName]: markerValue }, timeoutMs: 120_000 },
    );
    if (result.code === 0) report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as JsonReport;
  }, 150_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finishes with exit 0, prints the table, and says where the report is', () => {
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain(`Report: ${path.join(dir, 'report.html')}`);
    expect(statSync(path.join(dir, 'report.html')).size).toBeGreaterThan(1000);
    expect(result.stdout).toMatch(/\/product\/\{product_id\}/);
  });

  it('stored spans show the delay as the gap of the requests that opened a connection (p50 within 10 %)', () => {
    const gaps = connectionOpeningGapsMs(path.join(dir, 'demo.db')).sort((a, b) => a - b);
    // Each virtual user keeps one connection alive: one connection-opening request per user.
    expect(gaps.length).toBeGreaterThanOrEqual(USERS);
    // The proxy holds a new connection before the server sees a byte, so each of these gaps is
    // about the delay; a little under is possible, as libuv times a timer from the loop's cached
    // clock and may fire it a few ms early in real time.
    const shown = `gaps of connection-opening requests (ms): ${gaps.map((g) => g.toFixed(1)).join(', ')}`;
    for (const gap of gaps) expect(gap, shown).toBeGreaterThanOrEqual(DELAY_MS * 0.95);
    const p50 = gaps[Math.floor(gaps.length / 2)] as number;
    expect(Math.abs(p50 - DELAY_MS) / DELAY_MS, shown).toBeLessThanOrEqual(0.1);
    expect(result.stdout).toMatch(/✓ the injected delay is the gap/);
  });

  it("the analyzer's report pairs every request and puts the delayed ones at the top of the gaps", () => {
    expect(report.schemaVersion).toBe(1);
    expect(report.runs).toHaveLength(1);
    const run = report.runs[0];
    expect(run?.rootSpans).toBeGreaterThan(USERS * 10);
    expect(run?.matched).toBe(run?.rootSpans);
    expect(run?.propagationCoverage).toBe(1);
    expect(run?.endpoints.map((e) => e.name).sort()).toEqual(['/authenticate', '/cart/add', '/checkout/confirm', '/product/{product_id}']);
    // Reused connections carry almost no gap, so the run's median gap is far below the delay…
    expect(run?.total.gapMs.p50).toBeLessThan(DELAY_MS / 10);
    // …while the traces the report shows as the worst are exactly the connection-opening ones.
    const worst = (run?.slowestTraces ?? []).slice(0, USERS);
    expect(worst).toHaveLength(USERS);
    for (const trace of worst) expect(trace.gapMs).toBeGreaterThanOrEqual(DELAY_MS * 0.95);
  });

  it('says in words where the time went: /authenticate, and the injected delay as a new connection\'s cost (within 10 %)', () => {
    const summary = report.runs[0]?.summary ?? [];
    // Every user's first request is its login, which opens the connection the proxy holds.
    expect(summary[0]).toMatch(/^\/authenticate is where the gap matters most/);
    const m = /^The (\d+) requests? that opened a connection waited ([\d.]+) (ms|s) more than the \d+ that reused one/.exec(summary[1] ?? '');
    expect(m, summary.join('\n')).not.toBeNull();
    const waited = Number(m?.[2]) * (m?.[3] === 's' ? 1000 : 1);
    expect(Math.abs(waited - DELAY_MS) / DELAY_MS, summary.join('\n')).toBeLessThanOrEqual(0.1);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(USERS);
    expect(summary[2]).toMatch(/^Propagation 100% /);
    // The table prints the same sentences at the top of the run.
    for (const sentence of summary) expect(result.stdout).toContain(sentence);
  });

  it("finds the connection churn on /authenticate, and charts the shop's CPU under the timeline", () => {
    const run = report.runs[0];
    const churn = run?.findings.find((f) => f.rule === 'connection-churn' && f.endpoint === '/authenticate');
    expect(churn).toBeDefined();
    // Each opened connection waited the proxy's delay more than a reused one.
    expect(Math.abs(Number(churn?.figures.extraGapMs) - DELAY_MS)).toBeLessThan(DELAY_MS * 0.1);
    const cpu = run?.serverMetrics.find((m) => m.name === 'process.cpu.utilization' && m.service === 'shop');
    expect(cpu?.points.length).toBeGreaterThan(0);
    expect(readFileSync(path.join(dir, 'report.html'), 'utf8')).toContain('class="chart server-metric" data-metric="process.cpu.utilization" data-service="shop"');
  });

  it('leaves no process running', () => {
    expect(processesWithMarker(marker)).toEqual([]);
  });

  it('Ctrl-C stops the load and every child, exit 130', async () => {
    const second = `${markerName}=${randomBytes(6).toString('hex')}`;
    const [name, value] = second.split('=') as [string, string];
    const child = spawnCli(['demo', '-u', '2', '-t', '60s', '--db', path.join(dir, 'interrupted.db')], { [name]: value });
    const done = collect(child, 60_000);
    // Interrupt once the load is running (the generator prints its run line when it starts).
    await new Promise<void>((resolve) => {
      let seen = '';
      child.stderr?.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('firstspan run: run id')) resolve();
      });
    });
    child.kill('SIGINT');
    const interrupted = await done;
    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toMatch(/interrupted/);
    expect(processesWithMarker(second)).toEqual([]);
    expect(existsSync(path.join(dir, 'interrupted.db'))).toBe(true);
  });
});

describe('firstspan demo whose ground-truth check fails (real binary)', () => {
  it('exits 1 and says so when the delay is not found within the tolerance', async () => {
    // A tolerance of 0 asks for the gap to equal the hold to the nanosecond: no run meets it, so
    // the check fails with everything else fine (the analyzer exits 0).
    const dir = mkdtempSync(path.join(tmpdir(), 'firstspan-demo-fail-test-'));
    try {
      const r = await runCli(['demo', '-u', '2', '-t', '2s', '--connect-delay', '100ms', '--tolerance', '0', '--db', path.join(dir, 'demo.db'), '--out', path.join(dir, 'report.html')], {
        timeoutMs: 120_000,
      });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
      expect(r.stdout).toMatch(/✗ the gap differs from the injected delay: found [\d.]+ ms .* off the delay held \(tolerance 0 %\)/);
      expect(r.stdout).toContain(`Report: ${path.join(dir, 'report.html')}`);
      expect(r.stderr).toContain('the ground-truth check failed: the injected delay was not found within the tolerance (exit 1)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});

describe('firstspan demo --tls (real binary)', () => {
  let dir: string;
  let result: CliResult;
  const TLS_DELAY_MS = 300;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'firstspan-demo-tls-test-'));
    // --tolerance 100: this test is about where the hold lands (the tls phase); the ±10 % verdict,
    // which the TLS handshake's own crypto on a busy machine can push past, is the default demo's test.
    result = await runCli(['demo', '--tls', '-u', '3', '-t', '4s', '--connect-delay', `${TLS_DELAY_MS}ms`, '--tolerance', '100', '--db', path.join(dir, 'demo.db'), '--out', path.join(dir, 'report.html')], {
      timeoutMs: 120_000,
    });
  }, 150_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('talks https to the proxy and the hold lands in the tls phase of the connection-opening requests only', () => {
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stderr).toMatch(/proxy\s+https:\/\/127\.0\.0\.1:\d+/);
    // The ±10 % ground-truth verdict is the default demo's test; here the gap also carries the TLS
    // handshake's own crypto, so only that the check ran is asserted.
    expect(result.stdout).toMatch(/Ground truth: the proxy delayed each new connection by 300 ms/);
    const rows = rootPhases(path.join(dir, 'demo.db'));
    const opened = rows.filter((r) => r.reused === 0);
    const reused = rows.filter((r) => r.reused === 1);
    expect(opened.length).toBeGreaterThanOrEqual(3);
    expect(reused.length).toBeGreaterThan(0);
    const shown = `tls phases of connection-opening requests (ms): ${opened.map((r) => r.tls.toFixed(1)).join(', ')}`;
    console.log(shown);
    for (const r of opened) {
      // The proxy's hold starts at its accept, after the client began connecting and before the
      // client (another process, maybe busy) sees its connect event: so connect + tls covers the
      // whole hold, most of it is tls (a busy client handles its connect event late, which moves
      // some of the hold into connect: 30 ms of 300 seen under CI load), none of it time to first byte.
      expect(r.connect + r.tls, shown).toBeGreaterThanOrEqual(TLS_DELAY_MS - 1);
      expect(r.tls, shown).toBeGreaterThanOrEqual(TLS_DELAY_MS / 2);
      expect(r.waiting).toBeLessThan(TLS_DELAY_MS);
    }
    for (const r of reused) {
      expect(r.tls).toBe(0);
      expect(r.connect).toBe(0);
    }
  });
});
