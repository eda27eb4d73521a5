// `firstspan receive` as a black box: the listening line, flags and env, config errors, a clean
// stop on SIGTERM with everything committed, and the crash test — kill -9 in the middle of ingest
// loses nothing the receiver acknowledged.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';
import { spawnReceiver } from './helpers/receiver-process.ts';
import { missingSpanIds, spanCount } from './helpers/stored-spans.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-cli-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('firstspan receive', () => {
  it('prints the real URL for --port 0, stores spans, and stops cleanly on SIGTERM', async () => {
    const db = join(dir, 'clean.db');
    const rx = await spawnReceiver(['--port', '0', '--grpc-port', '0', '--db', db]);
    expect(rx.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(rx.url).not.toMatch(/:0$/);
    expect(rx.grpcUrl).toMatch(/^127\.0\.0\.1:\d+$/);
    const res = await post(rx.url, '/v1/traces', tracesProtobuf([oracleSpan({ name: 'cli-1' }), oracleSpan({ name: 'cli-2' })]), PROTO);
    expect(res.status).toBe(200);
    rx.child.kill('SIGTERM');
    const { code } = await rx.exited;
    expect(code).toBe(0);
    expect(rx.stderr()).toMatch(/stopped: 2 stored/);
    expect(spanCount(db)).toBe(2);
  });

  it('requires the bearer token from FIRSTSPAN_RECEIVER_TOKEN and never logs payloads', async () => {
    const rx = await spawnReceiver(['--port', '0', '--no-grpc', '--db', join(dir, 'token.db')], { FIRSTSPAN_RECEIVER_TOKEN: 'from-env' });
    try {
      const body = tracesProtobuf([oracleSpan({ name: 'secret-payload-name' })]);
      expect((await post(rx.url, '/v1/traces', body, PROTO)).status).toBe(401);
      expect((await post(rx.url, '/v1/traces', body, { ...PROTO, authorization: 'Bearer from-env' })).status).toBe(200);
      expect(rx.stdout()).not.toContain('OTLP/gRPC');
    } finally {
      rx.child.kill('SIGINT');
      expect((await rx.exited).code).toBe(0);
    }
    expect(rx.stdout() + rx.stderr()).not.toContain('secret-payload-name');
  });

  it('lists every config problem at once and exits 2', async () => {
    const result = await runCli(['receive', '--port', 'abc', '--max-body-size', 'lots', '--grpc-port', '5', '--no-grpc']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/3 problems/);
    expect(result.stderr).toMatch(/--port must be an integer/);
    expect(result.stderr).toMatch(/--max-body-size must be a size/);
    expect(result.stderr).toMatch(/--grpc-port and --no-grpc contradict/);
  });

  it('exits 2 with a clear message when the port is taken', async () => {
    const first = await spawnReceiver(['--port', '0', '--no-grpc', '--db', join(dir, 'taken-1.db')]);
    try {
      const port = new URL(first.url).port;
      const second = await runCli(['receive', '--port', port, '--no-grpc', '--db', join(dir, 'taken-2.db')]);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/cannot listen for OTLP\/HTTP on 127\.0\.0\.1:\d+: the port is taken \(EADDRINUSE\)/);
      expect(second.stderr).toMatch(/FS_ERR_BAD_CONFIG/);
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
  });

  it('exits 2 naming the database when it cannot be opened', async () => {
    const result = await runCli(['receive', '--port', '0', '--no-grpc', '--db', join(dir, 'no-such-dir', 'x.db')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no-such-dir.*FS_ERR_STORE_OPEN/s);
  });

  it('prints help', async () => {
    const result = await runCli(['receive', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--max-body-size/);
  });
});

describe('crash safety', () => {
  it('kill -9 during ingest loses no acknowledged span', async () => {
    const db = join(dir, 'crash.db');
    const rx = await spawnReceiver(['--port', '0', '--no-grpc', '--db', db]);
    const acked: Buffer[] = [];
    let stop = false;
    let requests = 0;
    // Four clients export 100-span batches as fast as they can until the receiver dies under them.
    const client = async (): Promise<void> => {
      while (!stop && requests < 2000) {
        requests += 1;
        const spans = Array.from({ length: 100 }, () => oracleSpan({ spanId: randomBytes(8) }));
        try {
          const res = await post(rx.url, '/v1/traces', tracesProtobuf(spans, 'crash'), PROTO);
          if (res.status === 200) for (const s of spans) acked.push(s.spanId as Buffer);
        } catch {
          return; // connection refused or reset: the process is gone
        }
      }
    };
    const clients = Array.from({ length: 4 }, client);
    const deadline = Date.now() + 30_000;
    while (acked.length < 5_000 && requests < 2000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    rx.child.kill('SIGKILL');
    const { signal } = await rx.exited;
    stop = true;
    await Promise.all(clients);
    expect(signal).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(5_000);

    const missing = missingSpanIds(db, acked);
    const stored = spanCount(db);
    expect(missing).toHaveLength(0);
    expect(stored).toBeGreaterThanOrEqual(acked.length);
  });
});
