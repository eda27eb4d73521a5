// `firstspan receive` at its edges, as a black box: refused requests are logged (first of each
// kind, with reason and client address, then rate-limited) and counted by kind in the shutdown
// summary; `--port 0` picks a free gRPC port too, so receivers run side by side; a taken port (HTTP
// or gRPC) ends in one clean error line, exit 2, and no database file left behind.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefusalLog } from '../receiver/refusals.ts';
import { runCli } from './helpers/cli.ts';
import { oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';
import { spawnReceiver } from './helpers/receiver-process.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-edges-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function grpcExport(address: string, metadata = new grpc.Metadata()): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const identity = (b: Buffer): Buffer => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      identity,
      identity,
      tracesProtobuf([oracleSpan()]),
      metadata,
      { deadline: Date.now() + 20_000 },
      (error) => {
        client.close();
        resolve(error ?? null);
      },
    );
  });
}

describe('RefusalLog', () => {
  it('logs the first of a kind at once, then at most once per interval with the number not logged', () => {
    let now = 0;
    const lines: string[] = [];
    const log = new RefusalLog({ log: (l) => lines.push(l), intervalMs: 10_000, now: () => now });
    const refuse = (status: string): void => log.record({ transport: 'HTTP', status, message: `m${status}`, client: '10.0.0.1:5' });
    refuse('415');
    refuse('415');
    refuse('429'); // another kind has its own clock
    now = 9_999;
    refuse('415');
    expect(lines).toHaveLength(2);
    now = 10_000;
    refuse('415');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('firstspan receiver: refused a request from 10.0.0.1:5 with HTTP 415: m415 (2 more HTTP 415 refusals since the last such line)');
    expect(log.summary()).toBe('5 refused requests (4 × HTTP 415, 1 × HTTP 429)');
    expect(new RefusalLog().summary()).toBe('0 refused requests');
  });
});

describe('refusals are visible', () => {
  it('logs the first refusal of each kind with reason and client, then counts them all in the summary', async () => {
    const rx = await spawnReceiver(['--port', '0', '--db', join(dir, 'refusals.db'), '--token', 't0k', '--max-body-size', '2KiB']);
    const auth = { authorization: 'Bearer t0k' };
    const body = tracesProtobuf([oracleSpan()]);
    try {
      for (let i = 0; i < 7; i++) expect((await post(rx.url, '/v1/traces', body, { ...PROTO, ...auth, 'content-encoding': 'br' })).status).toBe(415);
      for (let i = 0; i < 3; i++) expect((await post(rx.url, '/v1/traces', body, PROTO)).status).toBe(401);
      for (let i = 0; i < 2; i++) expect((await post(rx.url, '/v1/traces', Buffer.from('\xff\xff not protobuf'), { ...PROTO, ...auth })).status).toBe(400);
      const big = tracesProtobuf(Array.from({ length: 40 }, () => oracleSpan({ name: 'x'.repeat(100) })));
      expect((await post(rx.url, '/v1/traces', big, { ...PROTO, ...auth })).status).toBe(413);
      expect((await post(rx.url, '/v1/nothing', body, { ...PROTO, ...auth })).status).toBe(404);
      expect((await post(rx.url, '/v1/traces', body, { ...PROTO, ...auth })).status).toBe(200);
      expect((await grpcExport(rx.grpcUrl!))?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await grpcExport(rx.grpcUrl!))?.code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      rx.child.kill('SIGINT');
      expect((await rx.exited).code).toBe(0);
    }
    const err = rx.stderr();
    const lines = err.split('\n');
    // One line per kind, though 415 came seven times: the rest are rate-limited (logged later).
    const logged = (kind: string): string[] => lines.filter((l) => l.includes(`refused a request from 127.0.0.1:`) && l.includes(` with ${kind}:`));
    expect(logged('HTTP 415 FS_ERR_OTLP_MEDIA_TYPE')).toHaveLength(1);
    expect(logged('HTTP 415 FS_ERR_OTLP_MEDIA_TYPE')[0]).toMatch(/unsupported Content-Encoding 'br'.*at most once every 10 s/);
    expect(logged('HTTP 401 FS_ERR_OTLP_UNAUTHENTICATED')).toHaveLength(1);
    expect(logged('HTTP 400 FS_ERR_OTLP_DECODE')).toHaveLength(1);
    expect(logged('HTTP 413 FS_ERR_OTLP_TOO_LARGE')).toHaveLength(1);
    expect(logged('HTTP 404 FS_ERR_OTLP_NOT_FOUND')).toHaveLength(1);
    expect(logged('gRPC UNAUTHENTICATED')).toHaveLength(1);
    expect(logged('gRPC UNAUTHENTICATED')[0]).toMatch(/bearer token/);
    const summary = lines.find((l) => l.includes('receiver stopped:'));
    expect(summary).toContain('1 stored');
    expect(summary).toContain(
      '16 refused requests (7 × HTTP 415 FS_ERR_OTLP_MEDIA_TYPE, 3 × HTTP 401 FS_ERR_OTLP_UNAUTHENTICATED, ' +
        '2 × HTTP 400 FS_ERR_OTLP_DECODE, 2 × gRPC UNAUTHENTICATED, 1 × HTTP 404 FS_ERR_OTLP_NOT_FOUND, 1 × HTTP 413 FS_ERR_OTLP_TOO_LARGE)',
    );
  });
});

describe('ports', () => {
  it('runs two receivers with --port 0 side by side, each on its own HTTP and gRPC port', async () => {
    const a = await spawnReceiver(['--port', '0', '--db', join(dir, 'a.db')]);
    const b = await spawnReceiver(['--port', '0', '--db', join(dir, 'b.db')]);
    try {
      expect(a.stdout()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ \(OTLP\/HTTP\), OTLP\/gRPC on 127\.0\.0\.1:\d+, writing/);
      const ports = [a.url, b.url, `http://${a.grpcUrl}`, `http://${b.grpcUrl}`].map((u) => new URL(u).port);
      expect(new Set(ports).size).toBe(4);
      expect(ports).not.toContain('4317');
      for (const rx of [a, b]) {
        expect((await post(rx.url, '/v1/traces', tracesProtobuf([oracleSpan()]), PROTO)).status).toBe(200);
        expect(await grpcExport(rx.grpcUrl!)).toBeNull();
      }
    } finally {
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect((await a.exited).code).toBe(0);
      expect((await b.exited).code).toBe(0);
    }
    expect(a.stderr()).toMatch(/stopped: 2 stored/);
    expect(b.stderr()).toMatch(/stopped: 2 stored/);
  });

  async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  it.each([
    ['HTTP', '--port', 'OTLP/HTTP'],
    ['gRPC', '--grpc-port', 'OTLP/gRPC'],
  ])('a taken %s port: one clean error line, exit 2, no database left behind', async (_name, flag, transport) => {
    const held = await holdPort();
    const db = join(dir, `taken-${flag}.db`);
    try {
      const args = flag === '--port' ? ['--port', String(held.port)] : ['--port', '0', '--grpc-port', String(held.port)];
      const result = await runCli(['receive', ...args, '--db', db]);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([
        `firstspan: cannot listen for ${transport} on 127.0.0.1:${held.port}: the port is taken (EADDRINUSE). ` +
          `Pick another ${flag} (--port 0 picks free ports for both) or --host. [FS_ERR_BAD_CONFIG]`,
      ]);
      expect(result.stdout).toBe('');
      expect(existsSync(db)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.startsWith(`taken-${flag}.db`))).toEqual([]);
    } finally {
      await held.close();
    }
  });
});
