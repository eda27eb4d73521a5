// The shape every non-zlib body decoder shares (zstd, snappy, LZ4): compressed bytes are pushed in
// as they arrive and decompressed bytes come out through `out` in bounded pieces, so read-body.ts
// can stop a decompression bomb as soon as the output passes the size limit.
import { FirstspanError } from '../../model/errors.ts';

/** Called with each piece of decompressed output; may throw to stop decoding. */
export type Output = (data: Uint8Array) => void;

export interface PushDecoder {
  /** Decode what `chunk` completes; keep an incomplete tail for the next call. */
  push(chunk: Uint8Array, out: Output): void;
  /** The body ended: throw if it ended mid-frame. */
  end(out: Output): void;
}

/** Thrown by a decoder when its output (or the memory it would need) exceeds the limit. */
export class DecodedTooLarge extends FirstspanError {
  constructor(message: string) {
    super('FS_ERR_OTLP_TOO_LARGE', message);
    this.name = 'DecodedTooLarge';
  }
}

/** Thrown by a decoder for bytes that are not valid in its format. */
export class CorruptInput extends FirstspanError {
  constructor(message: string) {
    super('FS_ERR_OTLP_DECODE', message);
    this.name = 'CorruptInput';
  }
}

/**
 * Bytes received but not yet consumed: decoders take whole units (a chunk, a block, a header) from
 * the front and leave a partial one for the next push.
 */
export class PendingBytes {
  private parts: Uint8Array[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.parts.push(chunk);
    this.size += chunk.length;
  }

  /** The first `n` bytes, without consuming them (n <= length). */
  peek(n: number): Uint8Array {
    this.flatten(n);
    return this.parts[0]!.subarray(0, n);
  }

  /** Remove and return the first `n` bytes (n <= length). */
  take(n: number): Uint8Array {
    const bytes = this.peek(n);
    const first = this.parts[0]!;
    if (first.length === n) this.parts.shift();
    else this.parts[0] = first.subarray(n);
    this.size -= n;
    return bytes;
  }

  /** Make the first part at least `n` bytes long by joining parts. */
  private flatten(n: number): void {
    if (this.parts[0] !== undefined && this.parts[0].length >= n) return;
    const joined = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      joined.set(p, at);
      at += p.length;
    }
    this.parts = [joined];
  }
}

export function readU32LE(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export function readU24LE(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
}
