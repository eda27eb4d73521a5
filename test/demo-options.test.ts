// `firstspan demo` flags, the progress line, and the ground-truth check over a real store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGapRows } from '../model/span-reads.ts';
import { SpanStore } from '../model/store.ts';
import { checkConnectionGaps, describeCheck, judgeCheck } from '../demo/connection-check.ts';
import { resolveDemoOptions } from '../demo/options.ts';
import { formatProgress } from '../demo/progress.ts';
import { runCli } from './helpers/cli.ts';
import { type RawSpan, writeRawSpans } from './helpers/store-file.ts';

describe('demo options', () => {
  it('has the embedded defaults of the issue: 20 users, 20 s, 150 ms', () => {
    expect(resolveDemoOptions([])).toMatchObject({ users: 20, spawnRate: 5, runTimeMs: 20_000, connectDelayMs: 150, db: undefined, tolerancePct: 10 });
    expect(resolveDemoOptions(['--tolerance', '2.5'])).toMatchObject({ tolerancePct: 2.5 });
  });

  it('reads Locust-style durations and bare milliseconds for delays', () => {
    expect(resolveDemoOptions(['-u', '5', '-t', '1m30s', '--connect-delay', '0.3s', '--shop-latency', '4', '-r', '2'])).toMatchObject({
      users: 5,
      spawnRate: 2,
      runTimeMs: 90_000,
      connectDelayMs: 300,
      shopLatencyMs: 4,
    });
  });

  it('keeps the proxy plain TCP unless --tls asks for the TLS one', () => {
    expect(resolveDemoOptions([])).toMatchObject({ tls: false });
    expect(resolveDemoOptions(['--tls'])).toMatchObject({ tls: true });
    expect(resolveDemoOptions([])).toMatchObject({ holdHandshake: false });
    expect(resolveDemoOptions(['--hold-handshake'])).toMatchObject({ holdHandshake: true, tls: false });
  });

  it('reports every bad flag at once', () => {
    const result = resolveDemoOptions(['--users', '0', '--run-time', 'soon', '--connect-delay=-5ms', '--tolerance', 'loose']);
    expect('problems' in result && result.problems.list).toHaveLength(4);
    expect('problems' in result && result.problems.list[3]).toBe("--tolerance must be a number >= 0, got 'loose'");
  });

  it('exits 2 through the real binary on a bad flag, naming the fix', async () => {
    const result = await runCli(['demo', '--users', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--users must be an integer >= 1, got 'many'/);
  });
});

describe('demo progress line', () => {
  it('shows elapsed of total, users, spans and connections', () => {
    const line = formatProgress({ elapsedMs: 10_000, runTimeMs: 20_000, users: 20, spans: 12345, connections: 20 });
    expect(line).toBe('[##########..........]  10s/20s  users 20  spans stored 12,345  new connections 20');
  });
});

describe('demo ground-truth check', () => {
  it('splits the gap between requests that opened a connection and those that reused one', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'firstspan-check-'));
    try {
      const store = SpanStore.open(path.join(dir, 'c.db'));
      const ms = 1_000_000n;
      // A new-connection request (gap 150 ms), two reused ones at the same time (gap 1 ms, 3 ms),
      // one without a child; a reused one 10 s later with a gap of 100 ms (a busy moment, outside
      // the baseline window); one cut off by the stop (gap 40 ms, which would pull every figure).
      const cutOff = JSON.stringify({ 'firstspan.request.cut_off': { boolValue: true } });
      const cases: [number, bigint, bigint, bigint, number | null, string][] = [
        [1, 0n, 160n, 10n, 0, '{}'],
        [2, 0n, 11n, 10n, 1, '{}'],
        [3, 0n, 13n, 10n, 1, '{}'],
        [4, 0n, 50n, 0n, 1, '{}'],
        [5, 10_000n, 110n, 10n, 1, '{}'],
        [6, 0n, 50n, 10n, 0, cutOff],
      ];
      const spans: RawSpan[] = [];
      for (const [i, start, client, server, reused, attributes] of cases) {
        const t = Buffer.alloc(16, i);
        spans.push({ traceId: t, spanId: Buffer.alloc(8, i), parentSpanId: null, service: 'firstspan', runId: 'run', kind: 3, startNs: start * ms, endNs: (start + client) * ms, attributes, connectionReused: reused });
        if (server > 0n) spans.push({ traceId: t, spanId: Buffer.alloc(8, 100 + i), parentSpanId: Buffer.alloc(8, i), service: 'shop', runId: null, kind: 2, startNs: (start + 1n) * ms, endNs: (start + 1n + server) * ms, attributes: '{}', connectionReused: null });
      }
      writeRawSpans(store.path, spans);
      const check = checkConnectionGaps(runGapRows(store, 'run'));
      // The extra gap is measured against the reused requests around it (2 ms), not the run's (3 ms).
      expect(check).toEqual({ opened: { count: 1, p50Ms: 150 }, reused: { count: 3, p50Ms: 3 }, extraMs: 148, baselineMs: 2, unmatched: 1 });
      // Judged against what the proxy really held, not what was asked.
      const injected = { askedMs: 140, heldMs: [150, 146, 300] };
      const verdict = judgeCheck(check, injected, 0.1);
      expect(verdict).toMatchObject({ injectedMs: 150, foundMs: 148, ok: true });
      expect(describeCheck(check, injected, verdict)).toMatch(/held 150\.0 ms at the median[\s\S]*✓ the injected delay is the gap: found 148\.0 ms/);
      expect(judgeCheck(check, injected, 0.01)).toMatchObject({ ok: false });
      expect(judgeCheck({ ...check, extraMs: 200 }, injected, 0.1)).toMatchObject({ ok: false });
      const quietMiss = describeCheck({ ...check, extraMs: 200 }, injected, judgeCheck({ ...check, extraMs: 200 }, injected, 0.1));
      expect(quietMiss).toMatch(/✗ the gap differs from the injected delay: found 200\.0 ms.*33\.3 % off/);
      expect(quietMiss).toMatch(/reused requests around them had a gap p50 of 2\.0 ms \(under 1 ms on a quiet machine\)\n/);
      // A busy machine is named as the likely cause when the noise around is of the tolerance's size.
      const busy = { ...check, extraMs: 200, baselineMs: 40 };
      expect(describeCheck(busy, injected, judgeCheck(busy, injected, 0.1))).toMatch(/gap p50 of 40\.0 ms .*: the machine was too busy for this check/);
      // Nothing paired: the delay was not found; nothing injected: nothing to judge.
      const none = { ...check, opened: { count: 0, p50Ms: undefined }, extraMs: undefined };
      expect(judgeCheck(none, injected, 0.1)).toMatchObject({ ok: false });
      expect(describeCheck(none, injected, judgeCheck(none, injected, 0.1))).toMatch(/✗ no request that opened a connection/);
      expect(judgeCheck(check, { askedMs: 0, heldMs: [] }, 0.1)).toBeUndefined();
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
