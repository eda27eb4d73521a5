// `firstspan receive` called in the test's own process (receiveCommand(argv, io)), so mutation
// testing sees the command's logic: flags and their problems, the listening line, real OTLP/HTTP
// requests stored, the stop through the io's abort signal (what SIGINT/SIGTERM do in bin/), the
// summary line, a migrated file, a taken port. test/receiver-cli.test.ts runs the real binary.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSize, receiveCommand } from '../receiver/command.ts';
import { ExitCodes, FirstspanError } from '../model/errors.ts';
import { SCHEMA_VERSION, SpanStore } from '../model/store.ts';
import { captureIO, type CapturedIO } from './helpers/command-io.ts';
import { JSON_TYPE, oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';
import { writeV1Store } from './helpers/store-file.ts';
import { spanCount, spanCountNamed } from './helpers/stored-spans.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-receive-command-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  c: CapturedIO;
  done: Promise<number>;
  url: string;
  grpcUrl: string | undefined;
}

const LISTENING = /^firstspan receiver listening on (http:\/\/127\.0\.0\.1:\d+) \(OTLP\/HTTP\)(?:, OTLP\/gRPC on (127\.0\.0\.1:\d+))?, writing (.+)\n$/;

/** Start the command and wait (bounded) for its listening line; a command that returns first fails the test. */
async function start(argv: string[], env: Record<string, string | undefined> = {}): Promise<Running> {
  const c = captureIO({ cwd: dir, env });
  const done = receiveCommand(argv, c.io);
  let returned: number | Error | undefined;
  done.then((code) => (returned = code), (error: unknown) => (returned = error as Error));
  for (let i = 0; i < 1000 && returned === undefined && !c.stdout().includes('\n'); i++) await sleep(10);
  const m = LISTENING.exec(c.stdout());
  if (m === null) throw new Error(`receive did not start (returned ${String(returned)}): stdout ${c.stdout()} stderr ${c.stderr()}`);
  return { c, done, url: m[1]!, grpcUrl: m[2] };
}

async function stop(r: Running): Promise<number> {
  r.c.abort();
  return r.done;
}

function problemsText(problems: string[]): string {
  return `firstspan receive: ${problems.length === 1 ? 'a problem' : `${problems.length} problems`} with the options:\n${problems.map((p) => `  - ${p}`).join('\n')}\nRun 'firstspan receive --help' for usage.\n`;
}

async function call(argv: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIO({ cwd: dir, env });
  const code = await receiveCommand(argv, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

describe('receiveCommand: flags', () => {
  it('prints its help on --help and -h, exit 0, without starting', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await call([flag]);
      expect(r.code).toBe(ExitCodes.OK);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage: firstspan receive \[options\]\n/);
      expect(r.stdout).toContain('--max-queue N');
      expect(r.stdout.endsWith('Docs: docs/receiver.md\n')).toBe(true);
    }
    expect(existsSync(join(dir, 'firstspan.db'))).toBe(false);
  });

  it('names an unknown flag and points at --help, exit 2', async () => {
    const r = await call(['--colour']);
    expect(r.code).toBe(ExitCodes.USAGE);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^firstspan receive: .*--colour.*\nRun 'firstspan receive --help' for usage\.\n$/s);
  });

  it('lists every problem with the flags at once, exit 2', async () => {
    const r = await call(['--port', '65536', '--grpc-port', '70000', '--max-queue', '0', '--max-body-size', 'lots', '--host', ' ', '--db', ' ', '--token', ' ']);
    expect(r).toEqual({
      code: ExitCodes.USAGE,
      stdout: '',
      stderr: problemsText([
        '--port must be at most 65535, got 65536',
        '--grpc-port must be at most 65535, got 70000',
        "--max-queue must be an integer >= 1, got '0'",
        "--max-body-size must be a size such as 64MiB, 4MB or 1000000, got 'lots'",
        '--host must not be empty',
        '--db must not be empty',
        '--token must not be empty (omit it to accept requests without a token)',
      ]),
    });
    const typed = await call(['--port', '1.5', '--grpc-port=-1', '--no-grpc', '--max-body-size', '0']);
    expect(typed).toEqual({
      code: ExitCodes.USAGE,
      stdout: '',
      stderr: problemsText([
        "--port must be an integer >= 0, got '1.5'",
        "--grpc-port must be an integer >= 0, got '-1'",
        "--max-body-size must be a size such as 64MiB, 4MB or 1000000, got '0'",
      ]),
    });
    const both = await call(['--grpc-port', '0', '--no-grpc']);
    expect(both.stderr).toBe(problemsText(['--grpc-port and --no-grpc contradict each other: pass one']));
    const blankEnv = await call(['--port', 'x'], { FIRSTSPAN_RECEIVER_TOKEN: '   ' });
    expect(blankEnv.stderr).toBe(problemsText(["--port must be an integer >= 0, got 'x'"]));
  });

  it('accepts the edges of each range: ports 65535, a body size of 1 byte', async () => {
    // Valid values, so the one problem left is the bad one beside them; nothing starts.
    const r = await call(['--port', '65535', '--grpc-port', '65535', '--max-body-size', '1', '--host', 'x', '--db', 'edge.db', '--token', 't', '--max-queue', '0']);
    expect(r.stderr).toBe(problemsText(["--max-queue must be an integer >= 1, got '0'"]));
  });

  it('parses sizes with and without a unit, in any case, with spaces around', () => {
    expect(parseSize('1000000')).toBe(1_000_000);
    expect(parseSize('1')).toBe(1);
    expect(parseSize(' 64MiB ')).toBe(64 * 1024 ** 2);
    expect(parseSize('4 mb')).toBe(4_000_000);
    expect(parseSize('12KB')).toBe(12_000);
    expect(parseSize('1.25kib')).toBe(1280);
    expect(parseSize('10.75b')).toBe(10);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('3gb')).toBe(3e9);
    for (const bad of ['', '0', '0.5', 'lots', 'x1', '1x', '1 kb x', '1.kb', '1.5.5', '-1', 'mb']) expect(parseSize(bad), bad).toBeUndefined();
  });

  it('returns 130 without listening or creating the database when stopped before it starts', async () => {
    const c = captureIO({ cwd: dir });
    c.abort();
    const code = await receiveCommand(['--port', '0', '--db', 'never.db'], c.io);
    expect(code).toBe(ExitCodes.INTERRUPTED);
    expect(c.stdout() + c.stderr()).toBe('');
    expect(existsSync(join(dir, 'never.db'))).toBe(false);
  });
});

describe('receiveCommand: serving', () => {
  it('stops cleanly when the signal comes while it is still starting, after saying where it listened', async () => {
    const c = captureIO({ cwd: dir });
    const done = receiveCommand(['--port', '0', '--no-grpc', '--db', 'early.db'], c.io);
    c.abort();
    expect(await done).toBe(ExitCodes.OK);
    expect(c.stdout()).toMatch(LISTENING);
    expect(c.stderr()).toMatch(/^firstspan receiver stopped: 0 stored, 0 duplicates ignored, 0 rejected, 0 undecodable requests, 0 pushed back, 0 refused requests, \d+ commits\n$/);
  });

  it('keeps a :memory: store in memory, no file named so', async () => {
    const r = await start(['--port', '0', '--no-grpc', '--db', ':memory:']);
    expect(r.c.stdout()).toBe(`firstspan receiver listening on ${r.url} (OTLP/HTTP), writing :memory:\n`);
    expect((await post(r.url, '/v1/traces', tracesProtobuf([oracleSpan()]), PROTO)).status).toBe(200);
    expect(await stop(r)).toBe(ExitCodes.OK);
    expect(r.c.stderr()).toMatch(/^firstspan receiver stopped: 1 stored, /);
    expect(readdirSync(dir).filter((f) => f.includes('memory'))).toEqual([]);
  });

  it('lets a store that cannot be opened through as its own error, not as a port problem', async () => {
    const r = call(['--port', '0', '--no-grpc', '--db', join('no-such-dir', 'x.db')]);
    await expect(r).rejects.toMatchObject({ code: 'FS_ERR_STORE_OPEN' });
  });

  it('listens on free ports, stores what it is sent, stops on the abort signal and prints the summary', async () => {
    const r = await start(['--port', '0', '--db', 'served.db']);
    const db = join(dir, 'served.db');
    expect(r.c.stdout()).toBe(`firstspan receiver listening on ${r.url} (OTLP/HTTP), OTLP/gRPC on ${r.grpcUrl!}, writing served.db\n`);
    expect(r.url).not.toMatch(/:0$/);
    expect(r.grpcUrl).not.toMatch(/:0$/);
    const body = tracesProtobuf([oracleSpan({ name: 'cmd-a' }), oracleSpan({ name: 'cmd-b' })]);
    expect((await post(r.url, '/v1/traces', body, PROTO)).status).toBe(200);
    // An exporter's retry of the same batch: acknowledged, stored once.
    expect((await post(r.url, '/v1/traces', body, PROTO)).status).toBe(200);
    expect((await post(r.url, '/v1/logs', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{},{},{}]}]}]}', JSON_TYPE)).status).toBe(200);
    expect(await stop(r)).toBe(ExitCodes.OK);
    expect(r.c.stderr()).toMatch(
      /^firstspan receiver stopped: 2 stored, 2 duplicates ignored, 0 rejected, 0 undecodable requests, 0 pushed back, 0 refused requests, \d+ commits, 3 log records not stored\n$/,
    );
    expect(spanCount(db)).toBe(2);
    expect(spanCountNamed(db, 'cmd-a')).toBe(1);
    expect(spanCountNamed(db, 'cmd-b')).toBe(1);
  });

  it('counts undecodable and refused requests in the summary, and logs the refusal', async () => {
    const r = await start(['--port', '0', '--no-grpc', '--db', 'refused.db', '--max-body-size', '1KiB']);
    expect(r.grpcUrl).toBeUndefined();
    expect(r.c.stdout()).toBe(`firstspan receiver listening on ${r.url} (OTLP/HTTP), writing refused.db\n`);
    expect((await post(r.url, '/v1/traces', Buffer.from([0x0a, 0xff, 0xff, 0xff]), PROTO)).status).toBe(400);
    expect((await post(r.url, '/v1/traces', Buffer.alloc(2048, 0x20), JSON_TYPE)).status).toBe(413);
    expect(await stop(r)).toBe(ExitCodes.OK);
    const lines = r.c.stderr().split('\n').filter((l) => l !== '');
    const summary = lines.at(-1)!;
    expect(summary).toMatch(/^firstspan receiver stopped: 0 stored, 0 duplicates ignored, 0 rejected, 1 undecodable requests, 0 pushed back, 2 refused requests \(.+\), \d+ commits$/);
    expect(summary).toContain('1 × HTTP 400');
    expect(summary).toContain('1 × HTTP 413');
    // The first refusal of each kind is logged as it happens, before the summary.
    expect(lines).toHaveLength(3);
    expect(spanCount(join(dir, 'refused.db'))).toBe(0);
  });

  it('requires the bearer token from --token, else from FIRSTSPAN_RECEIVER_TOKEN; a blank variable is no token', async () => {
    const body = (): Buffer => tracesProtobuf([oracleSpan()]);
    const fromEnv = await start(['--port', '0', '--no-grpc', '--db', 'token.db'], { FIRSTSPAN_RECEIVER_TOKEN: ' from-env ' });
    expect((await post(fromEnv.url, '/v1/traces', body(), PROTO)).status).toBe(401);
    expect((await post(fromEnv.url, '/v1/traces', body(), { ...PROTO, authorization: 'Bearer from-env' })).status).toBe(200);
    expect(await stop(fromEnv)).toBe(ExitCodes.OK);
    const fromFlag = await start(['--port', '0', '--no-grpc', '--db', 'token.db', '--token', 'from-flag'], { FIRSTSPAN_RECEIVER_TOKEN: 'from-env' });
    expect((await post(fromFlag.url, '/v1/traces', body(), { ...PROTO, authorization: 'Bearer from-env' })).status).toBe(401);
    expect((await post(fromFlag.url, '/v1/traces', body(), { ...PROTO, authorization: 'Bearer from-flag' })).status).toBe(200);
    expect(await stop(fromFlag)).toBe(ExitCodes.OK);
    const blank = await start(['--port', '0', '--no-grpc', '--db', 'token.db'], { FIRSTSPAN_RECEIVER_TOKEN: '  ' });
    expect((await post(blank.url, '/v1/traces', body(), PROTO)).status).toBe(200);
    expect(await stop(blank)).toBe(ExitCodes.OK);
    expect(spanCount(join(dir, 'token.db'))).toBe(3);
  });

  it('says when it migrated an older store file', async () => {
    const src = join(dir, 'src.db');
    SpanStore.open(src).close();
    writeV1Store(join(dir, 'v1.db'), src, readFileSync(new URL('./fixtures/store-schema-v1.sql', import.meta.url), 'utf8'));
    const r = await start(['--port', '0', '--no-grpc', '--db', 'v1.db']);
    expect(await stop(r)).toBe(ExitCodes.OK);
    expect(r.c.stderr().split('\n')[0]).toBe(
      `firstspan receiver: migrated v1.db from store schema version 1 to ${SCHEMA_VERSION} (append-only: its id indexes are now built by the analyzer)`,
    );
    const again = await start(['--port', '0', '--no-grpc', '--db', 'v1.db']);
    expect(await stop(again)).toBe(ExitCodes.OK);
    expect(again.c.stderr()).toMatch(/^firstspan receiver stopped: /);
  });

  it('says which flag to change when a port is taken, as a FS_ERR_BAD_CONFIG error', async () => {
    const first = await start(['--port', '0', '--db', 'taken.db']);
    try {
      const httpPort = new URL(first.url).port;
      const grpcPort = first.grpcUrl!.split(':')[1]!;
      const http = call(['--port', httpPort, '--no-grpc', '--db', 'taken2.db']);
      await expect(http).rejects.toThrow(FirstspanError);
      await expect(http).rejects.toMatchObject({ cause: expect.objectContaining({ transport: 'OTLP/HTTP' }) });
      await expect(http).rejects.toMatchObject({ code: 'FS_ERR_BAD_CONFIG', message: expect.stringMatching(/OTLP\/HTTP.*\. Pick another --port \(--port 0 picks free ports for both\) or --host\.$/) });
      const grpc = call(['--port', '0', '--grpc-port', grpcPort, '--db', 'taken3.db']);
      await expect(grpc).rejects.toMatchObject({ code: 'FS_ERR_BAD_CONFIG', message: expect.stringMatching(/OTLP\/gRPC.*\. Pick another --grpc-port \(--port 0 picks free ports for both\) or --host\.$/) });
    } finally {
      expect(await stop(first)).toBe(ExitCodes.OK);
    }
  });
});
