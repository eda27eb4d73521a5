// Zstandard bodies (RFC 8878), decoded by fzstd's streaming decompressor one block (at most
// 128 KiB) at a time. fzstd allocates each frame's whole window up front, and a frame header can
// declare a window of up to 2 GiB in a few bytes, so this module walks the frame structure ahead of
// it and refuses a frame whose window would need more memory than the body may grow to (the size
// limit, or the 8 MiB RFC 8878 section 3.1.1.1.2 recommends every decoder to support, whichever is
// larger) before fzstd sees the header.
import { Decompress } from 'fzstd';
import { CorruptInput, DecodedTooLarge, PendingBytes, readU24LE, readU32LE, type PushDecoder } from './push-decoder.ts';

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const RECOMMENDED_WINDOW = 8 * 1024 * 1024;

type State =
  | { at: 'magic' }
  | { at: 'skip'; left: number }
  | { at: 'block'; checksum: boolean };

export function zstdDecoder(limit: number): PushDecoder {
  const maxWindow = Math.max(limit, RECOMMENDED_WINDOW);
  const pending = new PendingBytes();
  let state: State = { at: 'magic' };
  let sink: (data: Uint8Array) => void = () => undefined;
  const inner = new Decompress((data) => sink(data));

  /** Walk `pending` as far as whole headers allow; each byte walked is handed to fzstd once. */
  const walk = (): Uint8Array[] => {
    const ready: Uint8Array[] = [];
    for (;;) {
      if (state.at === 'skip') {
        const n = Math.min(state.left, pending.length);
        if (n === 0 && state.left > 0) return ready;
        ready.push(pending.take(n));
        state.left -= n;
        if (state.left === 0) state = { at: 'magic' };
        continue;
      }
      if (state.at === 'magic') {
        if (pending.length < 4) return ready;
        const magic = readU32LE(pending.peek(4), 0);
        if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
          if (pending.length < 8) return ready;
          const size = readU32LE(pending.peek(8), 4);
          state = { at: 'skip', left: 8 + size };
          continue;
        }
        if (magic !== FRAME_MAGIC) throw new CorruptInput('not a zstd frame (bad magic number)');
        const header = frameHeader(pending);
        if (header === undefined) return ready;
        if (header.window > maxWindow) {
          throw new DecodedTooLarge(`zstd frame needs a ${header.window}-byte window, more than the limit of ${maxWindow} bytes`);
        }
        if (header.contentSize !== undefined && header.contentSize > limit) {
          throw new DecodedTooLarge(`zstd frame declares ${header.contentSize} bytes of content, more than the limit of ${limit} bytes`);
        }
        ready.push(pending.take(header.length));
        state = { at: 'block', checksum: header.checksum };
        continue;
      }
      if (pending.length < 3) return ready;
      const blockHeader = readU24LE(pending.peek(3), 0);
      const last = (blockHeader & 1) === 1;
      const type = (blockHeader >> 1) & 3;
      const size = blockHeader >>> 3;
      if (type === 3) throw new CorruptInput('reserved zstd block type');
      // An RLE block carries one byte, repeated `size` times.
      const body = type === 1 ? 1 : size;
      const whole = 3 + body + (last && state.checksum ? 4 : 0);
      if (pending.length < whole) return ready;
      ready.push(pending.take(whole));
      if (last) state = { at: 'magic' };
    }
  };

  return {
    push(chunk, out) {
      sink = out;
      pending.append(chunk);
      for (const piece of walk()) inner.push(piece);
    },
    end(out) {
      sink = out;
      if (state.at !== 'magic' || pending.length > 0) throw new CorruptInput('zstd body ends inside a frame');
      inner.push(new Uint8Array(0), true);
    },
  };
}

interface FrameHeader {
  length: number;
  window: number;
  contentSize?: number;
  checksum: boolean;
}

/** RFC 8878 section 3.1.1.1: the frame header after the magic number, if all of it is there. */
function frameHeader(pending: PendingBytes): FrameHeader | undefined {
  if (pending.length < 5) return undefined;
  const descriptor = pending.peek(5)[4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const checksum = (descriptor & 0x04) !== 0;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 0x03]!;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  const length = 5 + (singleSegment ? 0 : 1) + dictionaryBytes + fcsBytes;
  if (pending.length < length) return undefined;
  const b = pending.peek(length);
  let contentSize: number | undefined;
  if (fcsBytes > 0) {
    const at = length - fcsBytes;
    contentSize = 0;
    for (let i = fcsBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + b[at + i]!;
    if (fcsBytes === 2) contentSize += 256;
  }
  let window: number;
  if (singleSegment) {
    window = contentSize ?? 0;
  } else {
    const descriptorByte = b[5]!;
    const base = 2 ** (10 + (descriptorByte >> 3));
    window = base + (base / 8) * (descriptorByte & 0x07);
  }
  return { length, window, contentSize, checksum };
}
