// The body decoders (receiver/decoders/) in this thread, byte for byte: every codec's output equals
// its input for many sizes and for the body pushed whole, in 1-byte pieces and in random pieces; the
// size limit holds at exactly the limit and one byte past it; each malformed frame is refused with
// an error that names what is wrong. Inputs come from real encoders (node:zlib, lz4js, snappyjs, the
// zstd command-line tool or node:zlib's zstd where this Node has it) and, for what an encoder never
// writes, from frames built here from the specs: github.com/lz4/lz4 doc/lz4_Frame_format.md and
// doc/lz4_Block_format.md, RFC 8878 (zstd) and github.com/google/snappy framing_format.txt.
import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import lz4js from 'lz4js';
import snappyjs from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { createDecoder, decodeWhole, supportedEncoding, type ContentEncoding } from '../receiver/decoders/index.ts';
import { lz4Decoder } from '../receiver/decoders/lz4.ts';
import { CorruptInput, DecodedTooLarge, type PushDecoder } from '../receiver/decoders/push-decoder.ts';
import { maskedCrc32c, snappyDecoder, snappyFramedDecoder } from '../receiver/decoders/snappy.ts';
import { zstdDecoder } from '../receiver/decoders/zstd.ts';

type Encoding = Exclude<ContentEncoding, 'identity'>;
const KIB = 1024;
const MIB = 1024 * KIB;

/** Seeded, so a failure reproduces. */
function lcg(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
}

const samples = new Map<string, Buffer>();

/** Text-like bytes: repeated words (matches for the compressors) between random bytes (literals). */
function sample(size: number, seed = size): Buffer {
  const key = `${size}/${seed}`;
  const known = samples.get(key);
  if (known !== undefined) return known;
  const random = lcg(seed + 1);
  const words = ['span', 'trace', 'http.request.method', 'GET', 'service.name', 'checkout', '\u0000\u0000\u0000'];
  const out = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    if (random(4) === 0) out[at++] = random(256);
    else at += out.write(words[random(words.length)]!, at);
  }
  samples.set(key, out);
  return out;
}

type Chunking = 'whole' | 'bytes' | 'random';
const CHUNKINGS: Chunking[] = ['whole', 'bytes', 'random'];

function split(input: Uint8Array, how: Chunking, seed = 7): Uint8Array[] {
  if (how === 'whole') return [input];
  const random = lcg(seed);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < input.length; ) {
    const n = how === 'bytes' ? 1 : 1 + random(3 * KIB);
    parts.push(input.subarray(at, at + n));
    at += n;
  }
  return parts;
}

/** A push decoder's whole output, the input pushed in the given pieces. */
function decodePush(decoder: PushDecoder, input: Uint8Array, how: Chunking = 'whole'): Buffer {
  const out: Buffer[] = [];
  const collect = (data: Uint8Array): void => void out.push(Buffer.from(data));
  for (const part of split(input, how)) decoder.push(part, collect);
  decoder.end(collect);
  return Buffer.concat(out);
}

/** The error a push decoder throws for `input` (pushed whole), or a failure when it throws none. */
function refusal(decoder: PushDecoder, input: Uint8Array, how: Chunking = 'whole'): Error {
  try {
    decodePush(decoder, input, how);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the decoder accepted the input');
}

/** createDecoder's stream (the one read-body.ts uses), fed in pieces. */
function decodeStream(encoding: Encoding, input: Buffer, limit: number, how: Chunking = 'whole'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts = split(input, how).map((p) => Buffer.from(p.buffer, p.byteOffset, p.length));
    const decoder = createDecoder(encoding, parts[0] ?? Buffer.alloc(0), limit);
    const out: Buffer[] = [];
    decoder.on('data', (chunk: Buffer) => out.push(chunk));
    decoder.on('error', reject);
    decoder.on('end', () => resolve(Buffer.concat(out)));
    for (const part of parts) decoder.write(part);
    decoder.end();
  });
}

// ---------------------------------------------------------------------------------------------
// LZ4 frames, built by hand from doc/lz4_Frame_format.md and doc/lz4_Block_format.md.

/** One sequence: literals, then (unless it is the last) a match `length` bytes long, `offset` back. */
function seq(literals: Uint8Array | string, match?: { offset: number; length: number }): Buffer {
  const lit = typeof literals === 'string' ? Buffer.from(literals) : Buffer.from(literals);
  const bytes: number[] = [];
  const extend = (n: number): void => {
    for (; n >= 255; n -= 255) bytes.push(255);
    bytes.push(n);
  };
  const matchCode = match === undefined ? 0 : match.length - 4;
  bytes.push((Math.min(lit.length, 15) << 4) | Math.min(matchCode, 15));
  if (lit.length >= 15) extend(lit.length - 15);
  bytes.push(...lit);
  if (match !== undefined) {
    bytes.push(match.offset & 0xff, match.offset >> 8);
    if (matchCode >= 15) extend(matchCode - 15);
  }
  return Buffer.from(bytes);
}

interface Lz4Block {
  /** Compressed block data, or the stored bytes of an uncompressed block. */
  data: Uint8Array;
  uncompressed?: boolean;
}

interface Lz4FrameOptions {
  independent?: boolean;
  blockChecksum?: boolean;
  contentSize?: number;
  contentChecksum?: boolean;
  dictionary?: boolean;
  version?: number;
  /** Block Maximum Size code, 4–7. */
  blockMaxCode?: number;
  endMark?: boolean;
}

function lz4Frame(blocks: Lz4Block[], o: Lz4FrameOptions = {}): Buffer {
  const flg =
    ((o.version ?? 1) << 6) |
    (o.independent === false ? 0 : 0x20) |
    (o.blockChecksum ? 0x10 : 0) |
    (o.contentSize !== undefined ? 0x08 : 0) |
    (o.contentChecksum ? 0x04 : 0) |
    (o.dictionary ? 0x01 : 0);
  const parts: Buffer[] = [Buffer.from([0x04, 0x22, 0x4d, 0x18, flg, (o.blockMaxCode ?? 4) << 4])];
  if (o.contentSize !== undefined) {
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(o.contentSize));
    parts.push(size);
  }
  if (o.dictionary) parts.push(Buffer.from([1, 2, 3, 4]));
  // Header checksum: not verified by the receiver (lz4.ts says why), so any byte does.
  parts.push(Buffer.from([0xa5]));
  for (const block of blocks) {
    const size = Buffer.alloc(4);
    size.writeUInt32LE((block.data.length | (block.uncompressed ? 0x80000000 : 0)) >>> 0);
    parts.push(size, Buffer.from(block.data));
    if (o.blockChecksum) parts.push(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  }
  if (o.endMark !== false) parts.push(Buffer.alloc(4));
  if (o.contentChecksum && o.endMark !== false) parts.push(Buffer.from([0xc0, 0xff, 0xee, 0x00]));
  return Buffer.concat(parts);
}

/** A skippable frame (magic 0x184D2A5x, then a 4-byte size) holding `size` bytes: LZ4 and zstd share the form. */
function skippable(size: number, nibble = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50 + nibble, 0);
  head.writeUInt32LE(size, 4);
  return Buffer.concat([head, Buffer.alloc(size, 0x5a)]);
}

const lz4 = (input: Uint8Array, how: Chunking = 'whole'): Buffer => decodePush(lz4Decoder(), input, how);
const lz4Refusal = (input: Uint8Array, how: Chunking = 'whole'): Error => refusal(lz4Decoder(), input, how);

describe('LZ4 frames', () => {
  const sizes = [0, 1, 15, 16, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1];
  it.each(sizes)('lz4js frame of %i bytes decodes exactly, pushed whole, byte by byte and in random pieces', (size) => {
    const input = sample(size);
    const frame = Buffer.from(lz4js.compress(input));
    for (const how of CHUNKINGS) expect(lz4(frame, how).equals(input), how).toBe(true);
  });

  it.each([4 * MIB, 4 * MIB + 1])('lz4js frame of %i bytes (4 MiB blocks) decodes exactly', (size) => {
    const input = sample(size);
    const frame = Buffer.from(lz4js.compress(input));
    expect(lz4(frame, 'random').equals(input)).toBe(true);
  });

  it.each([4, 5, 6, 7])('block maximum size code %i: a block of exactly the maximum is read, one byte more is refused', (code) => {
    const max = { 4: 64 * KIB, 5: 256 * KIB, 6: MIB, 7: 4 * MIB }[code]!;
    const data = sample(max);
    expect(lz4(lz4Frame([{ data, uncompressed: true }], { blockMaxCode: code })).equals(data)).toBe(true);
    const over = lz4Refusal(lz4Frame([{ data: sample(max + 1), uncompressed: true }], { blockMaxCode: code }));
    expect(over).toBeInstanceOf(CorruptInput);
    expect(over.message).toBe(`LZ4 block of ${max + 1} bytes is larger than the frame's block maximum of ${max}`);
  });

  it.each([0, 1, 2, 3])('block maximum size code %i is refused', (code) => {
    expect(lz4Refusal(lz4Frame([], { blockMaxCode: code })).message).toBe(`invalid LZ4 block maximum size code ${code}`);
  });

  it('reads uncompressed and compressed blocks, block and content checksums, and a content size, in any pieces', () => {
    const a = Buffer.from('uncompressed block, stored as is');
    const frame = lz4Frame(
      [{ data: a, uncompressed: true }, { data: seq('abcd', { offset: 4, length: 12 }) }, { data: Buffer.alloc(0), uncompressed: true }, { data: seq('tail') }],
      { blockChecksum: true, contentChecksum: true, contentSize: 66 },
    );
    const expected = Buffer.concat([a, Buffer.from('abcdabcdabcdabcdtail')]);
    for (const how of CHUNKINGS) {
      // Two frames in a row: each trailer must be consumed exactly for the second to be found.
      expect(lz4(Buffer.concat([frame, frame]), how).toString(), how).toBe(expected.toString().repeat(2));
    }
  });

  it('a compressed block: literals of every length class, overlapping and plain matches, lengths past 15 + 255', () => {
    const lits = sample(300, 3);
    const block = Buffer.concat([
      seq('x', { offset: 1, length: 10 }), // overlapping: 'x' repeated
      seq('abc', { offset: 3, length: 7 }), // overlapping with a 3-byte period
      seq(lits.subarray(0, 15), { offset: 15, length: 15 }), // literal length 15: one extension byte (0)
      seq(lits.subarray(15, 31), { offset: 20, length: 19 }), // match code 15: one extension byte (0)
      seq(lits.subarray(31, 301), { offset: 100, length: 4 + 15 + 255 + 1 }), // both lengths need 255-bytes
      seq('end!'),
    ]);
    const expected: number[] = [];
    const literal = (b: Uint8Array): void => void expected.push(...b);
    const copy = (offset: number, length: number): void => {
      for (let i = 0; i < length; i++) expected.push(expected[expected.length - offset]!);
    };
    literal(Buffer.from('x'));
    copy(1, 10);
    literal(Buffer.from('abc'));
    copy(3, 7);
    literal(lits.subarray(0, 15));
    copy(15, 15);
    literal(lits.subarray(15, 31));
    copy(20, 19);
    literal(lits.subarray(31, 301));
    copy(100, 275);
    literal(Buffer.from('end!'));
    for (const how of CHUNKINGS) expect([...lz4(lz4Frame([{ data: block }]), how)], how).toEqual(expected);
  });

  it('a match may fill the block to exactly its maximum; one byte more is refused', () => {
    const full = seq('z', { offset: 1, length: 64 * KIB - 1 });
    expect(lz4(lz4Frame([{ data: Buffer.concat([full, seq('')]) }])).equals(Buffer.alloc(64 * KIB, 'z'))).toBe(true);
    const matchOver = lz4Refusal(lz4Frame([{ data: seq('z', { offset: 1, length: 64 * KIB }) }]));
    expect(matchOver.message).toBe('corrupt LZ4 block: output is larger than the block maximum');
    const literalsOver = lz4Refusal(lz4Frame([{ data: Buffer.concat([full, seq('12345')]) }]));
    expect(literalsOver).toBeInstanceOf(CorruptInput);
    expect(literalsOver.message).toBe('corrupt LZ4 block: output is larger than the block maximum');
  });

  it('linked blocks: a match reaches back into the previous blocks, an offset before the first byte is refused', () => {
    const one = Buffer.from('0123456789'); // 10 bytes
    const two = Buffer.from('ab'); // 2 bytes
    // Block 3 copies from block 1 across block 2: history must keep both, in order.
    const three = seq('', { offset: 12, length: 10 });
    const linked = { independent: false };
    const frame = lz4Frame([{ data: seq(one) }, { data: seq(two) }, { data: Buffer.concat([three, seq('.')]) }], linked);
    for (const how of CHUNKINGS) expect(lz4(frame, how).toString(), how).toBe('0123456789ab0123456789.');
    // 13 back from the start of block 3 is before the first byte of the frame.
    const before = lz4Frame([{ data: seq(one) }, { data: seq(two) }, { data: Buffer.concat([seq('', { offset: 13, length: 4 }), seq('.')]) }], linked);
    expect(lz4Refusal(before).message).toBe('corrupt LZ4 block: match offset points before the data');
  });

  it('linked blocks: history keeps the last 64 KiB, so an offset of 65535 into a long previous block is read', () => {
    const first = sample(100 * KIB, 11);
    const frame = lz4Frame(
      [{ data: first.subarray(0, 64 * KIB), uncompressed: true }, { data: first.subarray(64 * KIB), uncompressed: true }, { data: Buffer.concat([seq('', { offset: 65_535, length: 8 }), seq('!')]) }],
      { independent: false },
    );
    const expected = Buffer.concat([first, first.subarray(first.length - 65_535, first.length - 65_535 + 8), Buffer.from('!')]);
    expect(lz4(frame, 'random').equals(expected)).toBe(true);
  });

  it('independent blocks: a match into the previous block is refused', () => {
    const frame = lz4Frame([{ data: seq('0123456789') }, { data: Buffer.concat([seq('', { offset: 5, length: 4 }), seq('.')]) }]);
    expect(lz4Refusal(frame).message).toBe('corrupt LZ4 block: match offset points before the data');
  });

  it('skippable frames (any of the 16 magics) are skipped before, between and after frames, in any pieces', () => {
    const frame = lz4Frame([{ data: seq('hello') }]);
    const body = Buffer.concat([skippable(3, 0), frame, skippable(0, 0xf), skippable(70 * KIB, 7), frame, skippable(5, 2), skippable(0, 1)]);
    for (const how of CHUNKINGS) expect(lz4(body, how).toString(), how).toBe('hellohello');
  });

  it('a block is output as soon as its last byte arrives (the limit can stop a bomb block by block)', () => {
    const frame = lz4Frame([{ data: Buffer.from('first'), uncompressed: true }, { data: Buffer.from('second'), uncompressed: true }]);
    const decoder = lz4Decoder();
    const out: string[] = [];
    decoder.push(frame.subarray(0, 7 + 4 + 5), (d) => void out.push(Buffer.from(d).toString()));
    expect(out).toEqual(['first']);
  });


  it('the output does not share memory with the input (the caller may reuse its buffer)', () => {
    const input = lz4Frame([{ data: Buffer.from('stored'), uncompressed: true }]);
    const out: Uint8Array[] = [];
    const decoder = lz4Decoder();
    decoder.push(input, (d) => void out.push(d));
    input.fill(0);
    expect(Buffer.from(out[0]!).toString()).toBe('stored');
    // Nor does the history of linked blocks: the second block copies from the first after the first's chunk is reused.
    const first = sample(64 * KIB, 21);
    const linked = lz4Frame([{ data: first, uncompressed: true }, { data: Buffer.concat([seq('', { offset: 100, length: 8 }), seq('')]) }], { independent: false });
    const split = 7 + 4 + first.length;
    const chunk = Buffer.from(linked.subarray(0, split));
    const tail: Uint8Array[] = [];
    const linkedDecoder = lz4Decoder();
    linkedDecoder.push(chunk, () => undefined);
    chunk.fill(0);
    linkedDecoder.push(linked.subarray(split), (d) => void tail.push(Buffer.from(d)));
    expect(Buffer.concat(tail).equals(first.subarray(first.length - 100, first.length - 92))).toBe(true);
  });

  it('refuses a bad magic number, another frame version, a dictionary, a body that ends mid-frame', () => {
    expect(lz4Refusal(Buffer.from('this is plain text, not LZ4')).message).toBe('not an LZ4 frame (bad magic number)');
    // Four bytes after a frame: enough for a magic number, which is wrong.
    const frame = lz4Frame([{ data: seq('ok') }]);
    expect(lz4Refusal(Buffer.concat([frame, Buffer.from('junk')])).message).toBe('not an LZ4 frame (bad magic number)');
    expect(lz4Refusal(lz4Frame([], { version: 0 })).message).toBe('unsupported LZ4 frame version 0');
    expect(lz4Refusal(lz4Frame([], { version: 2 })).message).toBe('unsupported LZ4 frame version 2');
    expect(lz4Refusal(lz4Frame([], { dictionary: true })).message).toBe('LZ4 frames with a dictionary are not supported');
    const ends = 'LZ4 body ends inside a frame';
    expect(lz4Refusal(lz4Frame([{ data: seq('ok') }], { endMark: false })).message).toBe(ends); // no EndMark
    expect(lz4Refusal(frame.subarray(0, frame.length - 2)).message).toBe(ends); // EndMark cut
    expect(lz4Refusal(Buffer.concat([frame, Buffer.from([0x04, 0x22])])).message).toBe(ends); // a next magic cut
    expect(lz4Refusal(skippable(10).subarray(0, 12)).message).toBe(ends); // inside a skippable frame
    expect(lz4Refusal(frame.subarray(0, 5), 'bytes').message).toBe(ends); // inside the header
    expect(lz4Refusal(frame.subarray(0, 5))).toBeInstanceOf(CorruptInput);
  });

  it('refuses corrupt blocks: offset 0, offset before the start, literals, lengths or offsets past the end', () => {
    const block = (data: Buffer): Error => lz4Refusal(lz4Frame([{ data }]));
    const bad = (what: string): string => `corrupt LZ4 block: ${what}`;
    expect(block(Buffer.concat([seq('abcd', { offset: 0, length: 4 }), seq('x')])).message).toBe(bad('match offset points before the data'));
    expect(block(Buffer.concat([seq('abcd', { offset: 5, length: 4 }), seq('x')])).message).toBe(bad('match offset points before the data'));
    expect(lz4(lz4Frame([{ data: Buffer.concat([seq('abcd', { offset: 4, length: 4 }), seq('x')]) }])).toString()).toBe('abcdabcdx');
    // Token says 10 literals, 3 follow.
    expect(block(Buffer.from([0xa0, 1, 2, 3])).message).toBe(bad('literals run past the block'));
    // Token says 15+ literals, the length byte is missing.
    const lengthPast = block(Buffer.from([0xf0]));
    expect(lengthPast).toBeInstanceOf(CorruptInput);
    expect(lengthPast.message).toBe(bad('length runs past the block'));
    // Literals, then one byte of a two-byte offset.
    expect(block(Buffer.from([0x10, 0x41, 0x01])).message).toBe(bad('match offset runs past the block'));
    // Match length 15+, its extension byte missing.
    expect(block(Buffer.from([0x1f, 0x41, 0x01, 0x00])).message).toBe(bad('length runs past the block'));
  });
});

// ---------------------------------------------------------------------------------------------
// zstd: real frames from an encoder, and frames of raw and RLE blocks built from RFC 8878.

const nodeZstd = (zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;
const zstdCli = ((): string | undefined => {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'no zstd command-line tool (Debian package zstd; scripts/install-test-peers.sh installs it)';
  }
})();
const noZstdEncoder = nodeZstd === undefined && zstdCli !== undefined ? `node:zlib has no zstd before Node 22.15 and ${zstdCli}` : undefined;
if (noZstdEncoder) console.warn(`zstd encoder cases skipped: ${noZstdEncoder}`);
if (nodeZstd === undefined) console.warn(`node:zlib has no zstdCompressSync on Node ${process.version}: the zstd command-line tool encodes instead`);

/** Encode with node:zlib's zstd when this Node has it, else the zstd tool (checksum and content size on). */
function zstdEncode(input: Buffer): Buffer {
  if (nodeZstd !== undefined) return nodeZstd(input);
  return execFileSync('zstd', ['-q', '-c', '--check', '--content-size'], { input, maxBuffer: 64 * MIB });
}

interface ZstdFrameOptions {
  /** Bytes of the Frame_Content_Size field: 0 (absent), 1 (single segment only), 2, 4 or 8. */
  fcsBytes?: 0 | 1 | 2 | 4 | 8;
  contentSize?: number;
  singleSegment?: boolean;
  windowDescriptor?: number;
  dictionaryBytes?: 0 | 1 | 2 | 4;
  checksum?: boolean;
}

type ZstdBlock = { raw: Uint8Array } | { rle: number; size: number };

function zstdFrame(blocks: ZstdBlock[], o: ZstdFrameOptions = {}): Buffer {
  const ss = o.singleSegment ?? false;
  const fcsBytes = o.fcsBytes ?? 0;
  const fcsFlag = { 0: 0, 1: 0, 2: 1, 4: 2, 8: 3 }[fcsBytes];
  const dictFlag = { 0: 0, 1: 1, 2: 2, 4: 3 }[o.dictionaryBytes ?? 0];
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, (fcsFlag << 6) | (ss ? 0x20 : 0) | (o.checksum ? 0x04 : 0) | dictFlag])];
  if (!ss) parts.push(Buffer.from([o.windowDescriptor ?? 0x50 /* 1 MiB */]));
  if (o.dictionaryBytes) parts.push(Buffer.alloc(o.dictionaryBytes, 0)); // ID 0: no dictionary (RFC 8878 3.1.1.1.3)
  if (fcsBytes > 0) {
    const field = Buffer.alloc(8);
    field.writeBigUInt64LE(BigInt((o.contentSize ?? 0) - (fcsBytes === 2 ? 256 : 0)));
    parts.push(field.subarray(0, fcsBytes));
  }
  blocks.forEach((block, i) => {
    const last = i === blocks.length - 1 ? 1 : 0;
    const [type, size, body] = 'raw' in block ? [0, block.raw.length, Buffer.from(block.raw)] : [1, block.size, Buffer.from([block.rle])];
    const header = (size << 3) | (type << 1) | last;
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), body);
  });
  // Content checksum: fzstd skips it unverified, so any four bytes do.
  if (o.checksum) parts.push(Buffer.from([1, 2, 3, 4]));
  return Buffer.concat(parts);
}

const zstd = (input: Uint8Array, how: Chunking = 'whole', limit = 64 * MIB): Buffer => decodePush(zstdDecoder(limit), input, how);
const zstdRefusal = (input: Uint8Array, limit = 64 * MIB, how: Chunking = 'whole'): Error => refusal(zstdDecoder(limit), input, how);

describe('zstd frames', () => {
  it.skipIf(noZstdEncoder !== undefined).each([0, 1, 100, 128 * KIB - 1, 128 * KIB, 128 * KIB + 1])(
    'an encoder\'s frame of %i bytes decodes exactly, pushed whole, byte by byte and in random pieces',
    (size) => {
      const input = sample(size);
      const frame = zstdEncode(input);
      for (const how of CHUNKINGS) expect(zstd(frame, how).equals(input), how).toBe(true);
    },
  );

  it.skipIf(noZstdEncoder !== undefined)('an encoder\'s frames of several MiB decode exactly, and two frames in a row', () => {
    const input = sample(5 * MIB + 3);
    const frame = zstdEncode(input);
    expect(zstd(frame, 'random').equals(input)).toBe(true);
    const small = sample(1000, 5);
    expect(zstd(Buffer.concat([zstdEncode(small), zstdEncode(small)]), 'bytes').equals(Buffer.concat([small, small]))).toBe(true);
  });

  it('raw and RLE blocks under every header form (window, single segment, dictionary ID, content size, checksum), in any pieces', () => {
    const raw = sample(200 * KIB, 9); // blocks of up to 128 KiB
    const blocks: ZstdBlock[] = [{ raw: raw.subarray(0, 128 * KIB) }, { rle: 0x41, size: 70_000 }, { raw: raw.subarray(128 * KIB) }];
    const expected = Buffer.concat([raw.subarray(0, 128 * KIB), Buffer.alloc(70_000, 0x41), raw.subarray(128 * KIB)]);
    const size = expected.length;
    const forms: ZstdFrameOptions[] = [
      {},
      { checksum: true },
      { dictionaryBytes: 1 },
      { dictionaryBytes: 2, checksum: true },
      { dictionaryBytes: 4 },
      { fcsBytes: 2, contentSize: size },
      { fcsBytes: 4, contentSize: size, checksum: true },
      { fcsBytes: 8, contentSize: size, dictionaryBytes: 4 },
      { singleSegment: true, fcsBytes: 4, contentSize: size },
      { singleSegment: true, fcsBytes: 8, contentSize: size, checksum: true, dictionaryBytes: 2 },
    ];
    for (const form of forms) {
      const frame = zstdFrame(blocks, form);
      for (const how of CHUNKINGS) expect(zstd(Buffer.concat([frame, frame]), how).equals(Buffer.concat([expected, expected])), `${JSON.stringify(form)} ${how}`).toBe(true);
    }
    // The one-byte Frame_Content_Size of a single-segment frame.
    const tiny = zstdFrame([{ raw: Buffer.from('tiny') }], { singleSegment: true, fcsBytes: 1, contentSize: 4 });
    expect(zstd(tiny, 'bytes').toString()).toBe('tiny');
  });

  it('an empty frame (one empty last block) and a frame shorter than fzstd buffers (18 bytes) are output at the end', () => {
    expect(zstd(zstdFrame([{ raw: Buffer.alloc(0) }])).length).toBe(0);
    expect(zstd(zstdFrame([{ raw: Buffer.from('x') }])).toString()).toBe('x');
    expect(zstd(zstdFrame([{ raw: Buffer.from('x') }]), 'bytes').toString()).toBe('x');
  });

  it('skippable frames are skipped before, between and after frames, in any pieces', () => {
    const frame = zstdFrame([{ raw: Buffer.from('data') }]);
    const body = Buffer.concat([skippable(3), frame, skippable(0, 0xf), skippable(40 * KIB, 5), frame, skippable(6, 1), skippable(0, 3)]);
    for (const how of CHUNKINGS) expect(zstd(body, how).toString(), how).toBe('datadata');
  });

  it('the window: exactly 8 MiB (or the limit, when larger) is accepted, one step more refused before allocation', () => {
    const frame = (descriptor: number): Buffer => zstdFrame([{ raw: Buffer.from('w') }], { windowDescriptor: descriptor });
    // Window_Descriptor: exponent in bits 7–3, mantissa in 2–0; size = 2^(10+e) + 2^(10+e)/8 * m.
    expect(zstd(frame((13 << 3) | 0), 'whole', 1000).toString()).toBe('w'); // 8 MiB
    expect(zstd(frame((12 << 3) | 7), 'whole', 1000).toString()).toBe('w'); // 7.5 MiB
    const over = zstdRefusal(frame((13 << 3) | 1), 1000); // 9 MiB
    expect(over).toBeInstanceOf(DecodedTooLarge);
    expect(over.message).toBe(`zstd frame needs a ${9 * MIB}-byte window, more than the limit of ${8 * MIB} bytes`);
    // A limit above 8 MiB raises the window allowed to it.
    expect(zstd(frame((14 << 3) | 0), 'whole', 16 * MIB).toString()).toBe('w'); // 16 MiB
    expect(zstdRefusal(frame((14 << 3) | 1), 16 * MIB).message).toBe(`zstd frame needs a ${18 * MIB}-byte window, more than the limit of ${16 * MIB} bytes`);
    // A single-segment frame's window is its content size.
    const single = zstdFrame([{ raw: Buffer.from('w') }], { singleSegment: true, fcsBytes: 4, contentSize: 100 * MIB });
    expect(zstdRefusal(single, MIB).message).toBe(`zstd frame needs a ${100 * MIB}-byte window, more than the limit of ${8 * MIB} bytes`);
  });

  it.each([1, 2, 4, 8] as const)('a declared content size (%i-byte field) of exactly the limit is accepted, one more is refused', (fcsBytes) => {
    const limit = fcsBytes === 1 ? 200 : 300;
    const form = { fcsBytes, singleSegment: fcsBytes === 1 };
    const at = zstdFrame([{ rle: 0x20, size: limit }], { ...form, contentSize: limit });
    expect(zstd(at, 'whole', limit).equals(Buffer.alloc(limit, 0x20))).toBe(true);
    const over = zstdRefusal(zstdFrame([{ rle: 0x20, size: limit + 1 }], { ...form, contentSize: limit + 1 }), limit);
    expect(over).toBeInstanceOf(DecodedTooLarge);
    expect(over.message).toBe(`zstd frame declares ${limit + 1} bytes of content, more than the limit of ${limit} bytes`);
  });

  it('a content size past 2^32 is read from all eight bytes', () => {
    const over = zstdRefusal(zstdFrame([{ raw: Buffer.from('x') }], { fcsBytes: 8, contentSize: 2 ** 40 + 5 }), MIB);
    expect(over.message).toBe(`zstd frame declares ${2 ** 40 + 5} bytes of content, more than the limit of ${MIB} bytes`);
  });

  it('refuses a bad magic number, the reserved block type and a body that ends inside a frame', () => {
    expect(zstdRefusal(Buffer.from('definitely not zstd')).message).toBe('not a zstd frame (bad magic number)');
    const frame = zstdFrame([{ raw: Buffer.from('ok') }]);
    const badMagic = zstdRefusal(Buffer.concat([frame, Buffer.from('junk')]));
    expect(badMagic).toBeInstanceOf(CorruptInput);
    expect(badMagic.message).toBe('not a zstd frame (bad magic number)');
    const reserved = Buffer.concat([frame.subarray(0, 6), Buffer.from([(3 << 1) | 1, 0, 0])]);
    expect(zstdRefusal(reserved).message).toBe('reserved zstd block type');
    const ends = 'zstd body ends inside a frame';
    expect(zstdRefusal(frame.subarray(0, frame.length - 1)).message).toBe(ends);
    expect(zstdRefusal(zstdFrame([{ raw: Buffer.from('ok') }], { checksum: true }).subarray(0, -2)).message).toBe(ends);
    // A non-last block then nothing: no bytes pending, but the frame is not over.
    const open = Buffer.concat([frame.subarray(0, 6), Buffer.from([2 << 3, 0, 0, 0x61, 0x62])]);
    expect(zstdRefusal(open).message).toBe(ends);
    expect(zstdRefusal(Buffer.concat([frame, Buffer.from([0x28, 0xb5])])).message).toBe(ends);
    expect(zstdRefusal(skippable(10).subarray(0, 12)).message).toBe(ends);
  });
});

// ---------------------------------------------------------------------------------------------
// snappy: raw blocks from snappyjs, the framing format written here from framing_format.txt.

const IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);

function chunk(type: number, data: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header[0] = type;
  header.writeUIntLE(data.length, 1, 3);
  return Buffer.concat([header, data]);
}

function dataChunk(piece: Buffer, compressed: boolean): Buffer {
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(maskedCrc32c(piece));
  return chunk(compressed ? 0x00 : 0x01, Buffer.concat([crc, compressed ? Buffer.from(snappyjs.compress(piece)) : piece]));
}

function snappyFramed(data: Buffer, compressed = true): Buffer {
  const parts: Buffer[] = [IDENTIFIER];
  for (let at = 0; at < data.length; at += 64 * KIB) parts.push(dataChunk(data.subarray(at, at + 64 * KIB), compressed));
  return Buffer.concat(parts);
}

/** A raw snappy block written element by element (format_description.txt). */
function snappyBlock(length: number, ...elements: Buffer[]): Buffer {
  const preamble: number[] = [];
  for (let n = length; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      preamble.push(n);
      break;
    }
    preamble.push((n % 128) | 0x80);
  }
  return Buffer.concat([Buffer.from(preamble), ...elements]);
}

/** A literal, its length - 1 in the tag (lengthBytes 0, up to 60 bytes) or in 1–4 bytes after it. */
function lit(bytes: Uint8Array, lengthBytes: 0 | 1 | 2 | 3 | 4 = 0): Buffer {
  if (lengthBytes === 0) return Buffer.concat([Buffer.from([(bytes.length - 1) << 2]), bytes]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(bytes.length - 1);
  return Buffer.concat([Buffer.from([(59 + lengthBytes) << 2]), length.subarray(0, lengthBytes), bytes]);
}

const copy1 = (offset: number, length: number): Buffer => Buffer.from([1 | ((length - 4) << 2) | ((offset >> 8) << 5), offset & 0xff]);
const copy2 = (offset: number, length: number): Buffer => Buffer.from([2 | ((length - 1) << 2), offset & 0xff, offset >> 8]);
function copy4(offset: number, length: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = 3 | ((length - 1) << 2);
  b.writeUInt32LE(offset, 1);
  return b;
}

const framed = (input: Uint8Array, how: Chunking = 'whole'): Buffer => decodePush(snappyFramedDecoder(), input, how);
const framedRefusal = (input: Uint8Array): Error => refusal(snappyFramedDecoder(), input);

describe('snappy', () => {
  it.each([0, 1, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 3 * MIB])('a raw block of %i bytes decodes exactly, in any pieces', (size) => {
    const input = sample(size);
    const block = Buffer.from(snappyjs.compress(input));
    for (const how of size > MIB ? (['whole', 'random'] as const) : CHUNKINGS) expect(decodePush(snappyDecoder(8 * MIB), block, how).equals(input), how).toBe(true);
  });

  it.each([0, 1, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 200 * KIB])('framed, %i bytes in compressed and in uncompressed chunks, in any pieces, as x-snappy-framed and as snappy', (size) => {
    const input = sample(size);
    for (const compressed of [true, false]) {
      const body = snappyFramed(input, compressed);
      for (const how of CHUNKINGS) {
        expect(framed(body, how).equals(input), `${compressed} ${how}`).toBe(true);
        expect(decodePush(snappyDecoder(MIB), body, how).equals(input), `as snappy ${compressed} ${how}`).toBe(true);
      }
    }
  });

  it('a raw block declaring exactly the limit is read; one byte more is refused before decoding', () => {
    const limit = 5000;
    expect(decodePush(snappyDecoder(limit), snappyjs.compress(sample(limit))).equals(sample(limit))).toBe(true);
    const over = refusal(snappyDecoder(limit), snappyjs.compress(sample(limit + 1)));
    expect(over).toBeInstanceOf(DecodedTooLarge);
    expect(over.message).toBe(`snappy block would decompress to ${limit + 1} bytes, more than the limit of ${limit} bytes`);
  });

  it('refuses a raw block without a valid length preamble, or whose body is invalid', () => {
    const noPreamble = 'snappy block has no valid length preamble';
    expect(refusal(snappyDecoder(MIB), Buffer.from([0x80])).message).toBe(noPreamble); // varint cut short
    // Five continuation bytes: longer than a 32-bit varint may be, even though more bytes follow.
    const long = refusal(snappyDecoder(MIB), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0, 0]));
    expect(long).toBeInstanceOf(CorruptInput);
    expect(long.message).toBe(noPreamble);
    const invalid = refusal(snappyDecoder(MIB), Buffer.from([0x05, 0x00]));
    expect(invalid).toBeInstanceOf(CorruptInput);
    expect(invalid.message).toBe('invalid snappy block: literal runs past the block');
  });

  it('every element form of a raw block: literals with their length in the tag or in 1–4 bytes, copies with 1-, 2- and 4-byte offsets', () => {
    const text = sample(300, 4);
    const block = snappyBlock(
      8 + 61 + 300 + 4 + 260 + 11 + 7 + 64 + 30,
      lit(text.subarray(0, 8)),
      lit(text.subarray(0, 61), 1),
      lit(text.subarray(0, 300), 2),
      lit(text.subarray(0, 4), 3),
      lit(text.subarray(0, 260), 4),
      copy1(633, 11), // back to the start: 633 = 8 + 61 + 300 + 4 + 260
      copy1(1, 7), // overlapping: the last byte 7 times
      copy2(640, 64),
      copy4(20, 30), // overlapping, 20 back, 30 long
    );
    const expected: number[] = [];
    const copy = (offset: number, length: number): void => {
      for (let i = 0; i < length; i++) expected.push(expected[expected.length - offset]!);
    };
    for (const n of [8, 61, 300, 4, 260]) expected.push(...text.subarray(0, n));
    copy(633, 11);
    copy(1, 7);
    copy(640, 64);
    copy(20, 30);
    for (const how of CHUNKINGS) expect([...decodePush(snappyDecoder(MIB), block, how)], how).toEqual(expected);
    // A literal length whose third byte counts (69,999 = 0x01116f).
    const long = sample(70_000, 6);
    expect(decodePush(snappyDecoder(MIB), snappyBlock(long.length, lit(long, 3))).equals(long)).toBe(true);
  });

  it('every cut of a raw block is refused, never filled up with zeros', () => {
    const input = sample(5000, 8);
    const block = Buffer.from(snappyjs.compress(input));
    for (let cut = 1; cut < block.length; cut++) {
      const error = refusal(snappyDecoder(MIB), block.subarray(0, cut));
      expect(error, `cut at ${cut}`).toBeInstanceOf(CorruptInput);
    }
    const short = refusal(snappyDecoder(MIB), block.subarray(0, block.length - 1));
    expect(short.message).toMatch(/^invalid snappy block: (\d+ bytes decoded, the preamble says 5000|.* runs past the block)$/);
  });

  it('refuses raw blocks whose elements run past the block or the declared length, or copy from before the start', () => {
    const message = (block: Buffer): string => refusal(snappyDecoder(MIB), block).message;
    const invalid = (what: string): string => `invalid snappy block: ${what}`;
    expect(message(snappyBlock(100, lit(Buffer.from('ABCDE'))))).toBe(invalid('5 bytes decoded, the preamble says 100'));
    expect(message(snappyBlock(3, lit(Buffer.from('ABCDE'))))).toBe(invalid('output is longer than the preamble says'));
    expect(message(snappyBlock(5, lit(Buffer.from('AB')), copy1(1, 4)))).toBe(invalid('output is longer than the preamble says'));
    expect(decodePush(snappyDecoder(MIB), snappyBlock(6, lit(Buffer.from('AB')), copy1(1, 4))).toString()).toBe('ABBBBB');
    expect(message(snappyBlock(8, lit(Buffer.from('ABCD')), copy2(0, 4)))).toBe(invalid('copy offset points before the data'));
    expect(message(snappyBlock(8, lit(Buffer.from('ABCD')), copy2(5, 4)))).toBe(invalid('copy offset points before the data'));
    expect(decodePush(snappyDecoder(MIB), snappyBlock(8, lit(Buffer.from('ABCD')), copy4(4, 4))).toString()).toBe('ABCDABCD');
    // All four offset bytes count: 2^24 + 4 is not 4.
    expect(message(snappyBlock(8, lit(Buffer.from('ABCD')), copy4(2 ** 24 + 4, 4)))).toBe(invalid('copy offset points before the data'));
    expect(message(snappyBlock(10, Buffer.from([60 << 2])))).toBe(invalid('literal length runs past the block'));
    expect(message(snappyBlock(10, Buffer.from([63 << 2, 1, 2, 3])))).toBe(invalid('literal length runs past the block'));
    expect(message(snappyBlock(10, Buffer.from([9 << 2]), Buffer.from('abc')))).toBe(invalid('literal runs past the block'));
    expect(message(snappyBlock(10, lit(Buffer.from('a')), Buffer.from([0x01])))).toBe(invalid('copy offset runs past the block'));
    expect(message(snappyBlock(10, lit(Buffer.from('a')), Buffer.from([0x02, 0x01])))).toBe(invalid('copy offset runs past the block'));
    expect(message(snappyBlock(10, lit(Buffer.from('a')), Buffer.from([0x03, 0x01, 0, 0])))).toBe(invalid('copy offset runs past the block'));
  });

  it('a framed stream sent as `snappy` is recognized from its first 10 bytes, even empty or cut', () => {
    expect(decodePush(snappyDecoder(MIB), IDENTIFIER).length).toBe(0);
    const body = snappyFramed(Buffer.from('framed as snappy'));
    expect(refusal(snappyDecoder(MIB), body.subarray(0, body.length - 3)).message).toMatch(/^snappy stream ends inside a chunk/);
  });

  it('framing: padding and skippable chunks are skipped, reserved ones refused, the identifier may repeat', () => {
    const hello = dataChunk(Buffer.from('hello'), true);
    const body = Buffer.concat([IDENTIFIER, chunk(0xfe, Buffer.alloc(7)), hello, chunk(0x80, Buffer.from('skip me')), IDENTIFIER, dataChunk(Buffer.from(' world'), false), chunk(0xfe, Buffer.alloc(0))]);
    for (const how of CHUNKINGS) expect(framed(body, how).toString(), how).toBe('hello world');
    expect(framedRefusal(Buffer.concat([IDENTIFIER, chunk(0x02, Buffer.from('x'))])).message).toBe('reserved unskippable snappy chunk type 0x2');
    expect(framedRefusal(Buffer.concat([IDENTIFIER, chunk(0x7f, Buffer.alloc(0))])).message).toBe('reserved unskippable snappy chunk type 0x7f');
  });

  it('framing: an empty data chunk is read; refuses no identifier, a bad identifier, a short chunk, a chunk of more than 65536 bytes, a cut stream', () => {
    expect(framed(Buffer.concat([IDENTIFIER, dataChunk(Buffer.alloc(0), false)])).length).toBe(0);
    expect(framedRefusal(dataChunk(Buffer.from('x'), true)).message).toBe('snappy stream does not start with the stream identifier');
    expect(framedRefusal(chunk(0xfe, Buffer.alloc(0))).message).toBe('snappy stream does not start with the stream identifier');
    expect(framedRefusal(chunk(0xff, Buffer.from('sNaPpX'))).message).toBe('bad snappy stream identifier');
    expect(framedRefusal(Buffer.concat([IDENTIFIER, chunk(0x01, Buffer.from([1, 2, 3]))])).message).toBe('snappy chunk is too short for its checksum');
    const big = framedRefusal(Buffer.concat([IDENTIFIER, dataChunk(Buffer.alloc(64 * KIB + 1, 1), false)]));
    expect(big).toBeInstanceOf(CorruptInput);
    expect(big.message).toBe('snappy chunk holds more than 65536 bytes');
    expect(framedRefusal(Buffer.concat([IDENTIFIER, Buffer.from([0x01, 0x09, 0x00])])).message).toBe('snappy stream ends inside a chunk (3 bytes left over)');
  });

  it('the output of an uncompressed chunk does not share memory with the input', () => {
    const input = Buffer.concat([IDENTIFIER, dataChunk(Buffer.from('stored'), false)]);
    const out: Uint8Array[] = [];
    snappyFramedDecoder().push(input, (d) => void out.push(d));
    input.fill(0);
    expect(Buffer.from(out[0]!).toString()).toBe('stored');
  });

});

// ---------------------------------------------------------------------------------------------
// decoders/index.ts: the encodings a header names, the zlib family, and the limit on every codec.

describe('Content-Encoding and the limit', () => {
  it('names the encodings: empty or identity, x-gzip as gzip, any case and spacing, unknown ones undefined', () => {
    expect(supportedEncoding(undefined)).toBe('identity');
    expect(supportedEncoding('')).toBe('identity');
    expect(supportedEncoding(' Identity ')).toBe('identity');
    expect(supportedEncoding('x-gzip')).toBe('gzip');
    expect(supportedEncoding('X-GZIP')).toBe('gzip');
    expect(supportedEncoding('gzip')).toBe('gzip');
    expect(supportedEncoding(' LZ4')).toBe('lz4');
    expect(supportedEncoding('br')).toBeUndefined();
    expect(supportedEncoding('gzip, br')).toBeUndefined();
  });

  it('deflate reads zlib-wrapped and raw deflate; zlib reads only zlib-wrapped', async () => {
    const input = sample(100 * KIB);
    for (const how of CHUNKINGS.filter((h) => h !== 'bytes')) {
      expect((await decodeStream('deflate', zlib.deflateSync(input), MIB, how)).equals(input)).toBe(true);
      expect((await decodeStream('deflate', zlib.deflateRawSync(input), MIB, how)).equals(input)).toBe(true);
      expect((await decodeStream('zlib', zlib.deflateSync(input), MIB, how)).equals(input)).toBe(true);
      expect((await decodeStream('gzip', zlib.gzipSync(input), MIB, how)).equals(input)).toBe(true);
    }
    await expect(decodeStream('zlib', zlib.deflateRawSync(input), MIB)).rejects.toThrow(/header/);
  });

  it('deflate: raw streams whose first two bytes pass one of the two zlib header checks are still read as raw', async () => {
    // A final stored block of 23 bytes starts 0x01 0x17: (0x01 << 8 | 0x17) % 31 === 0, but CM (low nibble) is 1.
    const stored = zlib.deflateRawSync(Buffer.from('twenty-three bytes long'), { level: 0 });
    expect([stored[0], stored[1]]).toEqual([0x01, 23]);
    expect((await decodeStream('deflate', stored, MIB)).toString()).toBe('twenty-three bytes long');
    // A non-final stored block with a padding bit set starts 0x08 (CM 8), but 0x0805 % 31 !== 0; then a final empty block.
    const padded = Buffer.from([0x08, 0x05, 0x00, 0xfa, 0xff, ...Buffer.from('hello'), 0x01, 0x00, 0x00, 0xff, 0xff]);
    expect((await decodeStream('deflate', padded, MIB)).toString()).toBe('hello');
  });

  const encoders: Record<Encoding, ((b: Buffer) => Buffer) | undefined> = {
    gzip: (b) => zlib.gzipSync(b),
    zlib: (b) => zlib.deflateSync(b),
    deflate: (b) => zlib.deflateRawSync(b),
    zstd: noZstdEncoder === undefined ? zstdEncode : undefined,
    snappy: (b) => Buffer.from(snappyjs.compress(b)),
    'x-snappy-framed': (b) => snappyFramed(b),
    lz4: (b) => Buffer.from(lz4js.compress(b)),
  };
  const LIMIT = 100 * KIB;

  it.each(Object.keys(encoders) as Encoding[])('%s: decodeWhole takes exactly the limit and refuses one byte more', async (encoding) => {
    const encode = encoders[encoding];
    if (encode === undefined) return console.warn(`skipped: ${noZstdEncoder}`);
    const atLimit = sample(LIMIT);
    expect((await decodeWhole(encoding, encode(atLimit), LIMIT)).equals(atLimit)).toBe(true);
    const over = decodeWhole(encoding, encode(sample(LIMIT + 1)), LIMIT);
    await expect(over).rejects.toBeInstanceOf(DecodedTooLarge);
    await expect(over).rejects.toMatchObject({ code: 'FS_ERR_OTLP_TOO_LARGE', name: 'DecodedTooLarge' });
    // The zlib family is stopped by decodeWhole itself; the push decoders by their own limit first.
    const pushed = !['gzip', 'zlib', 'deflate'].includes(encoding);
    await expect(over).rejects.toThrow(pushed ? `limit of ${LIMIT} bytes` : `message is larger than the limit of ${LIMIT} bytes after decompression`);
  });

  // Frames that do not declare their size, so that the stream's own count is what stops them.
  const unsized: Record<'lz4' | 'x-snappy-framed' | 'zstd', (b: Buffer) => Buffer> = {
    lz4: encoders.lz4!,
    'x-snappy-framed': encoders['x-snappy-framed']!,
    zstd: (b) => zstdFrame(Array.from({ length: Math.ceil(b.length / (128 * KIB)) }, (_, i) => ({ raw: b.subarray(i * 128 * KIB, (i + 1) * 128 * KIB) }))),
  };

  it.each(['lz4', 'x-snappy-framed', 'zstd'] as const)('%s: the decoder stream passes exactly the limit, in any pieces, and stops one byte past it', async (encoding) => {
    const encode = unsized[encoding];
    for (const how of ['whole', 'random'] as const) {
      const atLimit = sample(LIMIT, 3);
      expect((await decodeStream(encoding, encode(atLimit), LIMIT, how)).equals(atLimit), how).toBe(true);
      await expect(decodeStream(encoding, encode(sample(LIMIT + 1, 3)), LIMIT, how)).rejects.toThrow(
        `request body is larger than the limit of ${LIMIT} bytes after decompression`,
      );
    }
  });

  it.each(['zstd', 'snappy', 'x-snappy-framed', 'lz4'] as const)('%s: an empty message decodes to nothing, like an empty frame sequence', async (encoding) => {
    expect((await decodeWhole(encoding, Buffer.alloc(0), LIMIT)).length).toBe(0);
  });

  it('corrupt input ends in an error with the decode code, never a crash', async () => {
    const corrupt = decodeStream('lz4', Buffer.from('not lz4 at all'), LIMIT);
    await expect(corrupt).rejects.toBeInstanceOf(CorruptInput);
    await expect(corrupt).rejects.toMatchObject({ code: 'FS_ERR_OTLP_DECODE', name: 'CorruptInput' });
  });
});
