// Snappy bodies, in both formats the Collector sends (go.opentelemetry.io/collector/config/
// confighttp compression.go): `Content-Encoding: snappy` is the raw block format, which the
// Collector's own receiver also accepts framed (it looks for the stream identifier first), and
// `x-snappy-framed` is the framing format (github.com/google/snappy framing_format.txt). OTLP/gRPC
// with `compression: snappy` is framed too. Blocks are decoded by snappy-block.ts.
import { decodeSnappyBlock } from './snappy-block.ts';
import { CorruptInput, PendingBytes, readU24LE, readU32LE, type Output, type PushDecoder } from './push-decoder.ts';

/** Chunk type 0xff, length 6, "sNaPpY": every framed stream starts with it. */
export const SNAPPY_STREAM_IDENTIFIER = Uint8Array.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
/** framing_format.txt: the uncompressed data of one chunk is at most 65536 bytes. */
const MAX_CHUNK_DATA = 65_536;

/**
 * `snappy` as the Collector means it: framed when the body starts with the stream identifier,
 * else one raw block. A raw block is not streamable, but its length preamble says how large the
 * output will be, so an oversized one is refused before anything is allocated.
 */
export function snappyDecoder(limit: number): PushDecoder {
  let framed: PushDecoder | undefined;
  let block = false;
  const head = new PendingBytes();
  return {
    push(chunk, out) {
      if (framed !== undefined) return framed.push(chunk, out);
      head.append(chunk);
      if (block || head.length < SNAPPY_STREAM_IDENTIFIER.length) return;
      if (startsWithIdentifier(head.peek(SNAPPY_STREAM_IDENTIFIER.length))) {
        framed = snappyFramedDecoder();
        framed.push(head.take(head.length), out);
      } else {
        block = true;
      }
    },
    end(out) {
      if (framed !== undefined) return framed.end(out);
      if (head.length === 0) return;
      out(decodeSnappyBlock(head.take(head.length), limit));
    },
  };
}

function startsWithIdentifier(bytes: Uint8Array): boolean {
  return SNAPPY_STREAM_IDENTIFIER.every((b, i) => bytes[i] === b);
}

/** The framing format: a stream of chunks, each decoded on its own (at most 64 KiB out). */
export function snappyFramedDecoder(): PushDecoder {
  const pending = new PendingBytes();
  let sawIdentifier = false;
  return {
    push(chunk, out) {
      pending.append(chunk);
      for (;;) {
        if (pending.length < 4) return;
        const header = pending.peek(4);
        const type = header[0]!;
        const length = readU24LE(header, 1);
        if (pending.length < 4 + length) return;
        pending.take(4);
        const data = pending.take(length);
        sawIdentifier = decodeChunk(type, data, sawIdentifier, out);
      }
    },
    end() {
      if (pending.length > 0) throw new CorruptInput(`snappy stream ends inside a chunk (${pending.length} bytes left over)`);
    },
  };
}

/** One chunk of the framing format; returns whether the stream identifier has been seen. */
function decodeChunk(type: number, data: Uint8Array, sawIdentifier: boolean, out: Output): boolean {
  if (type === 0xff) {
    if (!startsWithIdentifier(Uint8Array.from([0xff, 0x06, 0x00, 0x00, ...data]))) throw new CorruptInput('bad snappy stream identifier');
    return true;
  }
  if (!sawIdentifier) throw new CorruptInput('snappy stream does not start with the stream identifier');
  if (type === 0x00 || type === 0x01) {
    if (data.length < 4) throw new CorruptInput('snappy chunk is too short for its checksum');
    const expected = readU32LE(data, 0);
    const payload = data.subarray(4);
    const decoded = type === 0x00 ? decodeSnappyBlock(payload, MAX_CHUNK_DATA) : payload;
    if (decoded.length > MAX_CHUNK_DATA) throw new CorruptInput('snappy chunk holds more than 65536 bytes');
    if (maskedCrc32c(decoded) !== expected) throw new CorruptInput('snappy chunk checksum mismatch');
    // A copy of stored data: the caller may reuse its chunk, and a Buffer's slice() is a view.
    out(type === 0x01 ? new Uint8Array(decoded) : decoded);
    return true;
  }
  // 0x02–0x7f are reserved and must not be skipped; 0x80–0xfe (padding included) are skippable.
  if (type < 0x80) throw new CorruptInput(`reserved unskippable snappy chunk type 0x${type.toString(16)}`);
  return true;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli) masked as framing_format.txt section 3 says. */
export function maskedCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  crc = (crc ^ 0xffffffff) >>> 0;
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}
