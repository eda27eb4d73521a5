// Every Content-Encoding the receiver reads (receiver/decoders/), over real HTTP and gRPC sockets:
// each codec's body is stored, each codec's bomb (small on the wire, over the limit decompressed)
// gets 413 / RESOURCE_EXHAUSTED, corrupt bodies get 400, and the receiver keeps working after each.
// Encoders are independent of the decoders: node:zlib, the zstd command-line tool, snappyjs's
// compressor, lz4js; the snappy framing is written here from framing_format.txt.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import lz4js from 'lz4js';
import snappyjs from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWhole } from '../receiver/decoders/index.ts';
import { maskedCrc32c } from '../receiver/decoders/snappy.ts';
import { startReceiver, type RunningReceiver } from '../receiver/start.ts';
import { oracleSpan, post, PROTO, tracesProtobuf } from './helpers/receiver-http.ts';
import { spanCountNamed } from './helpers/stored-spans.ts';

const LIMIT = 64 * 1024;
const TRACE = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** Why a command-line encoder cannot run here (Debian packages; scripts/install-test-peers.sh installs them). */
function missingTool(tool: string): string | undefined {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `no ${tool} command-line tool (Debian package ${tool}; scripts/install-test-peers.sh installs it)`;
  }
}
const zstdCli = missingTool('zstd');
const lz4Cli = missingTool('lz4');
if (zstdCli) console.warn(`zstd round-trip cases skipped: ${zstdCli}`);
if (lz4Cli) console.warn(`lz4 linked-block case skipped: ${lz4Cli}`);

/** The snappy framing format (github.com/google/snappy framing_format.txt): identifier, then chunks of <= 64 KiB. */
function snappyFramed(data: Buffer, { compressed = true } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59])];
  for (let at = 0; at < data.length; at += 65_536) {
    const piece = data.subarray(at, at + 65_536);
    const payload = compressed ? Buffer.from(snappyjs.compress(piece)) : piece;
    const header = Buffer.alloc(8);
    header[0] = compressed ? 0x00 : 0x01;
    header.writeUIntLE(payload.length + 4, 1, 3);
    header.writeUInt32LE(maskedCrc32c(piece), 4);
    parts.push(header, payload);
  }
  return Buffer.concat(parts);
}

const encoders: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => gzipSync(b),
  zlib: (b) => deflateSync(b),
  deflate: (b) => deflateSync(b),
  zstd: (b) => execFileSync('zstd', ['-q', '-c', '--no-content-size'], { input: b }),
  snappy: (b) => Buffer.from(snappyjs.compress(b)),
  'x-snappy-framed': (b) => snappyFramed(b),
  lz4: (b) => Buffer.from(lz4js.compress(b)),
};
const ENCODINGS = Object.keys(encoders);
const runs = (encoding: string): boolean => encoding !== 'zstd' || zstdCli === undefined;

/** A zstd frame of `blocks` RLE blocks of 128 KiB each (4 bytes apiece on the wire), written by hand. */
function zstdRleFrame(blocks: number, windowDescriptor = 0x58 /* 8 MiB */): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, windowDescriptor])];
  for (let i = 0; i < blocks; i++) {
    const header = ((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0]));
  }
  return Buffer.concat(parts);
}

let dir: string;
let receiver: RunningReceiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'firstspan-rx-codecs-'));
  receiver = await startReceiver({ db: join(dir, 'c.db'), port: 0, grpcPort: 0, maxBodyBytes: LIMIT });
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

const stored = (name: string): number => spanCountNamed(receiver.store.path, name);
const stillWorks = async (): Promise<void> => {
  expect((await post(receiver.url, '/v1/traces', tracesProtobuf([oracleSpan()]), PROTO)).status).toBe(200);
};

describe('OTLP/HTTP Content-Encodings', () => {
  it.each(ENCODINGS)('%s: a compressed body is stored', async (encoding) => {
    if (!runs(encoding)) return console.warn(`skipped: ${zstdCli}`);
    // Large enough for several snappy chunks / LZ4 blocks, still under the limit decompressed.
    const spans = Array.from({ length: 150 }, () => oracleSpan({ name: `codec-${encoding}` }));
    const body = tracesProtobuf(spans);
    expect(body.length).toBeLessThan(LIMIT);
    const res = await post(receiver.url, '/v1/traces', encoders[encoding]!(body), { ...PROTO, 'content-encoding': encoding });
    expect(res.status, res.body.toString()).toBe(200);
    expect(stored(`codec-${encoding}`)).toBe(150);
  });

  it.each(ENCODINGS)('%s: a bomb (1 MiB of zeros) is refused with 413 after at most the limit', async (encoding) => {
    if (!runs(encoding)) return console.warn(`skipped: ${zstdCli}`);
    const bomb = encoders[encoding]!(Buffer.alloc(1024 * 1024));
    expect(bomb.length).toBeLessThan(LIMIT);
    const res = await post(receiver.url, '/v1/traces', bomb, { ...PROTO, 'content-encoding': encoding });
    expect(res.status).toBe(413);
    expect(res.body.toString()).toMatch(/limit of 65536 bytes/);
    await stillWorks();
  });

  it.each(ENCODINGS)('%s: a corrupt body is refused with 400', async (encoding) => {
    const res = await post(receiver.url, '/v1/traces', Buffer.from('this is not compressed at all, not even a little'), { ...PROTO, 'content-encoding': encoding });
    expect(res.status).toBe(400);
    expect(res.body.toString()).toMatch(/cannot decompress/);
  });

  it('snappy: a framed body sent as `snappy` is read too (as the Collector\'s own receiver does)', async () => {
    const body = tracesProtobuf([oracleSpan({ name: 'snappy-framed-as-snappy' })]);
    const res = await post(receiver.url, '/v1/traces', snappyFramed(body, { compressed: false }), { ...PROTO, 'content-encoding': 'snappy' });
    expect(res.status).toBe(200);
    expect(stored('snappy-framed-as-snappy')).toBe(1);
  });

  it('snappy framed: a chunk whose checksum does not match is refused', async () => {
    const framed = snappyFramed(tracesProtobuf([oracleSpan()]));
    framed.writeUInt8(framed.readUInt8(framed.length - 1) ^ 0xff, framed.length - 1);
    const res = await post(receiver.url, '/v1/traces', framed, { ...PROTO, 'content-encoding': 'x-snappy-framed' });
    expect(res.status).toBe(400);
    expect(res.body.toString()).toMatch(/checksum/);
  });

  it('zstd: an RLE bomb (4 bytes per 128 KiB) stops at the limit', async () => {
    const bomb = zstdRleFrame(64); // 8 MiB out of 262 bytes
    const res = await post(receiver.url, '/v1/traces', bomb, { ...PROTO, 'content-encoding': 'zstd' });
    expect(res.status).toBe(413);
    await stillWorks();
  });

  it('zstd: a frame declaring a 2 GiB window is refused before any window is allocated', async () => {
    const res = await post(receiver.url, '/v1/traces', zstdRleFrame(1, 0xa8), { ...PROTO, 'content-encoding': 'zstd' });
    expect(res.status).toBe(413);
    expect(res.body.toString()).toMatch(/window/);
  });

  it.skipIf(lz4Cli !== undefined)('lz4: linked 64 KiB blocks (lz4 -BD -B4), whose matches reach into earlier blocks, decode exactly', async () => {
    const body = tracesProtobuf(Array.from({ length: 4000 }, (_, i) => oracleSpan({ name: `linked-${i % 7}` })));
    expect(body.length).toBeGreaterThan(4 * 64 * 1024);
    const framed = execFileSync('lz4', ['-q', '-c', '-BD', '-B4'], { input: body });
    expect(framed[4]! & 0x20).toBe(0); // block independence flag off: the blocks are linked
    expect((await decodeWhole('lz4', framed, 1024 * 1024)).equals(body)).toBe(true);
  });

  it('the CRC-32C is Castagnoli\'s (check value of "123456789" is 0xe3069283)', () => {
    const crc = 0xe3069283;
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe((((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0);
  });

  it('an unknown encoding still gets 415, naming the ones that work', async () => {
    const res = await post(receiver.url, '/v1/traces', Buffer.from('x'), { ...PROTO, 'content-encoding': 'br' });
    expect(res.status).toBe(415);
    expect(res.body.toString()).toMatch(/gzip, zstd, snappy, x-snappy-framed, zlib, deflate, lz4/);
  });
});

describe('the decoders on damaged input', () => {
  // Seeded, so a failure reproduces: a small LCG is enough to scatter byte flips and cuts.
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };

  it.each(['zstd', 'snappy', 'x-snappy-framed', 'lz4'] as const)('%s: flipped bytes and cuts end in output within the limit or an error', async (encoding) => {
    if (!runs(encoding)) return console.warn(`skipped: ${zstdCli}`);
    const body = tracesProtobuf(Array.from({ length: 60 }, () => oracleSpan()));
    const compressed = encoders[encoding]!(body);
    const outcomes = { decoded: 0, refused: 0 };
    for (let i = 0; i < 300; i++) {
      const damaged = Buffer.from(compressed);
      for (let k = 0; k <= random(3); k++) damaged[random(i % 2 === 0 ? Math.min(damaged.length, 32) : damaged.length)] = random(256);
      const input = i % 3 === 0 ? damaged.subarray(0, random(damaged.length)) : damaged;
      try {
        const out = await decodeWhole(encoding, input, LIMIT);
        expect(out.length).toBeLessThanOrEqual(LIMIT);
        outcomes.decoded += 1;
      } catch (error) {
        expect(error).toBeInstanceOf(Error);
        outcomes.refused += 1;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});

/** One unary gRPC call over a raw HTTP/2 stream, so any grpc-encoding can be sent. */
function grpcCall(address: string, message: Buffer, encoding: string, { compressed = true } = {}): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': TRACE, 'content-type': 'application/grpc', te: 'trailers', 'grpc-encoding': encoding });
    let status: number | undefined;
    let text = '';
    const note = (headers: http2.IncomingHttpHeaders): void => {
      if (headers['grpc-status'] !== undefined) status = Number(headers['grpc-status']);
      if (typeof headers['grpc-message'] === 'string') text = decodeURIComponent(headers['grpc-message']);
    };
    stream.on('response', note);
    stream.on('trailers', note);
    stream.on('data', () => undefined);
    stream.on('close', () => {
      session.close();
      if (status === undefined) reject(new Error('no grpc-status'));
      else resolve({ status, message: text });
    });
    const prefix = Buffer.alloc(5);
    prefix[0] = compressed ? 1 : 0;
    prefix.writeUInt32BE(message.length, 1);
    stream.end(Buffer.concat([prefix, message]));
  });
}

describe('OTLP/gRPC grpc-encodings beyond grpc-js\'s gzip/deflate', () => {
  // gRPC's snappy is the framing format (configgrpc's snappy compressor uses snappy.NewBufferedWriter).
  const grpcEncoders: Record<string, (b: Buffer) => Buffer> = { zstd: encoders.zstd!, snappy: (b) => snappyFramed(b) };

  it.each(Object.keys(grpcEncoders))('%s: a compressed message is stored', async (encoding) => {
    if (!runs(encoding)) return console.warn(`skipped: ${zstdCli}`);
    const body = tracesProtobuf(Array.from({ length: 20 }, () => oracleSpan({ name: `grpc-codec-${encoding}` })));
    const result = await grpcCall(receiver.grpcUrl!, grpcEncoders[encoding]!(body), encoding);
    expect(result.status, result.message).toBe(0);
    expect(stored(`grpc-codec-${encoding}`)).toBe(20);
  });

  it.each(Object.keys(grpcEncoders))('%s: a bomb gets RESOURCE_EXHAUSTED', async (encoding) => {
    if (!runs(encoding)) return console.warn(`skipped: ${zstdCli}`);
    const result = await grpcCall(receiver.grpcUrl!, grpcEncoders[encoding]!(Buffer.alloc(1024 * 1024)), encoding);
    expect(result.status).toBe(8);
    expect(result.message).toMatch(/limit of 65536 bytes/);
  });

  it('a corrupt zstd message gets INVALID_ARGUMENT', async () => {
    const result = await grpcCall(receiver.grpcUrl!, Buffer.from('garbage, not zstd'), 'zstd');
    expect(result.status).toBe(3);
  });

  it('an unknown grpc-encoding still gets UNIMPLEMENTED, naming the ones that work', async () => {
    const result = await grpcCall(receiver.grpcUrl!, Buffer.from('x'), 'br');
    expect(result.status).toBe(12);
    expect(result.message).toMatch(/grpc-encoding 'br' is not supported; use gzip, deflate, zstd, snappy or identity/);
  });

  it('a message sent uncompressed (flag 0) under a zstd grpc-encoding header is still read', async () => {
    const body = tracesProtobuf([oracleSpan({ name: 'grpc-flag-0' })]);
    const result = await grpcCall(receiver.grpcUrl!, body, 'zstd', { compressed: false });
    expect(result.status, result.message).toBe(0);
    expect(stored('grpc-flag-0')).toBe(1);
  });
});
