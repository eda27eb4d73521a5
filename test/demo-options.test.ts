// `firstspan demo` flags, the progress line, and the ground-truth check over a real store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpanStore } from '../model/store.ts';
import { checkConnectionGaps, describeCheck } from '../demo/connection-check.ts';
import { resolveDemoOptions } from '../demo/options.ts';
import { formatProgress } from '../demo/progress.ts';
import { runCli } from './helpers/cli.ts';

describe('demo options', () => {
  it('has the embedded defaults of the issue: 20 users, 20 s, 150 ms', () => {
    expect(resolveDemoOptions([])).toMatchObject({ users: 20, spawnRate: 5, runTimeMs: 20_000, connectDelayMs: 150, db: undefined });
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
    const result = resolveDemoOptions(['--users', '0', '--run-time', 'soon', '--connect-delay=-5ms']);
    expect('problems' in result && result.problems.list).toHaveLength(3);
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
      // A new-connection request (gap 150 ms), two reused ones (gap 1 ms, 3 ms), one without a child.
      const insert = store.db.prepare(
        `INSERT INTO spans (trace_id, span_id, parent_span_id, resource_id, service_name, run_id, name, kind, start_ns, end_ns,
          status_code, status_message, trace_state, flags, scope_name, scope_version, scope_schema_url, attributes,
          dropped_attributes_count, dropped_events_count, dropped_links_count, connection_reused, received_at_ms)
         VALUES (?, ?, ?, 1, ?, ?, 'x', ?, ?, ?, 0, '', '', 0, '', '', '', '{}', 0, 0, 0, ?, 0)`,
      );
      store.db.prepare(`INSERT INTO resources (resource_id, fingerprint, service_name, attributes, dropped_attributes_count, schema_url) VALUES (1, 'r', 's', '{}', 0, '')`).run();
      const cases: [number, bigint, bigint, number | null][] = [
        [1, 160n, 10n, 0],
        [2, 11n, 10n, 1],
        [3, 13n, 10n, 1],
        [4, 50n, 0n, 1],
      ];
      for (const [i, client, server, reused] of cases) {
        const t = Buffer.alloc(16, i);
        insert.run(t, Buffer.alloc(8, i), null, 'firstspan', 'run', 3, 0n, client * ms, reused);
        if (server > 0n) insert.run(t, Buffer.alloc(8, 100 + i), Buffer.alloc(8, i), 'shop', null, 2, 1n * ms, (1n + server) * ms, null);
      }
      const check = checkConnectionGaps(store.db, 'run');
      expect(check).toEqual({ opened: { count: 1, p50Ms: 150 }, reused: { count: 2, p50Ms: 2 }, unmatched: 1 });
      expect(describeCheck(check, 150)).toMatch(/✓ the injected delay is the gap/);
      expect(describeCheck({ ...check, opened: { count: 1, p50Ms: 200 } }, 150)).toMatch(/✗/);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
