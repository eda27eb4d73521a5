// receiver/read-body.ts: the size limit on the wire and after decompression, at exactly the limit
// and one byte past it, over the real receiver (413 / 400 answers, the receiver still working after);
// and readBody itself on real streams for what HTTP cannot show: how the in-flight budget grows,
// a stream closed or failing mid-body, an empty compressed body, an inflater that pushes back.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import lz4js from 'lz4js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyError, readBody, type BodyBudget } from '../receiver/read-body.ts';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';
import { spanCountNamed } from './helpers/stored-spans.ts';

const LIMIT = 64 * 1024;

function varint(n: number): number[] {
  const bytes: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) bytes.push((n & 0x7f) | 0x80);
  bytes.push(n);
  return bytes;
}

/** One span named `name`, padded with an unknown field (number 100, skipped by the decoder) to exactly `size` bytes. */
function tracesOfSize(name: string, size: number): Buffer {
  const base = tracesProtobuf([oracleSpan({ name })]);
  for (let lengthBytes = 1; lengthBytes <= 4; lengthBytes++) {
    const pad = size - base.length - 2 - lengthBytes;
    if (varint(pad).length === lengthBytes) return Buffer.concat([base, Buffer.from([0xa2, 0x06, ...varint(pad)]), Buffer.alloc(pad, 0x20)]);
  }
  throw new Error(`cannot pad to ${size} bytes`);
}

/** A chunked body (no Content-Length), so the receiver can only learn its size by reading it. */
const chunked = (body: Buffer): Readable => Readable.from([body.subarray(0, 1000), body.subarray(1000)]);

let dir: string;
let receiver: RunningReceiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-body-'));
  receiver = await startReceiver({ db: join(dir, 'b.db'), port: 0, maxBodyBytes: LIMIT });
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

const stored = (name: string): number => spanCountNamed(receiver.store.path, name);

describe('the body limit over the real receiver', () => {
  it('sizes the padded requests exactly', () => {
    for (const size of [LIMIT - 1, LIMIT, LIMIT + 1]) expect(tracesOfSize('x', size).length).toBe(size);
  });

  it('an identity body of exactly the limit sent chunked is stored; one byte more is 413 naming the limit', async () => {
    const at = await post(receiver.url, '/v1/traces', chunked(tracesOfSize('body-at-limit', LIMIT)), PROTO);
    expect(at.status, at.body.toString()).toBe(200);
    expect(stored('body-at-limit')).toBe(1);
    const over = await post(receiver.url, '/v1/traces', chunked(tracesOfSize('body-over-limit', LIMIT + 1)), PROTO);
    expect(over.status).toBe(413);
    expect(over.body.toString()).toContain(`request body is larger than the limit of ${LIMIT} bytes`);
    expect(stored('body-over-limit')).toBe(0);
  });

  it.each([
    ['gzip', (b: Buffer) => gzipSync(b)],
    ['lz4', (b: Buffer) => Buffer.from(lz4js.compress(b))],
  ] as const)('%s: a body of exactly the limit decompressed is stored; one byte more is 413', async (encoding, encode) => {
    const at = await post(receiver.url, '/v1/traces', encode(tracesOfSize(`${encoding}-at-limit`, LIMIT)), { ...PROTO, 'content-encoding': encoding });
    expect(at.status, at.body.toString()).toBe(200);
    expect(stored(`${encoding}-at-limit`)).toBe(1);
    const over = await post(receiver.url, '/v1/traces', encode(tracesOfSize(`${encoding}-over`, LIMIT + 1)), { ...PROTO, 'content-encoding': encoding });
    expect(over.status).toBe(413);
    expect(over.body.toString()).toContain(`limit of ${LIMIT} bytes`);
    expect(stored(`${encoding}-over`)).toBe(0);
  });

  it('a corrupt compressed body is 400 naming the encoding; an empty one is an empty request', async () => {
    const corrupt = await post(receiver.url, '/v1/traces', Buffer.from('not gzip'), { ...PROTO, 'content-encoding': 'gzip' });
    expect(corrupt.status).toBe(400);
    expect(corrupt.body.toString()).toMatch(/cannot decompress gzip body: ./);
    const empty = await post(receiver.url, '/v1/traces', Buffer.alloc(0), { ...PROTO, 'content-encoding': 'gzip' });
    expect(empty.status, empty.body.toString()).toBe(200);
    const after = await post(receiver.url, '/v1/traces', gzipSync(tracesProtobuf([oracleSpan({ name: 'after-corrupt' })])), { ...PROTO, 'content-encoding': 'gzip' });
    expect(after.status).toBe(200);
    expect(stored('after-corrupt')).toBe(1);
  });
});

/** readBody over a real stream of the given chunks. */
const read = (chunks: Buffer[], encoding: Parameters<typeof readBody>[1] = 'identity', limit = 1024 * 1024, budget?: BodyBudget): Promise<Buffer> =>
  readBody(Readable.from(chunks), encoding, limit, budget);

async function bodyError(promise: Promise<unknown>): Promise<BodyError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BodyError);
    return error as BodyError;
  }
  throw new Error('the body was read');
}

describe('readBody on real streams', () => {
  it('grows the in-flight budget by what the body outgrows, at least 64 KiB at a time', async () => {
    const calls: [number, number][] = [];
    const budget: BodyBudget = { reserved: 0, grow: (bytes, own) => (calls.push([bytes, own]), true) };
    const chunks = [randomBytes(100), randomBytes(100_000), randomBytes(200_000), randomBytes(10)];
    const body = await read(chunks, 'identity', 1024 * 1024, budget);
    expect(body.equals(Buffer.concat(chunks))).toBe(true);
    // 100 > 0: +64 KiB; 100,100 > 65,536: +64 KiB; 300,100 > 131,072: +169,028; 300,110 > 300,100: +64 KiB.
    expect(calls).toEqual([
      [65_536, 0],
      [65_536, 65_536],
      [169_028, 131_072],
      [65_536, 300_100],
    ]);
    expect(budget.reserved).toBe(365_636);
  });

  it('a budget that cannot grow refuses the body as busy', async () => {
    const budget: BodyBudget = { reserved: 1000, grow: () => false };
    const error = await bodyError(read([randomBytes(1000), randomBytes(1)], 'identity', 1024 * 1024, budget));
    expect(error).toMatchObject({ kind: 'busy', code: 'FS_ERR_OTLP_BUSY', name: 'BodyError', message: 'too many request bytes in flight; retry later' });
  });

  it('the limit counts the decompressed bytes exactly', async () => {
    const data = Buffer.from('0123456789'.repeat(500));
    expect((await read([gzipSync(data)], 'gzip', 5000)).equals(data)).toBe(true);
    const error = await bodyError(read([gzipSync(data)], 'gzip', 4999));
    expect(error).toMatchObject({ kind: 'too_large', code: 'FS_ERR_OTLP_TOO_LARGE', message: 'request body is larger than the limit of 4999 bytes' });
  });

  it('the limit counts the bytes on the wire too: a compressed body larger than it is refused, whatever it decompresses to', async () => {
    // Random bytes do not compress: gzip's output is a few bytes longer than its input.
    const data = randomBytes(4000);
    const gz = gzipSync(data);
    expect(gz.length).toBeGreaterThan(4000);
    expect((await read([gz], 'gzip', gz.length)).equals(data)).toBe(true);
    const error = await bodyError(read([gz.subarray(0, 2000), gz.subarray(2000)], 'gzip', gz.length - 1));
    expect(error).toMatchObject({ kind: 'too_large', code: 'FS_ERR_OTLP_TOO_LARGE', message: `request body is larger than the limit of ${gz.length - 1} bytes` });
  });

  it('an empty compressed body is an empty buffer', async () => {
    expect((await read([], 'gzip')).length).toBe(0);
    expect((await read([], 'lz4')).length).toBe(0);
  });

  it('a large compressed body, which the inflater takes slower than it arrives, is read whole', async () => {
    // Incompressible: gunzip's output keeps pace with its input, so writes fill its buffer and it asks for a pause.
    const data = randomBytes(3 * 1024 * 1024);
    const gz = gzipSync(data);
    const pieces = Array.from({ length: Math.ceil(gz.length / 65_536) }, (_, i) => gz.subarray(i * 65_536, (i + 1) * 65_536));
    expect((await read(pieces, 'gzip', 4 * 1024 * 1024)).equals(data)).toBe(true);
  });

  it('a stream closed before its end, or failing, is an aborted body', async () => {
    const closed = new PassThrough();
    const pending = readBody(closed, 'identity', 1000);
    closed.write('partial');
    closed.destroy();
    expect(await bodyError(pending)).toMatchObject({ kind: 'aborted', code: 'FS_ERR_OTLP_DECODE', message: 'client closed the connection mid-body' });
    const failing = new PassThrough();
    const failed = readBody(failing, 'gzip', 1000);
    failing.write(gzipSync('x').subarray(0, 5));
    failing.destroy(new Error('connection reset'));
    expect(await bodyError(failed)).toMatchObject({ kind: 'aborted', message: 'error reading body: connection reset' });
  });
});
