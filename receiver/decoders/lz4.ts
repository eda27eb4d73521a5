// LZ4 bodies as the Collector sends them (`compression: lz4`, Content-Encoding lz4): the LZ4 frame
// format (github.com/lz4/lz4 doc/lz4_Frame_format.md), decoded one block at a time so that memory
// stays within the size limit plus one block (at most 4 MiB). The block decoder follows
// doc/lz4_Block_format.md and checks every length and offset against its buffers: no JavaScript
// LZ4 package on npm both streams and bounds-checks. Checksums are not verified (they are optional
// in the format; the body's integrity is TCP's job and a corrupt body fails protobuf decoding).
import { CorruptInput, PendingBytes, readU32LE, type PushDecoder } from './push-decoder.ts';

const FRAME_MAGIC = 0x184d2204;
/** Skippable frames: magic 0x184D2A50–0x184D2A5F, then a 4-byte size. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Block Maximum Size codes 4–7 of the BD byte. */
const BLOCK_MAX: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };
/** Linked blocks may refer back this far into the previous blocks' output. */
const HISTORY = 64 * 1024;

interface Frame {
  blockMax: number;
  blockChecksum: boolean;
  contentChecksum: boolean;
  independent: boolean;
  history: Uint8Array;
}

type State =
  | { at: 'magic' }
  | { at: 'skip'; left: number }
  | { at: 'block'; frame: Frame };

export function lz4Decoder(): PushDecoder {
  const pending = new PendingBytes();
  let state: State = { at: 'magic' };
  return {
    push(chunk, out) {
      pending.append(chunk);
      for (;;) {
        if (state.at === 'skip') {
          const n = Math.min(state.left, pending.length);
          pending.take(n);
          state.left -= n;
          if (state.left > 0) return;
          state = { at: 'magic' };
          continue;
        }
        if (state.at === 'magic') {
          if (pending.length < 4) return;
          const magic = readU32LE(pending.peek(4), 0);
          if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
            if (pending.length < 8) return;
            state = { at: 'skip', left: readU32LE(pending.take(8), 4) };
            continue;
          }
          if (magic !== FRAME_MAGIC) throw new CorruptInput('not an LZ4 frame (bad magic number)');
          const frame = readFrameHeader(pending);
          if (frame === undefined) return;
          state = { at: 'block', frame };
          continue;
        }
        const { frame } = state;
        if (pending.length < 4) return;
        const word = readU32LE(pending.peek(4), 0);
        if (word === 0) {
          // EndMark, then the optional content checksum.
          const trailer = 4 + (frame.contentChecksum ? 4 : 0);
          if (pending.length < trailer) return;
          pending.take(trailer);
          state = { at: 'magic' };
          continue;
        }
        const size = word & 0x7fffffff;
        if (size > frame.blockMax) throw new CorruptInput(`LZ4 block of ${size} bytes is larger than the frame's block maximum of ${frame.blockMax}`);
        const whole = 4 + size + (frame.blockChecksum ? 4 : 0);
        if (pending.length < whole) return;
        const block = pending.take(whole).subarray(4, 4 + size);
        const uncompressed = (word & 0x80000000) !== 0;
        // A copy: the caller may reuse its chunk, and a Buffer's slice() is a view, not a copy.
        const output = uncompressed ? new Uint8Array(block) : decodeBlock(block, frame);
        if (!frame.independent) frame.history = keepTail(frame.history, output);
        out(output);
      }
    },
    end() {
      if (state.at !== 'magic' || pending.length > 0) throw new CorruptInput('LZ4 body ends inside a frame');
    },
  };
}

/** Consume the frame descriptor when it is all there (magic included); undefined means wait. */
function readFrameHeader(pending: PendingBytes): Frame | undefined {
  if (pending.length < 7) return undefined;
  const head = pending.peek(6);
  const flg = head[4]!;
  const bd = head[5]!;
  if (flg >> 6 !== 1) throw new CorruptInput(`unsupported LZ4 frame version ${flg >> 6}`);
  const length = 4 + 2 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1;
  if (pending.length < length) return undefined;
  if (flg & 0x01) throw new CorruptInput('LZ4 frames with a dictionary are not supported');
  const blockMax = BLOCK_MAX[(bd >> 4) & 0x07];
  if (blockMax === undefined) throw new CorruptInput(`invalid LZ4 block maximum size code ${(bd >> 4) & 0x07}`);
  pending.take(length);
  return {
    blockMax,
    independent: (flg & 0x20) !== 0,
    blockChecksum: (flg & 0x10) !== 0,
    contentChecksum: (flg & 0x04) !== 0,
    history: new Uint8Array(0),
  };
}

/** One compressed block, decoded after the frame's history (linked blocks may copy from it). */
function decodeBlock(src: Uint8Array, frame: Frame): Uint8Array {
  const start = frame.history.length;
  const dst = new Uint8Array(start + frame.blockMax);
  dst.set(frame.history);
  let s = 0;
  let d = start;
  const bad = (what: string): CorruptInput => new CorruptInput(`corrupt LZ4 block: ${what}`);
  const readLength = (base: number): number => {
    let n = base;
    if (base !== 15) return n;
    for (;;) {
      if (s >= src.length) throw bad('length runs past the block');
      const b = src[s++]!;
      n += b;
      if (b !== 255) return n;
    }
  };
  while (s < src.length) {
    const token = src[s++]!;
    const literals = readLength(token >> 4);
    if (s + literals > src.length) throw bad('literals run past the block');
    if (d + literals > dst.length) throw bad('output is larger than the block maximum');
    if (literals < 16) for (let i = 0; i < literals; i++) dst[d + i] = src[s + i]!;
    else dst.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    if (s === src.length) break; // the last sequence has literals only
    if (s + 2 > src.length) throw bad('match offset runs past the block');
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d) throw bad('match offset points before the data');
    const match = readLength(token & 0x0f) + 4;
    if (d + match > dst.length) throw bad('output is larger than the block maximum');
    if (offset >= match) {
      dst.copyWithin(d, d - offset, d - offset + match);
      d += match;
    } else {
      // Byte by byte: the match overlaps the bytes it produces (offset < length repeats them).
      for (let i = 0; i < match; i++, d++) dst[d] = dst[d - offset]!;
    }
  }
  return dst.slice(start, d);
}

function keepTail(history: Uint8Array, output: Uint8Array): Uint8Array {
  if (output.length >= HISTORY) return output.slice(output.length - HISTORY);
  const keep = Math.min(history.length, HISTORY - output.length);
  const next = new Uint8Array(keep + output.length);
  next.set(history.subarray(history.length - keep));
  next.set(output, keep);
  return next;
}
