// One snappy block (github.com/google/snappy format_description.txt): a varint preamble with the
// uncompressed length, then literals and copies. Every length and offset is checked against the
// block and the declared output, and the output must fill exactly the declared length: snappyjs's
// decoder checks neither, so a truncated or damaged block came out as the declared number of bytes
// with zeros where the data was missing.
import { CorruptInput, DecodedTooLarge, readU32LE } from './push-decoder.ts';

export function decodeSnappyBlock(block: Uint8Array, limit: number): Uint8Array {
  const preamble = uncompressedLength(block);
  if (preamble === undefined) throw new CorruptInput('snappy block has no valid length preamble');
  if (preamble.value > limit) {
    throw new DecodedTooLarge(`snappy block would decompress to ${preamble.value} bytes, more than the limit of ${limit} bytes`);
  }
  const out = new Uint8Array(preamble.value);
  const bad = (what: string): CorruptInput => new CorruptInput(`invalid snappy block: ${what}`);
  let s = preamble.bytes;
  let d = 0;
  /** The `n`-byte little-endian number at `s` (n <= 4), after checking it is all there. */
  const number = (n: number, what: string): number => {
    if (s + n > block.length) throw bad(`${what} runs past the block`);
    const value = n === 4 ? readU32LE(block, s) : block[s]! | (n > 1 ? block[s + 1]! << 8 : 0) | (n > 2 ? block[s + 2]! << 16 : 0);
    s += n;
    return value;
  };
  while (s < block.length) {
    const tag = block[s++]!;
    const kind = tag & 3;
    if (kind === 0) {
      // Literal: length - 1 in the tag's upper six bits, or in the 1–4 bytes after it (60–63).
      const code = tag >>> 2;
      const length = (code < 60 ? code : number(code - 59, 'literal length')) + 1;
      if (s + length > block.length) throw bad('literal runs past the block');
      if (d + length > out.length) throw bad('output is longer than the preamble says');
      out.set(block.subarray(s, s + length), d);
      s += length;
      d += length;
      continue;
    }
    // Copies: 1-byte offsets carry 3 more offset bits and length - 4 in the tag; 2- and 4-byte
    // offsets carry length - 1 in its upper six bits.
    const length = kind === 1 ? 4 + ((tag >>> 2) & 7) : 1 + (tag >>> 2);
    const offset = kind === 1 ? ((tag >>> 5) << 8) | number(1, 'copy offset') : number(kind === 2 ? 2 : 4, 'copy offset');
    if (offset === 0 || offset > d) throw bad('copy offset points before the data');
    if (d + length > out.length) throw bad('output is longer than the preamble says');
    // Byte by byte: a copy may overlap the bytes it produces (offset < length repeats them).
    for (let i = 0; i < length; i++, d++) out[d] = out[d - offset]!;
  }
  if (d !== out.length) throw bad(`${d} bytes decoded, the preamble says ${out.length}`);
  return out;
}

/** The varint (at most 5 bytes, 32 bits) at the start of a snappy block, and its size in bytes. */
function uncompressedLength(block: Uint8Array): { value: number; bytes: number } | undefined {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, bytes: i + 1 };
  }
  return undefined;
}
